//! The supervisor side of the process runtime: what `k4t shim <subcommand>` runs. No tokio,
//! one thread, small: it is a separate process per container (the role of containerd-shim or
//! conmon) and per pod (the pod's init, the role of the pause container).
//!
//! - `sandbox <sandbox-dir>`: leaves k4t's session, creates the pod's namespaces (net, UTS,
//!   IPC, PID; host network pods keep the host's net and UTS), sets the hostname and forks
//!   the pod's init (PID 1 of the new PID namespace, which reaps orphans). Prints
//!   `ok <init-pid>` and exits.
//! - `start <container-dir>`: forks the container's supervisor, which leaves k4t's session
//!   (k4t may die; the container must not), enters the sandbox's namespaces, a PID namespace
//!   of the container's own (or the pod's) and the container's cgroup and mount namespace,
//!   starts the process, writes its output to the log
//!   in the CRI format, and records the start (`started.json`) and the real exit status
//!   (`exited.json`). The first process prints `ok` or `error <message>` once the container
//!   runs or failed to start, and exits.
//! - `exec <container-dir> <timeout-ms> <argv>...`: runs a command in a running container
//!   (its namespaces, cgroup, env, working directory and user) and prints its exit code and
//!   output (see [`ExecOutput`]).
//! - `exec-stream <container-dir> <status-file> <tty 0|1> <argv>...`: the same, with the
//!   command's standard streams being the supervisor's own (pipes or a terminal k4t holds),
//!   for `kubectl exec`. It exits with the command's exit code and records in the status
//!   file `exit <code>` or `error <message>` (the command could not start), so a start
//!   failure is never mistaken for the command's output or exit code.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k4t_sys::{Fork, Namespace, Namespaces};
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};
use smallvec::SmallVec;

use super::attach;
use super::cgroups::CgroupPaths;
use super::exit::{self, Ended, Exit};
use super::log::{self as crilog, LineSplitter, Stream};
use super::procfs;
use super::state::{
    self, CONTAINER_FILE, ContainerRecord, EXITED_FILE, Exited, ProcRef, SANDBOX_FILE, SHIM_LOG,
    STARTED_FILE, SandboxRecord, Started,
};
use crate::ContainerConfig;

/// At most this much of each stream of an exec is kept (as the kubelet's ExecSync does).
pub const EXEC_OUTPUT_LIMIT: usize = 10 * 1024;

/// The container's own termination message file, in its state directory.
pub const TERMINATION_LOG: &str = "termination-log";

/// At most this much of the termination message file is read.
const TERMINATION_MESSAGE_LIMIT: usize = 4096;

/// How long a container's output must be quiet before its supervisor gives back the code
/// pages that logging it faulted in.
const QUIET_RELEASE_MS: u64 = 5_000;
/// Descriptors one poll round holds without touching the heap: two streams, the pidfd, the
/// attach listener and a few attached clients.
const POLL_INLINE: usize = 8;

/// The supervisor's entry point: `args` are the arguments after `shim`. Returns the exit code.
/// Call it before starting any thread (no tokio runtime, no logger).
pub fn shim_main(args: &[OsString]) -> i32 {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["sandbox", dir] => sandbox(Path::new(dir)),
        ["start", dir] => start(Path::new(dir)),
        ["exec", dir, timeout_ms, argv @ ..] if !argv.is_empty() => match timeout_ms.parse::<u64>()
        {
            Ok(ms) => exec(Path::new(dir), ms, &args[3..]),
            Err(_) => Err(format!("invalid timeout {timeout_ms:?}")),
        },
        ["exec-stream", dir, status, tty @ ("0" | "1"), argv @ ..] if !argv.is_empty() => {
            return exec_stream(Path::new(dir), Path::new(status), *tty == "1", &args[4..]);
        }
        _ => {
            eprintln!(
                "usage: k4t shim sandbox <dir> | start <dir> | exec <dir> <timeout-ms> <command>... \
                 | exec-stream <dir> <status-file> <tty 0|1> <command>...\n\
                 (the process runtime's per-container supervisor; not meant to be run by hand)"
            );
            return 2;
        }
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            let _ = writeln!(io::stdout(), "error {msg}");
            1
        }
    }
}

fn now() -> i64 {
    crilog::now_nanos() as i64
}

/// Sleeps without `std::thread::sleep` (which the project reserves for tokio's clock).
pub(crate) fn pause(ms: u64) {
    let ts = rustix::time::Timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: ((ms % 1000) * 1_000_000) as i64,
    };
    let _ = rustix::event::poll(&mut [], Some(&ts));
}

fn monotonic_ms() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64) * 1000 + (t.tv_nsec as u64) / 1_000_000
}

/// Points stdin at /dev/null and stdout/stderr at `log` (or /dev/null), so the process holds
/// no pipe of k4t's.
fn detach_stdio(log: Option<&Path>) -> io::Result<()> {
    let null = File::options().read(true).write(true).open("/dev/null")?;
    let out = match log {
        Some(p) => File::options()
            .create(true)
            .append(true)
            .open(p)
            .unwrap_or(null.try_clone()?),
        None => null.try_clone()?,
    };
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&out)?;
    rustix::stdio::dup2_stderr(&out)?;
    Ok(())
}

fn ns_file(pid: i32, kind: &str) -> Result<File, String> {
    let p = format!("/proc/{pid}/ns/{kind}");
    File::open(&p).map_err(|e| format!("opening {p}: {e}"))
}

