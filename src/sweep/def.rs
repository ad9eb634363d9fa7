//! The sweep file: one scenario, fixed overrides, a grid of overrides and seeds.
//!
//! ```yaml
//! name: quickstart-interval
//! scenario: ../quickstart.yaml         # relative to this file
//! set: [ "duration=20m" ]              # applied to every run
//! grid:                                # every combination, the last key varying fastest
//!   master.allocation_interval: [1s, 5s]
//!   master.allocator: [drf, binpack]
//! seeds: 3                             # the scenario's seed, +1, +2; or a list [1, 7, 9]
//! ```
//!
//! Every grid key is a `--set` key and every value a `--set` value; [`Sweep::locate`] turns
//! an error that points into one of those overrides back into the place in the sweep file
//! where the key or value was written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

use crate::scenario::de::{self, Error};
use crate::scenario::yaml::{self, Node, NodeKind, Span};

/// The sweep file's keys. `set` and `grid` are read again from the node tree afterwards, so
/// that each entry keeps its place.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    scenario: String,
    #[serde(default)]
    set: Vec<String>,
    /// Checked here for its shape (a map of lists), read from the node tree.
    #[serde(default)]
    #[allow(dead_code)]
    grid: Option<BTreeMap<String, Vec<IgnoredAny>>>,
    #[serde(default)]
    seeds: Option<Seeds>,
}

/// Which seeds every grid point runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// The scenario's seed and the next `n - 1`.
    Count(u64),
    /// These seeds, in this order.
    List(Vec<u64>),
}

impl Seeds {
    pub fn len(&self) -> usize {
        match self {
            Seeds::Count(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Seeds::List(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k`-th seed of a grid point whose scenario has seed `base`.
    pub fn get(&self, base: u64, k: usize) -> Option<u64> {
        match self {
            Seeds::Count(_) => base.checked_add(u64::try_from(k).ok()?),
            Seeds::List(list) => list.get(k).copied(),
        }
    }
}

impl<'de> Deserialize<'de> for Seeds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Seeds, D::Error> {
        struct SeedsVisitor;
        impl<'de> Visitor<'de> for SeedsVisitor {
            type Value = Seeds;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seeds (like 3) or a list of seeds (like [1, 7, 9])")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Seeds, E> {
                if n == 0 {
                    return Err(E::custom("seeds must be at least 1"));
                }
                Ok(Seeds::Count(n))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seeds, A::Error> {
                let mut list: Vec<u64> = Vec::new();
                while let Some(seed) = seq.next_element::<u64>()? {
                    if list.contains(&seed) {
                        return Err(serde::de::Error::custom(format!("seed {seed} is listed twice")));
                    }
                    list.push(seed);
                }
                if list.is_empty() {
                    return Err(serde::de::Error::custom(
                        "expected at least one seed, found an empty list",
                    ));
                }
                Ok(Seeds::List(list))
            }
        }
        d.deserialize_any(SeedsVisitor)
    }
}

/// Where an override was written in the sweep file. `exact` when the text given to `--set`
/// is character for character what the file shows from `span` on (a plain scalar), so that
/// a column inside the override maps to a column in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    span: Span,
    exact: bool,
}

impl Place {
    fn of(node: &Node) -> Place {
        Place {
            span: node.span,
            exact: matches!(&node.kind, NodeKind::Scalar(s) if s.plain && !s.text.contains('\n')),
        }
    }

    /// The place `offset` characters further in, when that can be known; else the start.
    fn at(self, offset: u32) -> Span {
        let mut span = self.span;
        if self.exact {
            span.col = span.col.saturating_add(offset);
        }
        span
    }
}

/// One `set:` entry: `KEY=VALUE` as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedSet {
    pub text: String,
    place: Place,
}

/// One grid key and its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridKey {
    /// A scenario key by its dotted path, as `--set` takes it.
    pub key: String,
    place: Place,
    pub values: Vec<GridValue>,
}

/// One value of a grid key, as `--set` takes it (`5s`, `binpack`, `"1"`, `[a, b]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridValue {
    pub text: String,
    place: Place,
}

/// Which override of a grid point's list (see [`Sweep::sets`]) came from where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Fixed(usize),
    Grid { key: usize, value: usize },
}

/// A parsed sweep file.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub name: String,
    pub description: Option<String>,
    /// The scenario file as the sweep file names it.
    pub scenario_written: String,
    /// The scenario file from the working directory (the sweep file's folder joined with
    /// what it names).
    pub scenario: PathBuf,
    scenario_span: Span,
    pub sets: Vec<FixedSet>,
    pub grid: Vec<GridKey>,
    pub seeds: Seeds,
    /// The sweep file, for messages.
    pub file: String,
    /// The sweep file's text, as read.
    pub text: String,
}

/// Grid keys that cannot be grid keys, and why.
const NOT_GRID_KEYS: &[(&str, &str)] = &[(
    "seed",
    "the seed is not a grid key: list the seeds under `seeds:`",
)];

impl Sweep {
    /// Reads and parses a sweep file; the scenario it names is relative to its folder.
    pub fn load(path: &Path) -> Result<Sweep, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                std::io::ErrorKind::InvalidData => "not UTF-8 text".to_owned(),
                _ => e.to_string(),
            };
            format!("error: {file}: cannot read: {why}")
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Sweep::parse(&text, &file, base)
    }

    /// Parses sweep file text; `file` names it in messages and `base` is the folder its
    /// scenario path is relative to.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Sweep, String> {
        Sweep::parse_spanned(text, file, base).map_err(|e| e.render(file, &[]))
    }

