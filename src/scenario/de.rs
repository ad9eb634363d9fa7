//! A serde `Deserializer` over the spanned [`Node`] tree, and the error type every scenario
//! check reports with.
//!
//! Typed config structs derive `Deserialize` (with `#[serde(deny_unknown_fields)]`) and come out
//! of [`from_node`]; any error, whether it is ours (wrong type, unknown key) or a custom one from
//! a `Deserialize` impl, carries the span of the innermost node being read when it surfaced.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use super::yaml::{Node, NodeKind, Span};

/// A user-facing error, with the place it points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub span: Option<Span>,
    pub message: String,
}

impl Error {
    /// An error at a known place.
    pub fn at(span: Span, msg: impl Into<String>) -> Error {
        Error {
            span: Some(span),
            message: msg.into(),
        }
    }

    /// An error whose place is not known yet; the deserializer fills it in.
    pub fn new(msg: impl Into<String>) -> Error {
        Error {
            span: None,
            message: msg.into(),
        }
    }

    /// Gives the error `span` unless it already has one.
    pub fn or_span(mut self, span: Span) -> Error {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    /// Renders `error: FILE:LINE:COL: MESSAGE`; for a span in the k-th `--set` override
    /// `error: --set ASSIGNMENT:COL: MESSAGE` (ASSIGNMENT = `sets[k-1]`); without a span
    /// `error: FILE: MESSAGE`.
    pub fn render(&self, file: &str, sets: &[String]) -> String {
        let msg = &self.message;
        match self.span {
            None => format!("error: {file}: {msg}"),
            Some(Span { source: 0, line, col }) => format!("error: {file}:{line}:{col}: {msg}"),
            Some(Span { source, col, .. }) => match sets.get(usize::from(source) - 1) {
                Some(assignment) => format!("error: --set {assignment}:{col}: {msg}"),
                None => format!("error: --set #{source}:{col}: {msg}"),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Error {
        Error::new(format!("expected {exp}, found {}", unexpected(unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Error {
        Error::new(format!("expected {exp}, found {}", unexpected(unexp)))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Error {
        Error::new(format!("expected {exp}, found {}", items(len)))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Error {
        Error::new(format!("unknown value {variant:?} {}", hint(variant, expected)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Error {
        Error::new(format!("unknown key {field:?} {}", hint(field, expected)))
    }

    fn missing_field(field: &'static str) -> Error {
        Error::new(format!("missing key {field:?}"))
    }

    fn duplicate_field(field: &'static str) -> Error {
        Error::new(format!("duplicate key {field:?}"))
    }
}

/// `(did you mean "x"?)` or `(expected one of: a, b, c)`.
fn hint(word: &str, expected: &[&str]) -> String {
    if expected.is_empty() {
        return "(nothing is allowed here)".to_owned();
    }
    match suggest(word, expected) {
        Some(s) => format!("(did you mean {s:?}?)"),
        None => format!("(expected one of: {})", expected.join(", ")),
    }
}

fn items(n: usize) -> String {
    if n == 1 {
        "1 item".to_owned()
    } else {
        format!("{n} items")
    }
}

fn unexpected(u: Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(x) => x.to_string(),
        Unexpected::Char(c) => quote(&c.to_string()),
        Unexpected::Str(s) => quote(s),
        Unexpected::Bytes(_) => "binary data".to_owned(),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Option => "an optional value".to_owned(),
        Unexpected::NewtypeStruct => "a value".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a map".to_owned(),
        Unexpected::Enum => "a choice".to_owned(),
        Unexpected::UnitVariant => "a name".to_owned(),
        Unexpected::NewtypeVariant | Unexpected::TupleVariant | Unexpected::StructVariant => {
            "a map with one key".to_owned()
        }
        Unexpected::Other(s) => s.to_owned(),
    }
}

/// A string in double quotes, shortened if it is long.
fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let short: String = text.chars().take(MAX - 3).collect();
        format!("{:?}", short + "...")
    } else {
        format!("{text:?}")
    }
}

/// How a node shows up after "found": numbers and booleans as written, other scalars quoted,
/// collections and null by kind.
fn found(node: &Node) -> String {
    match &node.kind {
        NodeKind::Scalar(s) if s.as_bool().is_some() || s.is_number() => s.text.clone(),
        NodeKind::Scalar(s) => quote(&s.text),
        _ => node.describe().to_owned(),
    }
}

fn expected_found(expected: impl fmt::Display, node: &Node) -> Error {
    Error::new(format!("expected {expected}, found {}", found(node)))
}

/// Suggests the closest candidate by (optimal string alignment) Damerau-Levenshtein distance,
/// only if the distance is at most `max(1, len/3)` where len counts the word's characters;
/// ties go to the first candidate.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for &candidate in candidates {
        let d = edit_distance(word, candidate);
        if d <= limit && best.is_none_or(|(best_d, _)| d < best_d) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Insertions, deletions, substitutions and transpositions of adjacent characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Rows i-2, i-1 and i of the distance table.
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Deserializes a typed value from a node tree.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, Error> {
    T::deserialize(NodeDe(node))
}

/// A serde `Deserializer` over one node.
#[derive(Clone, Copy, Debug)]
pub struct NodeDe<'a>(pub &'a Node);

/// Errors that surface while reading `node` without a place get the node's span.
fn spanned<T>(node: &Node, result: Result<T, Error>) -> Result<T, Error> {
    result.map_err(|e| e.or_span(node.span))
}

/// Reads a plain decimal integer and checks that it fits `T`, whose range is `min..=max`.
fn integer<T: TryFrom<i128>>(node: &Node, min: i128, max: i128) -> Result<T, Error> {
    let unsigned = min == 0;
    let expected = if unsigned {
        "a non-negative integer"
    } else {
        "an integer"
    };
    let NodeKind::Scalar(s) = &node.kind else {
        return Err(expected_found(expected, node));
    };
    let out_of_range = || {
        Error::new(format!(
            "expected an integer from {min} to {max}, found {}",
            s.text
        ))
    };
    if !s.is_int() {
        return Err(expected_found(expected, node));
    }
    match s.as_int() {
        Some(n) if unsigned && n < 0 => Err(expected_found(expected, node)),
        Some(n) => T::try_from(n).map_err(|_| out_of_range()),
        // Too large even for an i128.
        None if unsigned && s.text.starts_with('-') => Err(expected_found(expected, node)),
        None => Err(out_of_range()),
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $visit:ident($t:ty),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let n = self.0;
            let min = i128::from(<$t>::MIN);
            let max = i128::from(<$t>::MAX);
            spanned(n, integer::<$t>(n, min, max).and_then(|x| visitor.$visit(x)))
        }
    )*};
}

impl<'de> NodeDe<'de> {
    fn float(self) -> Result<f64, Error> {
        match &self.0.kind {
            NodeKind::Scalar(s) => s.as_f64().ok_or_else(|| expected_found("a number", self.0)),
            _ => Err(expected_found("a number", self.0)),
        }
    }

    fn seq<V: Visitor<'de>>(self, list: &'de [Node], visitor: V) -> Result<V::Value, Error> {
        let mut access = SeqDe { iter: list.iter() };
        let value = visitor.visit_seq(&mut access)?;
        let left = access.iter.len();
        if left > 0 {
            return Err(Error::new(format!(
                "expected a list of {}, found {}",
                items(list.len() - left),
                items(list.len())
            )));
        }
        Ok(value)
    }

    fn map<V: Visitor<'de>>(self, entries: &'de [(Node, Node)], visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(MapDe {
            iter: entries.iter(),
            value: None,
        })
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Seq(items) => self.seq(items, visitor),
            NodeKind::Map(entries) => self.map(entries, visitor),
            NodeKind::Scalar(s) => {
                if let Some(b) = s.as_bool() {
                    visitor.visit_bool(b)
                } else if let Some(i) = s.as_int() {
                    if let Ok(u) = u64::try_from(i) {
                        visitor.visit_u64(u)
                    } else if let Ok(i) = i64::try_from(i) {
                        visitor.visit_i64(i)
                    } else {
                        visitor.visit_f64(s.as_f64().unwrap_or(f64::NAN))
                    }
                } else if let Some(x) = s.as_f64() {
                    visitor.visit_f64(x)
                } else {
                    visitor.visit_borrowed_str(&s.text)
                }
            }
        };
        spanned(n, result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Scalar(s) => match s.as_bool() {
                Some(b) => visitor.visit_bool(b),
                None => Err(expected_found("true or false", n)),
            },
            _ => Err(expected_found("true or false", n)),
        };
        spanned(n, result)
    }

    deserialize_int! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = integer::<i128>(n, i128::MIN, i128::MAX).and_then(|x| visitor.visit_i128(x));
        spanned(n, result)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = integer::<u128>(n, 0, i128::MAX).and_then(|x| visitor.visit_u128(x));
        spanned(n, result)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = self.float().and_then(|x| {
            // Narrowing is the point here; a finite value too large for f32 is refused.
            let y = x as f32;
            if x.is_finite() && !y.is_finite() {
                Err(Error::new(format!(
                    "{} is out of range for a single-precision number",
                    found(n)
                )))
            } else {
                visitor.visit_f32(y)
            }
        });
        spanned(n, result)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        spanned(n, self.float().and_then(|x| visitor.visit_f64(x)))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Scalar(s) => {
                let mut chars = s.text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => visitor.visit_char(c),
                    _ => Err(expected_found("a single character", n)),
                }
            }
            _ => Err(expected_found("a single character", n)),
        };
        spanned(n, result)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Scalar(s) => visitor.visit_borrowed_str(&s.text),
            _ => Err(expected_found(&visitor as &dyn Expected, n)),
        };
        spanned(n, result)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::at(
            self.0.span,
            "binary data cannot be read from a scenario",
        ))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        spanned(n, result)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Null => visitor.visit_unit(),
            _ => Err(expected_found("null", n)),
        };
        spanned(n, result)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        spanned(self.0, visitor.visit_newtype_struct(self))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Seq(items) => self.seq(items, visitor),
            _ => Err(expected_found("a list", n)),
        };
        spanned(n, result)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let expected = format!("a list of {}", items(len));
        let result = match &n.kind {
            NodeKind::Seq(list) if list.len() == len => self.seq(list, visitor),
            NodeKind::Seq(list) => Err(Error::new(format!(
                "expected {expected}, found {}",
                items(list.len())
            ))),
            _ => Err(expected_found(expected, n)),
        };
        spanned(n, result)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Map(entries) => self.map(entries, visitor),
            _ => Err(expected_found("a map", n)),
        };
        spanned(n, result)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let n = self.0;
        let choices = format!("one of: {}", variants.join(", "));
        let result = match &n.kind {
            NodeKind::Scalar(_) => visitor.visit_enum(EnumDe { tag: n, value: None }),
            NodeKind::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumDe {
                tag: &entries[0].0,
                value: Some(&entries[0].1),
            }),
            NodeKind::Map(entries) if entries.is_empty() => {
                Err(Error::new(format!("expected {choices}, found an empty map")))
            }
            NodeKind::Map(entries) => Err(Error::new(format!(
                "expected {choices}, found a map with {} keys (name one choice as its only key)",
                entries.len()
            ))),
            _ => Err(expected_found(choices, n)),
        };
        spanned(n, result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let result = match &n.kind {
            NodeKind::Scalar(s) => visitor.visit_borrowed_str(&s.text),
            _ => Err(expected_found("a name", n)),
        };
        spanned(n, result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        spanned(self.0, visitor.visit_unit())
    }
}

