//! A spanned YAML node tree.
//!
//! yaml-rust2 turns the text into events that carry a position; we assemble those events into
//! [`Node`]s that remember where they came from, so that every later check (types, unknown keys,
//! cross-references) can point at the exact line and column. [`apply_set`] grafts `--set
//! KEY=VALUE` overrides into the tree, with spans that point into the override itself.

use std::collections::{BTreeMap, BTreeSet};

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::de::Error;

/// Deeper nesting than this is refused, so nothing downstream can overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// Alias expansion may not grow a document beyond this many nodes ("billion laughs").
pub const MAX_NODES: usize = 1_000_000;

/// Where a node came from: source 0 is the file; source k>=1 is the k-th `--set` override.
///
/// Lines and columns are 1-based, as an editor shows them; columns count characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub source: u16,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(source: u16, line: u32, col: u32) -> Span {
        Span { source, line, col }
    }

    fn from_marker(source: u16, mark: &Marker) -> Span {
        // yaml-rust2 0.13: lines are 1-based, columns 0-based.
        Span {
            source,
            line: to_u32(mark.line()).max(1),
            col: to_u32(mark.col()).saturating_add(1),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One node of a YAML document, with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `null`, `Null`, `NULL`, `~`, or nothing at all.
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in document order; a key is always a [`NodeKind::Scalar`], and keys are unique.
    Map(Vec<(Node, Node)>),
}

/// The text of a scalar, and whether it was written plain (unquoted, not a block scalar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    pub text: String,
    /// False if quoted or a block scalar (`|`, `>`): then it is always a string.
    pub plain: bool,
}

impl Scalar {
    /// A plain `null`, `Null`, `NULL`, `~` or empty scalar (YAML 1.2 core schema).
    pub fn is_null(&self) -> bool {
        self.plain && is_null_text(&self.text)
    }

    /// A plain `true`/`True`/`TRUE`/`false`/`False`/`FALSE`.
    pub fn as_bool(&self) -> Option<bool> {
        if !self.plain {
            return None;
        }
        match self.text.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// A plain decimal integer: optional sign, digits, no underscores.
    pub fn is_int(&self) -> bool {
        self.plain && is_int_text(&self.text)
    }

    /// The value of a plain decimal integer, if it is one and fits an i128.
    pub fn as_int(&self) -> Option<i128> {
        if !self.is_int() {
            return None;
        }
        self.text.parse().ok()
    }

    /// A plain integer or float (YAML 1.2 core schema, including `.inf` and `.nan`).
    pub fn as_f64(&self) -> Option<f64> {
        if !self.plain {
            return None;
        }
        parse_float(&self.text)
    }

    /// True if this plain scalar reads as a number.
    pub fn is_number(&self) -> bool {
        self.is_int() || self.as_f64().is_some()
    }
}

fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn strip_sign(text: &str) -> &str {
    text.strip_prefix(['+', '-']).unwrap_or(text)
}

fn is_int_text(text: &str) -> bool {
    let digits = strip_sign(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// YAML 1.2 core schema floats: `[-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE][-+]?[0-9]+ )?`,
/// `[-+]?\.inf` and `\.nan` in their three spellings. Integers are floats too.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = strip_sign(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac_part {
        // `.5` needs digits after the point; `5.` is fine.
        Some(f) => all_digits(int_part) && all_digits(f) && !(int_part.is_empty() && f.is_empty()),
        None => !int_part.is_empty() && all_digits(int_part),
    };
    let exponent_ok = exponent.is_none_or(is_int_text);
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>().ok()
}

impl Node {
    pub fn new(span: Span, kind: NodeKind) -> Node {
        Node { span, kind }
    }