fn verify(p: ProcRef, what: &str) -> Result<(), String> {
    if procfs::is_same_process(p.pid, p.start) {
        Ok(())
    } else {
        Err(format!("the {what} (pid {}) is gone", p.pid))
    }
}

// ---------------------------------------------------------------------------------------
// sandbox

fn sandbox(dir: &Path) -> Result<i32, String> {
    let rec: SandboxRecord = state::read_json(&dir.join(SANDBOX_FILE))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no sandbox record in {}", dir.display()))?;
    let _ = rustix::process::setsid();
    let own_net = !rec.host_network;
    k4t_sys::unshare(Namespaces {
        net: own_net,
        uts: own_net,
        ipc: true,
        pid: true,
        mount: false,
    })
    .map_err(|e| format!("creating the pod's namespaces: {e}"))?;
    if own_net && !rec.hostname.is_empty() {
        rustix::system::sethostname(rec.hostname.as_bytes())
            .map_err(|e| format!("setting the hostname {:?}: {e}", rec.hostname))?;
    }
    match k4t_sys::fork().map_err(|e| format!("starting the pod's init: {e}"))? {
        Fork::Child => {
            let _ = detach_stdio(None);
            let _ = std::env::set_current_dir("/");
            // The pod's init lives as long as the pod and only reaps: keep none of k4t's
            // start-up pages.
            let _ = k4t_sys::release_clean_file_pages();
            let _ = k4t_sys::reap_as_init();
            std::process::exit(1);
        }
        Fork::Parent(pid) => {
            let _ = writeln!(io::stdout(), "ok {}", pid.as_raw_nonzero());
            Ok(0)
        }
    }
}

// ---------------------------------------------------------------------------------------
// start

fn start(dir: &Path) -> Result<i32, String> {
    let rec: ContainerRecord = state::read_json(&dir.join(CONTAINER_FILE))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no container record in {}", dir.display()))?;
    let (report_r, report_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| format!("creating a pipe: {e}"))?;
    match k4t_sys::fork().map_err(|e| format!("starting the supervisor: {e}"))? {
        Fork::Parent(_) => {
            drop(report_w);
            let mut report = String::new();
            let _ = File::from(report_r).read_to_string(&mut report);
            if report.is_empty() {
                report = "error the supervisor died before starting the container".to_owned();
            }
            let _ = io::stdout().write_all(report.as_bytes());
            Ok(if report.starts_with("ok") { 0 } else { 1 })
        }
        Fork::Child => {
            drop(report_r);
            let code = supervise(dir, &rec, File::from(report_w));
            std::process::exit(code);
        }
    }
}

/// The running container as the supervisor holds it.
struct Launched {
    pid: Pid,
    pidfd: OwnedFd,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// The container's stdin (`stdin: true`): handed to the attach hub, which keeps it open
    /// so the container does not read EOF.
    stdin: Option<OwnedFd>,
    started: Started,
}

fn supervise(dir: &Path, rec: &ContainerRecord, mut report: File) -> i32 {
    let _ = rustix::process::setsid();
    let _ = detach_stdio(Some(&dir.join(SHIM_LOG)));
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let supervisor = ProcRef {
        pid: me,
        start: procfs::start_time(me).unwrap_or(0),
    };
    let mut log = match open_log(&rec.config.log_path) {
        Ok(f) => f,
        Err(msg) => return start_failed(dir, &mut report, msg),
    };
    let launched = match launch(dir, rec, supervisor) {
        Ok(l) => l,
        Err(msg) => return start_failed(dir, &mut report, msg),
    };
    if let Err(e) = state::write_json(&dir.join(STARTED_FILE), &launched.started) {
        eprintln!("{e}");
    }
    let _ = report.write_all(format!("ok {}\n", launched.pid.as_raw_nonzero()).as_bytes());
    drop(report);
    // One supervisor per container, for the container's lifetime: keep resident only the
    // code its loop uses, not everything k4t's start-up and the launch touched.
    if let Err(e) = k4t_sys::release_clean_file_pages() {
        eprintln!("releasing start-up pages: {e}");
    }
    let started_at = launched.started.started_at;
    let exit = watch(dir, rec, launched, &mut log);
    let exited = Exited {
        exit,
        started_at: Some(started_at),
        finished_at: now(),
    };
    if let Err(e) = state::write_json(&dir.join(EXITED_FILE), &exited) {
        eprintln!("{e}");
        return 1;
    }
    0
}

fn start_failed(dir: &Path, report: &mut File, msg: String) -> i32 {
    let exited = Exited {
        exit: exit::start_error(msg.clone()),
        started_at: None,
        finished_at: now(),
    };
    if let Err(e) = state::write_json(&dir.join(EXITED_FILE), &exited) {
        eprintln!("{e}");
    }
    let _ = report.write_all(format!("error {msg}\n").as_bytes());
    1
}

fn open_log(path: &Path) -> Result<File, String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating the log directory {}: {e}", parent.display()))?;
    }
    if path.as_os_str().is_empty() {
        return File::options()
            .write(true)
            .open("/dev/null")
            .map_err(|e| e.to_string());
    }
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("opening the log file {}: {e}", path.display()))
}

