//! Integer-nanosecond time.
//!
//! Simulated time is a `u64` count of nanoseconds since the run started: about 584 years of
//! range, exact arithmetic, and a total order that never depends on floating point. Durations
//! read and print with a unit (`250ms`, `15s`, `5m`, `2h`, `29d`); instants print as exact
//! decimal seconds (`12.00025`) for CSV and JSON output.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_M: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_M;
const NS_PER_D: u64 = 24 * NS_PER_H;

/// Units, largest first; printing picks the largest that divides a duration exactly.
const UNITS: [(&str, u64); 7] = [
    ("d", NS_PER_D),
    ("h", NS_PER_H),
    ("m", NS_PER_M),
    ("s", NS_PER_S),
    ("ms", NS_PER_MS),
    ("us", NS_PER_US),
    ("ns", 1),
];

/// A point in time: nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(u64);

/// A span of time in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

impl Instant {
    /// The start of every run.
    pub const ZERO: Instant = Instant(0);
    /// Later than any event; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Instant {
        Instant(ns)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the start of the run.
    pub const fn since_start(self) -> Duration {
        Duration(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// `self - d`, or the start if `d` reaches back before it.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }

    /// Seconds as a float, for figures in reports. Never used to order anything.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    /// Exact decimal seconds, trailing zeros trimmed: `0`, `1.5`, `12.000000001`.
    pub fn secs_string(self) -> String {
        let mut s = String::with_capacity(20);
        write_exact_secs(&mut s, self.0).expect("writing to a String cannot fail");
        s
    }
}

/// Writes `ns` as exact decimal seconds with trailing zeros trimmed.
pub fn write_exact_secs(out: &mut impl fmt::Write, ns: u64) -> fmt::Result {
    let secs = ns / NS_PER_S;
    let frac = ns % NS_PER_S;
    if frac == 0 {
        return write!(out, "{secs}");
    }
    let mut digits = 9;
    let mut frac_trimmed = frac;
    while frac_trimmed.is_multiple_of(10) {
        frac_trimmed /= 10;
        digits -= 1;
    }
    write!(out, "{secs}.{frac_trimmed:0digits$}")
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_exact_secs(f, self.0)?;
        f.write_str("s")
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_exact_secs(f, self.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at [`Instant::MAX`]: "a very long time from now" stays "never".
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);
    pub const MAX: Duration = Duration(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Duration {
        Duration(ns)
    }
    pub const fn from_micros(us: u64) -> Duration {
        Duration(us.saturating_mul(NS_PER_US))
    }
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(ms.saturating_mul(NS_PER_MS))
    }
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s.saturating_mul(NS_PER_S))
    }
    pub const fn from_mins(m: u64) -> Duration {
        Duration(m.saturating_mul(NS_PER_M))
    }
    pub const fn from_hours(h: u64) -> Duration {
        Duration(h.saturating_mul(NS_PER_H))
    }
    pub const fn from_days(d: u64) -> Duration {
        Duration(d.saturating_mul(NS_PER_D))
    }

    /// Rounds to the nearest nanosecond; negative and NaN become zero, huge saturates.
    pub fn from_secs_f64(s: f64) -> Duration {
        if s.is_nan() || s <= 0.0 {
            return Duration::ZERO;
        }
        let ns = (s * NS_PER_S as f64).round();
        if ns >= u64::MAX as f64 {
            Duration::MAX
        } else {
            Duration(ns as u64)
        }
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Seconds as a float, for figures in reports. Never used to order anything.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    pub const fn saturating_mul(self, k: u64) -> Duration {
        Duration(self.0.saturating_mul(k))
    }

    pub const fn saturating_add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }

    pub const fn saturating_sub(self, d: Duration) -> Duration {
        Duration(self.0.saturating_sub(d.0))
    }

    /// `self - d`, or `None` if `d` is longer.
    pub const fn checked_sub(self, d: Duration) -> Option<Duration> {
        match self.0.checked_sub(d.0) {
            Some(ns) => Some(Duration(ns)),
            None => None,
        }
    }

