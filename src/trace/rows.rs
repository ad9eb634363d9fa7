//! Line-oriented reading shared by every text format: row numbers, field splitting, typed
//! fields with messages that say what was expected, and the skip-bad-rows policy.

use std::io::BufRead;

use smallvec::SmallVec;

use super::{TraceError, io_reason};

/// The skip-bad-rows policy and its tally.
#[derive(Clone, Debug, Default)]
pub struct BadRows {
    pub skip: bool,
    pub skipped: u64,
    /// The first row skipped, for the report.
    pub first: Option<TraceError>,
}

impl BadRows {
    pub fn new(skip: bool) -> BadRows {
        BadRows {
            skip,
            ..BadRows::default()
        }
    }

    /// `Ok` (counted) when skipping, else the error itself.
    pub fn reject(&mut self, e: TraceError) -> Result<(), TraceError> {
        if !self.skip {
            return Err(e);
        }
        self.skipped += 1;
        if self.first.is_none() {
            self.first = Some(e);
        }
        Ok(())
    }
}

/// The longest row read, in bytes (line end included). No format's rows come near it; a
/// longer one is a bad row, so that a file with no line breaks (or a gzip stream that
/// inflates to one) cannot take unbounded memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// A text trace read line by line, with the row number of each line.
pub struct Rows {
    file: String,
    input: Box<dyn BufRead>,
    /// A line that runs past the end of the input's buffer, gathered across refills; lines
    /// within the buffer are read where they are.
    partial: Vec<u8>,
    row: u64,
    pub bad: BadRows,
}

/// What became of one line.
enum Line<T> {
    Record(T),
    /// Blank, a comment or a header.
    Passed,
    Bad(String),
}

impl Rows {
    pub fn open(path: &str, skip_bad_rows: bool) -> Result<Rows, TraceError> {
        Ok(Rows::new(path, super::open(path)?, skip_bad_rows))
    }

    pub fn new(file: &str, input: Box<dyn BufRead>, skip_bad_rows: bool) -> Rows {
        Rows {
            file: file.to_owned(),
            input,
            partial: Vec::new(),
            row: 0,
            bad: BadRows::new(skip_bad_rows),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// Lines read so far.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// An error about the file as a whole.
    pub fn file_error(&self, message: impl Into<String>) -> TraceError {
        TraceError::file(&self.file, message)
    }

    /// An error at row `row`.
    pub fn error_at(&self, row: u64, message: impl Into<String>) -> TraceError {
        TraceError {
            file: self.file.clone(),
            row,
            message: message.into(),
        }
    }

    /// Reject a record for a reason found after its row was parsed (an end without a
    /// start, say): an error, or a counted skip.
    pub fn reject_at(&mut self, row: u64, message: impl Into<String>) -> Result<(), TraceError> {
        let e = self.error_at(row, message);
        self.bad.reject(e)
    }

    /// The next record: `parse` gets each line (without its line end) and its row number
    /// and answers `Ok(Some(record))`, `Ok(None)` to pass over the line (a comment or a
    /// header) or `Err(what was expected)`. Blank lines are passed over. A bad line stops
    /// the read with `FILE:ROW: message`, or is counted and skipped under `skip_bad_rows`.
    /// A row longer than [`MAX_ROW_BYTES`] is a bad row. Unreadable input (a corrupt gzip
    /// stream) always stops the read.
    pub fn next<T>(
        &mut self,
        mut parse: impl FnMut(u64, &str) -> Result<Option<T>, String>,
    ) -> Result<Option<T>, TraceError> {
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.partial.clear();
                    return Err(TraceError {
                        file: self.file.clone(),
                        row: self.row + 1,
                        message: format!("cannot read: {}", io_reason(&e)),
                    });
                }
            };
            let newline = memchr::memchr(b'\n', chunk);
            let so_far = self.partial.len() + newline.unwrap_or(chunk.len());
            if so_far > MAX_ROW_BYTES {
                // Too long to be a row: read past the rest of it without keeping it.
                let n = newline.map_or(chunk.len(), |end| end + 1);
                self.input.consume(n);
                self.partial.clear();
                self.row += 1;
                if newline.is_none() {
                    self.skip_line().map_err(|e| self.unreadable(self.row, e))?;
                }
                let e = self.error_at(
                    self.row,
                    format!("the row is longer than {MAX_ROW_BYTES} bytes: is this a text trace?"),
                );
                self.bad.reject(e)?;
                continue;
            }
            // The line and how much of the buffer it takes (its line end included).
            let (line, used): (&[u8], usize) = match newline {
                Some(end) if self.partial.is_empty() => (&chunk[..end], end + 1),
                Some(end) => {
                    self.partial.extend_from_slice(&chunk[..end]);
                    (&self.partial, end + 1)
                }
                None if chunk.is_empty() => {
                    if self.partial.is_empty() {
                        return Ok(None);
                    }
                    (&self.partial, 0)
                }
                None => {
                    let n = chunk.len();
                    self.partial.extend_from_slice(chunk);
                    self.input.consume(n);
                    continue;
                }
            };
            self.row += 1;
            let outcome = read_line(self.row, line, &mut parse);
            self.input.consume(used);
            self.partial.clear();
            match outcome {
                Line::Record(t) => return Ok(Some(t)),
                Line::Passed => {}
                Line::Bad(message) => {
                    let e = self.error_at(self.row, message);
                    self.bad.reject(e)?;
                }
            }
        }
    }

    /// Reads past the rest of the current line without keeping it.
    fn skip_line(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.input.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.input.consume(n);
                }
            }
        }
    }

    /// The error for input that cannot be read, at `row`.
    fn unreadable(&self, row: u64, e: std::io::Error) -> TraceError {
        TraceError {
            file: self.file.clone(),
            row,
            message: format!("cannot read: {}", io_reason(&e)),
        }
    }
}

