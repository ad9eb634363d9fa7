//! Line-oriented reading shared by every text format: row numbers, field splitting, typed
//! fields with messages that say what was expected, and the skip-bad-rows policy.

use std::io::{BufRead, Read};

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
    buf: Vec<u8>,
    row: u64,
    pub bad: BadRows,
}

impl Rows {
    pub fn open(path: &str, skip_bad_rows: bool) -> Result<Rows, TraceError> {
        Ok(Rows::new(path, super::open(path)?, skip_bad_rows))
    }

    pub fn new(file: &str, input: Box<dyn BufRead>, skip_bad_rows: bool) -> Rows {
        Rows {
            file: file.to_owned(),
            input,
            buf: Vec::with_capacity(256),
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
            self.buf.clear();
            let n = (&mut self.input)
                .take(MAX_ROW_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| self.unreadable(self.row + 1, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.row += 1;
            if n > MAX_ROW_BYTES {
                if self.buf.last() != Some(&b'\n') {
                    self.skip_line().map_err(|e| self.unreadable(self.row, e))?;
                }
                let e = self.error_at(
                    self.row,
                    format!("the row is longer than {MAX_ROW_BYTES} bytes: is this a text trace?"),
                );
                self.bad.reject(e)?;
                continue;
            }
            let mut line: &[u8] = &self.buf;
            if let [rest @ .., b'\n'] = line {
                line = rest;
            }
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let line = match std::str::from_utf8(line) {
                Ok(l) => l,
                Err(e) => {
                    let e = self.error_at(
                        self.row,
                        format!("not UTF-8 text (invalid byte at column {})", e.valid_up_to() + 1),
                    );
                    self.bad.reject(e)?;
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match parse(self.row, line) {
                Ok(Some(t)) => return Ok(Some(t)),
                Ok(None) => {}
                Err(message) => {
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

/// One row split into fields, with typed access whose errors name the field.
pub struct Fields<'a> {
    parts: SmallVec<[&'a str; 20]>,
    names: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// Splits on `sep`, requiring exactly `names.len()` fields.
    pub fn split(line: &'a str, sep: char, names: &'static [&'static str]) -> Result<Fields<'a>, String> {
        let parts: SmallVec<[&str; 20]> = line.split(sep).collect();
        if parts.len() != names.len() {
            return Err(format!("expected {} fields, found {}", names.len(), parts.len()));
        }
        Ok(Fields { parts, names })
    }

    /// Splits on runs of whitespace (SWF), requiring exactly `names.len()` fields.
    pub fn split_whitespace(line: &'a str, names: &'static [&'static str]) -> Result<Fields<'a>, String> {
        let parts: SmallVec<[&str; 20]> = line.split_ascii_whitespace().collect();
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
        self.parts.get(i).map_or("", |s| s.trim())
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
        s.parse::<u64>()
            .map(Some)
            .map_err(|_| self.bad(i, "a non-negative integer", s))
    }

    /// A required integer, possibly negative.
    pub fn i64(&self, i: usize) -> Result<i64, String> {
        let s = self.str(i);
        s.parse::<i64>().map_err(|_| self.bad(i, "an integer", s))
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
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
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
        assert!(r.buf.capacity() <= 2 * MAX_ROW_BYTES + 256);
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
