//! SPDY/3.1 framing, the subset Kubernetes' `port-forward`, `exec` and `attach` use: every
//! control frame they send, data frames, and the zlib header compression with the SPDY/3
//! dictionary. Pure: [`Codec`] turns bytes into [`Frame`]s and back and does no I/O, so it
//! plugs into `tokio_util::codec::{FramedRead, FramedWrite, Framed}`.
//!
//! Header blocks share one zlib stream per direction for the whole session, so a [`Codec`]
//! must see every frame of its direction, in order, and an error leaves it unusable: the
//! session ends there. Decode and encode keep separate streams, so one codec can serve both
//! directions of a connection, or two codecs one direction each.
//!
//! Flow control (WINDOW_UPDATE) is parsed but left to the caller; Kubernetes' SPDY peers do
//! not enforce it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio_util::codec::{Decoder, Encoder};

/// The only protocol version spoken.
pub const VERSION: u16 = 3;
/// Flag of data frames and of SYN_STREAM, SYN_REPLY and HEADERS: the sender's last frame on
/// that stream.
pub const FLAG_FIN: u8 = 0x01;
/// Flag of SYN_STREAM: the receiver may not send on the stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// Flag of SETTINGS: forget the settings persisted so far.
pub const FLAG_CLEAR_SETTINGS: u8 = 0x01;

/// The default limit on a frame's payload.
pub const MAX_FRAME_LEN: usize = 16 << 20;
/// The limit on a decompressed header block, against compression bombs.
pub const MAX_HEADER_BLOCK_LEN: usize = 1 << 20;

/// RST_STREAM and GOAWAY status codes.
pub mod status {
    pub const PROTOCOL_ERROR: u32 = 1;
    pub const INVALID_STREAM: u32 = 2;
    pub const REFUSED_STREAM: u32 = 3;
    pub const UNSUPPORTED_VERSION: u32 = 4;
    pub const CANCEL: u32 = 5;
    pub const INTERNAL_ERROR: u32 = 6;
    pub const FLOW_CONTROL_ERROR: u32 = 7;
    pub const STREAM_IN_USE: u32 = 8;
    pub const STREAM_ALREADY_CLOSED: u32 = 9;
    pub const FRAME_TOO_LARGE: u32 = 11;
}

const HEADER_LEN: usize = 8;
/// The 24-bit length field's ceiling.
const MAX_WIRE_LEN: usize = 0x00ff_ffff;
const STREAM_ID_MASK: u32 = 0x7fff_ffff;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): the common header
/// names, each behind a 32-bit big-endian length as they appear in a header block, then
/// common values as plain text. Built at compile time from its parts so it can be read.
pub static DICTIONARY: [u8; DICTIONARY_LEN] = build_dictionary();
/// The Adler-32 of [`DICTIONARY`]; zlib streams name their dictionary by it.
pub const DICTIONARY_ADLER32: u32 = 0xe3c6_a7c2;
const DICTIONARY_LEN: usize = dictionary_len();

const DICTIONARY_WORDS: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

const DICTIONARY_TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417",
    "502504505",
    "203 Non-Authoritative Information",
    "204 No Content",
    "301 Moved Permanently",
    "400 Bad Request",
    "401 Unauthorized",
    "403 Forbidden",
    "404 Not Found",
    "500 Internal Server Error",
    "501 Not Implemented",
    "503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec",
    " 00:00:00",
    " Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,",
    "text/plain,text/javascript,public",
    "private",
    "max-age=",
    "gzip,deflate,sdch",
    "charset=utf-8",
    "charset=iso-8859-1,utf-,*,enq=0.",
);

const fn dictionary_len() -> usize {
    let mut len = DICTIONARY_TAIL.len();
    let mut i = 0;
    while i < DICTIONARY_WORDS.len() {
        len += 4 + DICTIONARY_WORDS[i].len();
        i += 1;
    }
    len
}

const fn build_dictionary() -> [u8; DICTIONARY_LEN] {
    const fn copy(out: &mut [u8; DICTIONARY_LEN], mut at: usize, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            out[at] = bytes[i];
            at += 1;
            i += 1;
        }
        at
    }
    let mut out = [0u8; DICTIONARY_LEN];
    let mut at = 0;
    let mut i = 0;
    while i < DICTIONARY_WORDS.len() {
        let word = DICTIONARY_WORDS[i].as_bytes();
        // The words are a few bytes long, so the length always fits.
        at = copy(&mut out, at, &(word.len() as u32).to_be_bytes());
        at = copy(&mut out, at, word);
        i += 1;
    }
    copy(&mut out, at, DICTIONARY_TAIL.as_bytes());
    out
}

/// Why a frame could not be decoded or encoded. Every error but [`SpdyError::Io`] leaves the
/// codec's compression state out of step with the peer, so the session has to end.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported spdy version {0}")]
    UnsupportedVersion(u16),
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("{kind} frame has an invalid length of {len} bytes")]
    BadLength { kind: &'static str, len: usize },
    #[error("decompressed header block exceeds {max} bytes")]
    HeaderBlockTooLarge { max: usize },
    #[error("malformed header block: {0}")]
    MalformedHeaders(&'static str),
    #[error("header compression: {0}")]
    Compression(String),
    #[error("invalid frame: {0}")]
    InvalidFrame(&'static str),
}

/// A header block: names are lower case (SPDY/3 requires it); a value may hold several values
/// separated by NUL bytes and is kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header; the name is lower-cased.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let mut name = name.into();
        name.make_ascii_lowercase();
        self.0.push((name, value.into()));
    }

    /// [`Headers::append`] as a builder.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.append(name, value);
        self
    }

    /// The raw value of the first header called `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, across repeated headers and NUL-separated values.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split('\0'))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name, value);
        }
        headers
    }
}

