//! The Kubernetes channel protocol over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`)
//! that `exec` and `attach` speak: every binary message is one channel byte and a payload.
//! Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (a `Status` in JSON when the command
//! ends), 4 resize (`{"Width":80,"Height":24}`); v5 adds 255, "close channel N" (stdin EOF).
//! Pure: no I/O.

use serde_json::json;

/// The subprotocols this side speaks, best first.
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
pub const CLOSE: u8 = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V4,
    V5,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V5 => PROTOCOLS[0],
            Version::V4 => PROTOCOLS[1],
        }
    }
}

/// Picks the best protocol among those the client offers (`Sec-WebSocket-Protocol`, comma
/// separated, possibly over several headers).
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Version> {
    let offered: Vec<&str> = offered
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    if offered.contains(&PROTOCOLS[0]) {
        Some(Version::V5)
    } else if offered.contains(&PROTOCOLS[1]) {
        Some(Version::V4)
    } else {
        None
    }
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming<'a> {
    Stdin(&'a [u8]),
    Resize {
        width: u16,
        height: u16,
    },
    /// v5: the client will send nothing more on this channel (0: stdin EOF).
    Close(u8),
    /// Empty, unknown, or a channel the client must not write; ignored.
    Ignored,
    /// A resize message that is not the JSON it should be.
    BadResize(String),
}

/// Reads one binary message from the client.
pub fn decode(version: Version, msg: &[u8]) -> Incoming<'_> {
    let Some((&channel, payload)) = msg.split_first() else {
        return Incoming::Ignored;
    };
    match channel {
        STDIN => Incoming::Stdin(payload),
        RESIZE => {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "PascalCase")]
            struct Size {
                width: u16,
                height: u16,
            }
            match serde_json::from_slice::<Size>(payload) {
                Ok(s) => Incoming::Resize {
                    width: s.width,
                    height: s.height,
                },
                Err(e) => Incoming::BadResize(format!("invalid resize message: {e}")),
            }
        }
        CLOSE if version == Version::V5 => match payload.first() {
            Some(&c) => Incoming::Close(c),
            None => Incoming::Ignored,
        },
        _ => Incoming::Ignored,
    }
}

/// A message to the client on `channel`.
pub fn encode(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(channel);
    out.extend_from_slice(payload);
    out
}

/// How the command ended, as the error channel tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    /// The command could not run; the message is the runtime's.
    Failed(String),
}

/// The `Status` the kubelet writes on the error channel, as a channel message.
pub fn status(outcome: &Outcome) -> Vec<u8> {
    encode(ERROR, &status_json(outcome))
}

/// The `Status` alone (what the error stream of a SPDY exec carries).
pub fn status_json(outcome: &Outcome) -> Vec<u8> {
    let v = match outcome {
        Outcome::Exited(0) => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exited(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Outcome::Failed(msg) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("Internal error occurred: {msg}"),
            "reason": "InternalError",
            "details": {"causes": [{"message": msg}]},
            "code": 500,
        }),
    };
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_v5() {
        assert_eq!(
            negotiate(["v4.channel.k8s.io, v5.channel.k8s.io"]),
            Some(Version::V5)
        );
        assert_eq!(negotiate(["v4.channel.k8s.io"]), Some(Version::V4));
        assert_eq!(negotiate(["channel.k8s.io", "base64.channel.k8s.io"]), None);
        assert_eq!(negotiate([]), None);
    }

    #[test]
    fn client_messages() {
        assert_eq!(decode(Version::V5, b"\x00hi"), Incoming::Stdin(b"hi"));
        assert_eq!(
            decode(Version::V5, br#"{"Width":80,"Height":24}"#.as_slice()),
            Incoming::Ignored
        );
        assert_eq!(
            decode(Version::V5, &encode(RESIZE, br#"{"Width":80,"Height":24}"#)),
            Incoming::Resize {
                width: 80,
                height: 24
            }
        );
        assert!(matches!(
            decode(Version::V5, b"\x04{nope"),
            Incoming::BadResize(_)
        ));
        assert_eq!(decode(Version::V5, b"\xff\x00"), Incoming::Close(0));
        assert_eq!(decode(Version::V4, b"\xff\x00"), Incoming::Ignored);
        assert_eq!(decode(Version::V5, b""), Incoming::Ignored);
        assert_eq!(decode(Version::V5, b"\x01out"), Incoming::Ignored);
    }

    #[test]
    fn statuses_read_as_kubectl_expects() {
        let s = |o| {
            let m = status(&o);
            assert_eq!(m[0], ERROR);
            serde_json::from_slice::<serde_json::Value>(&m[1..]).unwrap()
        };
        assert_eq!(s(Outcome::Exited(0))["status"], "Success");
        let v = s(Outcome::Exited(7));
        assert_eq!(v["reason"], "NonZeroExitCode");
        assert_eq!(v["details"]["causes"][0]["message"], "7");
        let v = s(Outcome::Failed(
            "exec: \"nope\": executable file not found in $PATH".into(),
        ));
        assert_eq!(v["reason"], "InternalError");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("executable file not found")
        );
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(data: Vec<u8>) {
            let _ = decode(Version::V5, &data);
            let _ = decode(Version::V4, &data);
        }
    }
}