struct SeqDe<'a> {
    iter: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(node) => seed.deserialize(NodeDe(node)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe<'a> {
    iter: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDe(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(NodeDe(value)),
            None => Err(Error::new("a map value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An externally tagged enum: a scalar names a unit variant; a one-key map `{variant: value}`
/// names any variant and gives its value.
struct EnumDe<'a> {
    tag: &'a Node,
    value: Option<&'a Node>,
}

impl<'de> EnumAccess<'de> for EnumDe<'de> {
    type Error = Error;
    type Variant = EnumDe<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(NodeDe(self.tag))?;
        Ok((variant, self))
    }
}

impl<'de> EnumDe<'de> {
    fn name(&self) -> &str {
        self.tag.as_str().unwrap_or_default()
    }

    fn needs_value(&self) -> Error {
        let name = self.name();
        Error::at(
            self.tag.span,
            format!("{name:?} needs a value, written like {{{name}: ...}}"),
        )
    }
}

impl<'de> VariantAccess<'de> for EnumDe<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            Some(value) if !matches!(value.kind, NodeKind::Null) => Err(Error::at(
                value.span,
                format!("{:?} takes no value, found {}", self.name(), found(value)),
            )),
            _ => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(value) => seed.deserialize(NodeDe(value)),
            None => Err(self.needs_value()),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_tuple(NodeDe(value), len, visitor),
            None => Err(self.needs_value()),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_struct(NodeDe(value), "", fields, visitor),
            None => Err(self.needs_value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{Value, json};
    use smol_str::SmolStr;

    use super::*;
    use crate::scenario::yaml::{apply_set, parse};
    use crate::time::Duration;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        seed: u64,
        name: Option<String>,
        master: Master,
        #[serde(default)]
        frameworks: Vec<Framework>,
        #[serde(default)]
        verbose: bool,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Master {
        allocator: Allocator,
        #[serde(default)]
        timeout: Option<Duration>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "snake_case")]
    enum Allocator {
        Drf,
        Binpack,
        Random { seed: u64 },
        Fixed(u32),
        Pair(u8, u8),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Framework {
        name: SmolStr,
        #[serde(default = "one")]
        weight: f64,
        role: Option<String>,
    }

    fn one() -> f64 {
        1.0
    }

    fn sp(line: u32, col: u32) -> Span {
        Span::new(0, line, col)
    }

    fn load<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
        from_node(&parse(text, 0)?)
    }

    fn config_err(text: &str) -> Error {
        load::<Config>(text).expect_err("should not deserialize")
    }

    const DOC: &str = "\
seed: 7
master:
  allocator: drf
  timeout: 15s
frameworks:
  - name: web
    role: ~
  - { name: batch, weight: 2 }
";

    #[test]
    fn a_full_config_deserializes() {
        let c: Config = load(DOC).unwrap();
        assert_eq!(
            c,
            Config {
                seed: 7,
                name: None,
                master: Master {
                    allocator: Allocator::Drf,
                    timeout: Some(Duration::from_secs(15)),
                },
                frameworks: vec![
                    Framework {
                        name: "web".into(),
                        weight: 1.0,
                        role: None,
                    },
                    Framework {
                        name: "batch".into(),
                        weight: 2.0,
                        role: None,
                    },
                ],
                verbose: false,
            }
        );
    }

    #[test]
    fn enum_variants_of_every_shape() {
        let a = |text: &str| load::<Allocator>(text);
        assert_eq!(a("binpack").unwrap(), Allocator::Binpack);
        assert_eq!(a("'binpack'").unwrap(), Allocator::Binpack);
        assert_eq!(a("{drf: ~}").unwrap(), Allocator::Drf);
        assert_eq!(a("random: {seed: 3}").unwrap(), Allocator::Random { seed: 3 });
        assert_eq!(a("{fixed: 4}").unwrap(), Allocator::Fixed(4));
        assert_eq!(a("pair: [1, 2]").unwrap(), Allocator::Pair(1, 2));

        let e = a("drf: 3").unwrap_err();
        assert_eq!(e, Error::at(sp(1, 6), "\"drf\" takes no value, found 3"));
        let e = a("random").unwrap_err();
        assert_eq!(
            e,
            Error::at(sp(1, 1), "\"random\" needs a value, written like {random: ...}")
        );
        let e = a("random: {sed: 3}").unwrap_err();
        assert_eq!(
            e,
            Error::at(sp(1, 10), "unknown key \"sed\" (did you mean \"seed\"?)")
        );
        let e = a("{drf: ~, binpack: ~}").unwrap_err();
        assert_eq!(e.span, Some(sp(1, 1)));
        assert!(
            e.message
                .starts_with("expected one of: drf, binpack, random, fixed, pair, found a map with 2 keys")
        );
        let e = a("[drf]").unwrap_err();
        assert_eq!(
            e,
            Error::at(
                sp(1, 1),
                "expected one of: drf, binpack, random, fixed, pair, found a list"
            )
        );
        let e = a("pair: [1, 2, 3]").unwrap_err();
        assert_eq!(
            e,
            Error::at(sp(1, 7), "expected a list of 2 items, found 3 items")
        );
    }

    #[test]
    fn unknown_key_points_at_the_key_and_suggests() {
        let e = config_err("seed: 1\nmaster:\n  alocator: drf\n");
        assert_eq!(
            e,
            Error::at(sp(3, 3), "unknown key \"alocator\" (did you mean \"allocator\"?)")
        );
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nzzz: 1\n");
        assert_eq!(
            e,
            Error::at(
                sp(3, 1),
                "unknown key \"zzz\" (expected one of: seed, name, master, frameworks, verbose)"
            )
        );
        // In a flow map inside a list.
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nframeworks:\n  - { name: a, wieght: 2 }\n");
        assert_eq!(
            e,
            Error::at(sp(4, 16), "unknown key \"wieght\" (did you mean \"weight\"?)")
        );
    }

    #[test]
    fn unknown_value_points_at_the_value_and_suggests() {
        let e = config_err("seed: 1\nmaster:\n  allocator: bnpack\n");
        assert_eq!(
            e,
            Error::at(sp(3, 14), "unknown value \"bnpack\" (did you mean \"binpack\"?)")
        );
        let e = config_err("seed: 1\nmaster:\n  allocator: x\n");
        assert_eq!(
            e.message,
            "unknown value \"x\" (expected one of: drf, binpack, random, fixed, pair)"
        );
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let e = config_err("seed: abc\nmaster: {allocator: drf}\n");
        assert_eq!(
            e,
            Error::at(sp(1, 7), "expected a non-negative integer, found \"abc\"")
        );
        let e = config_err("seed: -1\nmaster: {allocator: drf}\n");
        assert_eq!(
            e,
            Error::at(sp(1, 7), "expected a non-negative integer, found -1")
        );
        let e = config_err("seed: '7'\nmaster: {allocator: drf}\n");
        assert_eq!(e.message, "expected a non-negative integer, found \"7\"");
        let e = config_err("seed: 1.5\nmaster: {allocator: drf}\n");
        assert_eq!(e.message, "expected a non-negative integer, found 1.5");
        let e = config_err("seed: 1\nmaster: [drf]\n");
        assert_eq!(e, Error::at(sp(2, 9), "expected a map, found a list"));
        let e = config_err("seed: 1\nmaster:\n");
        assert_eq!(e, Error::at(sp(2, 1), "expected a map, found null"));
        let e = config_err("seed: 1\nmaster: {allocator: drf, timeout: [1]}\n");
        assert_eq!(
            e,
            Error::at(
                sp(2, 35),
                "expected a duration with a unit, like 250ms, 15s, 5m, 2h or 29d, found a list"
            )
        );
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nframeworks: {name: a}\n");
        assert_eq!(e, Error::at(sp(3, 13), "expected a list, found a map"));
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nframeworks:\n- name: a\n  weight: heavy\n");
        assert_eq!(e, Error::at(sp(5, 11), "expected a number, found \"heavy\""));
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nverbose: yes\n");
        assert_eq!(e, Error::at(sp(3, 10), "expected true or false, found \"yes\""));
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nname: [a]\n");
        assert_eq!(e, Error::at(sp(3, 7), "expected a string, found a list"));
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(load::<u8>("255").unwrap(), 255);
        assert_eq!(load::<i8>("-128").unwrap(), -128);
        assert_eq!(load::<i64>("+5").unwrap(), 5);
        assert_eq!(load::<u64>("18446744073709551615").unwrap(), u64::MAX);
        assert_eq!(
            load::<i128>("-170141183460469231731687303715884105728").unwrap(),
            i128::MIN
        );
        assert_eq!(load::<u128>("12").unwrap(), 12);
        assert_eq!(
            load::<u8>("300").unwrap_err(),
            Error::at(sp(1, 1), "expected an integer from 0 to 255, found 300")
        );
        assert_eq!(
            load::<i8>("-129").unwrap_err().message,
            "expected an integer from -128 to 127, found -129"
        );
        assert_eq!(
            load::<u64>("-99999999999999999999999999999999999999999999")
                .unwrap_err()
                .message,
            "expected a non-negative integer, found -99999999999999999999999999999999999999999999"
        );
        assert_eq!(
            load::<u64>("99999999999999999999999999999999999999999999")
                .unwrap_err()
                .message,
            "expected an integer from 0 to 18446744073709551615, found 99999999999999999999999999999999999999999999"
        );
        assert_eq!(
            load::<i32>("1_000").unwrap_err().message,
            "expected an integer, found \"1_000\""
        );
        assert_eq!(
            load::<i32>("~").unwrap_err().message,
            "expected an integer, found null"
        );
        assert_eq!(load::<u64>("-0").unwrap(), 0);
    }

    #[test]
    fn floats_take_plain_numbers_only() {
        assert_eq!(load::<f64>("2").unwrap(), 2.0);
        assert_eq!(load::<f64>("-1.5e2").unwrap(), -150.0);
        assert_eq!(load::<f64>(".inf").unwrap(), f64::INFINITY);
        assert_eq!(load::<f32>("0.5").unwrap(), 0.5);
        assert_eq!(
            load::<f64>("'2'").unwrap_err().message,
            "expected a number, found \"2\""
        );
        assert_eq!(
            load::<f64>("true").unwrap_err().message,
            "expected a number, found true"
        );
        assert_eq!(
            load::<f32>("1e300").unwrap_err().message,
            "1e300 is out of range for a single-precision number"
        );
    }

    #[test]
    fn any_scalar_reads_as_a_string() {
        assert_eq!(load::<String>("42").unwrap(), "42");
        assert_eq!(load::<String>("true").unwrap(), "true");
        assert_eq!(load::<String>("'x y'").unwrap(), "x y");
        assert_eq!(load::<SmolStr>("-1.5").unwrap(), "-1.5");
        assert_eq!(load::<String>("|\n  a\n  b\n").unwrap(), "a\nb\n");
        assert_eq!(
            load::<String>("{}").unwrap_err().message,
            "expected a string, found a map"
        );
        assert_eq!(
            load::<String>("null").unwrap_err().message,
            "expected a string, found null"
        );
        assert_eq!(load::<char>("x").unwrap(), 'x');
        assert_eq!(
            load::<char>("xy").unwrap_err().message,
            "expected a single character, found \"xy\""
        );
        let e = load::<serde_bytes_like::Bytes>("abc").unwrap_err();
        assert_eq!(
            e,
            Error::at(sp(1, 1), "binary data cannot be read from a scenario")
        );
    }

    /// A type that asks for bytes, like `serde_bytes::ByteBuf` would.
    mod serde_bytes_like {
        pub struct Bytes;
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                }
                d.deserialize_bytes(V)
            }
        }
        impl std::fmt::Debug for Bytes {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Bytes")
            }
        }
    }

    #[test]
    fn options_units_and_tuples() {
        for null in ["~", "null", "Null", "NULL", ""] {
            assert_eq!(load::<Option<u8>>(null).unwrap(), None, "{null:?}");
        }
        assert_eq!(load::<Option<u8>>("3").unwrap(), Some(3));
        assert_eq!(load::<Option<String>>("'null'").unwrap(), Some("null".into()));
        assert_eq!(
            load::<Vec<Option<u8>>>("[1, ~, 3]").unwrap(),
            [Some(1), None, Some(3)]
        );
        load::<()>("~").unwrap();
        assert_eq!(load::<()>("1").unwrap_err().message, "expected null, found 1");
        assert_eq!(load::<(u8, String)>("[1, a]").unwrap(), (1, "a".into()));
        assert_eq!(
            load::<(u8, String)>("[1]").unwrap_err(),
            Error::at(sp(1, 1), "expected a list of 2 items, found 1 item")
        );
        assert_eq!(
            load::<[u8; 2]>("a").unwrap_err().message,
            "expected a list of 2 items, found \"a\""
        );
        #[derive(Debug, Deserialize, PartialEq)]
        struct Unit;
        #[derive(Debug, Deserialize, PartialEq)]
        struct Meters(u32);
        #[derive(Debug, Deserialize, PartialEq)]
        struct Point(i32, i32);
        assert_eq!(load::<Unit>("~").unwrap(), Unit);
        assert_eq!(load::<Meters>("5").unwrap(), Meters(5));
        assert_eq!(load::<Point>("[1, -2]").unwrap(), Point(1, -2));
        let m: BTreeMap<u32, Vec<bool>> = load("{1: [true], 2: [false, TRUE]}").unwrap();
        assert_eq!(m[&2], [false, true]);
        assert_eq!(
            load::<BTreeMap<u32, u8>>("{x: 1}").unwrap_err(),
            Error::at(sp(1, 2), "expected a non-negative integer, found \"x\"")
        );
    }

    #[test]
    fn missing_key_points_at_the_map() {
        let e = config_err("seed: 1\nmaster: {allocator: drf}\nframeworks:\n  - name: a\n  - weight: 2\n");
        assert_eq!(e, Error::at(sp(5, 5), "missing key \"name\""));
        let e = config_err("  seed: 1\n  frameworks: []\n");
        assert_eq!(e, Error::at(sp(1, 3), "missing key \"master\""));
    }

    #[test]
    fn custom_errors_pass_through_at_the_value() {
        let e = config_err("seed: 1\nmaster:\n  allocator: drf\n  timeout: 15x\n");
        assert_eq!(
            e,
            Error::at(
                sp(4, 12),
                "invalid duration \"15x\": unknown unit (expected ns, us, ms, s, m, h or d)"
            )
        );
    }

    #[test]
    fn ignored_keys_are_skipped() {
        #[derive(Debug, Deserialize)]
        struct Loose {
            a: u8,
        }
        let l: Loose = load("a: 1\nb: {c: [1, {d: e}]}\n").unwrap();
        assert_eq!(l.a, 1);
    }

    #[test]
    fn any_follows_the_core_schema() {
        let v: Value = load(
            "a: 1\nb: -2\nc: 1.5\nd: true\ne: yes\nf: ~\ng: '3'\nh: [x, {i: 1}]\nj: 1_000\nk: 99999999999999999999\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "a": 1, "b": -2, "c": 1.5, "d": true, "e": "yes", "f": null, "g": "3",
                "h": ["x", {"i": 1}], "j": "1_000", "k": 1e20
            })
        );
    }

    #[test]
    fn errors_render_with_file_or_set_positions() {
        let sets = vec!["seed=1".to_owned(), "master.allocator=7".to_owned()];
        let e = Error::at(sp(3, 14), "boom");
        assert_eq!(e.render("s.yaml", &sets), "error: s.yaml:3:14: boom");
        let e = Error::at(Span::new(2, 1, 18), "boom");
        assert_eq!(
            e.render("s.yaml", &sets),
            "error: --set master.allocator=7:18: boom"
        );
        let e = Error::new("boom");
        assert_eq!(e.render("s.yaml", &sets), "error: s.yaml: boom");
        assert_eq!(e.to_string(), "boom");
        let e = Error::at(Span::new(9, 1, 2), "boom");
        assert_eq!(e.render("s.yaml", &sets), "error: --set #9:2: boom");
        // A span, once given, is kept.
        assert_eq!(Error::at(sp(1, 1), "x").or_span(sp(2, 2)).span, Some(sp(1, 1)));
    }

    #[test]
    fn set_values_are_typed_and_spanned() {
        let sets = vec!["seed=9".to_owned(), "master.allocator=7".to_owned()];
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, &sets[0], 1).unwrap();
        apply_set(&mut root, &sets[1], 2).unwrap();
        let e = from_node::<Config>(&root).unwrap_err();
        assert_eq!(
            e.render("scenario.yaml", &sets),
            "error: --set master.allocator=7:18: unknown value \"7\" \
             (expected one of: drf, binpack, random, fixed, pair)"
        );

        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, "seed=9", 1).unwrap();
        apply_set(&mut root, "master.allocator=binpack", 2).unwrap();
        let c: Config = from_node(&root).unwrap();
        assert_eq!((c.seed, c.master.allocator), (9, Allocator::Binpack));

        // An unknown key created by --set points at it.
        let sets = vec!["master.alocator=drf".to_owned()];
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, &sets[0], 1).unwrap();
        let e = from_node::<Config>(&root).unwrap_err();
        assert_eq!(
            e.render("scenario.yaml", &sets),
            "error: --set master.alocator=drf:8: unknown key \"alocator\" (did you mean \"allocator\"?)"
        );
        // A --set value inside a list item.
        let sets = vec!["frameworks.1.weight=[1]".to_owned()];
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, &sets[0], 1).unwrap();
        let e = from_node::<Config>(&root).unwrap_err();
        assert_eq!(
            e.render("scenario.yaml", &sets),
            "error: --set frameworks.1.weight=[1]:21: expected a number, found a list"
        );
    }

    #[test]
    fn suggestions() {
        let c = ["allocator", "agents", "seed", "frameworks"];
        assert_eq!(suggest("alocator", &c), Some("allocator"));
        assert_eq!(suggest("allocatro", &c), Some("allocator")); // a transposition
        assert_eq!(suggest("sede", &c), Some("seed"));
        assert_eq!(suggest("sed", &c), Some("seed"));
        assert_eq!(suggest("framework", &c), Some("frameworks"));
        assert_eq!(suggest("zzz", &c), None);
        assert_eq!(suggest("agent_count", &c), None);
        assert_eq!(suggest("x", &["a", "b"]), Some("a")); // ties go to the first
        assert_eq!(suggest("", &["a"]), Some("a"));
        assert_eq!(suggest("abc", &[]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("héllo", "hello"), 1);
    }

    /// JSON-like values whose JSON text is also YAML meaning the same thing.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1.0e6f64..1.0e6).prop_map(Value::from),
            "[a-zA-Z0-9 _.:#-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            if let Ok(node) = parse(&text, 0) {
                let _ = from_node::<Value>(&node);
            }
        }

        #[test]
        fn parse_never_panics_on_yamlish_text(text in "[a-c0-9:,\\[\\]{}&*!|>'\"#~ \n\t.-]{0,120}") {
            if let Ok(node) = parse(&text, 0) {
                let _ = from_node::<Value>(&node);
                let _ = from_node::<Config>(&node);
            }
        }

        #[test]
        fn apply_set_never_panics(assignment in "[a-z0-9.=\\[\\]{}:, ~-]{0,30}") {
            let mut root = parse(DOC, 0).unwrap();
            if apply_set(&mut root, &assignment, 1).is_ok() {
                let _ = from_node::<Value>(&root);
            }
        }

        #[test]
        fn json_text_round_trips(value in json_value()) {
            let text = serde_json::to_string(&value).unwrap();
            let node = parse(&text, 0).unwrap();
            prop_assert_eq!(from_node::<Value>(&node).unwrap(), value);
        }
    }
}