/// One line (without its `\n`) through `parse`: see [`Rows::next`].
fn read_line<T>(
    row: u64,
    mut line: &[u8],
    parse: &mut impl FnMut(u64, &str) -> Result<Option<T>, String>,
) -> Line<T> {
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    let line = match std::str::from_utf8(line) {
        Ok(l) => l,
        Err(e) => {
            return Line::Bad(format!(
                "not UTF-8 text (invalid byte at column {})",
                e.valid_up_to() + 1
            ));
        }
    };
    if line.trim().is_empty() {
        return Line::Passed;
    }
    match parse(row, line) {
        Ok(Some(t)) => Line::Record(t),
        Ok(None) => Line::Passed,
        Err(message) => Line::Bad(message),
    }
}

/// One row split into fields, with typed access whose errors name the field.
pub struct Fields<'a> {
    parts: SmallVec<[&'a str; 20]>,
    names: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// Splits on `sep`, requiring exactly `names.len()` fields.
    #[inline(always)]
    pub fn split(line: &'a str, sep: char, names: &'static [&'static str]) -> Result<Fields<'a>, String> {
        let mut parts: SmallVec<[&str; 20]> = SmallVec::new();
        if sep.is_ascii() {
            // An ASCII byte in UTF-8 text is always a whole character.
            let mut start = 0;
            for end in ByteIndexes::new(line.as_bytes(), sep as u8) {
                parts.push(&line[start..end]);
                start = end + 1;
            }
            parts.push(&line[start..]);
        } else {
            parts.extend(line.split(sep));
        }
        if parts.len() != names.len() {
            return Err(format!("expected {} fields, found {}", names.len(), parts.len()));
        }
        Ok(Fields { parts, names })
    }

    /// Splits on runs of whitespace (SWF), requiring exactly `names.len()` fields.
    #[inline(always)]
    pub fn split_whitespace(line: &'a str, names: &'static [&'static str]) -> Result<Fields<'a>, String> {
        let mut parts: SmallVec<[&str; 20]> = SmallVec::new();
        split_ascii_whitespace_into(line, &mut parts);
        if parts.len() != names.len() {
            return Err(format!("expected {} fields, found {}", names.len(), parts.len()));
        }
        Ok(Fields { parts, names })
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Field `i` (0-based) as text, trimmed; empty when absent.
    pub fn str(&self, i: usize) -> &'a str {
        self.parts.get(i).map_or("", |s| trim(s))
    }

    fn bad(&self, i: usize, expected: &str, found: &str) -> String {
        let shown: String = found.chars().take(40).collect();
        format!(
            "field {} ({}): expected {expected}, found \"{shown}\"",
            i + 1,
            self.names[i]
        )
    }

    /// A required non-negative integer.
    pub fn u64(&self, i: usize) -> Result<u64, String> {
        self.opt_u64(i)?
            .ok_or_else(|| self.bad(i, "a non-negative integer", ""))
    }

    /// An optional non-negative integer (empty is `None`).
    pub fn opt_u64(&self, i: usize) -> Result<Option<u64>, String> {
        let s = self.str(i);
        if s.is_empty() {
            return Ok(None);
        }
        parse_u64(s)
            .map(Some)
            .ok_or_else(|| self.bad(i, "a non-negative integer", s))
    }

    /// A required integer, possibly negative.
    pub fn i64(&self, i: usize) -> Result<i64, String> {
        let s = self.str(i);
        parse_i64(s).ok_or_else(|| self.bad(i, "an integer", s))
    }

    /// A required finite number, possibly negative.
    pub fn f64(&self, i: usize) -> Result<f64, String> {
        self.opt_f64(i)?.ok_or_else(|| self.bad(i, "a number", ""))
    }

    /// An optional finite number (empty is `None`).
    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>, String> {
        let s = self.str(i);
        if s.is_empty() {
            return Ok(None);
        }
        match parse_f64(s) {
            Some(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.bad(i, "a number", s)),
        }
    }

    /// An optional number that must not be negative.
    pub fn opt_nonneg(&self, i: usize) -> Result<Option<f64>, String> {
        match self.opt_f64(i)? {
            Some(v) if v < 0.0 => Err(self.bad(i, "a non-negative number", self.str(i))),
            v => Ok(v),
        }
    }

    /// A message about field `i`.
    pub fn invalid(&self, i: usize, expected: &str) -> String {
        self.bad(i, expected, self.str(i))
    }
}

/// `line.split_ascii_whitespace()` into `parts`, 64 bytes at a time: SWF pads its columns
/// with runs of spaces, which a byte at a time turns into a branch each. A field starts and
/// ends next to ASCII bytes, so always on whole characters.
fn split_ascii_whitespace_into<'a>(line: &'a str, parts: &mut SmallVec<[&'a str; 20]>) {
    let bytes = line.as_bytes();
    // Where the field that runs into the current block began.
    let mut open: Option<usize> = None;
    for (n, block) in bytes.chunks(64).enumerate() {
        let base = n * 64;
        // Bit i: byte i of the block is in a field (a short block is padded with spaces).
        let mut field = 0u64;
        let mut words = block.chunks_exact(8);
        for (k, word) in (&mut words).enumerate() {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            field |= u64::from(!whitespace_bits(word)) << (k * 8);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let word = padded_word(rest, b' ');
            field |= u64::from(!whitespace_bits(word)) << (block.len() - rest.len());
        }
        let before = (field << 1) | u64::from(open.is_some());
        let mut starts = field & !before;
        let mut ends = !field & before;
        // Starts and ends alternate; a field open from the block before ends first.
        if let Some(start) = open {
            if ends == 0 {
                continue;
            }
            parts.push(&line[start..base + ends.trailing_zeros() as usize]);
            ends &= ends - 1;
            open = None;
        }
        while starts != 0 {
            let start = base + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            if ends == 0 {
                open = Some(start);
                break;
            }
            parts.push(&line[start..base + ends.trailing_zeros() as usize]);
            ends &= ends - 1;
        }
    }
    if let Some(start) = open {
        parts.push(&line[start..]);
    }
}

/// Where a byte occurs in a line, eight bytes at a time: fields are too short for a
/// vectorised search to pay off, and a byte at a time is slow.
struct ByteIndexes<'a> {
    words: std::slice::ChunksExact<'a, u8>,
    rest: &'a [u8],
    byte: u8,
    /// Where `found` starts in the line.
    base: usize,
    /// The high bit of each byte of the current word that is `byte`.
    found: u64,
}

impl<'a> ByteIndexes<'a> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

    fn new(bytes: &'a [u8], byte: u8) -> ByteIndexes<'a> {
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        let mut indexes = ByteIndexes {
            words,
            rest,
            byte,
            base: 0,
            found: 0,
        };
        indexes.found = indexes.matches();
        indexes
    }

    /// The high bit of each byte of the next word (or of the remainder) equal to `byte`:
    /// a byte is zero after the xor exactly when its low seven bits do not carry into
    /// the high bit and the high bit is clear.
    fn matches(&mut self) -> u64 {
        let word = match self.words.next() {
            Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
            None => {
                let rest = std::mem::take(&mut self.rest);
                if rest.is_empty() {
                    return 0;
                }
                // Padded with a byte that cannot match.
                padded_word(rest, !self.byte)
            }
        };
        let x = word ^ u64::from_le_bytes([self.byte; 8]);
        !((x & Self::LOW7).wrapping_add(Self::LOW7) | x | Self::LOW7)
    }
}

impl Iterator for ByteIndexes<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.found != 0 {
                let i = self.base + (self.found.trailing_zeros() / 8) as usize;
                self.found &= self.found - 1;
                return Some(i);
            }
            if self.words.len() == 0 && self.rest.is_empty() {
                return None;
            }
            self.base += 8;
            self.found = self.matches();
        }
    }
}