    /// The value under `key`, if this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| key_text(k) == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows map keys, or decimal indexes into lists.
    pub fn at_path(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for segment in path {
            node = match &node.kind {
                NodeKind::Map(_) => node.get(segment)?,
                NodeKind::Seq(items) => items.get(parse_index(segment)?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// What kind of value this is, for messages: "a map", "a list", "a string", "a number",
    /// "true/false" or "null".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
            NodeKind::Scalar(s) if s.as_bool().is_some() => "true/false",
            NodeKind::Scalar(s) if s.is_number() => "a number",
            NodeKind::Scalar(_) => "a string",
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    fn for_each_span(&mut self, f: &mut impl FnMut(&mut Span)) {
        f(&mut self.span);
        match &mut self.kind {
            NodeKind::Null | NodeKind::Scalar(_) => {}
            NodeKind::Seq(items) => items.iter_mut().for_each(|n| n.for_each_span(f)),
            NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.for_each_span(f);
                v.for_each_span(f);
            }),
        }
    }
}

fn key_text(key: &Node) -> Option<&str> {
    key.as_str()
}

fn parse_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

fn scan_error(source: u16, e: &ScanError) -> Error {
    Error::at(Span::from_marker(source, e.marker()), e.info())
}

/// A collection under construction.
struct Frame {
    span: Span,
    anchor: usize,
    /// Nodes in this subtree so far, itself included.
    size: usize,
    /// Height of this subtree so far (a leaf is 1).
    height: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: BTreeSet<String>,
    },
}

/// A finished node on its way into its parent.
struct Built {
    node: Node,
    size: usize,
    height: usize,
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    source: u16,
    /// Finished anchored nodes, as written (a plain `~` stays a scalar here), with size and height.
    anchors: BTreeMap<usize, Built>,
    nodes: usize,
    stack: Vec<Frame>,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Span), Error> {
        let (event, mark) = self
            .parser
            .next_token()
            .map_err(|e| scan_error(self.source, &e))?;
        Ok((event, Span::from_marker(self.source, &mark)))
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Error> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Error::at(
                span,
                format!("the document is too large (more than {MAX_NODES} values after expanding aliases)"),
            ));
        }
        Ok(())
    }

    fn open(&mut self, span: Span, anchor: usize, body: Body) -> Result<(), Error> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::at(
                span,
                format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
            ));
        }
        self.count(1, span)?;
        self.stack.push(Frame {
            span,
            anchor,
            size: 1,
            height: 1,
            body,
        });
        Ok(())
    }

    /// Reads events up to the end of the document's root node and returns it.
    fn document(&mut self) -> Result<Node, Error> {
        loop {
            let (event, span) = self.next()?;
            let (built, anchor) = match event {
                Event::Scalar(text, style, anchor, _tag) => {
                    self.count(1, span)?;
                    let plain = style == TScalarStyle::Plain;
                    let node = Node::new(span, NodeKind::Scalar(Scalar { text, plain }));
                    (
                        Built {
                            node,
                            size: 1,
                            height: 1,
                        },
                        anchor,
                    )
                }
                Event::Alias(id) => {
                    let Some(target) = self.anchors.get(&id) else {
                        return Err(Error::at(span, "this alias refers to a value that contains it"));
                    };
                    let (size, height) = (target.size, target.height);
                    let mut node = target.node.clone();
                    node.span = span;
                    self.count(size, span)?;
                    (Built { node, size, height }, 0)
                }
                Event::SequenceStart(anchor, _tag) => {
                    self.open(span, anchor, Body::Seq(Vec::new()))?;
                    continue;
                }
                Event::MappingStart(anchor, _tag) => {
                    let body = Body::Map {
                        entries: Vec::new(),
                        key: None,
                        seen: BTreeSet::new(),
                    };
                    self.open(span, anchor, body)?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(Error::at(span, "unexpected end of a collection"));
                    };
                    let (kind, first) = match frame.body {
                        Body::Seq(items) => {
                            let first = items.first().map(|n| n.span);
                            (NodeKind::Seq(items), first)
                        }
                        Body::Map { entries, .. } => {
                            let first = entries.first().map(|(k, _)| k.span);
                            (NodeKind::Map(entries), first)
                        }
                    };
                    // A block collection's start mark lies past its first key or item, a flow
                    // collection's on its bracket: the earlier of the two is where it begins.
                    let span = first.map_or(frame.span, |f| {
                        if (f.line, f.col) < (frame.span.line, frame.span.col) {
                            f
                        } else {
                            frame.span
                        }
                    });
                    let built = Built {
                        node: Node::new(span, kind),
                        size: frame.size,
                        height: frame.height,
                    };
                    (built, frame.anchor)
                }
                Event::StreamStart
                | Event::StreamEnd
                | Event::DocumentStart
                | Event::DocumentEnd
                | Event::Nothing => {
                    return Err(Error::at(span, "unexpected end of the document"));
                }
            };
            if anchor != 0 {
                let copy = Built {
                    node: built.node.clone(),
                    size: built.size,
                    height: built.height,
                };
                self.anchors.insert(anchor, copy);
            }
            if let Some(root) = self.place(built)? {
                return Ok(root);
            }
        }
    }

    /// Puts a finished node into the collection under construction, or returns it as the root.
    fn place(&mut self, built: Built) -> Result<Option<Node>, Error> {
        let depth = self.stack.len();
        if depth + built.height > MAX_DEPTH {
            return Err(Error::at(
                built.node.span,
                format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
            ));
        }
        let Some(frame) = self.stack.last_mut() else {
            return Ok(Some(normalize(built.node)));
        };
        frame.size = frame.size.saturating_add(built.size);
        frame.height = frame.height.max(built.height + 1);
        match &mut frame.body {
            Body::Seq(items) => items.push(normalize(built.node)),
            Body::Map { entries, key, seen } => match key.take() {
                None => {
                    let text = match &built.node.kind {
                        NodeKind::Scalar(s) => s,
                        _ => {
                            return Err(Error::at(built.node.span, "map keys must be plain strings"));
                        }
                    };
                    if text.plain && text.text == "<<" {
                        return Err(Error::at(
                            built.node.span,
                            "merge keys (\"<<\") are not supported",
                        ));
                    }
                    if !seen.insert(text.text.clone()) {
                        return Err(Error::at(
                            built.node.span,
                            format!("duplicate key {:?}", text.text),
                        ));
                    }
                    *key = Some(built.node);
                }
                Some(k) => {
                    let mut value = built.node;
                    // An empty value's mark is wherever the next token starts (often the next
                    // line): point at its key instead.
                    if matches!(&value.kind, NodeKind::Scalar(s) if s.plain && s.text.is_empty()) {
                        value.span = k.span;
                    }
                    entries.push((k, normalize(value)));
                }
            },
        }
        Ok(None)
    }
}

