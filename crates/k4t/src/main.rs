//! The `k4t` binary: the all-in-one server and the tools around it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

mod demo;
mod node;

// The API server's request path allocates many small JSON values: jemalloc's thread caches
// cut that cost by a fifth against glibc's malloc, with the same idle footprint (measured in
// docs/benchmarks.md; mimalloc was as fast but idled 12 MiB higher).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(
    name = "k4t",
    version,
    about = "A health-first container orchestrator that speaks the Kubernetes API"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "K4T_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info,k4t_apiserver=debug`.
    #[arg(long, global = true, default_value = "info", env = "K4T_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the all-in-one server (API server and store; later the node agent, controllers and
    /// gateway).
    Server(ServerArgs),
    /// Run a node agent that joins a k4t server and runs the pods bound to this machine.
    Agent(AgentArgs),
    /// Small tools for examples and tests.
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Subcommand, Debug)]
enum DemoCommand {
    /// An HTTP app that answers `You've hit <hostname>`, with knobs to misbehave.
    Serve(demo::ServeArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum StoreSync {
    /// fsync the write-ahead log at each commit (survives power loss).
    Full,
    /// Survives a crash of k4t, not of the machine.
    Normal,
}

#[derive(clap::Args, Debug)]
struct ServerArgs {
    /// Where the store, certificates, token and kubeconfig live [default: /var/lib/k4t as root,
    /// else $XDG_DATA_HOME/k4t].
    #[arg(long, env = "K4T_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address and port of the HTTPS API.
    #[arg(long, default_value = "127.0.0.1:6443", env = "K4T_BIND")]
    bind: SocketAddr,
    /// Extra DNS names or IP addresses for the serving certificate (repeatable).
    #[arg(long = "tls-san")]
    tls_sans: Vec<String>,
    /// How hard a store commit waits for the disk.
    #[arg(long, value_enum, default_value_t = StoreSync::Full)]
    store_sync: StoreSync,
    /// Keep the store in memory only (for tests; nothing survives a restart).
    #[arg(long)]
    ephemeral_store: bool,
    /// How long events are kept.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    event_ttl: Duration,
    /// How often the store's history is compacted.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    compaction_interval: Duration,
    /// How many revisions of history compaction keeps (watches and lists from older
    /// resourceVersions get 410 Gone).
    #[arg(long, default_value_t = 10_000)]
    compaction_retain: i64,
    /// Do not run a node agent in the server (nodes join with `k4t agent`).
    #[arg(long)]
    no_agent: bool,
    #[command(flatten)]
    node: node::NodeArgs,
}

#[derive(clap::Args, Debug)]
struct AgentArgs {
    /// A kubeconfig for the server (instead of --server, --token and --certificate-authority).
    #[arg(long, env = "KUBECONFIG", conflicts_with_all = ["server", "token"])]
    kubeconfig: Option<PathBuf>,
    /// The server's URL, e.g. https://10.0.0.1:6443.
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// A bearer token for the server.
    #[arg(long, env = "K4T_TOKEN")]
    token: Option<String>,
    /// The server's CA certificate (PEM) [default: the server's certificate is not verified].
    #[arg(long)]
    certificate_authority: Option<PathBuf>,
    /// Where the agent keeps pod directories and the runtime's state [default: /var/lib/k4t as
    /// root, else $XDG_DATA_HOME/k4t].
    #[arg(long, env = "K4T_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    node: node::NodeArgs,
}

/// Parses Go-style durations (`90s`, `1h30m`, `500ms`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = s
        .parse()
        .map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn default_data_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/k4t");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("k4t")
}

fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).context("parsing --log")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn server(args: ServerArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let mut config = k4t_apiserver::Config::new(data_dir.clone(), args.bind);
    config.tls_sans = args.tls_sans;
    config.event_ttl = args.event_ttl;
    config.store_config.compact_interval = args.compaction_interval;
    config.store_config.compact_keep = args.compaction_retain;
    config.store = if args.ephemeral_store {
        k4t_apiserver::StoreKind::Memory
    } else {
        k4t_apiserver::StoreKind::Sqlite {
            durability: match args.store_sync {
                StoreSync::Full => k4t_store::sqlite::Durability::Full,
                StoreSync::Normal => k4t_store::sqlite::Durability::Normal,
            },
        }
    };
    let running = k4t_apiserver::start(config)
        .await
        .with_context(|| format!("starting the server in {}", data_dir.display()))?;
    let client = loopback_client(&running.identity.kubeconfig).await?;
    let mut controllers = tokio::task::JoinSet::new();
    k4t_controllers::spawn_all(
        client.clone(),
        k4t_controllers::Config::default(),
        &mut controllers,
    );
    let (stop_agent, agent_stopped) = tokio::sync::watch::channel(false);
    let agent = (!args.no_agent).then(|| {
        let node = args.node.clone();
        let dir = data_dir.clone();
        tokio::spawn(async move {
            if let Err(e) = node::run_agent(client, &node, &dir, agent_stopped).await {
                tracing::error!(error = format!("{e:#}"), "the node agent stopped");
            }
        })
    });
    // The lines scripts wait for: where the kubeconfig is, and the server's URL.
    println!("kubeconfig: {}", running.identity.kubeconfig.display());
    println!("server: {}", running.url);
    shutdown_signal().await;
    tracing::info!("shutting down");
    // The agent stops its pods (unless --leave-running) while the API still answers.
    stop_agent.send_replace(true);
    if let Some(agent) = agent {
        let _ = agent.await;
    }
    controllers.shutdown().await;
    running.shutdown().await;
    Ok(())
}