/// Up to eight bytes as a little-endian word, the bytes past them `pad`.
fn padded_word(bytes: &[u8], pad: u8) -> u64 {
    let mut word = [pad; 8];
    for (w, &b) in word.iter_mut().zip(bytes) {
        *w = b;
    }
    u64::from_le_bytes(word)
}

/// Bit `i` set when byte `i` of `word` (little-endian) is ASCII whitespace as
/// [`u8::is_ascii_whitespace`] has it: tab, line feed, form feed, carriage return, space.
fn whitespace_bits(word: u64) -> u8 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let splat = |b: u8| u64::from_le_bytes([b; 8]);
    // The high bit of each byte equal to `b`.
    let equal = |b: u8| {
        let x = word ^ splat(b);
        !((x & LOW7).wrapping_add(LOW7) | x | LOW7)
    };
    // The high bit of each byte whose low seven bits are at least `b` (no carry between
    // bytes: at most 0x7f + 0x7f).
    let at_least = |b: u8| ((word & LOW7).wrapping_add(splat(0x80 - b))) & HIGH;
    // 9 to 13 is tab to carriage return, less vertical tab (11).
    let control = at_least(9) & !at_least(14) & !equal(0x0b);
    let spaces = (equal(b' ') | control) & !word & HIGH;
    // Gathers the high bits of the eight bytes into one byte.
    ((spaces >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// `s.trim()`, without looking further when `s` starts and ends in a printable ASCII
/// character (every whitespace character is either at most a space or not ASCII).
pub(crate) fn trim(s: &str) -> &str {
    let plain = |b: u8| b > b' ' && b.is_ascii();
    match s.as_bytes() {
        [] => s,
        [first, .., last] if plain(*first) && plain(*last) => s,
        [only] if plain(*only) => s,
        _ => s.trim(),
    }
}

/// `s.parse::<u64>().ok()`, with plain digits (most fields) read directly.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    // Up to 19 digits cannot overflow.
    if b.is_empty() || b.len() > 19 {
        return s.parse().ok();
    }
    let mut n = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return s.parse().ok();
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// `s.parse::<i64>().ok()`, with plain digits and an optional minus read directly.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let b = digits.as_bytes();
    // Up to 18 digits cannot overflow.
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        let n = b.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
        return Some(if negative { -n } else { n });
    }
    s.parse().ok()
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// `s.parse::<f64>().ok()`, the same value to the last bit, with short plain decimals
/// (`12`, `-1`, `0.06873`) read directly: their digits as an integer of at most 2^53 and
/// their power of ten are both exact, so the one division is correctly rounded, as the
/// full parser's result is. Everything else goes to the full parser.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (negative, b) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    let mut digits: u64 = 0;
    let mut count = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        digits = digits.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
        i += 1;
    }
    let whole = i;
    count += whole;
    let mut decimals = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            digits = digits.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
            i += 1;
            decimals += 1;
        }
        if decimals == 0 {
            return s.parse().ok();
        }
    }
    count += decimals;
    if i != b.len() || whole == 0 || count > 19 || digits > 1 << 53 || decimals >= EXACT_POWERS_OF_TEN.len() {
        return s.parse().ok();
    }
    let v = if decimals == 0 {
        digits as f64
    } else {
        digits as f64 / EXACT_POWERS_OF_TEN[decimals]
    };
    Some(if negative { -v } else { v })
}

