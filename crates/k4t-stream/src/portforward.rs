//! The server side of a port-forward session over SPDY (`portforward.k8s.io`): pairing the
//! client's streams into forwarded connections, dialing the pod's port through a [`Dialer`],
//! relaying bytes both ways, and reporting failures the way kubectl expects.
//!
//! For each local connection kubectl opens two streams carrying the same `requestid`
//! header: an `error` stream, which it half-closes at once and then reads to its end for a
//! failure message, and a `data` stream carrying the bytes. Every stream gets a SYN_REPLY,
//! since kubectl waits for one. A connection is done, and its error stream closed, once the
//! upstream side has reached its end: kubectl only closes its local socket after that, so
//! waiting for its FIN first would deadlock.
//!
//! Tasks: one writer owns the encoder and drains a bounded queue of frames; the reader loop
//! decodes frames and hands data to one task per connection through bounded channels, so a
//! slow upstream stalls the reading of the session rather than growing a buffer. A GOAWAY
//! from the client ends the session at once, closing every upstream connection, as does the
//! end of the session's byte stream.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::spdy::{Codec, Frame, Headers, SpdyError, status};

/// Header naming a stream's role: [`STREAM_TYPE_ERROR`] or [`STREAM_TYPE_DATA`].
pub const HEADER_STREAM_TYPE: &str = "streamtype";
/// Header with the pod's port to forward to.
pub const HEADER_PORT: &str = "port";
/// Header pairing an error stream with its data stream.
pub const HEADER_REQUEST_ID: &str = "requestid";
pub const STREAM_TYPE_ERROR: &str = "error";
pub const STREAM_TYPE_DATA: &str = "data";

/// How long the first stream of a pair waits for its partner.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest DATA frame sent.
pub const MAX_CHUNK: usize = 32 << 10;
/// Requests waiting for their second stream; beyond this, new streams are refused.
const MAX_PENDING: usize = 1024;
/// DATA frames queued towards one upstream connection.
const INBOUND_FRAMES: usize = 8;
/// Frames queued towards the writer.
const OUTBOUND_FRAMES: usize = 64;
/// How long frames already queued get to reach the client once the session ends.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens connections to the pod's ports.
pub trait Dialer: Send + Sync + 'static {
    fn dial(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Upstream>>>;
}

/// A connection to a pod's port.
pub trait Upstream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Upstream for T {}

/// Serves one port-forward session on `io` (the connection after the protocol upgrade) until
/// the client goes away: its end of stream or a GOAWAY gives `Ok`, a protocol or I/O error
/// `Err`. Upstream connections are closed when it returns. `pod` names the pod in the error
/// messages kubectl shows.
pub async fn serve<IO>(io: IO, dialer: Arc<dyn Dialer>, pod: String) -> Result<(), SpdyError>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (out, out_rx) = mpsc::channel(OUTBOUND_FRAMES);
    let mut writer = AbortOnDrop(tokio::spawn(write_frames(write, out_rx)));
    let mut frames = FramedRead::new(read, Codec::new());
    let mut session = Session::new(dialer, pod.into(), out);

    let ended = session.run(&mut frames, &mut writer.0).await;
    // Connections go first so that their senders, and with them the writer's queue, close.
    session.tasks.shutdown().await;
    drop(session);

    match ended {
        Ended::Reader(result) => {
            match tokio::time::timeout(DRAIN_TIMEOUT, &mut writer.0).await {
                Ok(Ok(Err(e))) => {
                    tracing::debug!(error = %e, "port-forward writer failed at the end")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "port-forward writer task failed"),
                Ok(Ok(Ok(()))) => {}
                Err(_) => writer.0.abort(),
            }
            result
        }
        Ended::Writer(result) => writer_outcome(result),
        Ended::WriterGone => writer_outcome((&mut writer.0).await),
    }
}

/// The writer task is aborted if `serve` is dropped halfway, so that it cannot outlive the
/// session, blocked on a client that stopped reading.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn writer_outcome(result: Result<Result<(), SpdyError>, JoinError>) -> Result<(), SpdyError> {
    match result {
        Ok(Ok(())) => Err(io::Error::from(io::ErrorKind::BrokenPipe).into()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(io::Error::other(e).into()),
    }
}

async fn write_frames<W>(write: W, mut frames: mpsc::Receiver<Frame>) -> Result<(), SpdyError>
where
    W: AsyncWrite + Unpin,
{
    let mut sink = FramedWrite::new(write, Codec::new());
    while let Some(frame) = frames.recv().await {
        sink.feed(frame).await?;
        // Whatever is already queued goes out in the same flush.
        while let Ok(frame) = frames.try_recv() {
            sink.feed(frame).await?;
        }
        sink.flush().await?;
    }
    sink.close().await
}

