//! The wire format: length-prefixed JSON frames, the first of each connection a hello.
//!
//! A frame is a `u32` big-endian byte count followed by that many bytes of JSON. The count
//! leads so that a reader can split a byte stream into frames without parsing JSON.
//!
//! A connection carries messages one way, from one process. The accepting side first
//! sends one frame back, `{"challenge":"<hex>"}`, which a hello may answer with a proof of
//! a shared secret (see `live::auth`); the connecting side's first frame is
//! `{"Hello":{"listen":"127.0.0.1:5051","name":"agent-a"}}`, saying which process is
//! speaking (the address it listens on, where answers go), and every later frame is
//! `{"Msg":<message>}`. Processes in other OS processes have no shared numbering, so a
//! receiver knows a sender by its listen address and gives it a [`NodeId`] of its own
//! (`live::Directory`); a frame therefore names no node.
//!
//! A reader trusts nothing: a frame longer than [`MAX_FRAME`], a body that is not JSON of
//! the expected shape, a message of a kind it does not know, a connection that speaks
//! before saying hello or says hello twice: each closes the connection and is counted,
//! and the process goes on serving everyone else.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Frames longer than this close the connection instead of being buffered: the largest
/// real message (a registry snapshot of 50,000 agents) is a few MiB.
pub const MAX_FRAME: usize = 16 << 20;

/// Who is speaking on a connection: its first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Where the speaking process listens: answers to it are sent there.
    pub listen: SocketAddr,
    /// Its name, for logs.
    pub name: String,
    /// With a shared secret: its HMAC of the acceptor's challenge and this hello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// The longest challenge frame a connecting process reads.
pub const MAX_CHALLENGE: usize = 1024;

/// Encodes the accepting side's challenge as a complete frame.
pub fn encode_challenge(challenge: &super::auth::Challenge) -> Vec<u8> {
    let body = serde_json::to_vec(challenge).expect("a challenge encodes");
    let mut bytes = u32::try_from(body.len()).expect("short").to_be_bytes().to_vec();
    bytes.extend_from_slice(&body);
    bytes
}