/// Seconds as a duration, for trace times; rejects what cannot be a time.
pub fn secs(v: f64) -> crate::time::Duration {
    crate::time::Duration::from_secs_f64(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &'static str, skip: bool) -> Rows {
        Rows::new("t.csv", Box::new(text.as_bytes()), skip)
    }

    const NAMES: &[&str] = &["a", "b", "c"];

    fn parse(_: u64, line: &str) -> Result<Option<(u64, f64)>, String> {
        if line.starts_with('#') {
            return Ok(None);
        }
        let f = Fields::split(line, ',', NAMES)?;
        Ok(Some((f.u64(0)?, f.f64(2)?)))
    }

    #[test]
    fn rows_number_lines_and_name_bad_fields() {
        let mut r = rows("# header\n1,x,2.5\r\n\n2,y\n3,z,abc\n", false);
        assert_eq!(r.next(parse).unwrap(), Some((1, 2.5)));
        let e = r.next(parse).unwrap_err();
        assert_eq!(e.to_string(), "t.csv:4: expected 3 fields, found 2");
        let e = r.next(parse).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:5: field 3 (c): expected a number, found \"abc\""
        );
        assert_eq!(r.next(parse).unwrap(), None);
    }

    #[test]
    fn skipping_counts_and_keeps_the_first() {
        let mut r = rows("1,x,1\n-1,x,1\n2,x\n\u{0}\u{0}\n3,x,3", true);
        let mut got = Vec::new();
        while let Some(v) = r.next(parse).unwrap() {
            got.push(v.0);
        }
        assert_eq!(got, [1, 3]);
        assert_eq!(r.bad.skipped, 3);
        assert_eq!(
            r.bad.first.unwrap().to_string(),
            "t.csv:2: field 1 (a): expected a non-negative integer, found \"-1\""
        );
    }

    #[test]
    fn a_row_past_the_limit_is_a_bad_row_read_past_in_bounded_memory() {
        // 3 MiB of zeros and no line break, then a good row: the gzip stream of a text
        // without line breaks inflates the same way.
        let mut text = b"1,x,1\n".to_vec();
        text.resize(text.len() + 3 * MAX_ROW_BYTES, b'0');
        text.extend_from_slice(b"\n2,y,2\n");
        let mut r = Rows::new("t.csv", Box::new(std::io::Cursor::new(text.clone())), false);
        assert_eq!(r.next(parse).unwrap(), Some((1, 1.0)));
        assert_eq!(
            r.next(parse).unwrap_err().to_string(),
            "t.csv:2: the row is longer than 1048576 bytes: is this a text trace?"
        );
        assert!(r.partial.capacity() <= 2 * MAX_ROW_BYTES + 256);
        assert_eq!(r.next(parse).unwrap(), Some((2, 2.0)));
        let mut r = Rows::new("t.csv", Box::new(std::io::Cursor::new(text)), true);
        assert_eq!(r.next(parse).unwrap(), Some((1, 1.0)));
        assert_eq!(r.next(parse).unwrap(), Some((2, 2.0)));
        assert_eq!(r.bad.skipped, 1);
        // A row of exactly the limit, line end included, is read.
        let mut row = b"3,z,".to_vec();
        row.resize(MAX_ROW_BYTES - 2, b' ');
        row.extend_from_slice(b"3\n");
        let mut r = Rows::new("t.csv", Box::new(std::io::Cursor::new(row)), false);
        assert_eq!(r.next(parse).unwrap(), Some((3, 3.0)));
    }

    #[test]
    fn invalid_utf8_is_a_row_error() {
        let mut r = Rows::new("t.csv", Box::new(&b"1,x,1\n\xff,x,1\n"[..]), false);
        assert!(r.next(parse).unwrap().is_some());
        assert_eq!(
            r.next(parse).unwrap_err().to_string(),
            "t.csv:2: not UTF-8 text (invalid byte at column 1)"
        );
    }
}