/// Why [`Session::run`] returned.
enum Ended {
    /// The client's side ended: cleanly, by GOAWAY, or with a decoding error.
    Reader(Result<(), SpdyError>),
    /// The writer task finished, with this outcome.
    Writer(Result<Result<(), SpdyError>, JoinError>),
    /// The writer's queue closed; its task is finishing.
    WriterGone,
}

/// The writer's queue closed, so nothing more can be said to the client.
struct WriterGone;

struct Session {
    dialer: Arc<dyn Dialer>,
    pod: Arc<str>,
    out: mpsc::Sender<Frame>,
    /// Requests with one stream so far, by request id.
    pending: HashMap<String, Pending>,
    /// Pending requests in order of arrival, hence of deadline; entries whose request has
    /// since paired up or gone are skipped.
    deadlines: VecDeque<(Instant, String)>,
    streams: HashMap<u32, Route>,
    tasks: JoinSet<()>,
    /// The (data, error) streams of each connection task.
    task_streams: HashMap<tokio::task::Id, (u32, u32)>,
}

#[derive(Default)]
struct Pending {
    deadline: Option<Instant>,
    error: Option<u32>,
    data: Option<PendingData>,
}

struct PendingData {
    stream_id: u32,
    headers: Headers,
    inbound: mpsc::Receiver<Bytes>,
}

enum Route {
    /// kubectl sends nothing on it but its FIN.
    Error { request_id: String },
    Data {
        request_id: String,
        /// Until the client's FIN, or until the connection stops taking data.
        inbound: Option<mpsc::Sender<Bytes>>,
        /// Once paired.
        task: Option<AbortHandle>,
    },
}

impl Session {
    fn new(dialer: Arc<dyn Dialer>, pod: Arc<str>, out: mpsc::Sender<Frame>) -> Self {
        Session {
            dialer,
            pod,
            out,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            streams: HashMap::new(),
            tasks: JoinSet::new(),
            task_streams: HashMap::new(),
        }
    }