/// Everything the pre-exec hook needs, prepared before the fork.
struct Setup {
    cgroup: Option<CgroupPaths>,
    /// Namespace files to join in the child (the PID namespace is joined by the parent).
    join: Vec<(File, Namespace)>,
    /// Own mount namespace with /proc (when in a pod PID namespace), /tmp and the mounts.
    mounts: Option<MountPlan>,
    tty: bool,
    /// The process is killed when its supervisor dies (a streamed exec whose client left).
    die_with_parent: bool,
    credentials: Option<(u32, u32)>,
    cwd: String,
    argv: Vec<String>,
    env: Vec<CString>,
    path_env: Option<String>,
    /// Where the hook writes why it failed.
    errors: OwnedFd,
}

struct MountPlan {
    proc: bool,
    binds: Vec<(PathBuf, PathBuf, bool)>,
}

fn env_strings(config: &ContainerConfig) -> Result<Vec<CString>, String> {
    config
        .env
        .iter()
        .map(|(k, v)| {
            CString::new(format!("{k}={v}"))
                .map_err(|_| format!("environment variable {k} contains a NUL byte"))
        })
        .collect()
}

fn path_env(config: &ContainerConfig) -> Option<String> {
    config
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
}

fn credentials(config: &ContainerConfig) -> Option<(u32, u32)> {
    if config.run_as_user.is_none() && config.run_as_group.is_none() {
        return None;
    }
    let uid = config.run_as_user.unwrap_or(0);
    let gid = config.run_as_group.unwrap_or_else(|| {
        procfs::primary_gid(
            &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
            uid,
        )
    });
    Some((uid, gid))
}

/// Creates a missing mount target: a directory for a directory, an empty file for a file.
/// The container shares the host's filesystem (outside its own `/tmp`), so the created entry
/// is visible on the host too and stays (other pods may be using it at the same time).
fn ensure_target(source_is_dir: bool, target: &Path) -> Result<(), String> {
    if target.symlink_metadata().is_ok() {
        return Ok(());
    }
    let fail = |e: io::Error| format!("creating the mount point {}: {e}", target.display());
    if source_is_dir {
        std::fs::create_dir_all(target).map_err(fail)
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        File::options()
            .create(true)
            .append(true)
            .open(target)
            .map(drop)
            .map_err(fail)
    }
}

fn prepare(dir: &Path, rec: &ContainerRecord, errors_w: OwnedFd) -> Result<Setup, String> {
    let config = &rec.config;
    if config.argv.is_empty() {
        return Err("no command specified".to_owned());
    }
    let mut setup = Setup {
        cgroup: None,
        join: Vec::new(),
        mounts: None,
        tty: config.tty,
        die_with_parent: false,
        credentials: credentials(config),
        cwd: config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_owned()),
        argv: config.argv.clone(),
        env: env_strings(config)?,
        path_env: path_env(config),
        errors: errors_w,
    };
    if rec.isolated {
        setup.cgroup = Some(rec.cgroup.clone());
        if let Some(init) = rec.sandbox_init {
            verify(init, "pod's init process")?;
            for (on, kind, ns) in [
                (rec.join.net, "net", Namespace::Net),
                (rec.join.uts, "uts", Namespace::Uts),
                (rec.join.ipc, "ipc", Namespace::Ipc),
            ] {
                if on {
                    setup.join.push((ns_file(init.pid, kind)?, ns));
                }
            }
        }
        let mut binds: Vec<(PathBuf, PathBuf, bool)> = config
            .mounts
            .iter()
            .map(|m| (m.host_path.clone(), m.container_path.clone(), m.read_only))
            .collect();
        for (host, _, _) in &binds {
            std::fs::metadata(host).map_err(|e| format!("mount source {}: {e}", host.display()))?;
        }
        // The termination message file is the container's own, wherever its path points.
        if let Some(path) = config
            .termination_message_path
            .as_deref()
            .filter(|p| !p.is_empty())
            && host_path_of(config, Path::new(path)).is_none()
        {
            binds.push((dir.join(TERMINATION_LOG), PathBuf::from(path), false));
        }
        setup.mounts = Some(MountPlan {
            // Every isolated container is in a PID namespace other than the host's (its own or
            // the pod's), whose /proc it must see.
            proc: true,
            binds,
        });
    }
    Ok(setup)
}

fn fail(errors: &OwnedFd, msg: String) -> io::Error {
    let _ = rustix::io::write(errors, msg.as_bytes());
    io::Error::other(msg)
}

/// The pre-exec hook: runs in the forked child, single-threaded, then execs the program.
fn child_setup(s: &mut Setup) -> io::Result<()> {
    if let Some(cg) = &s.cgroup {
        cg.join_self().map_err(|e| fail(&s.errors, e.to_string()))?;
    }
    rustix::process::setsid().map_err(|e| fail(&s.errors, format!("setsid: {e}")))?;
    if s.die_with_parent {
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
            .map_err(|e| fail(&s.errors, format!("prctl(PR_SET_PDEATHSIG): {e}")))?;
    }
    if s.tty {
        rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())
            .map_err(|e| fail(&s.errors, format!("setting the controlling terminal: {e}")))?;
    }
    for (file, ns) in &s.join {
        k4t_sys::setns(file.as_fd(), *ns).map_err(|e| {
            fail(
                &s.errors,
                format!("joining the pod's {ns:?} namespace: {e}"),
            )
        })?;
    }
    if let Some(plan) = &s.mounts {
        mount_all(plan).map_err(|msg| fail(&s.errors, msg))?;
    }
    if let Some((uid, gid)) = s.credentials {
        k4t_sys::set_credentials(uid, gid, &[gid]).map_err(|e| {
            fail(
                &s.errors,
                format!("setting user {uid} and group {gid}: {e}"),
            )
        })?;
    }
    std::env::set_current_dir(&s.cwd).map_err(|e| {
        fail(
            &s.errors,
            format!(
                "chdir to cwd (\"{}\") set in config.json failed: {}",
                s.cwd,
                errno_text(&e)
            ),
        )
    })?;
    let program = &s.argv[0];
    let Some(path) = procfs::lookup_path(program, s.path_env.as_deref()) else {
        let msg = if program.contains('/') && Path::new(program).exists() {
            format!("exec: \"{program}\": permission denied")
        } else if program.contains('/') {
            format!("exec: \"{program}\": stat {program}: no such file or directory")
        } else {
            exit::not_found_message(program)
        };
        return Err(fail(&s.errors, msg));
    };
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| fail(&s.errors, "NUL in path".to_owned()))?;
    let argv: Vec<CString> = s
        .argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| fail(&s.errors, "an argument contains a NUL byte".to_owned()))?;
    let err = k4t_sys::execve(&cpath, &argv, &s.env);
    Err(fail(
        &s.errors,
        format!("exec: \"{program}\": {}", errno_text(&err)),
    ))
}