#[cfg(test)]
mod fast_paths {
    //! The fast paths agree with the standard library they stand in for.

    use super::*;
    use proptest::prelude::*;

    /// Enough field names for any split below.
    static NAMES: [&str; 400] = ["f"; 400];

    fn parts<'a>(f: &Fields<'a>) -> Vec<&'a str> {
        f.parts.to_vec()
    }

    /// Text from a few characters that matter: separators, every ASCII whitespace
    /// (vertical tab is not whitespace to `split_ascii_whitespace`), multi-byte characters
    /// (one whose UTF-8 ends in 0x85, next-line, which `trim` takes as whitespace), digits.
    fn text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            ",", "\t", " ", "\n", "\r", "\u{b}", "\u{c}", "é", "\u{85}", "\u{a0}", "€", "1", "0", ".", "-",
            "+", "e", "x", "12", "0.5",
        ]);
        prop::collection::vec(pieces, 0..120).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn split_is_str_split(line in text()) {
            let expected: Vec<&str> = line.split(',').collect();
            let f = Fields::split(&line, ',', &NAMES[..expected.len()]).unwrap();
            prop_assert_eq!(parts(&f), expected.clone());
            let wrong = Fields::split(&line, ',', &NAMES[..expected.len() + 1]).err().unwrap();
            prop_assert_eq!(wrong, format!("expected {} fields, found {}", expected.len() + 1, expected.len()));
            let tabs: Vec<&str> = line.split('\t').collect();
            prop_assert_eq!(parts(&Fields::split(&line, '\t', &NAMES[..tabs.len()]).unwrap()), tabs);
            let euros: Vec<&str> = line.split('€').collect();
            prop_assert_eq!(parts(&Fields::split(&line, '€', &NAMES[..euros.len()]).unwrap()), euros);
        }

        #[test]
        fn split_whitespace_is_split_ascii_whitespace(line in text()) {
            let expected: Vec<&str> = line.split_ascii_whitespace().collect();
            let f = Fields::split_whitespace(&line, &NAMES[..expected.len()]).unwrap();
            prop_assert_eq!(parts(&f), expected);
        }

        #[test]
        fn trim_is_str_trim(s in text()) {
            prop_assert_eq!(trim(&s), s.trim());
        }

        #[test]
        fn numbers_parse_as_the_standard_parsers(s in text()) {
            prop_assert_eq!(parse_u64(&s), s.parse::<u64>().ok());
            prop_assert_eq!(parse_i64(&s), s.parse::<i64>().ok());
            prop_assert_eq!(parse_f64(&s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits));
        }

        #[test]
        fn decimals_parse_to_the_same_bits(
            whole in prop::collection::vec(0u8..10, 0..22),
            decimals in prop::option::of(prop::collection::vec(0u8..10, 0..26)),
            sign in prop::sample::select(vec!["", "-", "+"]),
        ) {
            let digits = |d: &[u8]| d.iter().map(|d| char::from(b'0' + d)).collect::<String>();
            let mut s = format!("{sign}{}", digits(&whole));
            if let Some(d) = decimals {
                s = format!("{s}.{}", digits(&d));
            }
            prop_assert_eq!(parse_f64(&s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{}", s);
            prop_assert_eq!(parse_u64(&s), s.parse::<u64>().ok());
            prop_assert_eq!(parse_i64(&s), s.parse::<i64>().ok());
        }

        #[test]
        fn floats_written_out_parse_back_exactly(v in any::<f64>(), places in 0usize..20) {
            for s in [v.to_string(), format!("{v:.places$}"), format!("{:.places$}", v.abs() % 1e6)] {
                prop_assert_eq!(parse_f64(&s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{}", s);
            }
        }

        /// Lines that straddle the input's buffer come out whole, with their row numbers.
        #[test]
        fn lines_across_buffer_refills(lines in prop::collection::vec("[a-z,\r]{0,40}", 0..30), capacity in 1usize..64, end in any::<bool>()) {
            let mut text = lines.join("\n");
            if end {
                text.push('\n');
            }
            let input = std::io::BufReader::with_capacity(capacity, std::io::Cursor::new(text.clone().into_bytes()));
            let mut r = Rows::new("t.csv", Box::new(input), false);
            let mut got = Vec::new();
            while let Some(line) = r.next(|row, line| Ok(Some((row, line.to_owned())))).unwrap() {
                got.push(line);
            }
            let mut expected = Vec::new();
            for (i, l) in text.split_inclusive('\n').enumerate() {
                let l = l.strip_suffix('\n').unwrap_or(l);
                let l = l.strip_suffix('\r').unwrap_or(l);
                if !l.trim().is_empty() {
                    expected.push((i as u64 + 1, l.to_owned()));
                }
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(r.row(), text.split_inclusive('\n').count() as u64);
        }
    }

    #[test]
    fn interning_keeps_first_appearance_order() {
        let mut i = super::super::Interner::with_unknown();
        let names = ["b", "a", "b", "b", "", "c", "a", "c"];
        let ids: Vec<u32> = names.iter().map(|n| i.intern(n)).collect();
        assert_eq!(ids, [1, 2, 1, 1, 0, 3, 2, 3]);
        assert_eq!(
            (i.name(0), i.name(1), i.name(2), i.name(3), i.name(4)),
            ("", "b", "a", "c", "")
        );
        let many: Vec<String> = (0..5000).map(|n| format!("m{}", n % 1700)).collect();
        let mut j = super::super::Interner::default();
        for (n, name) in many.iter().enumerate() {
            let id = j.intern(name);
            assert_eq!(id as usize, n % 1700);
            assert_eq!(j.name(id), name);
        }
    }
}