    async fn run<R>(
        &mut self,
        frames: &mut FramedRead<R, Codec>,
        writer: &mut JoinHandle<Result<(), SpdyError>>,
    ) -> Ended
    where
        R: AsyncRead + Unpin,
    {
        loop {
            let deadline = self.deadlines.front().map(|(at, _)| *at);
            let step = tokio::select! {
                frame = frames.next() => match frame {
                    None => return Ended::Reader(Ok(())),
                    Some(Err(e)) => return Ended::Reader(Err(e)),
                    Some(Ok(Frame::GoAway { .. })) => return Ended::Reader(Ok(())),
                    Some(Ok(frame)) => self.handle(frame).await,
                },
                Some(done) = self.tasks.join_next_with_id() => {
                    self.finished(done);
                    Ok(())
                }
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.expire().await
                }
                result = &mut *writer => return Ended::Writer(result),
            };
            if step.is_err() {
                return Ended::WriterGone;
            }
        }
    }

    async fn send(&self, frame: Frame) -> Result<(), WriterGone> {
        self.out.send(frame).await.map_err(|_| WriterGone)
    }

    async fn handle(&mut self, frame: Frame) -> Result<(), WriterGone> {
        match frame {
            Frame::SynStream {
                stream_id,
                fin,
                headers,
                ..
            } => self.open(stream_id, fin, headers).await,
            Frame::Data {
                stream_id,
                fin,
                data,
            } => self.data(stream_id, fin, data).await,
            Frame::RstStream { stream_id, .. } => {
                self.reset(stream_id);
                Ok(())
            }
            // Odd ids are the client's own pings; even ones would answer ours, and we send none.
            Frame::Ping { id } if id % 2 == 1 => self.send(Frame::Ping { id }).await,
            // Flow control is not enforced by Kubernetes' SPDY peers, and nothing else here
            // concerns a server.
            Frame::Ping { .. }
            | Frame::SynReply { .. }
            | Frame::Headers { .. }
            | Frame::Settings { .. }
            | Frame::WindowUpdate { .. }
            | Frame::GoAway { .. }
            | Frame::Unknown { .. } => Ok(()),
        }
    }

    async fn open(
        &mut self,
        stream_id: u32,
        fin: bool,
        headers: Headers,
    ) -> Result<(), WriterGone> {
        let refuse = |status| Frame::RstStream { stream_id, status };
        if self.streams.contains_key(&stream_id) {
            return self.send(refuse(status::STREAM_IN_USE)).await;
        }
        let is_data = match headers.get(HEADER_STREAM_TYPE) {
            Some(STREAM_TYPE_DATA) => true,
            Some(STREAM_TYPE_ERROR) => false,
            other => {
                tracing::debug!(stream_id, stream_type = ?other, "port-forward stream of unknown type");
                return self.send(refuse(status::REFUSED_STREAM)).await;
            }
        };
        let request_id = match headers.get(HEADER_REQUEST_ID) {
            Some(id) => id.to_owned(),
            // Clients before the request id header open the error stream and then the data
            // stream, with consecutive odd ids.
            None if is_data => stream_id.saturating_sub(2).to_string(),
            None => stream_id.to_string(),
        };
        let taken = self.pending.get(&request_id).is_some_and(|p| {
            if is_data {
                p.data.is_some()
            } else {
                p.error.is_some()
            }
        });
        if taken {
            return self.send(refuse(status::PROTOCOL_ERROR)).await;
        }
        if !self.pending.contains_key(&request_id) && self.pending.len() >= MAX_PENDING {
            return self.send(refuse(status::REFUSED_STREAM)).await;
        }
        self.send(Frame::SynReply {
            stream_id,
            fin: false,
            headers: Headers::new(),
        })
        .await?;

        let pending = self.pending.entry(request_id.clone()).or_default();
        if pending.deadline.is_none() {
            let deadline = Instant::now() + PAIR_TIMEOUT;
            pending.deadline = Some(deadline);
            self.deadlines.push_back((deadline, request_id.clone()));
        }
        if is_data {
            let (tx, inbound) = mpsc::channel(INBOUND_FRAMES);
            pending.data = Some(PendingData {
                stream_id,
                headers,
                inbound,
            });
            let inbound = (!fin).then_some(tx);
            let route = Route::Data {
                request_id: request_id.clone(),
                inbound,
                task: None,
            };
            self.streams.insert(stream_id, route);
        } else {
            pending.error = Some(stream_id);
            self.streams.insert(
                stream_id,
                Route::Error {
                    request_id: request_id.clone(),
                },
            );
        }

        let paired = self
            .pending
            .get(&request_id)
            .is_some_and(|p| p.error.is_some() && p.data.is_some());
        if paired
            && let Some(Pending {
                error: Some(error_id),
                data: Some(data),
                ..
            }) = self.pending.remove(&request_id)
        {
            self.start(error_id, data);
        }
        Ok(())
    }

    fn start(&mut self, error_id: u32, data: PendingData) {
        let data_id = data.stream_id;
        let connection = Connection {
            dialer: Arc::clone(&self.dialer),
            pod: Arc::clone(&self.pod),
            port: parse_port(data.headers.get(HEADER_PORT)),
            inbound: data.inbound,
            streams: PairedStreams {
                out: self.out.clone(),
                error_id,
                data_id,
            },
        };
        let handle = self.tasks.spawn(connection.run());
        self.task_streams.insert(handle.id(), (data_id, error_id));
        if let Some(Route::Data { task, .. }) = self.streams.get_mut(&data_id) {
            *task = Some(handle);
        }
    }

    async fn data(&mut self, stream_id: u32, fin: bool, data: Bytes) -> Result<(), WriterGone> {
        let Some(Route::Data {
            request_id,
            inbound,
            task,
        }) = self.streams.get_mut(&stream_id)
        else {
            // The error stream's FIN, or a stream already closed or never opened.
            return Ok(());
        };
        let paired = task.is_some();
        let request_id = request_id.clone();
        let tx = if fin { inbound.take() } else { inbound.clone() };
        let Some(tx) = tx else {
            return Ok(());
        };
        if data.is_empty() {
            return Ok(());
        }
        if paired {
            // Waiting here is the backpressure: the session is not read while the upstream
            // is slow to take what came before.
            if tx.send(data).await.is_err() {
                self.stop_inbound(stream_id);
            }
            return Ok(());
        }
        // Not paired yet, nobody drains the channel: the client gets a few frames' grace,
        // then the request is dropped rather than the session blocked.
        match tx.try_send(data) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.stop_inbound(stream_id);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(
                    request_id,
                    "port-forward data before its error stream overflowed"
                );
                self.abandon(&request_id).await
            }
        }
    }

    /// The connection takes no more data: later frames are dropped.
    fn stop_inbound(&mut self, stream_id: u32) {
        if let Some(Route::Data { inbound, .. }) = self.streams.get_mut(&stream_id) {
            *inbound = None;
        }
    }

    fn reset(&mut self, stream_id: u32) {
        match self.streams.remove(&stream_id) {
            Some(Route::Data {
                task: Some(task), ..
            }) => task.abort(),
            Some(Route::Data {
                request_id,
                task: None,
                ..
            }) => {
                if let Some(p) = self.pending.get_mut(&request_id) {
                    p.data = None;
                    if p.error.is_none() {
                        self.pending.remove(&request_id);
                    }
                }
            }
            // A running connection carries on without a way to report its failure.
            Some(Route::Error { request_id }) => {
                if let Some(p) = self.pending.get_mut(&request_id) {
                    p.error = None;
                    if p.data.is_none() {
                        self.pending.remove(&request_id);
                    }
                }
            }
            None => {}
        }
    }

    /// Drops a request still waiting for its second stream, resetting what it had.
    async fn abandon(&mut self, request_id: &str) -> Result<(), WriterGone> {
        let Some(pending) = self.pending.remove(request_id) else {
            return Ok(());
        };
        for stream_id in [pending.error, pending.data.map(|d| d.stream_id)]
            .into_iter()
            .flatten()
        {
            self.streams.remove(&stream_id);
            self.send(Frame::RstStream {
                stream_id,
                status: status::CANCEL,
            })
            .await?;
        }
        Ok(())
    }

    async fn expire(&mut self) -> Result<(), WriterGone> {
        let now = Instant::now();
        while let Some((at, _)) = self.deadlines.front() {
            if *at > now {
                break;
            }
            let Some((at, request_id)) = self.deadlines.pop_front() else {
                break;
            };
            // Only if it is still the same wait, not a later one under a reused id.
            if self
                .pending
                .get(&request_id)
                .is_some_and(|p| p.deadline == Some(at))
            {
                tracing::debug!(request_id, "port-forward stream never got its partner");
                self.abandon(&request_id).await?;
            }
        }
        Ok(())
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, ()), JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %e, "port-forward connection task panicked");
                }
                e.id()
            }
        };
        if let Some((data_id, error_id)) = self.task_streams.remove(&id) {
            self.streams.remove(&data_id);
            self.streams.remove(&error_id);
        }
    }
}