    /// Parses `250ms`, `15s`, `1.5s`, `5m`, `2h`, `29d`, `200us`, `10ns`; `0` alone is zero.
    pub fn parse(text: &str) -> Result<Duration, ParseDurationError> {
        let err = |why: &'static str| ParseDurationError {
            text: text.to_owned(),
            why,
        };
        let s = text.trim();
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        let unit_at = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("a unit is missing (ns, us, ms, s, m, h or d)"))?;
        let (number, unit) = s.split_at(unit_at);
        let scale = match unit {
            "ns" => 1,
            "us" | "µs" => NS_PER_US,
            "ms" => NS_PER_MS,
            "s" => NS_PER_S,
            "m" | "min" => NS_PER_M,
            "h" => NS_PER_H,
            "d" => NS_PER_D,
            _ => return Err(err("unknown unit (expected ns, us, ms, s, m, h or d)")),
        };
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err("a number is missing before the unit"));
        }
        if frac_part.contains('.') {
            return Err(err("a number has at most one decimal point"));
        }
        let too_large = || err("too large (the limit is about 584 years)");
        let int: u64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_large())?
        };
        let mut ns = int.checked_mul(scale).ok_or_else(too_large)?;
        // The fraction, digit by digit, must land on a whole nanosecond.
        let mut place = scale;
        for digit in frac_part.bytes() {
            let d = u64::from(digit - b'0');
            if place % 10 != 0 {
                if d != 0 {
                    return Err(err("finer than one nanosecond"));
                }
                continue;
            }
            place /= 10;
            ns = ns.checked_add(d * place).ok_or_else(too_large)?;
        }
        Ok(Duration(ns))
    }
}

impl fmt::Display for Duration {
    /// The largest unit that divides the duration exactly: `90s`, `2h`, `1500us`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        for (unit, scale) in UNITS {
            if self.0.is_multiple_of(scale) {
                return write!(f, "{}{unit}", self.0 / scale);
            }
        }
        unreachable!("every duration is a whole number of nanoseconds")
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;
    fn from_str(s: &str) -> Result<Duration, ParseDurationError> {
        Duration::parse(s)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        self.saturating_add(d)
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, d: Duration) -> Duration {
        self.saturating_sub(d)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, like 250ms, 15s, 5m, 2h or 29d")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                if v == 0 {
                    Ok(Duration::ZERO)
                } else {
                    Err(E::custom(format!(
                        "invalid duration {v}: a unit is missing (write {v}s, {v}ms, ...)"
                    )))
                }
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    pub text: String,
    pub why: &'static str,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration \"{}\": {}", self.text, self.why)
    }
}

impl std::error::Error for ParseDurationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("250ms", 250 * NS_PER_MS),
            ("15s", 15 * NS_PER_S),
            ("5m", 5 * NS_PER_M),
            ("2h", 2 * NS_PER_H),
            ("29d", 29 * NS_PER_D),
            ("200us", 200 * NS_PER_US),
            ("7ns", 7),
            ("1.5s", 1_500 * NS_PER_MS),
            ("0.25ms", 250 * NS_PER_US),
            (".5s", 500 * NS_PER_MS),
            ("0", 0),
            ("0s", 0),
        ];
        for (text, ns) in cases {
            assert_eq!(Duration::parse(text), Ok(Duration(ns)), "{text}");
        }
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        let cases = [
            ("15", "a unit is missing (ns, us, ms, s, m, h or d)"),
            ("15x", "unknown unit (expected ns, us, ms, s, m, h or d)"),
            ("s", "a number is missing before the unit"),
            ("1.2.3s", "a number has at most one decimal point"),
            ("1.5ns", "finer than one nanosecond"),
            ("99999999999d", "too large (the limit is about 584 years)"),
            ("-1s", "unknown unit (expected ns, us, ms, s, m, h or d)"),
        ];
        for (text, why) in cases {
            assert_eq!(Duration::parse(text).unwrap_err().why, why, "{text}");
        }
    }

    #[test]
    fn prints_the_largest_exact_unit() {
        assert_eq!(Duration::from_secs(90).to_string(), "90s");
        assert_eq!(Duration::from_secs(3600).to_string(), "1h");
        assert_eq!(Duration::from_micros(1500).to_string(), "1500us");
        assert_eq!(Duration::ZERO.to_string(), "0s");
        assert_eq!(Duration::from_days(29).to_string(), "29d");
    }

    #[test]
    fn instants_print_exact_decimal_seconds() {
        assert_eq!(Instant(0).secs_string(), "0");
        assert_eq!(Instant(1_500_000_000).secs_string(), "1.5");
        assert_eq!(Instant(12_000_000_001).secs_string(), "12.000000001");
        assert_eq!(Instant(250_000).secs_string(), "0.00025");
    }

    proptest! {
        #[test]
        fn print_then_parse_is_identity(ns in any::<u64>()) {
            let d = Duration(ns);
            prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }

        #[test]
        fn exact_seconds_round_trip(ns in any::<u64>()) {
            let text = format!("{}s", Instant(ns).secs_string());
            prop_assert_eq!(Duration::parse(&text).map(|d| d.0), Ok(ns));
        }
    }
}
