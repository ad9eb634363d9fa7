//! ZooKeeper's wire encoding (jute), as much of it as the client speaks.
//!
//! Every value is big-endian: `int` 4 bytes, `long` 8, `boolean` 1. A `buffer` or `ustring`
//! is an `int` length (−1 for null) then that many bytes; a `vector` an `int` count (−1 for
//! null) then its elements. A packet on the socket is an `int` length followed by that many
//! bytes. Records are written field by field, in the order `zookeeper.jute` declares them.
//!
//! The reader trusts nothing the server sends: a length past the end of the packet, a
//! negative length other than −1, or a string that is not UTF-8 is a [`ZkError::Malformed`],
//! never a panic.

use super::error::ZkError;

/// Packets longer than this are refused: ZooKeeper's own limit (`jute.maxbuffer`) is 1 MiB
/// by default, and a larger length means the stream is garbage.
pub const MAX_PACKET: usize = 16 << 20;

/// Builds one request packet, length prefix first (filled in by [`Writer::finish`]).
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer { bytes: vec![0; 4] }
    }

    pub fn int(&mut self, v: i32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn long(&mut self, v: i64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn boolean(&mut self, v: bool) -> &mut Self {
        self.bytes.push(u8::from(v));
        self
    }

    /// A `buffer` (or, with UTF-8 bytes, a `ustring`).
    pub fn buffer(&mut self, v: &[u8]) -> Result<&mut Self, ZkError> {
        let len = i32::try_from(v.len()).map_err(|_| ZkError::BadArguments)?;
        self.int(len);
        self.bytes.extend_from_slice(v);
        Ok(self)
    }

    pub fn string(&mut self, v: &str) -> Result<&mut Self, ZkError> {
        self.buffer(v.as_bytes())
    }

    /// The packet, its length prefix set.
    pub fn finish(mut self) -> Result<Vec<u8>, ZkError> {
        let len = self.bytes.len() - 4;
        if len > MAX_PACKET {
            return Err(ZkError::BadArguments);
        }
        let len = i32::try_from(len).map_err(|_| ZkError::BadArguments)?;
        self.bytes[..4].copy_from_slice(&len.to_be_bytes());
        Ok(self.bytes)
    }
}

/// Reads the fields of one packet's body, in order.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ZkError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(ZkError::Malformed(format!(
                "{what} runs past the end of the packet"
            )));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ZkError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn int(&mut self, what: &str) -> Result<i32, ZkError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn long(&mut self, what: &str) -> Result<i64, ZkError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub fn boolean(&mut self, what: &str) -> Result<bool, ZkError> {
        Ok(self.array::<1>(what)?[0] != 0)
    }

    /// A length or count: −1 (null) reads as 0; any other negative value is malformed.
    fn length(&mut self, what: &str) -> Result<usize, ZkError> {
        match self.int(what)? {
            -1 => Ok(0),
            n => usize::try_from(n).map_err(|_| ZkError::Malformed(format!("{what} has length {n}"))),
        }
    }

    /// A `buffer`; null reads as empty.
    pub fn buffer(&mut self, what: &str) -> Result<Vec<u8>, ZkError> {
        let len = self.length(what)?;
        Ok(self.take(len, what)?.to_vec())
    }

    /// A `ustring`; null reads as empty.
    pub fn string(&mut self, what: &str) -> Result<String, ZkError> {
        String::from_utf8(self.buffer(what)?).map_err(|_| ZkError::Malformed(format!("{what} is not UTF-8")))
    }

    /// A `vector<ustring>`; null reads as empty.
    pub fn strings(&mut self, what: &str) -> Result<Vec<String>, ZkError> {
        let n = self.length(what)?;
        // Each element takes at least its 4-byte length: a count beyond that is a lie.
        if n > self.remaining() / 4 {
            return Err(ZkError::Malformed(format!("{what} claims {n} elements")));
        }
        (0..n).map(|_| self.string(what)).collect()
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn stat(&mut self) -> Result<Stat, ZkError> {
        Ok(Stat {
            czxid: self.long("stat czxid")?,
            mzxid: self.long("stat mzxid")?,
            ctime: self.long("stat ctime")?,
            mtime: self.long("stat mtime")?,
            version: self.int("stat version")?,
            cversion: self.int("stat cversion")?,
            aversion: self.int("stat aversion")?,
            ephemeral_owner: self.long("stat ephemeralOwner")?,
            data_length: self.int("stat dataLength")?,
            num_children: self.int("stat numChildren")?,
            pzxid: self.long("stat pzxid")?,
        })
    }
}

/// A znode's metadata (jute's `Stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    /// The data's version: what a conditional `set_data` or `delete` names.
    pub version: i32,
    /// Changes to the children so far: a sequential child created now is numbered this.
    pub cversion: i32,
    pub aversion: i32,
    /// The session owning an ephemeral node; 0 for a persistent one.
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

/// Splits the packets out of a byte stream.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet's body, if one has arrived; an error if its length is absurd.
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>, ZkError> {
        let Some(head) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = i32::from_be_bytes(*head);
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= MAX_PACKET)
            .ok_or_else(|| ZkError::Malformed(format!("packet length {len}")))?;
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let body = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_big_endian() {
        let mut w = Writer::new();
        w.int(-2).long(1 << 40).boolean(true);
        w.string("/a").unwrap();
        let packet = w.finish().unwrap();
        assert_eq!(&packet[..4], &[0, 0, 0, 19]);
        assert_eq!(&packet[4..8], &[0xff, 0xff, 0xff, 0xfe]);
        let mut r = Reader::new(&packet[4..]);
        assert_eq!(r.int("x").unwrap(), -2);
        assert_eq!(r.long("x").unwrap(), 1 << 40);
        assert!(r.boolean("x").unwrap());
        assert_eq!(r.string("x").unwrap(), "/a");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn lies_about_lengths_are_errors_not_panics() {
        for body in [
            vec![0, 0, 0, 9, b'a'],          // longer than the packet
            vec![0xff, 0xff, 0xff, 0xf0],    // negative, not null
            vec![0, 0, 0, 2, 0xff, 0xfe],    // not UTF-8
            vec![0x7f, 0xff, 0xff, 0xff, 0], // a count beyond the bytes left
        ] {
            let mut r = Reader::new(&body);
            assert!(matches!(r.strings("s"), Err(ZkError::Malformed(_))), "{body:?}");
        }
        assert!(Reader::new(&[0, 0]).int("x").is_err());
        assert!(Reader::new(&[0; 10]).stat().is_err());
        let mut null = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(null.buffer("b").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn the_framer_waits_for_whole_packets_and_refuses_absurd_ones() {
        let mut f = Framer::default();
        f.push(&[0, 0, 0, 3, 1, 2]);
        assert_eq!(f.next_packet().unwrap(), None);
        f.push(&[3, 0, 0]);
        assert_eq!(f.next_packet().unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(f.next_packet().unwrap(), None);
        for head in [[0x80, 0, 0, 0], [0x7f, 0xff, 0xff, 0xff]] {
            let mut g = Framer::default();
            g.push(&head);
            assert!(g.next_packet().is_err(), "{head:?}");
        }
    }
}