    fn parse_spanned(text: &str, file: &str, base: &Path) -> Result<Sweep, Error> {
        let doc = yaml::parse(text, 0)?;
        if matches!(doc.kind, NodeKind::Null) {
            return Err(Error::new("the sweep file is empty"));
        }
        let typed: SweepFile = de::from_node(&doc)?;
        let at = |key: &str| doc.get(key).map_or(doc.span, |n| n.span);
        if !crate::scenario::validate::plain_name(&typed.name) {
            return Err(Error::at(
                at("name"),
                format!(
                    "invalid name {:?}: use letters, digits, '.', '_' and '-' (it names the output folder)",
                    typed.name
                ),
            ));
        }
        if typed.scenario.is_empty() {
            return Err(Error::at(at("scenario"), "expected a scenario file, found \"\""));
        }

        let mut sets = Vec::new();
        if let Some(NodeKind::Seq(items)) = doc.get("set").map(|n| &n.kind) {
            for (item, text) in items.iter().zip(&typed.set) {
                let Some((key, _)) = text.split_once('=') else {
                    return Err(Error::at(
                        item.span,
                        format!("expected KEY=VALUE, found {text:?}"),
                    ));
                };
                if let Some(earlier) = sets
                    .iter()
                    .find(|s: &&FixedSet| s.text.split_once('=').is_some_and(|(k, _)| k == key))
                {
                    return Err(Error::at(
                        item.span,
                        format!("{key} is set twice (also by {:?})", earlier.text),
                    ));
                }
                sets.push(FixedSet {
                    text: text.clone(),
                    place: Place::of(item),
                });
            }
        }

        let mut grid: Vec<GridKey> = Vec::new();
        if let Some(NodeKind::Map(entries)) = doc.get("grid").map(|n| &n.kind) {
            for (key_node, values_node) in entries {
                let key = key_node.as_str().unwrap_or_default().to_owned();
                grid.push(grid_key(key, key_node, values_node, &sets)?);
            }
        }
        let mut points: u64 = 1;
        for g in &grid {
            points = points
                .checked_mul(g.values.len() as u64)
                .filter(|&p| p <= MAX_RUNS)
                .ok_or_else(|| Error::at(at("grid"), "the grid has too many points"))?;
        }
        let seeds = typed.seeds.unwrap_or(Seeds::Count(1));
        if points.saturating_mul(seeds.len() as u64) > MAX_RUNS {
            return Err(Error::at(
                at("seeds"),
                format!("the sweep would make more than {MAX_RUNS} runs"),
            ));
        }
        let given = Path::new(&typed.scenario);
        let scenario = if given.is_absolute() {
            given.to_path_buf()
        } else {
            base.join(given)
        };
        Ok(Sweep {
            name: typed.name,
            description: typed.description,
            scenario_written: typed.scenario,
            scenario,
            scenario_span: at("scenario"),
            sets,
            grid,
            seeds,
            file: file.to_owned(),
            text: text.to_owned(),
        })
    }

    /// Grid points: the product of the value counts (1 for an empty grid).
    pub fn points(&self) -> usize {
        self.grid.iter().map(|g| g.values.len()).product()
    }

    /// Runs: grid points × seeds.
    pub fn runs(&self) -> usize {
        self.points() * self.seeds.len()
    }

    /// The grid point and seed position of run `run`: runs go through the grid points in
    /// order, every seed of a point before the next point.
    pub fn split(&self, run: usize) -> (usize, usize) {
        let n = self.seeds.len();
        (run / n, run % n)
    }