/// `No such file or directory (os error 2)` → `no such file or directory`, as Go prints it.
fn errno_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn mount_all(plan: &MountPlan) -> Result<(), String> {
    use rustix::fs::{CWD, FileType};
    use rustix::mount::{MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags};
    k4t_sys::unshare(Namespaces {
        mount: true,
        ..Namespaces::default()
    })
    .map_err(|e| format!("creating the mount namespace: {e}"))?;
    // Nothing mounted in the container may propagate back to the host.
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("making / a downstream mount: {e}"))?;
    // The sources are cloned into detached mounts first: the private /tmp below would hide
    // those under /tmp.
    let sources = plan
        .binds
        .iter()
        .map(|(host, _, _)| {
            let flags = OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | OpenTreeFlags::AT_RECURSIVE;
            let tree = rustix::mount::open_tree(CWD, host, flags)
                .map_err(|e| format!("mount source {}: {e}", host.display()))?;
            let is_dir = rustix::fs::fstat(&tree)
                .map(|st| FileType::from_raw_mode(st.st_mode).is_dir())
                .map_err(|e| format!("mount source {}: {e}", host.display()))?;
            Ok((tree, is_dir))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if plan.proc {
        rustix::mount::mount(
            "proc",
            "/proc",
            "proc",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            None,
        )
        .map_err(|e| format!("mounting /proc: {e}"))?;
    }
    rustix::mount::mount(
        "tmpfs",
        "/tmp",
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        c"mode=1777",
    )
    .map_err(|e| format!("mounting a private /tmp: {e}"))?;
    for ((host, target, read_only), (tree, is_dir)) in plan.binds.iter().zip(&sources) {
        // Created here, in the container's view: a target under /tmp lands in its own /tmp.
        ensure_target(*is_dir, target)?;
        rustix::mount::move_mount(
            tree,
            "",
            CWD,
            target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .map_err(|e| format!("mounting {} at {}: {e}", host.display(), target.display()))?;
        if *read_only {
            rustix::mount::mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, c"")
                .map_err(|e| format!("making {} read-only: {e}", target.display()))?;
        }
    }
    Ok(())
}

/// Reads what the hook wrote before failing.
fn hook_error(errors_r: OwnedFd, fallback: &io::Error) -> String {
    let mut msg = String::new();
    let _ = File::from(errors_r).read_to_string(&mut msg);
    if msg.is_empty() {
        fallback.to_string()
    } else {
        msg
    }
}

fn launch(dir: &Path, rec: &ContainerRecord, supervisor: ProcRef) -> Result<Launched, String> {
    let config = &rec.config;
    let pid_ns_of = rec
        .sandbox_init
        .filter(|_| rec.isolated && rec.join.pid)
        .map(|p| p.pid);
    // The hook's error pipe: the read end stays here, the hook gets the write end.
    let (errors_r, errors_w) = pipe()?;
    let mut setup = prepare(dir, rec, errors_w)?;
    if let Some(pid) = pid_ns_of {
        let f = ns_file(pid, "pid")?;
        k4t_sys::setns(f.as_fd(), Namespace::Pid)
            .map_err(|e| format!("joining the pod's PID namespace: {e}"))?;
    } else if rec.isolated {
        // The container's own PID namespace, as Kubernetes gives each container unless the
        // pod shares one: its entrypoint is PID 1 there, so a shell that installs no handler
        // for SIGTERM outlives it and ends with the grace period's SIGKILL (137). Only the
        // supervisor's next child enters it, and the supervisor forks no other.
        k4t_sys::unshare(Namespaces {
            pid: true,
            ..Namespaces::default()
        })
        .map_err(|e| format!("creating the container's PID namespace: {e}"))?;
    }

    let mut cmd = Command::new(&config.argv[0]);
    let (stdout, stderr, stdin);
    if config.tty {
        let (master, slave) = open_pty().map_err(|e| format!("allocating a terminal: {e}"))?;
        cmd.stdin(Stdio::from(slave.try_clone().map_err(|e| e.to_string())?));
        cmd.stdout(Stdio::from(slave.try_clone().map_err(|e| e.to_string())?));
        cmd.stderr(Stdio::from(slave));
        stdin = config
            .stdin
            .then(|| master.try_clone())
            .transpose()
            .map_err(|e| e.to_string())?;
        stdout = Some(master);
        stderr = None;
    } else {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        cmd.stdout(Stdio::from(out_w));
        cmd.stderr(Stdio::from(err_w));
        if config.stdin {
            let (in_r, in_w) = pipe()?;
            cmd.stdin(Stdio::from(in_r));
            stdin = Some(in_w);
        } else {
            cmd.stdin(Stdio::null());
            stdin = None;
        }
        stdout = Some(out_r);
        stderr = Some(err_r);
    }
    let spawned = k4t_sys::spawn_with_hook(&mut cmd, move || child_setup(&mut setup));
    drop(cmd);
    let child = match spawned {
        Ok(c) => c,
        Err(e) => return Err(hook_error(errors_r, &e)),
    };
    let raw = child.id() as i32;
    // The std handle would only try to reap on drop if asked to; the pidfd below is the watch.
    drop(child);
    let pid = Pid::from_raw(raw).ok_or("the container process has no pid")?;
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())
        .map_err(|e| format!("pidfd_open: {e}"))?;
    let process = ProcRef {
        pid: raw,
        start: procfs::start_time(raw).unwrap_or(0),
    };
    Ok(Launched {
        pid,
        pidfd,
        stdout,
        stderr,
        stdin,
        started: Started {
            supervisor,
            process,
            started_at: now(),
        },
    })
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| format!("creating a pipe: {e}"))
}

