//! The wire format: length-prefixed JSON frames.
//!
//! A frame is a `u32` big-endian byte count followed by that many bytes of JSON: the envelope
//! `{"from": <node>, "msg": <message>}`. The count leads so that a reader can split a byte
//! stream into messages without parsing JSON, and so that one message that fails to decode
//! never desynchronises the ones after it.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ids::NodeId;

/// Frames larger than this are treated as a broken stream rather than allocated.
pub const MAX_FRAME: usize = 64 << 20;

#[derive(Serialize)]
struct EnvelopeRef<'a, M> {
    from: NodeId,
    msg: &'a M,
}

#[derive(Deserialize)]
struct Envelope<M> {
    from: NodeId,
    msg: M,
}

/// Encodes one message from `from` as a complete frame, length prefix included.
pub fn encode<M: Serialize>(from: NodeId, msg: &M) -> Result<Vec<u8>, serde_json::Error> {
    let mut frame = Vec::with_capacity(64);
    frame.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut frame, &EnvelopeRef { from, msg })?;
    let len = frame.len() - 4;
    if len > MAX_FRAME {
        return Err(serde::ser::Error::custom(format!(
            "message of {len} bytes exceeds the {MAX_FRAME}-byte frame limit"
        )));
    }
    let len = u32::try_from(len).expect("MAX_FRAME fits in u32");
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// Decodes the body of one frame (without its length prefix).
pub fn decode<M: DeserializeOwned>(body: &[u8]) -> Result<(NodeId, M), serde_json::Error> {
    let envelope: Envelope<M> = serde_json::from_slice(body)?;
    Ok((envelope.from, envelope.msg))
}

/// A frame length beyond [`MAX_FRAME`]: the stream is garbage and should be closed.
#[derive(Debug, PartialEq, Eq)]
pub struct OversizedFrame(pub usize);

/// Splits bytes, arriving in arbitrary pieces, into frame bodies.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_through_arbitrary_splits() {
        let msgs: Vec<(NodeId, Vec<String>)> = vec![
            (NodeId(0), vec![]),
            (NodeId(7), vec!["a".into(), "bc".into()]),
            (NodeId(3), vec!["x".repeat(5000)]),
        ];
        let mut stream = Vec::new();
        for (from, msg) in &msgs {
            stream.extend(encode(*from, msg).unwrap());
        }
        for piece in [1, 3, 4, 5, 17, 4096, stream.len()] {
            let mut fb = FrameBuffer::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                fb.push(chunk);
                while let Some(body) = fb.next_frame().unwrap() {
                    got.push(decode::<Vec<String>>(body).unwrap());
                }
            }
            assert_eq!(got, msgs, "piece size {piece}");
            assert_eq!(fb.pending(), 0);
        }
    }

    #[test]
    fn the_envelope_is_plain_json_behind_a_big_endian_length() {
        let frame = encode(NodeId(2), &"hi").unwrap();
        let body = br#"{"from":2,"msg":"hi"}"#;
        assert_eq!(&frame[..4], &(body.len() as u32).to_be_bytes());
        assert_eq!(&frame[4..], body);
    }

    #[test]
    fn an_oversized_length_is_refused() {
        let mut fb = FrameBuffer::default();
        fb.push(&u32::MAX.to_be_bytes());
        assert_eq!(fb.next_frame(), Err(OversizedFrame(u32::MAX as usize)));
    }

    #[test]
    fn a_bad_body_fails_to_decode_without_touching_the_next_frame() {
        let mut stream = vec![0, 0, 0, 3];
        stream.extend_from_slice(b"{{{");
        stream.extend(encode(NodeId(1), &5u32).unwrap());
        let mut fb = FrameBuffer::default();
        fb.push(&stream);
        assert!(decode::<u32>(fb.next_frame().unwrap().unwrap()).is_err());
        assert_eq!(
            decode::<u32>(fb.next_frame().unwrap().unwrap()).unwrap(),
            (NodeId(1), 5)
        );
    }
}