/// Plain null scalars become [`NodeKind::Null`] (map keys keep their text and skip this).
fn normalize(mut node: Node) -> Node {
    if matches!(&node.kind, NodeKind::Scalar(s) if s.is_null()) {
        node.kind = NodeKind::Null;
    }
    node
}

/// Parses exactly one YAML document. An empty file (or one with only comments) is
/// [`NodeKind::Null`] at line 1, column 1.
pub fn parse(text: &str, source: u16) -> Result<Node, Error> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        source,
        anchors: BTreeMap::new(),
        nodes: 0,
        stack: Vec::new(),
    };
    let (event, span) = b.next()?;
    if event != Event::StreamStart {
        return Err(Error::at(span, "could not start reading the YAML stream"));
    }
    let (event, span) = b.next()?;
    match event {
        Event::StreamEnd => return Ok(Node::new(Span::new(source, 1, 1), NodeKind::Null)),
        Event::DocumentStart => {}
        _ => return Err(Error::at(span, "expected the start of a YAML document")),
    }
    let root = b.document()?;
    let (event, span) = b.next()?;
    if event != Event::DocumentEnd {
        return Err(Error::at(span, "expected the end of the YAML document"));
    }
    let (event, span) = b.next()?;
    match event {
        Event::StreamEnd => Ok(root),
        Event::DocumentStart => Err(Error::at(span, "expected one YAML document, found more")),
        _ => Err(Error::at(span, "expected the end of the YAML stream")),
    }
}