    /// Each grid key's value at point `point`: the last key varies fastest.
    pub fn values(&self, point: usize) -> Vec<&GridValue> {
        let mut rest = point;
        let mut out: Vec<&GridValue> = self
            .grid
            .iter()
            .rev()
            .map(|g| {
                let v = &g.values[rest % g.values.len()];
                rest /= g.values.len();
                v
            })
            .collect();
        out.reverse();
        out
    }

    /// The grid point's own overrides, `KEY=VALUE`, in grid order.
    pub fn grid_sets(&self, point: usize) -> Vec<String> {
        self.grid
            .iter()
            .zip(self.values(point))
            .map(|(g, v)| format!("{}={}", g.key, v.text))
            .collect()
    }

    /// Every override of a grid point, as the scenario loader takes them: the fixed ones,
    /// then the grid point's.
    pub fn sets(&self, point: usize) -> Vec<String> {
        let mut all: Vec<String> = self.sets.iter().map(|s| s.text.clone()).collect();
        all.extend(self.grid_sets(point));
        all
    }

    fn origins(&self, point: usize) -> Vec<Origin> {
        let mut out: Vec<Origin> = (0..self.sets.len()).map(Origin::Fixed).collect();
        let mut rest = point;
        let mut grid: Vec<Origin> = self
            .grid
            .iter()
            .enumerate()
            .rev()
            .map(|(key, g)| {
                let value = rest % g.values.len();
                rest /= g.values.len();
                Origin::Grid { key, value }
            })
            .collect();
        grid.reverse();
        out.extend(grid);
        out
    }

    /// Renders an error that loading the scenario with grid point `point`'s overrides (see
    /// [`Sweep::sets`]) gave: one pointing into an override points at the place in the sweep
    /// file that wrote it; one pointing into the scenario file names the overrides too.
    pub fn locate(&self, e: &Error, point: usize, scenario_file: &str) -> String {
        let sets = self.sets(point);
        let msg = &e.message;
        let context = if self.grid.len() > 1 {
            format!(" (grid point {})", self.grid_sets(point).join(", "))
        } else {
            String::new()
        };
        let Some(span) = e.span else {
            return format!("error: {scenario_file}: {msg}{}", self.with_sets(point));
        };
        if span.source == 0 {
            return format!(
                "error: {scenario_file}:{}:{}: {msg}{}",
                span.line,
                span.col,
                self.with_sets(point)
            );
        }
        let k = usize::from(span.source) - 1;
        let Some(origin) = self.origins(point).get(k).copied() else {
            return e.render(scenario_file, &sets);
        };
        let (place, what) = match origin {
            Origin::Fixed(i) => {
                let s = &self.sets[i];
                (
                    s.place.at(span.col.saturating_sub(1)),
                    format!("set {:?}: ", s.text),
                )
            }
            Origin::Grid { key, value } => {
                let g = &self.grid[key];
                let key_chars = g.key.chars().count() as u32;
                if span.col <= key_chars + 1 {
                    (g.place.at(span.col.saturating_sub(1)), String::new())
                } else {
                    let v = &g.values[value];
                    (v.place.at(span.col - key_chars - 2), String::new())
                }
            }
        };
        format!(
            "error: {}:{}:{}: {what}{msg}{context}",
            self.file, place.line, place.col
        )
    }

    /// `; with --set A --set B (sweep FILE)` for a message about the scenario file.
    fn with_sets(&self, point: usize) -> String {
        let sets = self.sets(point);
        if sets.is_empty() {
            return String::new();
        }
        let list: Vec<String> = sets.iter().map(|s| format!("--set {}", shell_word(s))).collect();
        format!("; with {} (sweep {})", list.join(" "), self.file)
    }

    /// An error about the scenario file as a whole (it cannot be read), at the `scenario:`
    /// key of the sweep file.
    pub fn scenario_error(&self, why: &str) -> String {
        Error::at(
            self.scenario_span,
            format!("cannot read the scenario {}: {why}", self.scenario.display()),
        )
        .render(&self.file, &[])
    }

    /// The one command that replays run `seed` of grid point `point`.
    pub fn replay_command(&self, point: usize, seed: u64) -> String {
        let mut cmd = format!(
            "mesosim run {} --seed {seed}",
            shell_word(&self.scenario.display().to_string())
        );
        for set in self.sets(point) {
            cmd.push_str(" --set ");
            cmd.push_str(&shell_word(&set));
        }
        cmd
    }
}

/// More runs than this is surely a mistake in the grid.
const MAX_RUNS: u64 = 10_000_000;

