//! Streamed exec (`k4t shim exec-stream` with pipes or a terminal k4t holds) and port
//! forwarding into a pod's network namespace.

use std::io;
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::TerminalSize;

/// The k4t side of a terminal: reads what the command shows, writes what it types.
#[derive(Clone)]
pub(crate) struct PtyMaster {
    fd: Arc<AsyncFd<OwnedFd>>,
}

impl PtyMaster {
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Self> {
        use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
        let flags = fcntl_getfl(&fd)?;
        fcntl_setfl(&fd, flags | OFlags::NONBLOCK)?;
        // Deprecated because an arbitrary `AsRawFd` may close its fd while registered; an
        // `OwnedFd` moved in stays open until the `AsyncFd` drops, which is the contract of
        // the `unsafe` replacement. That keeps `unsafe` out of this crate.
        #[allow(deprecated)]
        let fd = AsyncFd::new(fd)?;
        Ok(Self { fd: Arc::new(fd) })
    }
}

impl AsyncRead for PtyMaster {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| {
                rustix::io::read(fd.get_ref(), &mut *unfilled).map_err(io::Error::from)
            }) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Linux answers EIO once the last holder of the terminal's other side closed
                // it: that is the end of the output.
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyMaster {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), data).map_err(io::Error::from))
            {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A terminal has no half-close; the command sees EOF when it reads ^D, which the
        // client sends itself in raw mode.
        Poll::Ready(Ok(()))
    }
}

impl TerminalSize for PtyMaster {
    fn resize(&self, width: u16, height: u16) {
        let size = rustix::termios::Winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        if let Err(e) = rustix::termios::tcsetwinsize(self.fd.get_ref().as_fd(), size) {
            tracing::debug!(error = %e, "resizing an exec terminal");
        }
    }
}

/// Connects to `127.0.0.1:port` (or `[::1]:port`) inside the network namespace at `netns`
/// (`None`: the host's), on a thread of its own since joining a namespace is per thread.
pub(crate) async fn dial_in_netns(
    netns: Option<&Path>,
    port: u16,
    timeout: Duration,
) -> io::Result<tokio::net::TcpStream> {
    let netns = netns.map(Path::to_path_buf);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("k4t-portforward".into())
        .spawn(move || {
            let result = (|| -> io::Result<std::net::TcpStream> {
                if let Some(path) = &netns {
                    let f = std::fs::File::open(path).map_err(|e| {
                        io::Error::new(e.kind(), format!("opening {}: {e}", path.display()))
                    })?;
                    k4t_sys::setns(f.as_fd(), k4t_sys::Namespace::Net)?;
                }
                let v4 = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                match std::net::TcpStream::connect_timeout(&v4, timeout) {
                    Ok(s) => Ok(s),
                    Err(e4) => {
                        let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
                        std::net::TcpStream::connect_timeout(&v6, timeout).map_err(|_| {
                            io::Error::new(
                                e4.kind(),
                                format!("dial tcp4 127.0.0.1:{port}: connect: {}", go_errno(&e4)),
                            )
                        })
                    }
                }
            })();
            // The thread ends here, and with it its membership of the namespace.
            let _ = tx.send(result);
        })?;
    let stream = rx
        .await
        .map_err(|_| io::Error::other("the port-forward dialer thread died"))??;
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}

/// `Connection refused (os error 111)` → `connection refused`, as Go prints it.
fn go_errno(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads the status `k4t shim exec-stream` left.
pub(crate) fn read_stream_status(path: &Path) -> Option<super::shim::StreamStatus> {
    let text = std::fs::read_to_string(path).ok()?;
    super::shim::StreamStatus::decode(&text)
}

/// Connects to a container's attach socket (see `attach.rs`) and presents it as an
/// [`crate::ExecSession`] whose `exit` resolves when the container's supervisor closes the
/// connection (the container ended).
pub(crate) async fn attach(dir: &Path, tty: bool) -> io::Result<crate::ExecSession> {
    use super::attach as wire;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let d = std::fs::File::open(dir)?;
    let sock = tokio::net::UnixStream::connect(wire::socket_path(&d)).await?;
    drop(d);
    let (mut rd, mut wr) = sock.into_split();
    let (stdin_user, mut stdin_rx) = tokio::io::duplex(64 * 1024);
    let (out_user, mut out_tx) = tokio::io::duplex(256 * 1024);
    let (err_user, mut err_tx) = tokio::io::duplex(256 * 1024);
    let (resize_tx, mut resize_rx) = tokio::sync::mpsc::unbounded_channel::<(u16, u16)>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    // Client → supervisor: stdin and resizes, framed.
    let writer = tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        let mut stdin_open = true;
        let mut resizes_open = true;
        loop {
            if !stdin_open && !resizes_open {
                // Dropping the write half would shut the socket's write side down, which the
                // supervisor reads as this client leaving: hold it until the reader ends.
                std::future::pending::<()>().await;
            }
            tokio::select! {
                n = stdin_rx.read(&mut buf), if stdin_open => match n {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        if wr.write_all(&wire::frame(wire::STDIN_CLOSE, &[])).await.is_err() { return; }
                    }
                    Ok(n) => if wr.write_all(&wire::frame(wire::STDIN, &buf[..n])).await.is_err() { return; },
                },
                size = resize_rx.recv(), if resizes_open => match size {
                    Some((w, h)) => {
                        let mut p = w.to_be_bytes().to_vec();
                        p.extend_from_slice(&h.to_be_bytes());
                        if wr.write_all(&wire::frame(wire::RESIZE, &p)).await.is_err() { return; }
                    }
                    None => resizes_open = false,
                },
            }
        }
    });
    // Supervisor → client: output, demultiplexed.
    tokio::spawn(async move {
        let mut inbuf = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        'read: loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => inbuf.extend_from_slice(&buf[..n]),
            }
            let Ok(frames) = wire::take_frames(&mut inbuf) else {
                break;
            };
            for (kind, payload) in frames {
                let to = match kind {
                    wire::STDOUT => &mut out_tx,
                    wire::STDERR => &mut err_tx,
                    _ => continue,
                };
                if to.write_all(&payload).await.is_err() {
                    break 'read;
                }
            }
        }
        writer.abort();
        let _ = done_tx.send(());
    });
    struct Resizer(tokio::sync::mpsc::UnboundedSender<(u16, u16)>);
    impl TerminalSize for Resizer {
        fn resize(&self, width: u16, height: u16) {
            let _ = self.0.send((width, height));
        }
    }
    use futures::FutureExt as _;
    Ok(crate::ExecSession {
        stdin: Some(Box::new(stdin_user)),
        stdout: Box::new(out_user),
        stderr: (!tty).then(|| Box::new(err_user) as _),
        terminal: tty.then(|| Box::new(Resizer(resize_tx)) as _),
        exit: async move {
            let _ = done_rx.await;
            Ok(0)
        }
        .boxed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_reads_like_go() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(go_errno(&e), "connection refused");
    }

    #[tokio::test]
    async fn dial_on_the_host_loopback() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let s = dial_in_netns(None, port, Duration::from_secs(2)).await;
        assert!(s.is_ok());
        drop(l);
        let err = dial_in_netns(None, port, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("dial tcp4 127.0.0.1:{port}: connect: connection refused")
        );
    }
}