fn parse_port(header: Option<&str>) -> Result<u16, String> {
    match header {
        None => Err(format!("missing {HEADER_PORT} header")),
        Some(raw) => match raw.trim().parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!("invalid {HEADER_PORT} header {raw:?}")),
        },
    }
}

/// One forwarded connection: a paired error and data stream and the upstream they relay to.
struct Connection {
    dialer: Arc<dyn Dialer>,
    pod: Arc<str>,
    port: Result<u16, String>,
    /// The client's data; closed by its FIN.
    inbound: mpsc::Receiver<Bytes>,
    streams: PairedStreams,
}

/// The way back to the client: the writer's queue and the pair's stream ids. Each send says
/// whether the session still listens.
struct PairedStreams {
    out: mpsc::Sender<Frame>,
    error_id: u32,
    data_id: u32,
}

impl PairedStreams {
    async fn send(&self, stream_id: u32, fin: bool, data: Bytes) -> bool {
        let frame = Frame::Data {
            stream_id,
            fin,
            data,
        };
        self.out.send(frame).await.is_ok()
    }

    async fn data(&self, data: Bytes) -> bool {
        self.send(self.data_id, false, data).await
    }

    async fn close_data(&self) -> bool {
        self.send(self.data_id, true, Bytes::new()).await
    }

    /// Ends the error stream, with a message for kubectl to show if something failed.
    async fn close_error(&self, message: Option<String>) -> bool {
        if let Some(message) = message
            && !self.send(self.error_id, false, message.into()).await
        {
            return false;
        }
        self.send(self.error_id, true, Bytes::new()).await
    }
}