fn grid_key(key: String, key_node: &Node, values_node: &Node, sets: &[FixedSet]) -> Result<GridKey, Error> {
    if key.is_empty()
        || key
            .chars()
            .any(|c| c == '=' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::at(
            key_node.span,
            format!("expected a scenario key like master.allocator, found {key:?}"),
        ));
    }
    if let Some((_, why)) = NOT_GRID_KEYS.iter().find(|(k, _)| *k == key) {
        return Err(Error::at(key_node.span, *why));
    }
    if let Some(s) = sets
        .iter()
        .find(|s| s.text.split_once('=').is_some_and(|(k, _)| k == key))
    {
        return Err(Error::at(
            key_node.span,
            format!("{key} is both a grid key and set by {:?}", s.text),
        ));
    }
    let NodeKind::Seq(items) = &values_node.kind else {
        return Err(Error::at(values_node.span, "expected a list of values"));
    };
    if items.is_empty() {
        return Err(Error::at(
            values_node.span,
            format!("grid key {key} needs at least one value"),
        ));
    }
    let mut values: Vec<GridValue> = Vec::new();
    for item in items {
        let text = set_value(item)?;
        if values.iter().any(|v| v.text == text) {
            return Err(Error::at(item.span, format!("{key}: {text} is listed twice")));
        }
        values.push(GridValue {
            text,
            place: Place::of(item),
        });
    }
    Ok(GridKey {
        key,
        place: Place::of(key_node),
        values,
    })
}

/// A node as the text of a `--set` value that reads back as the same value: plain scalars
/// as written, strings that would read as something else quoted, lists and maps in flow
/// style.
fn set_value(node: &Node) -> Result<String, Error> {
    let text = flow(node, true);
    let back = yaml::parse(&text, 0)
        .map_err(|_| Error::at(node.span, "this value cannot be given as a --set value"))?;
    if !same_value(node, &back) {
        return Err(Error::at(
            node.span,
            "this value cannot be given as a --set value",
        ));
    }
    Ok(text)
}

/// Flow-style YAML for a node. At the top (`top`), a plain scalar is written as is; inside
/// a list or map, any string is quoted so that commas and brackets in it stay inside it.
fn flow(node: &Node, top: bool) -> String {
    match &node.kind {
        NodeKind::Null => "null".to_owned(),
        NodeKind::Scalar(s) => {
            let typed = s.as_bool().is_some() || s.is_number();
            if s.plain && (top || typed) {
                return s.text.clone();
            }
            if !s.plain && top && reads_as_plain_string(&s.text) {
                return s.text.clone();
            }
            serde_json::to_string(&s.text).unwrap_or_default()
        }
        NodeKind::Seq(items) => {
            let inner: Vec<String> = items.iter().map(|n| flow(n, false)).collect();
            format!("[{}]", inner.join(", "))
        }
        NodeKind::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", flow(k, false), flow(v, false)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Whether `text`, written unquoted as a whole value, reads back as the same string.
fn reads_as_plain_string(text: &str) -> bool {
    match yaml::parse(text, 0) {
        Ok(Node {
            kind: NodeKind::Scalar(s),
            ..
        }) => s.plain && s.text == text && s.as_bool().is_none() && !s.is_number(),
        _ => false,
    }
}

/// Whether two nodes are the same value: equal structure, and scalars of the same text
/// and the same reading (a string, or a plain number, boolean).
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Null, NodeKind::Null) => true,
        (NodeKind::Scalar(x), NodeKind::Scalar(y)) => {
            let typed = |s: &yaml::Scalar| s.plain && (s.as_bool().is_some() || s.is_number());
            x.text == y.text && typed(x) == typed(y)
        }
        (NodeKind::Seq(x), NodeKind::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same_value(ka, kb) && same_value(va, vb))
        }
        _ => false,
    }
}