/// Applies `--set KEY=VALUE`: KEY is a dotted path (`master.allocator`, `frameworks.0.role`,
/// `seed`); VALUE is parsed as YAML (so `7`, `binpack`, `[1,2]`, `{a: 1}` all work).
///
/// Spans in the value (and in keys and maps this creates) have the given `source`, line 1, and
/// columns that are 1-based positions within the whole `KEY=VALUE` text: the `7` of
/// `master.allocator=7` is at column 18.
///
/// Missing intermediate maps are created (a null value counts as missing); a numeric segment
/// must index an existing list element; setting into a scalar is an error. Existing keys are
/// replaced in place (keeping their position); new keys are appended. Unknown keys are not
/// checked here: the typed deserializer does that, pointing at the `--set` span.
pub fn apply_set(root: &mut Node, assignment: &str, source: u16) -> Result<(), Error> {
    let at = |col: usize| Span::new(source, 1, to_u32(col));
    let Some((key, value_text)) = assignment.split_once('=') else {
        return Err(Error::at(
            at(1),
            format!("expected KEY=VALUE, found {assignment:?}"),
        ));
    };
    if key.is_empty() {
        return Err(Error::at(at(1), "expected KEY=VALUE, but the key is empty"));
    }
    let mut segments = Vec::new();
    let mut col = 1;
    for segment in key.split('.') {
        if segment.is_empty() {
            return Err(Error::at(
                at(col),
                format!("empty key segment in {key:?} (write keys like master.allocator)"),
            ));
        }
        segments.push((segment, col));
        col += segment.chars().count() + 1;
    }
    // `col` is now one past the `=`: where the value starts.
    let shift = to_u32(col - 1);
    let shift_span = |span: &mut Span| {
        if span.source == source && span.line == 1 {
            span.col = span.col.saturating_add(shift);
        }
    };
    let mut value = match parse(value_text, source) {
        Ok(v) => v,
        Err(mut e) => {
            if let Some(span) = &mut e.span {
                shift_span(span);
            }
            return Err(e);
        }
    };
    value.for_each_span(&mut |s| shift_span(s));

    let mut node = root;
    let mut path = String::new();
    let last = segments.len() - 1;
    for (i, &(segment, col)) in segments.iter().enumerate() {
        let seg_span = at(col);
        if matches!(node.kind, NodeKind::Null) {
            node.kind = NodeKind::Map(Vec::new());
        }
        let where_ = if path.is_empty() {
            "the top level".to_owned()
        } else {
            path.clone()
        };
        let what = node.describe();
        match &mut node.kind {
            NodeKind::Map(entries) => {
                let pos = entries.iter().position(|(k, _)| key_text(k) == Some(segment));
                let new_key = || {
                    Node::new(
                        seg_span,
                        NodeKind::Scalar(Scalar {
                            text: segment.to_owned(),
                            plain: true,
                        }),
                    )
                };
                if i == last {
                    match pos {
                        Some(p) => entries[p].1 = value,
                        None => entries.push((new_key(), value)),
                    }
                    return Ok(());
                }
                let p = match pos {
                    Some(p) => p,
                    None => {
                        entries.push((new_key(), Node::new(seg_span, NodeKind::Map(Vec::new()))));
                        entries.len() - 1
                    }
                };
                node = &mut entries[p].1;
            }
            NodeKind::Seq(items) => {
                let Some(index) = parse_index(segment) else {
                    return Err(Error::at(
                        seg_span,
                        format!("{where_} is a list: expected an index, found {segment:?}"),
                    ));
                };
                if index >= items.len() {
                    let n = items.len();
                    let entries = if n == 1 { "entry" } else { "entries" };
                    return Err(Error::at(
                        seg_span,
                        format!("{where_} has {n} {entries}, index {index} is out of range"),
                    ));
                }
                if i == last {
                    items[index] = value;
                    return Ok(());
                }
                node = &mut items[index];
            }
            NodeKind::Scalar(_) | NodeKind::Null => {
                return Err(Error::at(
                    seg_span,
                    format!("cannot set {key:?}: {where_} is {what}, not a map"),
                ));
            }
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(segment);
    }
    unreachable!("the last segment returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(line: u32, col: u32) -> Span {
        Span::new(0, line, col)
    }

    fn err(text: &str) -> Error {
        parse(text, 0).expect_err("should not parse")
    }

    fn scalar(node: &Node) -> &Scalar {
        match &node.kind {
            NodeKind::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    const DOC: &str = "\
seed: 7
master:
  allocator: drf
  timeout: 15s
frameworks:
  - name: web
    role: \"*\"
  - { name: batch, weight: 2 }
tags: [a, 'b']
";

    #[test]
    fn spans_are_one_based_lines_and_columns() {
        let root = parse(DOC, 0).unwrap();
        assert_eq!(root.span, sp(1, 1));
        let NodeKind::Map(entries) = &root.kind else {
            panic!("root is not a map")
        };
        assert_eq!(entries[0].0.span, sp(1, 1));
        assert_eq!(entries[1].0.span, sp(2, 1));
        assert_eq!(root.get("seed").unwrap().span, sp(1, 7));
        // Nested block map: the map starts at its first key.
        let master = root.get("master").unwrap();
        assert_eq!(master.span, sp(3, 3));
        assert_eq!(master.get("allocator").unwrap().span, sp(3, 14));
        assert_eq!(root.at_path(&["master", "timeout"]).unwrap().span, sp(4, 12));
        // List items.
        let first = root.at_path(&["frameworks", "0"]).unwrap();
        assert_eq!(first.span, sp(6, 5));
        assert_eq!(first.get("name").unwrap().span, sp(6, 11));
        assert_eq!(first.get("role").unwrap().span, sp(7, 11));
        // A flow map `{ name: batch, weight: 2 }` inside a list.
        let second = root.at_path(&["frameworks", "1"]).unwrap();
        assert_eq!(second.span, sp(8, 5));
        let NodeKind::Map(flow) = &second.kind else {
            panic!("not a map")
        };
        assert_eq!(flow[0].0.span, sp(8, 7));
        assert_eq!(flow[1].0.span, sp(8, 20));
        assert_eq!(flow[1].1.span, sp(8, 28));
        // Flow list items.
        assert_eq!(root.at_path(&["tags"]).unwrap().span, sp(9, 7));
        assert_eq!(root.at_path(&["tags", "0"]).unwrap().span, sp(9, 8));
        assert_eq!(root.at_path(&["tags", "1"]).unwrap().span, sp(9, 11));
    }

    #[test]
    fn source_is_recorded() {
        let root = parse("a: 1", 3).unwrap();
        assert_eq!(root.get("a").unwrap().span, Span::new(3, 1, 4));
    }

    #[test]
    fn scalars_remember_plainness() {
        let root = parse("a: 1\nb: '1'\nc: \"x\"\nd: |\n  text\ne: >\n  folded\n", 0).unwrap();
        assert!(scalar(root.get("a").unwrap()).plain);
        for key in ["b", "c", "d", "e"] {
            assert!(!scalar(root.get(key).unwrap()).plain, "{key}");
        }
        assert_eq!(root.get("d").unwrap().as_str(), Some("text\n"));
        assert_eq!(root.get("d").unwrap().describe(), "a string");
        assert_eq!(root.get("b").unwrap().describe(), "a string");
        assert_eq!(root.get("a").unwrap().describe(), "a number");
    }

    #[test]
    fn nulls_follow_the_core_schema() {
        let root = parse("a: null\nb: Null\nc: NULL\nd: ~\ne:\nf: 'null'\ng: nil\n", 0).unwrap();
        for key in ["a", "b", "c", "d", "e"] {
            assert_eq!(root.get(key).unwrap().kind, NodeKind::Null, "{key}");
        }
        assert_eq!(root.get("f").unwrap().as_str(), Some("null"));
        assert_eq!(root.get("g").unwrap().as_str(), Some("nil"));
        // An empty value points at its key, not at wherever the next token is.
        assert_eq!(root.get("e").unwrap().span, sp(5, 1));
    }

    #[test]
    fn describe_names_kinds() {
        let root = parse(
            "[1, -2.5e3, .inf, true, FALSE, yes, x, ~, [], {}, '7', 1_000, 0x1F]",
            0,
        )
        .unwrap();
        let NodeKind::Seq(items) = &root.kind else {
            panic!()
        };
        let kinds: Vec<&str> = items.iter().map(Node::describe).collect();
        assert_eq!(
            kinds,
            [
                "a number",
                "a number",
                "a number",
                "true/false",
                "true/false",
                "a string",
                "a string",
                "null",
                "a list",
                "a map",
                "a string",
                "a string",
                "a string",
            ]
        );
    }

    #[test]
    fn floats_follow_the_core_schema() {
        let f = |t: &str| {
            Scalar {
                text: t.to_owned(),
                plain: true,
            }
            .as_f64()
        };
        assert_eq!(f("1"), Some(1.0));
        assert_eq!(f("-1.5"), Some(-1.5));
        assert_eq!(f("+.5"), Some(0.5));
        assert_eq!(f("2."), Some(2.0));
        assert_eq!(f("1e3"), Some(1000.0));
        assert_eq!(f("1.5E-2"), Some(0.015));
        assert_eq!(f("-.inf"), Some(f64::NEG_INFINITY));
        assert!(f(".NaN").unwrap().is_nan());
        for bad in [
            "", ".", "-", "e3", "1e", "1.2.3", "inf", "nan", "infinity", "1_0", "0x10", " 1",
        ] {
            assert_eq!(f(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn empty_documents_are_null() {
        for text in ["", "# only a comment\n", "---\n", "\n\n"] {
            let root = parse(text, 0).unwrap();
            assert_eq!(root.kind, NodeKind::Null, "{text:?}");
        }
        assert_eq!(parse("", 0).unwrap().span, sp(1, 1));
    }

    #[test]
    fn scalar_and_list_roots() {
        assert_eq!(parse("7", 0).unwrap().as_str(), Some("7"));
        let root = parse("- a\n- b\n", 0).unwrap();
        assert_eq!(root.span, sp(1, 1));
        assert_eq!(root.at_path(&["1"]).unwrap().span, sp(2, 3));
        assert_eq!(root.at_path(&["2"]), None);
        assert_eq!(root.at_path(&["x"]), None);
    }

    #[test]
    fn duplicate_key_points_at_the_second() {
        let e = err("seed: 1\nmaster:\n  a: 1\nseed: 2\n");
        assert_eq!(e, Error::at(sp(4, 1), "duplicate key \"seed\""));
        let e = err("m: {a: 1, b: 2, a: 3}");
        assert_eq!(e, Error::at(sp(1, 17), "duplicate key \"a\""));
    }

    #[test]
    fn syntax_errors_have_positions() {
        // A tab used for indentation.
        let e = err("master:\n\tallocator: drf\n");
        assert_eq!(e.span, Some(sp(2, 2)));
        assert!(e.message.contains("tab"), "{}", e.message);
        // An unclosed flow list at the end of the file.
        let e = err("tags: [a, b\n");
        assert_eq!(
            e,
            Error::at(sp(2, 1), "while parsing a flow sequence, expected ',' or ']'")
        );
        // An unclosed flow list followed by more keys: yaml-rust2 notices at the next `:`.
        let e = err("tags: [a, b\nseed: 1\n");
        assert_eq!(e.span, Some(sp(2, 5)));
        // A mapping value where none may be.
        let e = err("a: b: c\n");
        assert_eq!(e.span, Some(sp(1, 5)));
        // Bad indentation.
        let e = err("a: 1\n b: 2\n");
        assert_eq!(e.span, Some(sp(2, 3)));
        let e = err("x: \"open");
        assert_eq!(e.span, Some(sp(1, 4)));
    }

    #[test]
    fn more_than_one_document_is_refused() {
        let e = err("a: 1\n---\nb: 2\n");
        assert_eq!(e.message, "expected one YAML document, found more");
        assert_eq!(e.span.unwrap().line, 2);
        // A lone `---` start marker and a `...` end marker are fine.
        assert!(parse("---\na: 1\n...\n", 0).is_ok());
    }

    #[test]
    fn aliases_are_deep_copies_spanned_at_the_alias() {
        let root = parse("base: &b {cpus: 2, mem: 4}\nother: *b\nlist: [&x 1, *x]\n", 0).unwrap();
        let base = root.get("base").unwrap();
        let other = root.get("other").unwrap();
        assert_eq!(other.span, sp(2, 8));
        assert_eq!(other.kind, base.kind);
        assert_eq!(other.get("cpus").unwrap().span, sp(1, 17));
        assert_eq!(root.at_path(&["list", "1"]).unwrap().as_str(), Some("1"));
        assert_eq!(root.at_path(&["list", "1"]).unwrap().span, sp(3, 14));
        // An anchored null stays null through an alias.
        let root = parse("a: &n ~\nb: *n\n", 0).unwrap();
        assert_eq!(root.get("b").unwrap().kind, NodeKind::Null);
    }

    #[test]
    fn recursive_aliases_are_refused() {
        let e = err("a: &a [1, *a]\n");
        assert_eq!(e.span, Some(sp(1, 11)));
        assert!(e.message.contains("contains it"), "{}", e.message);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = err(&text);
        assert!(e.message.contains("too large"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let e = err(&deep);
        assert!(e.message.contains("too deep"), "{}", e.message);
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok, 0).is_ok());
        // Aliases cannot stack depth beyond the limit either.
        let half = MAX_DEPTH / 2 + 1;
        let text = format!(
            "a: &a {}{}\nb: {}*a{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        assert!(err(&text).message.contains("too deep"));
    }

    #[test]
    fn merge_keys_and_complex_keys_are_refused() {
        let e = err("base: &b {a: 1}\nother:\n  <<: *b\n");
        assert_eq!(e, Error::at(sp(3, 3), "merge keys (\"<<\") are not supported"));
        let e = err("? [a, b]\n: c\n");
        assert_eq!(e, Error::at(sp(1, 3), "map keys must be plain strings"));
        let e = err("{a: 1}: x\n");
        assert_eq!(e.message, "map keys must be plain strings");
        // A quoted key is just a string, even `<<`.
        assert!(parse("'<<': 1\n\"a b\": 2\n", 0).unwrap().get("a b").is_some());
    }

    #[test]
    fn tags_are_ignored() {
        let root = parse("a: !!str 5\nb: !custom {x: 1}\n", 0).unwrap();
        assert_eq!(root.get("a").unwrap().as_str(), Some("5"));
        assert!(root.at_path(&["b", "x"]).is_some());
    }

    #[test]
    fn set_creates_a_new_key_at_the_end() {
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, "duration=1h", 1).unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!()
        };
        let (k, v) = entries.last().unwrap();
        assert_eq!(k.as_str(), Some("duration"));
        assert_eq!(k.span, Span::new(1, 1, 1));
        assert_eq!(v.as_str(), Some("1h"));
        assert_eq!(v.span, Span::new(1, 1, 10));
    }

    #[test]
    fn set_replaces_a_nested_key_in_place() {
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, "master.allocator=binpack", 2).unwrap();
        let master = root.get("master").unwrap();
        let NodeKind::Map(entries) = &master.kind else {
            panic!()
        };
        assert_eq!(entries[0].0.as_str(), Some("allocator"));
        assert_eq!(entries[0].0.span, sp(3, 3)); // the key stays where the file put it
        assert_eq!(entries[0].1.as_str(), Some("binpack"));
        assert_eq!(entries[0].1.span, Span::new(2, 1, 18));
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn set_indexes_lists() {
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, "frameworks.1.role=x", 1).unwrap();
        let item = root.at_path(&["frameworks", "1"]).unwrap();
        assert_eq!(item.get("role").unwrap().as_str(), Some("x"));
        assert_eq!(item.get("role").unwrap().span, Span::new(1, 1, 19));
        assert_eq!(item.get("name").unwrap().as_str(), Some("batch"));
        apply_set(&mut root, "tags.0=z", 1).unwrap();
        assert_eq!(root.at_path(&["tags", "0"]).unwrap().as_str(), Some("z"));
    }

    #[test]
    fn set_index_out_of_range() {
        let mut root = parse(DOC, 0).unwrap();
        let e = apply_set(&mut root, "frameworks.5.role=x", 1).unwrap_err();
        assert_eq!(
            e,
            Error::at(
                Span::new(1, 1, 12),
                "frameworks has 2 entries, index 5 is out of range"
            )
        );
        let e = apply_set(&mut root, "frameworks.web.role=x", 1).unwrap_err();
        assert_eq!(
            e.message,
            "frameworks is a list: expected an index, found \"web\""
        );
    }

    #[test]
    fn set_parses_yaml_values() {
        let mut root = parse(DOC, 0).unwrap();
        apply_set(&mut root, "seed=[1, 2]", 1).unwrap();
        let seed = root.get("seed").unwrap();
        assert_eq!(seed.span, Span::new(1, 1, 6));
        assert_eq!(seed.at_path(&["1"]).unwrap().span, Span::new(1, 1, 10));
        apply_set(&mut root, "master={a: 1}", 1).unwrap();
        assert_eq!(root.at_path(&["master", "a"]).unwrap().span, Span::new(1, 1, 12));
        assert_eq!(root.at_path(&["master", "allocator"]), None);
        apply_set(&mut root, "name=", 1).unwrap();
        assert_eq!(root.get("name").unwrap().kind, NodeKind::Null);
        apply_set(&mut root, "url=http://x:80/a=b", 1).unwrap();
        assert_eq!(root.get("url").unwrap().as_str(), Some("http://x:80/a=b"));
    }

    #[test]
    fn set_creates_missing_maps() {
        let mut root = parse("", 0).unwrap();
        apply_set(&mut root, "a.b.c=1", 1).unwrap();
        assert_eq!(root.at_path(&["a", "b", "c"]).unwrap().as_str(), Some("1"));
        assert_eq!(root.get("a").unwrap().span, Span::new(1, 1, 1));
        assert_eq!(root.at_path(&["a", "b"]).unwrap().span, Span::new(1, 1, 3));
        // A null value counts as missing.
        let mut root = parse("master:\n", 0).unwrap();
        apply_set(&mut root, "master.allocator=drf", 1).unwrap();
        assert_eq!(
            root.at_path(&["master", "allocator"]).unwrap().as_str(),
            Some("drf")
        );
    }

    #[test]
    fn set_refuses_bad_assignments() {
        let mut root = parse(DOC, 0).unwrap();
        let e = apply_set(&mut root, "seed.x=1", 1).unwrap_err();
        assert_eq!(
            e,
            Error::at(
                Span::new(1, 1, 6),
                "cannot set \"seed.x\": seed is a number, not a map"
            )
        );
        let e = apply_set(&mut root, "seed", 1).unwrap_err();
        assert_eq!(
            e,
            Error::at(Span::new(1, 1, 1), "expected KEY=VALUE, found \"seed\"")
        );
        let e = apply_set(&mut root, "=1", 1).unwrap_err();
        assert_eq!(e.span, Some(Span::new(1, 1, 1)));
        let e = apply_set(&mut root, "master..a=1", 1).unwrap_err();
        assert_eq!(e.span, Some(Span::new(1, 1, 8)));
        // A YAML error in the value points into the whole assignment.
        let e = apply_set(&mut root, "tags=[a, b: c: d", 4).unwrap_err();
        assert_eq!(e.span.unwrap().source, 4);
        assert!(e.span.unwrap().col > 5, "{e:?}");
        // The tree is untouched by failed assignments.
        assert_eq!(root, parse(DOC, 0).unwrap());
    }

    #[test]
    fn set_into_a_list_root() {
        let mut root = parse("[1, 2]", 0).unwrap();
        apply_set(&mut root, "1=3", 1).unwrap();
        assert_eq!(root.at_path(&["1"]).unwrap().as_str(), Some("3"));
        let e = apply_set(&mut root, "2=3", 1).unwrap_err();
        assert_eq!(e.message, "the top level has 2 entries, index 2 is out of range");
    }
}