async fn agent(args: AgentArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let client = match (&args.kubeconfig, &args.server) {
        (Some(path), _) => loopback_client(path).await?,
        (None, Some(server)) => {
            let url: http::Uri = server
                .parse()
                .with_context(|| format!("parsing --server {server:?}"))?;
            let mut config = kube::Config::new(url);
            config.auth_info.token = args.token.clone().map(Into::into);
            match &args.certificate_authority {
                Some(ca) => {
                    let pem =
                        std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                    config.root_cert = Some(vec![pem_to_der(&pem)?]);
                }
                None => config.accept_invalid_certs = true,
            }
            kube::Client::try_from(config).context("building the API client")?
        }
        (None, None) => anyhow::bail!("give --server and --token, or --kubeconfig"),
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let node = args.node.clone();
    let task = tokio::spawn(async move { node::run_agent(client, &node, &data_dir, rx).await });
    shutdown_signal().await;
    tracing::info!("shutting down");
    tx.send_replace(true);
    task.await.context("the agent task")??;
    Ok(())
}

/// The DER bytes of the first certificate in a PEM file.
fn pem_to_der(pem: &[u8]) -> anyhow::Result<Vec<u8>> {
    let text = std::str::from_utf8(pem).context("the CA file is not PEM text")?;
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .context("decoding the CA certificate")
}

/// A client of our own API, as every in-process component is.
async fn loopback_client(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .context("loading the loopback kubeconfig")?;
    kube::Client::try_from(config).context("building the loopback client")
}

fn main() -> anyhow::Result<()> {
    // `k4t shim ...` is the process runtime's per-container supervisor: single-threaded (it
    // forks), so it must run before clap, logging or tokio start anything.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "shim") {
        std::process::exit(k4t_runtime::process::shim_main(&args[2..]));
    }
    let cli = Cli::parse();
    if let Command::Demo(DemoCommand::Serve(args)) = cli.command {
        // The demo app logs nothing of k4t's and runs its own small runtime.
        return demo::serve(args);
    }
    init_logging(cli.log_format, &cli.log)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Server(args) => server(args).await,
            Command::Agent(args) => agent(args).await,
            Command::Demo(_) => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