/// Reads the accepting side's challenge from the start of a connection.
pub fn read_challenge(stream: &mut impl std::io::Read) -> std::io::Result<super::auth::Challenge> {
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_CHALLENGE {
        return Err(bad(format!("a challenge of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    serde_json::from_slice(&body).map_err(|e| bad(format!("not a challenge: {e}")))
}

#[derive(Serialize)]
enum FrameRef<'a, M> {
    Hello(&'a Hello),
    Msg(&'a M),
}

/// One decoded frame.
#[derive(Debug, PartialEq, Deserialize)]
pub enum Frame<M> {
    Hello(Hello),
    Msg(M),
}

/// Encodes one message as a complete frame, length prefix included.
pub fn encode<M: Serialize>(msg: &M) -> Result<Vec<u8>, serde_json::Error> {
    encode_frame(&FrameRef::Msg(msg))
}

/// Encodes a connection's opening frame.
pub fn encode_hello(hello: &Hello) -> Result<Vec<u8>, serde_json::Error> {
    encode_frame(&FrameRef::<()>::Hello(hello))
}

fn encode_frame<M: Serialize>(frame: &FrameRef<'_, M>) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut bytes, frame)?;
    let len = bytes.len() - 4;
    if len > MAX_FRAME {
        return Err(serde::ser::Error::custom(format!(
            "message of {len} bytes exceeds the {MAX_FRAME}-byte frame limit"
        )));
    }
    let len = u32::try_from(len).expect("MAX_FRAME fits in u32");
    bytes[..4].copy_from_slice(&len.to_be_bytes());
    Ok(bytes)
}

/// Decodes the body of one frame (without its length prefix).
pub fn decode<M: DeserializeOwned>(body: &[u8]) -> Result<Frame<M>, serde_json::Error> {
    serde_json::from_slice(body)
}

/// A frame length beyond [`MAX_FRAME`]: the stream is garbage and should be closed.
#[derive(Debug, PartialEq, Eq)]
pub struct OversizedFrame(pub usize);

/// Splits bytes, arriving in arbitrary pieces, into frame bodies. It holds at most one
/// frame's worth beyond what it was given: a length prefix is checked against
/// [`MAX_FRAME`] before any of its body is kept waiting.
#[derive(Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    /// Where the next unread frame starts in `buf`.
    start: usize,
}

impl FrameBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        // Compact before growing, so a long-lived connection does not keep consumed bytes.
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame body, if one has fully arrived.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, OversizedFrame> {
        let pending = &self.buf[self.start..];
        let Some(prefix) = pending.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > MAX_FRAME {
            return Err(OversizedFrame(len));
        }
        if pending.len() < 4 + len {
            return Ok(None);
        }
        let body_start = self.start + 4;
        self.start = body_start + len;
        Ok(Some(&self.buf[body_start..body_start + len]))
    }

    /// Bytes received but not yet returned as a frame: a partial frame at the end of a stream.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// Why a connection was closed by its reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadFrame {
    /// A length prefix over [`MAX_FRAME`].
    Oversized,
    /// A body that is not a frame of this protocol (bad JSON, an unknown message kind).
    Malformed,
    /// A message before the hello, or a second hello.
    OutOfOrder,
    /// The stream ended in the middle of a frame.
    Truncated,
}

/// What a reader makes of a connection's bytes: the speaker's hello, then its messages.
/// The decoding half of a connection's reader, without the socket, so that it can be
/// fuzzed and tested on bytes alone.
pub struct Decoder<M> {
    frames: FrameBuffer,
    hello: Option<Hello>,
    _msg: std::marker::PhantomData<M>,
}

impl<M> Default for Decoder<M> {
    fn default() -> Self {
        Decoder {
            frames: FrameBuffer::default(),
            hello: None,
            _msg: std::marker::PhantomData,
        }
    }
}

/// One step of a [`Decoder`].
#[derive(Debug, PartialEq)]
pub enum Decoded<M> {
    /// The connection's speaker said who it is.
    Hello(Hello),
    Msg(M),
}

impl<M: DeserializeOwned> Decoder<M> {
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// The next complete frame, `Ok(None)` until one has fully arrived, `Err` once the
    /// stream has broken the protocol (nothing after that can be trusted).
    pub fn next_decoded(&mut self) -> Result<Option<Decoded<M>>, BadFrame> {
        let body = match self.frames.next_frame() {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(None),
            Err(OversizedFrame(_)) => return Err(BadFrame::Oversized),
        };
        match (decode::<M>(body), &self.hello) {
            (Err(_), _) => Err(BadFrame::Malformed),
            (Ok(Frame::Hello(hello)), None) => {
                self.hello = Some(hello.clone());
                Ok(Some(Decoded::Hello(hello)))
            }
            (Ok(Frame::Msg(msg)), Some(_)) => Ok(Some(Decoded::Msg(msg))),
            (Ok(_), _) => Err(BadFrame::OutOfOrder),
        }
    }

    /// At the end of the stream: whether it ended in the middle of a frame.
    pub fn finish(&self) -> Result<(), BadFrame> {
        if self.frames.pending() > 0 {
            Err(BadFrame::Truncated)
        } else {
            Ok(())
        }
    }

    /// Who spoke, once it said.
    pub fn hello(&self) -> Option<&Hello> {
        self.hello.as_ref()
    }
}

/// The frame decoder's fuzz harness (`fuzz/fuzz_targets/frame.rs`): arbitrary bytes as what
/// a connection brings, delivered in pieces of a size the first byte picks. Decoding must
/// end in an error or the stream's end, never a panic, and every message it yields must
/// encode and decode again to itself.
pub fn fuzz_bytes(data: &[u8]) {
    let Some((&piece, stream)) = data.split_first() else {
        return;
    };
    let mut decoder = Decoder::<crate::proto::Msg>::default();
    for chunk in stream.chunks(usize::from(piece) + 1) {
        decoder.push(chunk);
        loop {
            match decoder.next_decoded() {
                Ok(Some(Decoded::Msg(msg))) => {
                    let frame = encode(&msg).expect("a decoded message encodes");
                    match decode::<crate::proto::Msg>(&frame[4..]) {
                        Ok(Frame::Msg(again)) => assert_eq!(again, msg, "a message changed in a round trip"),
                        other => panic!("a re-encoded message decoded as {other:?}"),
                    }
                }
                Ok(Some(Decoded::Hello(_))) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            listen: "127.0.0.1:5051".parse().unwrap(),
            name: "agent-a".into(),
            proof: None,
        }
    }

    fn decode_all(stream: &[u8], piece: usize) -> (Vec<Decoded<Vec<String>>>, Result<(), BadFrame>) {
        let mut decoder = Decoder::default();
        let mut got = Vec::new();
        for chunk in stream.chunks(piece) {
            decoder.push(chunk);
            loop {
                match decoder.next_decoded() {
                    Ok(Some(d)) => got.push(d),
                    Ok(None) => break,
                    Err(e) => return (got, Err(e)),
                }
            }
        }
        (got, decoder.finish())
    }

    #[test]
    fn frames_round_trip_through_arbitrary_splits() {
        let msgs: Vec<Vec<String>> = vec![vec![], vec!["a".into(), "bc".into()], vec!["x".repeat(5000)]];
        let mut stream = encode_hello(&hello()).unwrap();
        for msg in &msgs {
            stream.extend(encode(msg).unwrap());
        }
        for piece in [1, 3, 4, 5, 17, 4096, stream.len()] {
            let (got, end) = decode_all(&stream, piece);
            let mut want = vec![Decoded::Hello(hello())];
            want.extend(msgs.iter().cloned().map(Decoded::Msg));
            assert_eq!(got, want, "piece size {piece}");
            assert_eq!(end, Ok(()));
        }
    }

    #[test]
    fn the_frames_are_plain_json_behind_a_big_endian_length() {
        let frame = encode(&"hi").unwrap();
        let body = br#"{"Msg":"hi"}"#;
        assert_eq!(&frame[..4], &(body.len() as u32).to_be_bytes());
        assert_eq!(&frame[4..], body);
        let frame = encode_hello(&hello()).unwrap();
        assert_eq!(
            &frame[4..],
            br#"{"Hello":{"listen":"127.0.0.1:5051","name":"agent-a"}}"#
        );
    }

    #[test]
    fn an_oversized_length_closes_the_stream_before_its_body_is_kept() {
        let mut stream = encode_hello(&hello()).unwrap();
        stream.extend_from_slice(&u32::try_from(MAX_FRAME + 1).unwrap().to_be_bytes());
        let (got, end) = decode_all(&stream, 7);
        assert_eq!(got, vec![Decoded::Hello(hello())]);
        assert_eq!(end, Err(BadFrame::Oversized));
    }

    #[test]
    fn a_malformed_or_unknown_body_closes_the_stream() {
        for body in [
            &b"{{{"[..],
            br#"{"Msg":{"NoSuchKind":1}}"#,
            br#"{"Other":1}"#,
            b"\xff\xfe",
        ] {
            let mut stream = encode_hello(&hello()).unwrap();
            stream.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
            stream.extend_from_slice(body);
            stream.extend(encode(&vec!["after".to_string()]).unwrap());
            let (got, end) = decode_all(&stream, 64);
            assert_eq!(got, vec![Decoded::Hello(hello())], "{body:?}");
            assert_eq!(end, Err(BadFrame::Malformed), "{body:?}");
        }
    }

    #[test]
    fn a_message_before_the_hello_or_a_second_hello_closes_the_stream() {
        let stream = encode(&vec!["early".to_string()]).unwrap();
        assert_eq!(decode_all(&stream, 64), (vec![], Err(BadFrame::OutOfOrder)));
        let mut stream = encode_hello(&hello()).unwrap();
        stream.extend(encode_hello(&hello()).unwrap());
        let (got, end) = decode_all(&stream, 64);
        assert_eq!(got.len(), 1);
        assert_eq!(end, Err(BadFrame::OutOfOrder));
    }

    /// Every seed of the fuzz target goes through its harness in `cargo test`.
    #[test]
    fn the_fuzz_seeds_decode_without_a_panic() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/frame");
        let mut seeds = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            fuzz_bytes(&std::fs::read(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 5, "{seeds} seeds in {dir}");
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated() {
        let mut stream = encode_hello(&hello()).unwrap();
        let msg = encode(&vec!["cut".to_string()]).unwrap();
        stream.extend_from_slice(&msg[..msg.len() - 2]);
        let (got, end) = decode_all(&stream, 5);
        assert_eq!(got.len(), 1);
        assert_eq!(end, Err(BadFrame::Truncated));
    }
}