pub(crate) fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok((master, slave))
}

fn wait_exit(pid: Pid) -> Ended {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => {
                if let Some(sig) = status.terminating_signal() {
                    return Ended::Signaled(sig);
                }
                return Ended::Exited(status.exit_status().unwrap_or(0));
            }
            Err(rustix::io::Errno::INTR) => continue,
            // Not our child any more (cannot happen) or already reaped: unknown status.
            _ => return Ended::Exited(255),
        }
    }
}

/// Reads what is available on `fd` into `buf`; `false` at EOF (or a dead terminal).
fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> (usize, bool) {
    match rustix::io::read(fd, buf) {
        Ok(0) => (0, false),
        Ok(n) => (n, true),
        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => (0, true),
        Err(_) => (0, false),
    }
}

struct LogSink<'a> {
    file: &'a mut File,
    out: LineSplitter,
    err: LineSplitter,
    rotation: Option<Rotation>,
}

/// Where the log is and when it is rotated.
struct Rotation {
    path: PathBuf,
    limits: crate::LogRotation,
    /// Bytes in the current file.
    size: u64,
}

impl LogSink<'_> {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        let splitter = match stream {
            Stream::Stdout => &mut self.out,
            Stream::Stderr => &mut self.err,
        };
        let entries = splitter.feed(data);
        let ts = crilog::now_nanos();
        for e in entries {
            self.entry(ts, stream, &e);
        }
    }

    fn entry(&mut self, ts: i128, stream: Stream, e: &crilog::Entry) {
        let Ok(n) = crilog::write_entry(self.file, ts, stream, e) else {
            return;
        };
        let Some(r) = self.rotation.as_mut() else {
            return;
        };
        r.size += n as u64;
        if r.size >= r.limits.max_size
            && let Err(e) = rotate(self.file, r)
        {
            eprintln!("rotating {}: {e}", r.path.display());
        }
    }

    fn finish(&mut self) {
        let ts = crilog::now_nanos();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let splitter = match stream {
                Stream::Stdout => &mut self.out,
                Stream::Stderr => &mut self.err,
            };
            if let Some(e) = splitter.finish() {
                self.entry(ts, stream, &e);
            }
        }
    }
}

/// Renames the full log aside, starts a new one, and removes the oldest rotated files past
/// the limit. Readers find the renamed file by its name (see `crilog::rotated_of`).
fn rotate(file: &mut File, r: &mut Rotation) -> io::Result<()> {
    let (Some(dir), Some(name)) = (r.path.parent(), r.path.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(());
    };
    let _ = file.flush();
    // Never onto an older rotated file: one chunk of output can fill several files.
    let mut ts = crilog::now_nanos();
    while dir.join(crilog::rotated_name(name, ts)).exists() {
        ts += 1;
    }
    std::fs::rename(&r.path, dir.join(crilog::rotated_name(name, ts)))?;
    *file = File::options().create(true).append(true).open(&r.path)?;
    r.size = 0;
    let names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let rotated = crilog::rotated_of(name, names.iter().map(String::as_str));
    let keep = (r.limits.max_files.max(1) - 1) as usize;
    for old in &rotated[..rotated.len().saturating_sub(keep)] {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(())
}

/// Copies output to the log until the process ends; then kills what is left of the
/// container, drains the output, and works out the exit.
fn watch(dir: &Path, rec: &ContainerRecord, mut l: Launched, log: &mut File) -> Exit {
    let terminal = if rec.config.tty {
        l.stdout.as_ref().and_then(|m| m.try_clone().ok())
    } else {
        None
    };
    let mut hub = match attach::Hub::open(dir, l.stdin.take(), terminal, rec.config.stdin_once) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("listening for attach in {}: {e}", dir.display());
            None
        }
    };
    let path = &rec.config.log_path;
    let rotation =
        (!path.as_os_str().is_empty() && rec.config.log_rotation.max_size > 0).then(|| Rotation {
            path: path.clone(),
            limits: rec.config.log_rotation,
            size: log.metadata().map(|m| m.len()).unwrap_or(0),
        });
    let mut sink = LogSink {
        file: log,
        out: LineSplitter::default(),
        err: LineSplitter::default(),
        rotation,
    };
    let mut streams: Vec<(OwnedFd, Stream)> =
        [(l.stdout, Stream::Stdout), (l.stderr, Stream::Stderr)]
            .into_iter()
            .filter_map(|(fd, s)| fd.map(|fd| (fd, s)))
            .collect();
    let mut buf = vec![0u8; 64 * 1024];
    // Output since the code pages were last given back: each burst of logging faults in the
    // pages its path touches (and, by the kernel's fault-around, their neighbours); once the
    // container has been quiet for a while they are given back again.
    let mut written: u64 = 0;
    let mut released_at: u64 = 0;
    let ended = loop {
        let before = written;
        let exited = pump(
            &mut streams,
            Some(l.pidfd.as_fd()),
            // Once the pages are given back nothing needs waking until the container writes
            // or ends: an idle supervisor runs no code at all.
            (written != released_at).then_some(QUIET_RELEASE_MS),
            &mut buf,
            &mut |s, d| {
                written += 1;
                sink.write(s, d)
            },
            hub.as_mut(),
        );
        if exited {
            break wait_exit(l.pid);
        }
        if written == before && written != released_at {
            released_at = written;
            let _ = k4t_sys::release_clean_file_pages();
        }
    };
    // The main process is gone: so is the container (what it left behind is killed).
    kill_rest(rec, l.pid);
    let deadline = monotonic_ms() + 2000;
    while !streams.is_empty() {
        let left = deadline.saturating_sub(monotonic_ms());
        if left == 0 {
            break;
        }
        pump(
            &mut streams,
            None,
            Some(left),
            &mut buf,
            &mut |s, d| sink.write(s, d),
            hub.as_mut(),
        );
    }
    sink.finish();
    let _ = sink.file.flush();
    let oom = if rec.isolated {
        rec.cgroup.oom_kills()
    } else {
        0
    };
    exit::exit_of(ended, oom, termination_message(dir, rec))
}