/// One entry of a SETTINGS frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub flags: u8,
    /// 24 bits.
    pub id: u32,
    pub value: u32,
}

/// A SPDY/3.1 frame. Stream ids and window deltas are 31-bit: the reserved top bit is
/// dropped on decode and must be clear on encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        assoc_stream_id: u32,
        /// 0 (highest) to 7.
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings {
        clear: bool,
        entries: Vec<Setting>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_stream_id: u32,
        status: u32,
    },
    Headers {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        fin: bool,
        data: Bytes,
    },
    /// A control frame of a type this codec does not know; its payload is skipped. Encodes
    /// as an empty control frame of that type.
    Unknown {
        kind: u16,
    },
}

/// The SPDY/3.1 codec: framing plus one zlib stream per direction for header blocks, each
/// created on first use.
pub struct Codec {
    max_frame_len: usize,
    inflate: Option<Inflate>,
    deflate: Option<Compress>,
}

struct Inflate {
    z: Decompress,
    has_dictionary: bool,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("max_frame_len", &self.max_frame_len)
            .field("inflating", &self.inflate.is_some())
            .field("deflating", &self.deflate.is_some())
            .finish()
    }
}

impl Default for Codec {
    fn default() -> Self {
        Self::new()
    }
}

impl Codec {
    pub fn new() -> Self {
        Self::with_max_frame_len(MAX_FRAME_LEN)
    }

    /// A codec that rejects frames whose payload is longer than `max` bytes, both ways.
    pub fn with_max_frame_len(max: usize) -> Self {
        Codec {
            max_frame_len: max.min(MAX_WIRE_LEN),
            inflate: None,
            deflate: None,
        }
    }

