//! `kubectl attach`: the supervisor of each container listens on `attach.sock` in the
//! container's state directory; clients get the container's output from the moment they
//! attach and may write its stdin and resize its terminal. Frames both ways are
//! `[kind u8][length u32 BE][payload]`. Client → supervisor: [`STDIN`] data, [`STDIN_CLOSE`],
//! [`RESIZE`] (`u16` width, `u16` height). Supervisor → client: [`STDOUT`], [`STDERR`].
//!
//! The socket is bound and reached through `/proc/self/fd/<dir-fd>/attach.sock`, because
//! state paths can exceed the 108 bytes a socket address holds.

use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

pub const SOCKET: &str = "attach.sock";

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STDIN_CLOSE: u8 = 3;
pub const RESIZE: u8 = 4;

/// The largest frame accepted from a client.
const MAX_FRAME: usize = 1 << 20;

pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Splits complete frames off the front of `buf`; `Err` for a frame too large.
pub fn take_frames(buf: &mut Vec<u8>) -> Result<Vec<(u8, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 5 {
        let kind = buf[at];
        let len = u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize;
        if len > MAX_FRAME {
            return Err(format!("attach frame of {len} bytes is too large"));
        }
        if buf.len() - at - 5 < len {
            break;
        }
        out.push((kind, buf[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    buf.drain(..at);
    Ok(out)
}

/// The path that reaches `attach.sock` in the directory `dir_fd` refers to.
pub fn socket_path(dir_fd: &impl std::os::fd::AsRawFd) -> String {
    format!("/proc/self/fd/{}/{SOCKET}", dir_fd.as_raw_fd())
}

struct Client {
    sock: UnixStream,
    inbuf: Vec<u8>,
    wrote_stdin: bool,
}

/// The supervisor's side: the listener, the attached clients, the container's stdin and
/// terminal.
pub struct Hub {
    listener: UnixListener,
    clients: Vec<Client>,
    stdin: Option<std::fs::File>,
    terminal: Option<OwnedFd>,
    stdin_once: bool,
}

impl Hub {
    /// Listens in `dir`. `stdin` is the container's stdin (when it has one), `terminal` the
    /// master of its terminal (when it has one).
    pub fn open(
        dir: &Path,
        stdin: Option<OwnedFd>,
        terminal: Option<OwnedFd>,
        stdin_once: bool,
    ) -> io::Result<Hub> {
        let d = std::fs::File::open(dir)?;
        let _ = std::fs::remove_file(dir.join(SOCKET));
        let listener = UnixListener::bind(socket_path(&d))?;
        listener.set_nonblocking(true)?;
        Ok(Hub {
            listener,
            clients: Vec::new(),
            stdin: stdin.map(std::fs::File::from),
            terminal,
            stdin_once,
        })
    }

    /// What to poll for input: the listener first, then each client.
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd()).chain(self.clients.iter().map(|c| c.sock.as_fd()))
    }

    /// Sends output to every client; one that cannot keep up is dropped.
    pub fn broadcast(&mut self, kind: u8, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let f = frame(kind, data);
        self.clients
            .retain_mut(|c| write_all_nonblocking(&mut c.sock, &f));
    }

    /// Handles readiness: `ready[0]` the listener's, then the clients' in [`fds`] order.
    pub fn ready(&mut self, ready: &[bool]) {
        if ready.first() == Some(&true) {
            while let Ok((sock, _)) = self.listener.accept() {
                if sock.set_nonblocking(true).is_ok() {
                    self.clients.push(Client {
                        sock,
                        inbuf: Vec::new(),
                        wrote_stdin: false,
                    });
                }
            }
        }
        let mut gone = Vec::new();
        let n = self.clients.len();
        for i in 0..n {
            if ready.get(i + 1) != Some(&true) {
                continue;
            }
            let mut buf = [0u8; 16 * 1024];
            let read = self.clients[i].sock.read(&mut buf);
            match read {
                Ok(0) => gone.push(i),
                Ok(k) => {
                    self.clients[i].inbuf.extend_from_slice(&buf[..k]);
                    match take_frames(&mut self.clients[i].inbuf) {
                        Ok(frames) => {
                            for (kind, payload) in frames {
                                self.input(i, kind, &payload);
                            }
                        }
                        Err(_) => gone.push(i),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => gone.push(i),
            }
        }
        for i in gone.into_iter().rev() {
            let c = self.clients.remove(i);
            // `stdinOnce`: the container's stdin closes when the first session that used it
            // ends.
            if self.stdin_once && c.wrote_stdin {
                self.stdin = None;
            }
        }
    }

    fn input(&mut self, client: usize, kind: u8, payload: &[u8]) {
        match kind {
            STDIN => {
                self.clients[client].wrote_stdin = true;
                if let Some(f) = self.stdin.as_mut()
                    && f.write_all(payload).is_err()
                {
                    self.stdin = None;
                }
            }
            STDIN_CLOSE => {
                self.clients[client].wrote_stdin = true;
                if self.stdin_once && self.terminal.is_none() {
                    self.stdin = None;
                }
            }
            RESIZE if payload.len() == 4 => {
                if let Some(t) = &self.terminal {
                    let size = rustix::termios::Winsize {
                        ws_col: u16::from_be_bytes([payload[0], payload[1]]),
                        ws_row: u16::from_be_bytes([payload[2], payload[3]]),
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    let _ = rustix::termios::tcsetwinsize(t, size);
                }
            }
            _ => {}
        }
    }
}

/// Writes `data` whole or reports failure; a client whose socket buffer is full is too slow
/// for a live stream.
fn write_all_nonblocking(sock: &mut UnixStream, mut data: &[u8]) -> bool {
    let mut stalls = 0;
    while !data.is_empty() {
        match sock.write(data) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && stalls < 100 => {
                stalls += 1;
                super::shim::pause(1);
            }
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = frame(STDIN, b"hello");
        wire.extend(frame(RESIZE, &[0, 80, 0, 24]));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for b in wire {
            buf.push(b);
            got.extend(take_frames(&mut buf).unwrap());
        }
        assert_eq!(
            got,
            vec![(STDIN, b"hello".to_vec()), (RESIZE, vec![0, 80, 0, 24])]
        );
        assert!(buf.is_empty());
        let mut huge = vec![STDIN];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(take_frames(&mut huge).is_err());
    }

    #[test]
    fn clients_get_output_and_feed_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let (stdin_r, stdin_w) = rustix::pipe::pipe().unwrap();
        let mut hub = Hub::open(dir.path(), Some(stdin_w), None, true).unwrap();
        let d = std::fs::File::open(dir.path()).unwrap();
        let mut c = UnixStream::connect(socket_path(&d)).unwrap();
        let poll_once = |hub: &mut Hub| {
            let n = hub.fds().count();
            hub.ready(&vec![true; n]);
        };
        poll_once(&mut hub);
        hub.broadcast(STDOUT, b"out");
        let mut got = [0u8; 8];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x01\x00\x00\x00\x03out");
        c.write_all(&frame(STDIN, b"typed")).unwrap();
        crate::process::shim::pause(50);
        poll_once(&mut hub);
        let mut typed = [0u8; 5];
        std::fs::File::from(stdin_r.try_clone().unwrap())
            .read_exact(&mut typed)
            .unwrap();
        assert_eq!(&typed, b"typed");
        drop(c);
        crate::process::shim::pause(50);
        poll_once(&mut hub);
        assert!(
            hub.stdin.is_none(),
            "stdinOnce closes stdin after the first session"
        );
    }
}