/// One poll round over the output streams, optionally the process's pidfd, and the attach
/// hub's sockets. Returns whether the process has exited. Streams that reached EOF are
/// removed.
fn pump(
    streams: &mut Vec<(OwnedFd, Stream)>,
    pidfd: Option<BorrowedFd<'_>>,
    timeout_ms: Option<u64>,
    buf: &mut [u8],
    sink: &mut dyn FnMut(Stream, &[u8]),
    mut hub: Option<&mut attach::Hub>,
) -> bool {
    // No heap allocation on the way into `poll`: a quiet supervisor sleeps here right after
    // giving its code pages back, and whatever runs before the sleep is faulted back in (a
    // call into the allocator maps the whole allocator's code).
    let mut fds: SmallVec<[PollFd<'_>; POLL_INLINE]> = streams
        .iter()
        .map(|(fd, _)| PollFd::new(fd, PollFlags::IN))
        .collect();
    if let Some(p) = pidfd {
        fds.push(PollFd::from_borrowed_fd(p, PollFlags::IN));
    }
    let hub_at = fds.len();
    if let Some(h) = hub.as_deref() {
        fds.extend(
            h.fds()
                .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)),
        );
    }
    let ts = timeout_ms.map(|ms| rustix::time::Timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: ((ms % 1000) * 1_000_000) as i64,
    });
    match rustix::event::poll(&mut fds, ts.as_ref()) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return false,
        Err(_) => {
            pause(10);
            return false;
        }
    }
    let ready: SmallVec<[bool; POLL_INLINE]> =
        fds.iter().map(|f| !f.revents().is_empty()).collect();
    drop(fds);
    let exited = pidfd.is_some() && ready.get(hub_at - 1).copied().unwrap_or(false);
    let mut closed: SmallVec<[usize; 2]> = SmallVec::new();
    for (i, (fd, stream)) in streams.iter().enumerate() {
        if !ready[i] {
            continue;
        }
        let (n, open) = read_some(fd, buf);
        if n > 0 {
            sink(*stream, &buf[..n]);
            if let Some(h) = hub.as_deref_mut() {
                let kind = match stream {
                    Stream::Stdout => attach::STDOUT,
                    Stream::Stderr => attach::STDERR,
                };
                h.broadcast(kind, &buf[..n]);
            }
        }
        if !open {
            closed.push(i);
        }
    }
    for i in closed.into_iter().rev() {
        streams.remove(i);
    }
    if let Some(h) = hub
        && ready[hub_at..].iter().any(|&r| r)
    {
        h.ready(&ready[hub_at..]);
    }
    exited
}