impl Connection {
    async fn run(self) {
        let Connection {
            dialer,
            pod,
            port,
            mut inbound,
            streams,
        } = self;
        let fail = |message: String| async {
            let _ = streams.close_error(Some(message)).await && streams.close_data().await;
        };
        let port = match port {
            Ok(port) => port,
            Err(message) => return fail(message).await,
        };
        let forwarding_error =
            |e: &io::Error| format!("error forwarding port {port} to pod {pod}, uid : {e}");
        let upstream = match dialer.dial(port).await {
            Ok(upstream) => upstream,
            Err(e) => {
                tracing::debug!(port, error = %e, "port-forward dial failed");
                return fail(forwarding_error(&e)).await;
            }
        };
        let (mut upstream_read, mut upstream_write) = tokio::io::split(upstream);

        let to_upstream = async move {
            while let Some(chunk) = inbound.recv().await {
                if let Err(e) = upstream_write.write_all(&chunk).await {
                    tracing::debug!(port, error = %e, "port-forward write upstream failed");
                    // Dropping the receiver tells the reader loop to discard the rest.
                    return;
                }
            }
            // The client's FIN: half-close, the reply may still be coming.
            let _ = upstream_write.shutdown().await;
        };

        let from_upstream = async {
            let mut buf = BytesMut::new();
            let outcome = loop {
                buf.reserve(MAX_CHUNK);
                match upstream_read
                    .read_buf(&mut (&mut buf).limit(MAX_CHUNK))
                    .await
                {
                    Ok(0) => break Ok(()),
                    Ok(_) => {
                        if !streams.data(buf.split().freeze()).await {
                            return;
                        }
                    }
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = &outcome {
                tracing::debug!(port, error = %e, "port-forward read upstream failed");
            }
            let _ = streams.close_data().await
                && streams
                    .close_error(outcome.err().map(|e| forwarding_error(&e)))
                    .await;
        };

        tokio::join!(to_upstream, from_upstream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;
    use tokio_util::codec::Framed;

    const WAIT: Duration = Duration::from_secs(10);
    const POD: &str = "web-0";

    struct TcpDialer;

    impl Dialer for TcpDialer {
        fn dial(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Upstream>>> {
            Box::pin(async move {
                let stream = TcpStream::connect(("127.0.0.1", port)).await?;
                Ok(Box::new(stream) as Box<dyn Upstream>)
            })
        }
    }

    /// Hands the test the far end of every connection it dials.
    struct DuplexDialer {
        ends: mpsc::UnboundedSender<(u16, DuplexStream)>,
        buffer: usize,
    }

    impl Dialer for DuplexDialer {
        fn dial(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Upstream>>> {
            let (near, far) = tokio::io::duplex(self.buffer);
            let sent = self.ends.send((port, far));
            Box::pin(async move {
                sent.map_err(|_| io::Error::other("test gone"))?;
                Ok(Box::new(near) as Box<dyn Upstream>)
            })
        }
    }

    fn duplex_dialer(
        buffer: usize,
    ) -> (
        Arc<dyn Dialer>,
        mpsc::UnboundedReceiver<(u16, DuplexStream)>,
    ) {
        let (ends, rx) = mpsc::unbounded_channel();
        (Arc::new(DuplexDialer { ends, buffer }), rx)
    }

    async fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = conn.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        port
    }

    /// An echo server for one connection that says when that connection has ended.
    async fn watched_echo_server() -> (u16, oneshot::Receiver<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = conn.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = tx.send(());
        });
        (port, rx)
    }

    struct Client {
        framed: Framed<DuplexStream, Codec>,
        session: JoinHandle<Result<(), SpdyError>>,
    }

    fn start(dialer: Arc<dyn Dialer>) -> Client {
        let (client, server) = tokio::io::duplex(256 << 10);
        let session = tokio::spawn(serve(server, dialer, POD.into()));
        Client {
            framed: Framed::new(client, Codec::new()),
            session,
        }
    }

    fn stream_headers(kind: &str, port: Option<&str>, request_id: Option<&str>) -> Headers {
        let mut headers = Headers::new().with(HEADER_STREAM_TYPE, kind);
        if let Some(port) = port {
            headers.append(HEADER_PORT, port);
        }
        if let Some(id) = request_id {
            headers.append(HEADER_REQUEST_ID, id);
        }
        headers
    }

    fn data(stream_id: u32, bytes: &'static [u8]) -> Frame {
        Frame::Data {
            stream_id,
            fin: false,
            data: Bytes::from_static(bytes),
        }
    }

    fn fin(stream_id: u32) -> Frame {
        Frame::Data {
            stream_id,
            fin: true,
            data: Bytes::new(),
        }
    }

    impl Client {
        async fn send(&mut self, frame: Frame) {
            self.framed.send(frame).await.unwrap();
        }

        async fn recv(&mut self) -> Frame {
            tokio::time::timeout(WAIT, self.framed.next())
                .await
                .expect("no frame in time")
                .expect("session ended")
                .unwrap()
        }

        async fn syn(&mut self, stream_id: u32, headers: Headers) {
            self.send(Frame::SynStream {
                stream_id,
                assoc_stream_id: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers,
            })
            .await;
        }

        /// Opens a stream and waits for its SYN_REPLY, as kubectl does.
        async fn open(&mut self, stream_id: u32, headers: Headers) {
            self.syn(stream_id, headers).await;
            match self.recv().await {
                Frame::SynReply {
                    stream_id: id,
                    fin: false,
                    ..
                } if id == stream_id => {}
                other => panic!("expected the reply to stream {stream_id}, got {other:?}"),
            }
        }

        /// kubectl's sequence for one local connection.
        async fn open_pair(&mut self, error_id: u32, data_id: u32, port: &str, request_id: &str) {
            self.open(
                error_id,
                stream_headers("error", Some(port), Some(request_id)),
            )
            .await;
            self.send(fin(error_id)).await;
            self.open(
                data_id,
                stream_headers("data", Some(port), Some(request_id)),
            )
            .await;
        }

        /// Reads until every one of `streams` has sent its FIN; returns what each carried.
        async fn collect(&mut self, streams: &[u32]) -> HashMap<u32, Vec<u8>> {
            let mut got: HashMap<u32, Vec<u8>> =
                streams.iter().map(|&id| (id, Vec::new())).collect();
            let mut open: Vec<u32> = streams.to_vec();
            while !open.is_empty() {
                match self.recv().await {
                    Frame::Data {
                        stream_id,
                        fin,
                        data,
                    } => {
                        assert!(data.len() <= MAX_CHUNK);
                        assert!(
                            open.contains(&stream_id),
                            "data on stream {stream_id} after its fin"
                        );
                        got.entry(stream_id).or_default().extend_from_slice(&data);
                        if fin {
                            open.retain(|&id| id != stream_id);
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            got
        }

        async fn read_exactly(&mut self, stream_id: u32, len: usize) -> Vec<u8> {
            let mut got = Vec::new();
            while got.len() < len {
                match self.recv().await {
                    Frame::Data {
                        stream_id: id,
                        fin: false,
                        data,
                    } if id == stream_id => got.extend_from_slice(&data),
                    other => panic!("unexpected {other:?}"),
                }
            }
            got
        }

        async fn finish(self) -> Result<(), SpdyError> {
            drop(self.framed);
            tokio::time::timeout(WAIT, self.session)
                .await
                .expect("session did not end")
                .unwrap()
        }
    }

    #[tokio::test]
    async fn relays_a_connection_both_ways_and_propagates_fin() {
        let port = echo_server().await;
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;

        client.send(data(3, b"hello")).await;
        assert_eq!(client.read_exactly(3, 5).await, b"hello");
        client.send(data(3, b" world")).await;
        assert_eq!(client.read_exactly(3, 6).await, b" world");

        // The client's FIN half-closes upstream; the echo server's FIN comes back, and then
        // the error stream closes empty.
        client.send(fin(3)).await;
        let got = client.collect(&[1, 3]).await;
        assert_eq!(got[&3], b"");
        assert_eq!(got[&1], b"");
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn relays_two_concurrent_requests() {
        let port = echo_server().await.to_string();
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port, "0").await;
        client.open_pair(5, 7, &port, "1").await;
        client.send(data(7, b"second")).await;
        client.send(data(3, b"first")).await;
        client.send(fin(7)).await;
        client.send(fin(3)).await;
        let got = client.collect(&[1, 3, 5, 7]).await;
        assert_eq!(got[&3], b"first");
        assert_eq!(got[&7], b"second");
        assert_eq!(got[&1], b"");
        assert_eq!(got[&5], b"");
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn large_transfers_keep_frames_small() {
        let port = echo_server().await;
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;

        let payload: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 251) as u8).collect();
        let Client { framed, session } = client;
        let (mut sink, mut stream) = framed.split();
        let upload = payload.clone();
        let writer = tokio::spawn(async move {
            for chunk in upload.chunks(100_000) {
                sink.send(Frame::Data {
                    stream_id: 3,
                    fin: false,
                    data: Bytes::copy_from_slice(chunk),
                })
                .await
                .unwrap();
            }
            sink.send(fin(3)).await.unwrap();
            sink
        });
        let mut echoed = Vec::new();
        loop {
            let frame = tokio::time::timeout(WAIT, stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            match frame {
                Frame::Data {
                    stream_id: 3,
                    fin,
                    data,
                } => {
                    assert!(data.len() <= MAX_CHUNK);
                    echoed.extend_from_slice(&data);
                    if fin {
                        break;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            echoed == payload,
            "echoed {} bytes of {}",
            echoed.len(),
            payload.len()
        );
        let sink = writer.await.unwrap();
        drop((sink, stream));
        tokio::time::timeout(WAIT, session)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_slow_upstream_stalls_the_session_instead_of_buffering() {
        let (dialer, mut ends) = duplex_dialer(4 << 10);
        let mut client = start(dialer);
        client.open_pair(1, 3, "80", "0").await;
        let (_, mut upstream) = ends.recv().await.unwrap();

        let (mut sink, mut stream) = client.framed.split();
        let total = 64 * MAX_CHUNK;
        let writer = tokio::spawn(async move {
            for _ in 0..64 {
                let frame = Frame::Data {
                    stream_id: 3,
                    fin: false,
                    data: Bytes::from(vec![7; MAX_CHUNK]),
                };
                sink.send(frame).await.unwrap();
            }
            sink.send(Frame::Ping { id: 1 }).await.unwrap();
            sink
        });
        // The upstream reads nothing: neither the data nor the ping behind it get through.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), stream.next())
                .await
                .is_err()
        );
        assert!(!writer.is_finished());

        let mut got = vec![0; total];
        upstream.read_exact(&mut got).await.unwrap();
        assert!(got.iter().all(|&b| b == 7));
        let pong = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(pong, Frame::Ping { id: 1 });
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn dial_failure_is_reported_on_the_error_stream() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;
        let got = client.collect(&[1, 3]).await;
        let message = String::from_utf8(got[&1].clone()).unwrap();
        let expected = format!("error forwarding port {port} to pod {POD}, uid : ");
        assert!(message.starts_with(&expected), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
        assert_eq!(got[&3], b"");
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn bad_port_headers_are_reported_on_the_error_stream() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        for (error_id, data_id, port) in [
            (1, 3, Some("http")),
            (5, 7, Some("0")),
            (9, 11, Some("70000")),
            (13, 15, None),
        ] {
            let request_id = error_id.to_string();
            client
                .open(error_id, stream_headers("error", port, Some(&request_id)))
                .await;
            client
                .open(data_id, stream_headers("data", port, Some(&request_id)))
                .await;
            let got = client.collect(&[error_id, data_id]).await;
            let message = String::from_utf8(got[&error_id].clone()).unwrap();
            match port {
                Some(port) => assert_eq!(message, format!("invalid port header {port:?}")),
                None => assert_eq!(message, "missing port header"),
            }
        }
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn pings_are_echoed() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client.send(Frame::Ping { id: 2 }).await;
        client.send(Frame::Ping { id: 1 }).await;
        client.send(Frame::Ping { id: 7 }).await;
        assert_eq!(client.recv().await, Frame::Ping { id: 1 });
        assert_eq!(client.recv().await, Frame::Ping { id: 7 });
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn ignores_flow_control_settings_and_headers() {
        let (dialer, mut ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .send(Frame::Settings {
                clear: false,
                entries: vec![],
            })
            .await;
        client
            .send(Frame::WindowUpdate {
                stream_id: 0,
                delta: 1000,
            })
            .await;
        client.open_pair(1, 3, "8080", "0").await;
        client
            .send(Frame::WindowUpdate {
                stream_id: 3,
                delta: 1000,
            })
            .await;
        client
            .send(Frame::Headers {
                stream_id: 3,
                fin: false,
                headers: Headers::new(),
            })
            .await;
        let (port, mut upstream) = ends.recv().await.unwrap();
        assert_eq!(port, 8080);
        client.send(data(3, b"ok")).await;
        let mut got = [0; 2];
        upstream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ok");
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn data_stream_may_come_first_and_send_early() {
        let port = echo_server().await.to_string();
        let mut client = start(Arc::new(TcpDialer));
        client
            .open(3, stream_headers("data", Some(&port), Some("r")))
            .await;
        client.send(data(3, b"early")).await;
        client
            .open(1, stream_headers("error", Some(&port), Some("r")))
            .await;
        assert_eq!(client.read_exactly(3, 5).await, b"early");
        client.send(fin(3)).await;
        client.collect(&[1, 3]).await;
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn early_data_beyond_the_grace_drops_the_request() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .open(3, stream_headers("data", Some("80"), Some("0")))
            .await;
        for _ in 0..=INBOUND_FRAMES {
            client.send(data(3, b"x")).await;
        }
        let reset = Frame::RstStream {
            stream_id: 3,
            status: status::CANCEL,
        };
        assert_eq!(client.recv().await, reset);
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn pairs_by_stream_id_without_request_ids() {
        let (dialer, mut ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .open(1, stream_headers("error", Some("80"), None))
            .await;
        client
            .open(3, stream_headers("data", Some("80"), None))
            .await;
        let (port, _upstream) = ends.recv().await.unwrap();
        assert_eq!(port, 80);
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn unknown_stream_types_are_reset() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .syn(1, stream_headers("bogus", Some("80"), Some("0")))
            .await;
        assert_eq!(
            client.recv().await,
            Frame::RstStream {
                stream_id: 1,
                status: status::REFUSED_STREAM
            }
        );
        client.syn(3, Headers::new()).await;
        assert_eq!(
            client.recv().await,
            Frame::RstStream {
                stream_id: 3,
                status: status::REFUSED_STREAM
            }
        );
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn duplicate_streams_are_refused() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .open(1, stream_headers("error", Some("80"), Some("0")))
            .await;
        client
            .syn(1, stream_headers("data", Some("80"), Some("1")))
            .await;
        assert_eq!(
            client.recv().await,
            Frame::RstStream {
                stream_id: 1,
                status: status::STREAM_IN_USE
            }
        );
        client
            .syn(3, stream_headers("error", Some("80"), Some("0")))
            .await;
        assert_eq!(
            client.recv().await,
            Frame::RstStream {
                stream_id: 3,
                status: status::PROTOCOL_ERROR
            }
        );
        client.finish().await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_without_its_partner_is_reset_after_the_timeout() {
        let (dialer, _ends) = duplex_dialer(1024);
        let mut client = start(dialer);
        client
            .open(3, stream_headers("data", Some("80"), Some("0")))
            .await;
        let opened = Instant::now();
        let frame = tokio::time::timeout(2 * PAIR_TIMEOUT, client.framed.next()).await;
        let frame = frame.unwrap().unwrap().unwrap();
        assert_eq!(
            frame,
            Frame::RstStream {
                stream_id: 3,
                status: status::CANCEL
            }
        );
        assert!(opened.elapsed() >= PAIR_TIMEOUT);
        // The request id is free again.
        client
            .open(5, stream_headers("data", Some("80"), Some("0")))
            .await;
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn a_reset_data_stream_closes_its_upstream() {
        let (port, upstream_done) = watched_echo_server().await;
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;
        client.send(data(3, b"partial")).await;
        assert_eq!(client.read_exactly(3, 7).await, b"partial");
        client
            .send(Frame::RstStream {
                stream_id: 3,
                status: status::CANCEL,
            })
            .await;
        tokio::time::timeout(WAIT, upstream_done)
            .await
            .unwrap()
            .unwrap();
        // The session carries on.
        client.send(Frame::Ping { id: 1 }).await;
        assert_eq!(client.recv().await, Frame::Ping { id: 1 });
        client.finish().await.unwrap();
    }

    #[tokio::test]
    async fn the_end_of_the_session_closes_upstreams() {
        let (port, upstream_done) = watched_echo_server().await;
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;
        client.send(data(3, b"bye")).await;
        assert_eq!(client.read_exactly(3, 3).await, b"bye");
        client.finish().await.unwrap();
        tokio::time::timeout(WAIT, upstream_done)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn goaway_ends_the_session() {
        let (port, upstream_done) = watched_echo_server().await;
        let mut client = start(Arc::new(TcpDialer));
        client.open_pair(1, 3, &port.to_string(), "0").await;
        client
            .send(Frame::GoAway {
                last_stream_id: 0,
                status: 0,
            })
            .await;
        let ended = tokio::time::timeout(WAIT, &mut client.session)
            .await
            .unwrap()
            .unwrap();
        assert!(ended.is_ok());
        tokio::time::timeout(WAIT, upstream_done)
            .await
            .unwrap()
            .unwrap();
        // The writer closed its side.
        assert!(
            tokio::time::timeout(WAIT, client.framed.next())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn garbage_ends_the_session_with_an_error() {
        let inputs: [&[u8]; 3] = [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            &[0x80, 2, 0, 1, 0, 0, 0, 0],
            &[
                0x80, 3, 0, 2, 0, 0, 0, 8, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef,
            ],
        ];
        for input in inputs {
            let (dialer, _ends) = duplex_dialer(1024);
            let mut client = start(dialer);
            client.framed.get_mut().write_all(input).await.unwrap();
            client.framed.get_mut().shutdown().await.unwrap();
            let ended = tokio::time::timeout(WAIT, client.session)
                .await
                .unwrap()
                .unwrap();
            assert!(ended.is_err(), "{input:?}");
        }
    }

    #[tokio::test]
    async fn a_session_whose_client_stops_reading_can_still_end() {
        let (dialer, _ends) = duplex_dialer(1024);
        let (client, server) = tokio::io::duplex(64);
        let session = tokio::spawn(serve(server, dialer, POD.into()));
        let mut framed = Framed::new(client, Codec::new());
        // Enough pings to fill the replies' buffers; nobody reads them.
        for _ in 0..200 {
            if tokio::time::timeout(
                Duration::from_millis(50),
                framed.send(Frame::Ping { id: 1 }),
            )
            .await
            .is_err()
            {
                break;
            }
        }
        drop(framed);
        // Either side may notice first, so the outcome may be either; ending is the point.
        let _ = tokio::time::timeout(WAIT, session)
            .await
            .expect("session did not end")
            .unwrap();
    }
}