/// `word` as one shell word: as is when it needs no quoting, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Parses `--shard I/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text}: expected I/N with 0 <= I < N, like 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let parse = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<usize>().ok()
        };
        let (index, count) = (parse(i.trim()).ok_or_else(bad)?, parse(n.trim()).ok_or_else(bad)?);
        if count == 0 {
            return Err(format!("--shard {text}: the number of shards must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "--shard {text}: shards are numbered from 0, so I must be below N (0/{count} to {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `run` belongs to this shard.
    pub fn has(&self, run: usize) -> bool {
        run % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sweep, String> {
        Sweep::parse(text, "s.yaml", Path::new("sweeps"))
    }

    #[test]
    fn runs_go_through_the_grid_last_key_fastest_then_seeds() {
        let s = parse("name: x\nscenario: ../a.yaml\ngrid:\n  a: [1, 2]\n  b: [x, y, z]\nseeds: [5, 9]\n")
            .unwrap();
        assert_eq!(s.points(), 6);
        assert_eq!(s.runs(), 12);
        assert_eq!(s.scenario, Path::new("sweeps/../a.yaml"));
        assert_eq!(s.split(7), (3, 1));
        assert_eq!(s.grid_sets(3), ["a=2", "b=x"]);
        assert_eq!(s.grid_sets(2), ["a=1", "b=z"]);
        assert_eq!(s.seeds.get(42, 1), Some(9));
        assert_eq!(Seeds::Count(3).get(42, 2), Some(44));
    }

    #[test]
    fn values_read_back_as_themselves() {
        let s = parse(
            "name: x\nscenario: a.yaml\ngrid:\n  k: [1s, \"1\", 'drf', \"cpus:1;mem:32\", [a, \"b,c\"], {x: 1}, \"two words\"]\n",
        )
        .unwrap();
        let texts: Vec<&str> = s.grid[0].values.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1s",
                "\"1\"",
                "drf",
                "cpus:1;mem:32",
                "[\"a\", \"b,c\"]",
                "{\"x\": 1}",
                "two words"
            ]
        );
    }

    #[test]
    fn bad_files_say_where() {
        let e = parse("name: x\nscenario: a.yaml\ngird: {}\n").unwrap_err();
        assert_eq!(
            e,
            "error: s.yaml:3:1: unknown key \"gird\" (did you mean \"grid\"?)"
        );
        let e = parse("name: x\nscenario: a.yaml\ngrid:\n  seed: [1, 2]\n").unwrap_err();
        assert!(
            e.starts_with("error: s.yaml:4:3: the seed is not a grid key"),
            "{e}"
        );
        let e = parse("name: x\nscenario: a.yaml\ngrid:\n  a: []\n").unwrap_err();
        assert_eq!(e, "error: s.yaml:4:6: grid key a needs at least one value");
        let e = parse("name: x\nscenario: a.yaml\nseeds: 0\n").unwrap_err();
        assert_eq!(e, "error: s.yaml:3:8: seeds must be at least 1");
        let e = parse("name: x\nscenario: a.yaml\nseeds: [1, -2]\n").unwrap_err();
        assert!(
            e.starts_with("error: s.yaml:3:12: expected a non-negative integer"),
            "{e}"
        );
        let e = parse("name: x/y\nscenario: a.yaml\n").unwrap_err();
        assert!(e.starts_with("error: s.yaml:1:7: invalid name"), "{e}");
        let e = parse("name: x\nscenario: a.yaml\nset: [a=1]\ngrid: { a: [2] }\n").unwrap_err();
        assert!(
            e.starts_with("error: s.yaml:4:9: a is both a grid key and set"),
            "{e}"
        );
    }

    #[test]
    fn errors_in_overrides_point_into_the_sweep_file() {
        let s = parse(
            "name: x\nscenario: a.yaml\nset: [duration=5m]\ngrid:\n  master.alocator: [drf]\n  master.allocation_interval: [1s, 5x]\n",
        )
        .unwrap();
        // The unknown segment "alocator" of the grid key, as the loader reports it.
        let e = Error::at(Span::new(2, 1, 8), "unknown key \"alocator\"");
        assert_eq!(
            s.locate(&e, 0, "a.yaml"),
            "error: s.yaml:5:10: unknown key \"alocator\" (grid point master.alocator=drf, master.allocation_interval=1s)"
        );
        // The value of the second grid key at point 1.
        let e = Error::at(Span::new(3, 1, 28), "bad duration");
        assert!(
            s.locate(&e, 1, "a.yaml")
                .starts_with("error: s.yaml:6:36: bad duration")
        );
        let e = Error::at(Span::new(1, 1, 10), "bad duration");
        assert!(
            s.locate(&e, 0, "a.yaml")
                .starts_with("error: s.yaml:3:16: set \"duration=5m\": bad duration")
        );
        let e = Error::at(Span::new(0, 9, 3), "too late");
        assert_eq!(
            s.locate(&e, 0, "a.yaml"),
            "error: a.yaml:9:3: too late; with --set duration=5m --set master.alocator=drf --set master.allocation_interval=1s (sweep s.yaml)"
        );
    }

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").unwrap_err().contains("0/4 to 3/4"));
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("a/4").is_err());
        assert!(Shard::parse("-1/4").is_err());
        assert!(Shard::parse("1").is_err());
        let s = Shard::parse("2/3").unwrap();
        assert!(s.has(5) && !s.has(6));
    }

    #[test]
    fn shell_words_quote_only_when_needed() {
        assert_eq!(shell_word("master.allocator=drf"), "master.allocator=drf");
        assert_eq!(shell_word("a=cpus:1;mem:2"), "'a=cpus:1;mem:2'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