fn kill_rest(rec: &ContainerRecord, pid: Pid) {
    if rec.isolated && !rec.cgroup.dirs.is_empty() {
        for _ in 0..50 {
            if rec.cgroup.pids().is_empty() {
                return;
            }
            let _ = rec.cgroup.kill_all();
            pause(20);
        }
    } else {
        // The container is its own session and process group.
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}

/// The termination message: the file the container wrote at its termination message path,
/// found on the host through the container's mounts, or the container's own
/// `termination-log` file that the supervisor mounted there (without isolation, where nothing
/// can be mounted, the path itself on the host).
fn termination_message(dir: &Path, rec: &ContainerRecord) -> String {
    let Some(path) = rec
        .config
        .termination_message_path
        .as_deref()
        .filter(|p| !p.is_empty())
    else {
        return String::new();
    };
    let host = match host_path_of(&rec.config, Path::new(path)) {
        Some(h) => h,
        None if rec.isolated => dir.join(TERMINATION_LOG),
        None => PathBuf::from(path),
    };
    let Ok(f) = File::open(host) else {
        return String::new();
    };
    let mut data = Vec::new();
    let _ = f
        .take(TERMINATION_MESSAGE_LIMIT as u64)
        .read_to_end(&mut data);
    String::from_utf8_lossy(&data).into_owned()
}

/// Maps a container path to the host path behind it, through the deepest mount covering it.
pub fn host_path_of(config: &ContainerConfig, path: &Path) -> Option<PathBuf> {
    config
        .mounts
        .iter()
        .filter_map(|m| {
            path.strip_prefix(&m.container_path)
                .ok()
                .map(|rest| (m, rest))
        })
        .max_by_key(|(m, _)| m.container_path.components().count())
        .map(|(m, rest)| {
            if rest.as_os_str().is_empty() {
                m.host_path.clone()
            } else {
                m.host_path.join(rest)
            }
        })
}

// ---------------------------------------------------------------------------------------
// exec

/// What `k4t shim exec` prints: a header line `ok <exit-code> <timed-out 0|1> <stdout-len>
/// <stderr-len>` followed by the stdout and stderr bytes; or `error <message>` when the
/// command could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "ok {} {} {} {}\n",
            self.exit_code,
            u8::from(self.timed_out),
            self.stdout.len(),
            self.stderr.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.stdout);
        out.extend_from_slice(&self.stderr);
        out
    }

    /// Parses the shim's output: the result, or the error message it printed.
    pub fn decode(data: &[u8]) -> Result<ExecOutput, String> {
        let nl = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
        let header = String::from_utf8_lossy(&data[..nl]).into_owned();
        if let Some(msg) = header.strip_prefix("error ") {
            return Err(msg.to_owned());
        }
        let bad = || format!("unexpected output from the exec supervisor: {header:?}");
        let f: Vec<&str> = header.split(' ').collect();
        let [ok, code, timed_out, n_out, n_err] = f.as_slice() else {
            return Err(bad());
        };
        if *ok != "ok" {
            return Err(bad());
        }
        let parse = |s: &str| s.parse::<usize>().map_err(|_| bad());
        let (n_out, n_err) = (parse(n_out)?, parse(n_err)?);
        let body = data.get(nl + 1..).unwrap_or_default();
        if body.len() != n_out + n_err {
            return Err(bad());
        }
        Ok(ExecOutput {
            exit_code: code.parse().map_err(|_| bad())?,
            timed_out: *timed_out == "1",
            stdout: body[..n_out].to_vec(),
            stderr: body[n_out..].to_vec(),
        })
    }
}

/// Prepares running `argv` in a running container: reads its records, joins its PID
/// namespace (for the next child) and returns the hook's setup and error pipe.
fn exec_setup(dir: &Path, argv: &[String]) -> Result<(Setup, OwnedFd), String> {
    let rec: ContainerRecord = state::read_json(&dir.join(CONTAINER_FILE))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no container record in {}", dir.display()))?;
    let started: Started = state::read_json(&dir.join(STARTED_FILE))
        .map_err(|e| e.to_string())?
        .ok_or("container is not running")?;
    if state::read_json::<Exited>(&dir.join(EXITED_FILE))
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err("container is not running".to_owned());
    }
    verify(started.process, "container's process")?;
    let target = started.process.pid;
    let (errors_r, errors_w) = pipe()?;
    let mut setup = Setup {
        cgroup: None,
        join: Vec::new(),
        mounts: None,
        tty: false,
        credentials: credentials(&rec.config),
        cwd: rec
            .config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_owned()),
        die_with_parent: false,
        argv: argv.to_vec(),
        env: env_strings(&rec.config)?,
        path_env: path_env(&rec.config),
        errors: errors_w,
    };
    if rec.isolated {
        setup.cgroup = Some(rec.cgroup.clone());
        let mut join = Vec::new();
        for (on, kind, ns) in [
            (rec.join.net, "net", Namespace::Net),
            (rec.join.uts, "uts", Namespace::Uts),
            (rec.join.ipc, "ipc", Namespace::Ipc),
            (true, "mnt", Namespace::Mount),
        ] {
            if on {
                join.push((ns_file(target, kind)?, ns));
            }
        }
        setup.join = join;
        // The container's PID namespace (its own or the pod's), whose /proc it mounted.
        let f = ns_file(target, "pid")?;
        k4t_sys::setns(f.as_fd(), Namespace::Pid)
            .map_err(|e| format!("joining the container's PID namespace: {e}"))?;
    }
    Ok((setup, errors_r))
}