    fn decode_control(&mut self, kind: u16, flags: u8, p: &[u8]) -> Result<Frame, SpdyError> {
        let fin = flags & FLAG_FIN != 0;
        let bad_length = |kind| SpdyError::BadLength { kind, len: p.len() };
        let mut c = Cursor(p);
        Ok(match kind {
            SYN_STREAM => {
                let (Some(stream_id), Some(assoc), Some(priority), Some(_slot)) =
                    (c.u32(), c.u32(), c.u8(), c.u8())
                else {
                    return Err(bad_length("syn_stream"));
                };
                Frame::SynStream {
                    stream_id: stream_id & STREAM_ID_MASK,
                    assoc_stream_id: assoc & STREAM_ID_MASK,
                    priority: priority >> 5,
                    fin,
                    unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
                    headers: self.decode_headers(c.rest())?,
                }
            }
            SYN_REPLY | HEADERS => {
                let Some(stream_id) = c.u32() else {
                    return Err(bad_length(if kind == SYN_REPLY {
                        "syn_reply"
                    } else {
                        "headers"
                    }));
                };
                let stream_id = stream_id & STREAM_ID_MASK;
                let headers = self.decode_headers(c.rest())?;
                if kind == SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        fin,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        fin,
                        headers,
                    }
                }
            }
            RST_STREAM => {
                let (stream_id, status) = c.two_u32().ok_or_else(|| bad_length("rst_stream"))?;
                Frame::RstStream {
                    stream_id: stream_id & STREAM_ID_MASK,
                    status,
                }
            }
            SETTINGS => {
                let Some(count) = c.u32() else {
                    return Err(bad_length("settings"));
                };
                // Checked against the payload before allocating for the entries.
                if usize::try_from(count).ok() != Some(c.rest().len() / 8)
                    || c.rest().len() % 8 != 0
                {
                    return Err(bad_length("settings"));
                }
                let mut entries = Vec::with_capacity(c.rest().len() / 8);
                while let (Some(head), Some(value)) = (c.u32(), c.u32()) {
                    entries.push(Setting {
                        flags: (head >> 24) as u8,
                        id: head & 0x00ff_ffff,
                        value,
                    });
                }
                Frame::Settings {
                    clear: flags & FLAG_CLEAR_SETTINGS != 0,
                    entries,
                }
            }
            PING => {
                let (Some(id), true) = (c.u32(), c.is_empty()) else {
                    return Err(bad_length("ping"));
                };
                Frame::Ping { id }
            }
            GOAWAY => {
                let (last, status) = c.two_u32().ok_or_else(|| bad_length("goaway"))?;
                Frame::GoAway {
                    last_stream_id: last & STREAM_ID_MASK,
                    status,
                }
            }
            WINDOW_UPDATE => {
                let (stream_id, delta) = c.two_u32().ok_or_else(|| bad_length("window_update"))?;
                Frame::WindowUpdate {
                    stream_id: stream_id & STREAM_ID_MASK,
                    delta: delta & STREAM_ID_MASK,
                }
            }
            kind => Frame::Unknown { kind },
        })
    }

    fn decode_headers(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        // Some peers send no block at all for an empty header set; nothing reaches zlib then,
        // so both sides' streams stay in step.
        if block.is_empty() {
            return Ok(Headers::new());
        }
        let raw = self.inflate(block)?;
        parse_header_block(&raw)
    }

    fn inflate(&mut self, block: &[u8]) -> Result<Vec<u8>, SpdyError> {
        let inf = self.inflate.get_or_insert_with(|| Inflate {
            z: Decompress::new(true),
            has_dictionary: false,
        });
        let mut out: Vec<u8> =
            Vec::with_capacity(block.len().saturating_mul(4).clamp(64, 16 << 10));
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                if out.len() > MAX_HEADER_BLOCK_LEN {
                    return Err(SpdyError::HeaderBlockTooLarge {
                        max: MAX_HEADER_BLOCK_LEN,
                    });
                }
                // Growth stops one byte past the limit: enough to see that it was crossed.
                let grow = out
                    .capacity()
                    .min(MAX_HEADER_BLOCK_LEN + 1 - out.len())
                    .max(1);
                out.reserve_exact(grow);
            }
            let input = block.get(consumed..).unwrap_or_default();
            let (in_before, out_before) = (inf.z.total_in(), inf.z.total_out());
            let result = inf.z.decompress_vec(input, &mut out, FlushDecompress::Sync);
            let read = progress(inf.z.total_in(), in_before)?;
            let wrote = progress(inf.z.total_out(), out_before)?;
            consumed += read;
            match result {
                Ok(Status::StreamEnd) => {
                    return Err(SpdyError::Compression(
                        "peer ended the header compression stream".into(),
                    ));
                }
                Ok(Status::Ok | Status::BufError) => {
                    let room_left = out.len() < out.capacity();
                    if consumed >= block.len() && room_left {
                        break;
                    }
                    if read == 0 && wrote == 0 && room_left {
                        return Err(SpdyError::Compression("header block stalled".into()));
                    }
                }
                Err(e) => match e.needs_dictionary() {
                    Some(DICTIONARY_ADLER32) if !inf.has_dictionary => {
                        inf.z
                            .set_dictionary(&DICTIONARY)
                            .map_err(|e| SpdyError::Compression(e.to_string()))?;
                        inf.has_dictionary = true;
                    }
                    Some(adler) => {
                        return Err(SpdyError::Compression(format!(
                            "unexpected dictionary {adler:#010x}"
                        )));
                    }
                    None => return Err(SpdyError::Compression(e.to_string())),
                },
            }
        }
        if out.len() > MAX_HEADER_BLOCK_LEN {
            return Err(SpdyError::HeaderBlockTooLarge {
                max: MAX_HEADER_BLOCK_LEN,
            });
        }
        Ok(out)
    }

    fn encode_headers(&mut self, headers: &Headers) -> Result<Vec<u8>, SpdyError> {
        let too_large = SpdyError::HeaderBlockTooLarge {
            max: MAX_HEADER_BLOCK_LEN,
        };
        let mut raw = Vec::new();
        put_len(&mut raw, headers.len()).ok_or(SpdyError::InvalidFrame("too many headers"))?;
        for (name, value) in headers.iter() {
            if name.is_empty() {
                return Err(SpdyError::InvalidFrame("empty header name"));
            }
            put_len(&mut raw, name.len()).ok_or(SpdyError::InvalidFrame("header name too long"))?;
            raw.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
            put_len(&mut raw, value.len())
                .ok_or(SpdyError::InvalidFrame("header value too long"))?;
            raw.extend_from_slice(value.as_bytes());
            // Refused here so that nothing is sent that a peer like us would reject.
            if raw.len() > MAX_HEADER_BLOCK_LEN {
                return Err(too_large);
            }
        }
        self.deflate(&raw)
    }

    fn deflate(&mut self, raw: &[u8]) -> Result<Vec<u8>, SpdyError> {
        let z = match &mut self.deflate {
            Some(z) => z,
            None => {
                let mut z = Compress::new(Compression::default(), true);
                z.set_dictionary(&DICTIONARY)
                    .map_err(|e| SpdyError::Compression(e.to_string()))?;
                self.deflate.insert(z)
            }
        };
        let mut out = Vec::with_capacity(raw.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            let input = raw.get(consumed..).unwrap_or_default();
            let before = z.total_in();
            z.compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Compression(e.to_string()))?;
            consumed += progress(z.total_in(), before)?;
            // A sync flush is complete once all input is in and zlib stopped short of the
            // end of the buffer.
            if consumed >= raw.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    /// SYN_REPLY and HEADERS: the same layout under two types.
    fn encode_stream_headers(
        &mut self,
        dst: &mut BytesMut,
        kind: u16,
        stream_id: u32,
        fin: bool,
        headers: &Headers,
    ) -> Result<(), SpdyError> {
        let stream_id = stream_id_31(stream_id)?;
        let block = self.encode_headers(headers)?;
        self.control(dst, kind, if fin { FLAG_FIN } else { 0 }, 4 + block.len())?;
        dst.put_u32(stream_id);
        dst.put_slice(&block);
        Ok(())
    }

    /// Writes a control frame's header once its payload length is known to fit.
    fn control(
        &self,
        dst: &mut BytesMut,
        kind: u16,
        flags: u8,
        len: usize,
    ) -> Result<(), SpdyError> {
        self.check_len(len)?;
        dst.reserve(HEADER_LEN + len);
        dst.put_u16(0x8000 | VERSION);
        dst.put_u16(kind);
        put_flags_len(dst, flags, len);
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<(), SpdyError> {
        if len > self.max_frame_len {
            return Err(SpdyError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        Ok(())
    }
}

fn progress(after: u64, before: u64) -> Result<usize, SpdyError> {
    usize::try_from(after.saturating_sub(before))
        .map_err(|_| SpdyError::Compression("counter overflow".into()))
}

/// Callers have checked `len` against the 24-bit limit.
fn put_flags_len(dst: &mut BytesMut, flags: u8, len: usize) {
    dst.put_u8(flags);
    dst.put_uint(len as u64, 3);
}

fn stream_id_31(id: u32) -> Result<u32, SpdyError> {
    if id > STREAM_ID_MASK {
        return Err(SpdyError::InvalidFrame("stream id or delta above 31 bits"));
    }
    Ok(id)
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Option<()> {
    out.put_u32(u32::try_from(len).ok()?);
    Some(())
}

fn parse_header_block(raw: &[u8]) -> Result<Headers, SpdyError> {
    let mut c = Cursor(raw);
    let count = c
        .u32()
        .ok_or(SpdyError::MalformedHeaders("missing header count"))?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    // Each pair takes at least its two length fields, so a count beyond that is a lie, and
    // is caught before it sizes an allocation.
    if count > c.rest().len() / 8 {
        return Err(SpdyError::MalformedHeaders(
            "header count overruns the block",
        ));
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let name = c.string()?;
        if name.is_empty() {
            return Err(SpdyError::MalformedHeaders("empty header name"));
        }
        let value = c.string()?;
        headers.push((name.to_ascii_lowercase(), value));
    }
    if !c.is_empty() {
        return Err(SpdyError::MalformedHeaders(
            "trailing bytes after the headers",
        ));
    }
    Ok(Headers(headers))
}

/// Reads big-endian fields off a slice without ever indexing past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        let bytes: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }

    fn string(&mut self) -> Result<String, SpdyError> {
        let len = self
            .u32()
            .ok_or(SpdyError::MalformedHeaders("truncated length"))?;
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|len| self.take(len))
            .ok_or(SpdyError::MalformedHeaders("length overruns the block"))?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| SpdyError::MalformedHeaders("header is not utf-8"))
    }

    fn rest(&self) -> &'a [u8] {
        self.0
    }

    /// Exactly two `u32`s: the whole payload of RST_STREAM, GOAWAY and WINDOW_UPDATE.
    fn two_u32(&mut self) -> Option<(u32, u32)> {
        match (self.u32(), self.u32(), self.is_empty()) {
            (Some(a), Some(b), true) => Some((a, b)),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Decoder for Codec {
    type Item = Frame;
    type Error = SpdyError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, SpdyError> {
        let Some(head) = src.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let word = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let flags = head[4];
        let len = usize::from(head[5]) << 16 | usize::from(head[6]) << 8 | usize::from(head[7]);
        let control = word & 0x8000_0000 != 0;
        // Both checks come before waiting for the payload, so that garbage fails at once
        // instead of stalling on a length it made up.
        if control {
            let version = ((word >> 16) & 0x7fff) as u16;
            if version != VERSION {
                return Err(SpdyError::UnsupportedVersion(version));
            }
        }
        self.check_len(len)?;
        if src.len() < HEADER_LEN + len {
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        let payload = src.split_to(len).freeze();
        if !control {
            return Ok(Some(Frame::Data {
                stream_id: word & STREAM_ID_MASK,
                fin: flags & FLAG_FIN != 0,
                data: payload,
            }));
        }
        self.decode_control((word & 0xffff) as u16, flags, &payload)
            .map(Some)
    }
}

impl Encoder<Frame> for Codec {
    type Error = SpdyError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), SpdyError> {
        let fin_flag = |fin: bool| if fin { FLAG_FIN } else { 0 };
        match frame {
            Frame::Data {
                stream_id,
                fin,
                data,
            } => {
                let stream_id = stream_id_31(stream_id)?;
                self.check_len(data.len())?;
                dst.reserve(HEADER_LEN + data.len());
                dst.put_u32(stream_id);
                put_flags_len(dst, fin_flag(fin), data.len());
                dst.put_slice(&data);
            }
            Frame::SynStream {
                stream_id,
                assoc_stream_id,
                priority,
                fin,
                unidirectional,
                headers,
            } => {
                let (stream_id, assoc) = (stream_id_31(stream_id)?, stream_id_31(assoc_stream_id)?);
                if priority > 7 {
                    return Err(SpdyError::InvalidFrame("priority above 7"));
                }
                let block = self.encode_headers(&headers)?;
                let flags = fin_flag(fin)
                    | if unidirectional {
                        FLAG_UNIDIRECTIONAL
                    } else {
                        0
                    };
                self.control(dst, SYN_STREAM, flags, 10 + block.len())?;
                dst.put_u32(stream_id);
                dst.put_u32(assoc);
                dst.put_u8(priority << 5);
                dst.put_u8(0);
                dst.put_slice(&block);
            }
            Frame::SynReply {
                stream_id,
                fin,
                headers,
            } => {
                self.encode_stream_headers(dst, SYN_REPLY, stream_id, fin, &headers)?;
            }
            Frame::Headers {
                stream_id,
                fin,
                headers,
            } => {
                self.encode_stream_headers(dst, HEADERS, stream_id, fin, &headers)?;
            }
            Frame::RstStream { stream_id, status } => {
                let stream_id = stream_id_31(stream_id)?;
                self.control(dst, RST_STREAM, 0, 8)?;
                dst.put_u32(stream_id);
                dst.put_u32(status);
            }
            Frame::Settings { clear, entries } => {
                let count = u32::try_from(entries.len())
                    .map_err(|_| SpdyError::InvalidFrame("too many settings"))?;
                let len = entries
                    .len()
                    .checked_mul(8)
                    .and_then(|n| n.checked_add(4))
                    .ok_or(SpdyError::InvalidFrame("too many settings"))?;
                if entries.iter().any(|s| s.id > 0x00ff_ffff) {
                    return Err(SpdyError::InvalidFrame("setting id above 24 bits"));
                }
                self.control(
                    dst,
                    SETTINGS,
                    if clear { FLAG_CLEAR_SETTINGS } else { 0 },
                    len,
                )?;
                dst.put_u32(count);
                for s in entries {
                    dst.put_u32(u32::from(s.flags) << 24 | s.id);
                    dst.put_u32(s.value);
                }
            }
            Frame::Ping { id } => {
                self.control(dst, PING, 0, 4)?;
                dst.put_u32(id);
            }
            Frame::GoAway {
                last_stream_id,
                status,
            } => {
                let last = stream_id_31(last_stream_id)?;
                self.control(dst, GOAWAY, 0, 8)?;
                dst.put_u32(last);
                dst.put_u32(status);
            }
            Frame::WindowUpdate { stream_id, delta } => {
                let (stream_id, delta) = (stream_id_31(stream_id)?, stream_id_31(delta)?);
                self.control(dst, WINDOW_UPDATE, 0, 8)?;
                dst.put_u32(stream_id);
                dst.put_u32(delta);
            }
            Frame::Unknown { kind } => {
                if matches!(
                    kind,
                    SYN_STREAM
                        | SYN_REPLY
                        | RST_STREAM
                        | SETTINGS
                        | PING
                        | GOAWAY
                        | HEADERS
                        | WINDOW_UPDATE
                ) {
                    return Err(SpdyError::InvalidFrame("unknown frame of a known type"));
                }
                self.control(dst, kind, 0, 0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    }

    fn encode_all(codec: &mut Codec, frames: &[Frame]) -> BytesMut {
        let mut buf = BytesMut::new();
        for frame in frames {
            codec.encode(frame.clone(), &mut buf).unwrap();
        }
        buf
    }

    fn decode_all(codec: &mut Codec, buf: &mut BytesMut) -> Result<Vec<Frame>, SpdyError> {
        let mut frames = Vec::new();
        while let Some(frame) = codec.decode_eof(buf)? {
            frames.push(frame);
        }
        Ok(frames)
    }

    fn headers() -> Headers {
        Headers::new()
            .with("streamtype", "data")
            .with("port", "8080")
            .with("requestid", "0")
    }

    fn every_frame() -> Vec<Frame> {
        vec![
            Frame::SynStream {
                stream_id: 1,
                assoc_stream_id: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers: headers(),
            },
            Frame::SynStream {
                stream_id: 0x7fff_ffff,
                assoc_stream_id: 7,
                priority: 7,
                fin: true,
                unidirectional: true,
                headers: Headers::new().with("multi", "a\0b\0c"),
            },
            Frame::SynReply {
                stream_id: 1,
                fin: false,
                headers: Headers::new(),
            },
            Frame::SynReply {
                stream_id: 3,
                fin: true,
                headers: headers(),
            },
            Frame::RstStream {
                stream_id: 5,
                status: status::CANCEL,
            },
            Frame::Settings {
                clear: false,
                entries: vec![],
            },
            Frame::Settings {
                clear: true,
                entries: vec![
                    Setting {
                        flags: 1,
                        id: 7,
                        value: 65536,
                    },
                    Setting {
                        flags: 0,
                        id: 0x00ff_ffff,
                        value: u32::MAX,
                    },
                ],
            },
            Frame::Ping { id: 1 },
            Frame::Ping { id: u32::MAX },
            Frame::GoAway {
                last_stream_id: 9,
                status: 0,
            },
            Frame::Headers {
                stream_id: 3,
                fin: false,
                headers: headers(),
            },
            Frame::Headers {
                stream_id: 3,
                fin: true,
                headers: Headers::new(),
            },
            Frame::WindowUpdate {
                stream_id: 3,
                delta: 0x7fff_ffff,
            },
            Frame::Data {
                stream_id: 3,
                fin: false,
                data: Bytes::from_static(b"hello"),
            },
            Frame::Data {
                stream_id: 3,
                fin: true,
                data: Bytes::new(),
            },
            Frame::Unknown { kind: 10 },
        ]
    }

    #[test]
    fn dictionary_is_the_spdy3_one() {
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(adler32(&DICTIONARY), DICTIONARY_ADLER32);
        assert_eq!(adler32(&DICTIONARY), 0xe3c6_a7c2);
        let mut z = Compress::new(Compression::default(), true);
        assert_eq!(z.set_dictionary(&DICTIONARY).unwrap(), 0xe3c6_a7c2);
    }

    #[test]
    fn every_frame_type_round_trips() {
        let frames = every_frame();
        let mut buf = encode_all(&mut Codec::new(), &frames);
        assert_eq!(decode_all(&mut Codec::new(), &mut buf).unwrap(), frames);
    }

    #[test]
    fn wire_layout_of_a_data_frame_and_a_ping() {
        let buf = encode_all(
            &mut Codec::new(),
            &[
                Frame::Data {
                    stream_id: 3,
                    fin: true,
                    data: Bytes::from_static(b"ab"),
                },
                Frame::Ping { id: 0x0102_0304 },
            ],
        );
        assert_eq!(&buf[..10], &[0, 0, 0, 3, 1, 0, 0, 2, b'a', b'b']);
        assert_eq!(&buf[10..], &[0x80, 3, 0, 6, 0, 0, 0, 4, 1, 2, 3, 4]);
    }

    #[test]
    fn header_blocks_share_one_zlib_stream_per_direction() {
        let mut tx = Codec::new();
        let mut rx = Codec::new();
        let mut sizes = Vec::new();
        for i in 0..6u32 {
            let frame = Frame::SynStream {
                stream_id: 2 * i + 1,
                assoc_stream_id: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers: headers().with("requestid-extra", i.to_string()),
            };
            let mut buf = BytesMut::new();
            tx.encode(frame.clone(), &mut buf).unwrap();
            sizes.push(buf.len());
            assert_eq!(rx.decode(&mut buf).unwrap(), Some(frame));
            assert!(buf.is_empty());
        }
        // Later blocks refer back to the first, so they come out smaller.
        assert!(sizes[5] < sizes[0], "{sizes:?}");

        // A block from the middle of a stream means nothing to a fresh decompressor.
        let mut buf = encode_all(
            &mut tx,
            &[Frame::SynReply {
                stream_id: 1,
                fin: false,
                headers: headers(),
            }],
        );
        assert!(Codec::new().decode(&mut buf).is_err());
    }

    #[test]
    fn one_codec_serves_both_directions() {
        let mut a = Codec::new();
        let mut b = Codec::new();
        for _ in 0..3 {
            let mut buf = encode_all(&mut a, &every_frame());
            assert_eq!(decode_all(&mut b, &mut buf).unwrap(), every_frame());
            let mut buf = encode_all(&mut b, &every_frame());
            assert_eq!(decode_all(&mut a, &mut buf).unwrap(), every_frame());
        }
    }

    #[test]
    fn decodes_when_fed_one_byte_at_a_time() {
        let frames = every_frame();
        let wire = encode_all(&mut Codec::new(), &frames);
        let mut rx = Codec::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &byte in wire.iter() {
            buf.put_u8(byte);
            while let Some(frame) = rx.decode(&mut buf).unwrap() {
                got.push(frame);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got, frames);
    }

    /// kubectl's opening of one forwarded connection, framed by hand and compressed by C
    /// zlib (Python's `zlib.compressobj(zdict=...)`, sync-flushed per block): the dictionary
    /// and the shared stream agree with an implementation other than ours.
    const C_ZLIB_SESSION: [u8; 154] = [
        0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0x25, 0x3a, 0x70, 0x3a, 0x2b,
        0x29, 0x4a, 0x4d, 0xcc, 0x85, 0x16, 0x25, 0xac, 0xa9, 0xa0, 0x80, 0x86, 0x14, 0xcb, 0x45,
        0xa0, 0x24, 0xcc, 0x64, 0x61, 0x00, 0x24, 0x39, 0x8b, 0x20, 0x91, 0x98, 0x09, 0x4a, 0xdc,
        0x8c, 0x06, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x00, 0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xc2, 0xaa, 0x15, 0x54, 0x0a, 0x25, 0x12, 0xd2, 0x09, 0x00, 0x00,
        0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x12, 0x47, 0x45, 0x54, 0x20,
        0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
        0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn decodes_header_blocks_from_c_zlib() {
        let mut buf = BytesMut::from(&C_ZLIB_SESSION[..]);
        let frames = decode_all(&mut Codec::new(), &mut buf).unwrap();
        let syn = |stream_id, kind| Frame::SynStream {
            stream_id,
            assoc_stream_id: 0,
            priority: 0,
            fin: false,
            unidirectional: false,
            headers: Headers::new()
                .with("streamtype", kind)
                .with("port", "80")
                .with("requestid", "0"),
        };
        assert_eq!(
            frames,
            vec![
                syn(1, "error"),
                Frame::Data {
                    stream_id: 1,
                    fin: true,
                    data: Bytes::new()
                },
                syn(3, "data"),
                Frame::Data {
                    stream_id: 3,
                    fin: false,
                    data: Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n")
                },
                Frame::Data {
                    stream_id: 3,
                    fin: true,
                    data: Bytes::new()
                },
                Frame::Ping { id: 1 },
            ]
        );
    }

    #[test]
    fn unknown_control_frames_are_skipped() {
        let mut buf = BytesMut::from(&[0x80, 3, 0, 10, 0, 0, 0, 3, 9, 9, 9][..]);
        buf.extend_from_slice(&encode_all(&mut Codec::new(), &[Frame::Ping { id: 7 }]));
        assert_eq!(
            decode_all(&mut Codec::new(), &mut buf).unwrap(),
            vec![Frame::Unknown { kind: 10 }, Frame::Ping { id: 7 }]
        );
    }

    #[test]
    fn headers_lookup() {
        let h: Headers = [("StreamType", "error"), ("x", "a\0b"), ("x", "c")]
            .into_iter()
            .collect();
        assert_eq!(h.get("streamtype"), Some("error"));
        assert_eq!(h.get("STREAMTYPE"), Some("error"));
        assert_eq!(h.iter().next(), Some(("streamtype", "error")));
        assert_eq!(h.values("x").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
    }

    /// A control frame around a header block made of `raw`, compressed by `tx`.
    fn syn_reply_with_raw_block(tx: &mut Codec, raw: &[u8]) -> BytesMut {
        let block = tx.deflate(raw).unwrap();
        let mut buf = BytesMut::new();
        tx.control(&mut buf, SYN_REPLY, 0, 4 + block.len()).unwrap();
        buf.put_u32(1);
        buf.put_slice(&block);
        buf
    }

    #[test]
    fn malformed_header_blocks_are_errors() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("short count", vec![0, 0]),
            (
                "count beyond block",
                vec![0, 0, 0, 200, 0, 0, 0, 1, b'a', 0, 0, 0, 0],
            ),
            (
                "huge count",
                vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            (
                "name overruns",
                vec![0, 0, 0, 1, 0, 0, 0, 9, b'a', 0, 0, 0, 0],
            ),
            (
                "huge name",
                vec![0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
            ),
            (
                "value overruns",
                vec![0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 5, b'x'],
            ),
            ("empty name", vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("not utf-8", vec![0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0, 0, 0, 0]),
            ("trailing", vec![0, 0, 0, 0, 1]),
        ];
        for (name, raw) in cases {
            let mut buf = syn_reply_with_raw_block(&mut Codec::new(), &raw);
            let err = Codec::new().decode(&mut buf).expect_err(name);
            assert!(
                matches!(err, SpdyError::MalformedHeaders(_)),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn header_bombs_are_refused() {
        let raw = vec![0u8; MAX_HEADER_BLOCK_LEN + 100];
        let mut buf = syn_reply_with_raw_block(&mut Codec::new(), &raw);
        assert!(buf.len() < 8 << 10, "compressed to {}", buf.len());
        let err = Codec::new().decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, SpdyError::HeaderBlockTooLarge { .. }),
            "{err}"
        );

        // Too large to send, too.
        let headers = Headers::new().with("big", "x".repeat(MAX_HEADER_BLOCK_LEN));
        let frame = Frame::SynReply {
            stream_id: 1,
            fin: false,
            headers,
        };
        assert!(Codec::new().encode(frame, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn header_blocks_need_zlib_with_the_spdy_dictionary() {
        // Not zlib at all.
        let mut buf = BytesMut::from(&[0x80, 3, 0, 2, 0, 0, 0, 8, 0, 0, 0, 1, 1, 2, 3, 4][..]);
        assert!(matches!(
            Codec::new().decode(&mut buf),
            Err(SpdyError::Compression(_))
        ));

        // zlib with another dictionary.
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(b"another dictionary").unwrap();
        let mut block = Vec::with_capacity(256);
        z.compress_vec(&[0, 0, 0, 0], &mut block, FlushCompress::Sync)
            .unwrap();
        let mut buf = BytesMut::new();
        Codec::new()
            .control(&mut buf, SYN_REPLY, 0, 4 + block.len())
            .unwrap();
        buf.put_u32(1);
        buf.put_slice(&block);
        assert!(matches!(
            Codec::new().decode(&mut buf),
            Err(SpdyError::Compression(_))
        ));

        // zlib without a dictionary: SPDY/3 peers always use one, but inflating does not need
        // it, so such a block is accepted.
        let mut z = Compress::new(Compression::default(), true);
        let mut block = Vec::with_capacity(256);
        z.compress_vec(&[0, 0, 0, 0], &mut block, FlushCompress::Sync)
            .unwrap();
        let mut buf = BytesMut::new();
        Codec::new()
            .control(&mut buf, SYN_REPLY, 0, 4 + block.len())
            .unwrap();
        buf.put_u32(1);
        buf.put_slice(&block);
        assert_eq!(
            Codec::new().decode(&mut buf).unwrap(),
            Some(Frame::SynReply {
                stream_id: 1,
                fin: false,
                headers: Headers::new()
            })
        );
    }

    #[test]
    fn malformed_frames_are_errors() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("version 2", vec![0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1]),
            ("version 0", vec![0x80, 0, 0, 6, 0, 0, 0, 0]),
            (
                "short syn_stream",
                vec![0x80, 3, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0],
            ),
            ("short syn_reply", vec![0x80, 3, 0, 2, 0, 0, 0, 2, 0, 0]),
            (
                "short rst_stream",
                vec![0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1],
            ),
            ("long ping", vec![0x80, 3, 0, 6, 0, 0, 0, 5, 0, 0, 0, 1, 0]),
            ("short goaway", vec![0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 1]),
            (
                "short window_update",
                vec![0x80, 3, 0, 9, 0, 0, 0, 4, 0, 0, 0, 1],
            ),
            ("empty settings", vec![0x80, 3, 0, 4, 0, 0, 0, 0]),
            (
                "settings count lies",
                vec![0x80, 3, 0, 4, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                "settings odd size",
                vec![0x80, 3, 0, 4, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0],
            ),
            ("truncated data at eof", vec![0, 0, 0, 1, 0, 0, 0, 9, 1, 2]),
            ("truncated header at eof", vec![0x80, 3, 0]),
        ];
        for (name, bytes) in cases {
            let mut buf = BytesMut::from(&bytes[..]);
            assert!(decode_all(&mut Codec::new(), &mut buf).is_err(), "{name}");
        }
    }

    #[test]
    fn frame_length_limit() {
        let mut small = Codec::with_max_frame_len(4);
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 0, 0, 0, 5][..]);
        assert!(matches!(
            small.decode(&mut buf),
            Err(SpdyError::FrameTooLarge { len: 5, max: 4 })
        ));
        let frame = Frame::Data {
            stream_id: 1,
            fin: false,
            data: Bytes::from_static(b"12345"),
        };
        assert!(matches!(
            small.encode(frame, &mut BytesMut::new()),
            Err(SpdyError::FrameTooLarge { .. })
        ));
        // The 24-bit field cannot say more than the default limit; encoding more is refused.
        let frame = Frame::Data {
            stream_id: 1,
            fin: false,
            data: Bytes::from(vec![0; MAX_FRAME_LEN]),
        };
        assert!(Codec::new().encode(frame, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn out_of_range_fields_are_not_encoded() {
        let bad = [
            Frame::Data {
                stream_id: 0x8000_0000,
                fin: false,
                data: Bytes::new(),
            },
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 0x8000_0000,
            },
            Frame::SynStream {
                stream_id: 1,
                assoc_stream_id: 0,
                priority: 8,
                fin: false,
                unidirectional: false,
                headers: Headers::new(),
            },
            Frame::SynReply {
                stream_id: 1,
                fin: false,
                headers: Headers::new().with("", "x"),
            },
            Frame::Settings {
                clear: false,
                entries: vec![Setting {
                    flags: 0,
                    id: 1 << 24,
                    value: 0,
                }],
            },
            Frame::Unknown { kind: PING },
        ];
        for frame in bad {
            assert!(
                Codec::new()
                    .encode(frame.clone(), &mut BytesMut::new())
                    .is_err(),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn reserved_bits_are_dropped_on_decode() {
        let mut buf = BytesMut::from(&[0x80, 3, 0, 3, 0, 0, 0, 8, 0x80, 0, 0, 5, 0, 0, 0, 1][..]);
        assert_eq!(
            Codec::new().decode(&mut buf).unwrap(),
            Some(Frame::RstStream {
                stream_id: 5,
                status: 1
            })
        );
    }

    /// What the fuzz target does: decode until the first error or lack of input, and check
    /// that whatever decoded survives a round trip.
    fn decode_and_reencode(data: &[u8]) {
        let mut rx = Codec::new();
        let mut tx = Codec::new();
        let mut check = Codec::new();
        let mut src = BytesMut::from(data);
        while let Ok(Some(frame)) = rx.decode(&mut src) {
            let mut wire = BytesMut::new();
            tx.encode(frame.clone(), &mut wire).unwrap();
            assert_eq!(check.decode(&mut wire).unwrap(), Some(frame));
            assert!(wire.is_empty());
        }
    }

    #[test]
    fn reencodes_valid_prefixes() {
        let mut wire = encode_all(&mut Codec::new(), &every_frame()).to_vec();
        decode_and_reencode(&wire);
        wire.truncate(wire.len() / 2);
        decode_and_reencode(&wire);
    }

    fn arb_headers() -> impl Strategy<Value = Headers> {
        prop::collection::vec(("[a-z][a-z0-9-]{0,12}", "[ -~\\x00]{0,24}"), 0..6)
            .prop_map(|pairs| pairs.into_iter().collect())
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let id = 0..=STREAM_ID_MASK;
        prop_oneof![
            (
                id.clone(),
                id.clone(),
                0u8..8,
                any::<bool>(),
                any::<bool>(),
                arb_headers()
            )
                .prop_map(
                    |(stream_id, assoc_stream_id, priority, fin, unidirectional, headers)| {
                        Frame::SynStream {
                            stream_id,
                            assoc_stream_id,
                            priority,
                            fin,
                            unidirectional,
                            headers,
                        }
                    }
                ),
            (id.clone(), any::<bool>(), arb_headers()).prop_map(|(stream_id, fin, headers)| {
                Frame::SynReply {
                    stream_id,
                    fin,
                    headers,
                }
            }),
            (id.clone(), any::<bool>(), arb_headers()).prop_map(|(stream_id, fin, headers)| {
                Frame::Headers {
                    stream_id,
                    fin,
                    headers,
                }
            }),
            (id.clone(), any::<u32>())
                .prop_map(|(stream_id, status)| Frame::RstStream { stream_id, status }),
            any::<u32>().prop_map(|id| Frame::Ping { id }),
            (id.clone(), any::<u32>()).prop_map(|(last_stream_id, status)| Frame::GoAway {
                last_stream_id,
                status
            }),
            (id.clone(), id.clone())
                .prop_map(|(stream_id, delta)| Frame::WindowUpdate { stream_id, delta }),
            (id, any::<bool>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(
                |(stream_id, fin, data)| {
                    Frame::Data {
                        stream_id,
                        fin,
                        data: data.into(),
                    }
                }
            ),
            (10u16..).prop_map(|kind| Frame::Unknown { kind }),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
            decode_and_reencode(&data);
            let mut src = BytesMut::from(&data[..]);
            let _ = decode_all(&mut Codec::new(), &mut src);
        }

        #[test]
        fn arbitrary_frames_round_trip(frames in prop::collection::vec(arb_frame(), 0..12)) {
            let mut buf = encode_all(&mut Codec::new(), &frames);
            prop_assert_eq!(decode_all(&mut Codec::new(), &mut buf).unwrap(), frames);
        }

        #[test]
        fn frames_after_a_valid_prefix_never_panic(
            frames in prop::collection::vec(arb_frame(), 1..4),
            noise in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut wire = encode_all(&mut Codec::new(), &frames).to_vec();
            wire.extend_from_slice(&noise);
            decode_and_reencode(&wire);
        }
    }
}