fn exec(dir: &Path, timeout_ms: u64, argv: &[String]) -> Result<i32, String> {
    let (mut setup, errors_r) = exec_setup(dir, argv)?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let mut cmd = Command::new(&argv[0]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    let spawned = k4t_sys::spawn_with_hook(&mut cmd, move || child_setup(&mut setup));
    drop(cmd);
    let child = match spawned {
        Ok(c) => c,
        Err(e) => return Err(hook_error(errors_r, &e)),
    };
    let raw = child.id() as i32;
    drop(child);
    let pid = Pid::from_raw(raw).ok_or("the exec'd process has no pid")?;
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())
        .map_err(|e| format!("pidfd_open: {e}"))?;

    let deadline = monotonic_ms() + timeout_ms;
    let mut streams = vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)];
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut keep = |s: Stream, d: &[u8]| {
        let buf = if s == Stream::Stdout {
            &mut stdout
        } else {
            &mut stderr
        };
        let room = EXEC_OUTPUT_LIMIT.saturating_sub(buf.len());
        buf.extend_from_slice(&d[..d.len().min(room)]);
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut ended = None;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_sub(monotonic_ms());
        if left == 0 {
            timed_out = true;
            break;
        }
        if pump(
            &mut streams,
            Some(pidfd.as_fd()),
            Some(left),
            &mut buf,
            &mut keep,
            None,
        ) {
            ended = Some(wait_exit(pid));
            break;
        }
    }
    if timed_out {
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        let _ = rustix::process::kill_process(pid, Signal::KILL);
        wait_exit(pid);
    }
    // Output still in the pipes, unless something the command started keeps them open.
    let drain_until = monotonic_ms() + 200;
    while !streams.is_empty() {
        let left = drain_until.saturating_sub(monotonic_ms());
        if left == 0 {
            break;
        }
        pump(&mut streams, None, Some(left), &mut buf, &mut keep, None);
    }
    let exit_code = match ended {
        Some(Ended::Exited(c)) => c,
        Some(Ended::Signaled(s)) => 128 + s,
        None => -1,
    };
    let out = ExecOutput {
        exit_code,
        timed_out,
        stdout,
        stderr,
    };
    io::stdout()
        .write_all(&out.encode())
        .map_err(|e| e.to_string())?;
    Ok(0)
}

/// What `exec-stream` records in its status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    Exited(i32),
    StartFailed(String),
}

impl StreamStatus {
    pub fn encode(&self) -> String {
        match self {
            StreamStatus::Exited(code) => format!("exit {code}\n"),
            StreamStatus::StartFailed(msg) => format!("error {msg}\n"),
        }
    }

    pub fn decode(text: &str) -> Option<StreamStatus> {
        let text = text.trim_end_matches('\n');
        if let Some(msg) = text.strip_prefix("error ") {
            return Some(StreamStatus::StartFailed(msg.to_owned()));
        }
        text.strip_prefix("exit ")?
            .parse()
            .ok()
            .map(StreamStatus::Exited)
    }
}

fn exec_stream(dir: &Path, status: &Path, tty: bool, argv: &[String]) -> i32 {
    let outcome = (|| -> Result<i32, String> {
        let (mut setup, errors_r) = exec_setup(dir, argv)?;
        setup.tty = tty;
        setup.die_with_parent = true;
        // The command's stdio is the supervisor's: k4t's pipes or terminal.
        let mut cmd = Command::new(&argv[0]);
        let spawned = k4t_sys::spawn_with_hook(&mut cmd, move || child_setup(&mut setup));
        drop(cmd);
        let child = spawned.map_err(|e| hook_error(errors_r, &e))?;
        let raw = child.id() as i32;
        drop(child);
        let pid = Pid::from_raw(raw).ok_or("the exec'd process has no pid")?;
        Ok(match wait_exit(pid) {
            Ended::Exited(c) => c,
            Ended::Signaled(s) => 128 + s,
        })
    })();
    let (record, code) = match outcome {
        Ok(code) => (StreamStatus::Exited(code), code),
        Err(msg) => (StreamStatus::StartFailed(msg), 126),
    };
    if let Err(e) = std::fs::write(status, record.encode()) {
        eprintln!("writing {}: {e}", status.display());
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mount;

    #[test]
    fn exec_output_round_trip() {
        let check = |o: ExecOutput| assert_eq!(ExecOutput::decode(&o.encode()), Ok(o.clone()));
        check(ExecOutput {
            exit_code: 0,
            timed_out: false,
            stdout: b"hi\n".to_vec(),
            stderr: vec![],
        });
        check(ExecOutput {
            exit_code: 137,
            timed_out: true,
            stdout: vec![0, 10, 255],
            stderr: b"err\nmore".to_vec(),
        });
        assert_eq!(
            ExecOutput::decode(b"error exec: \"x\": nope\n"),
            Err("exec: \"x\": nope".to_owned())
        );
        assert!(ExecOutput::decode(b"ok 0 0 5 0\nab").is_err());
        assert!(ExecOutput::decode(b"").is_err());
    }

    #[test]
    fn container_paths_map_to_host_paths() {
        let config = ContainerConfig {
            mounts: vec![
                Mount {
                    host_path: "/h/vol".into(),
                    container_path: "/data".into(),
                    read_only: false,
                },
                Mount {
                    host_path: "/h/msg".into(),
                    container_path: "/dev/termination-log".into(),
                    read_only: false,
                },
                Mount {
                    host_path: "/h/deep".into(),
                    container_path: "/data/deep".into(),
                    read_only: true,
                },
            ],
            ..ContainerConfig::default()
        };
        let check = |p: &str, expected: Option<&str>| {
            assert_eq!(
                host_path_of(&config, Path::new(p)),
                expected.map(PathBuf::from),
                "{p}"
            );
        };
        check("/dev/termination-log", Some("/h/msg"));
        check("/data/x/y", Some("/h/vol/x/y"));
        check("/data/deep/z", Some("/h/deep/z"));
        check("/datax", None);
        check("/etc/passwd", None);
    }

    #[test]
    fn errno_texts_read_like_go() {
        assert_eq!(
            errno_text(&io::Error::from_raw_os_error(2)),
            "no such file or directory"
        );
        assert_eq!(
            errno_text(&io::Error::from_raw_os_error(13)),
            "permission denied"
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(shim_main(&[]), 2);
        assert_eq!(shim_main(&["bogus".into()]), 2);
    }
}
