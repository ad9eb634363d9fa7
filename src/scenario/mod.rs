//! Scenario files: YAML with a position on every value, so every error can say where.
//!
//! Loading goes: read the file → parse it into a spanned tree ([`yaml`]) → apply each
//! `--set KEY=VALUE` to the tree → deserialize into the schema ([`schema`], through [`de`],
//! which rejects unknown keys and bad values) → check what types cannot ([`validate`]).
//! The first problem stops it, rendered `error: FILE:LINE:COL: what was expected`.

pub mod de;
pub mod schema;
pub mod validate;
pub mod yaml;

use std::path::Path;

pub use schema::Scenario;

/// A scenario ready to run, with what it was loaded from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub scenario: Scenario,
    /// The file's text after overrides, for the report to quote.
    pub source_text: String,
    pub file: String,
}

/// Why a scenario could not be loaded, already rendered for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Loads `path`, applying `sets` (`KEY=VALUE` with a dotted key) in order.
pub fn load(path: &Path, sets: &[String]) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read(path)
        .map_err(|e| LoadError(format!("error: {file}: cannot read: {}", io_reason(&e))))?;
    let text = String::from_utf8(text).map_err(|e| {
        LoadError(format!(
            "error: {file}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    load_str(&text, &file, sets)
}

/// Loads scenario text; `file` names it in messages.
pub fn load_str(text: &str, file: &str, sets: &[String]) -> Result<Loaded, LoadError> {
    load_str_spanned(text, file, sets).map_err(|e| LoadError(e.render(file, sets)))
}

/// [`load_str`], with the error not yet rendered: its span says whether it points into the
/// file (source 0) or into the k-th of `sets` (source k), for callers that took those
/// overrides from somewhere else (a sweep file) and point there instead.
pub fn load_str_spanned(text: &str, file: &str, sets: &[String]) -> Result<Loaded, de::Error> {
    let mut doc = yaml::parse(text, 0)?;
    if matches!(doc.kind, yaml::NodeKind::Null) {
        return Err(de::Error::new("the scenario is empty"));
    }
    for (k, set) in sets.iter().enumerate() {
        let source = u16::try_from(k + 1).map_err(|_| de::Error::new("too many --set options"))?;
        yaml::apply_set(&mut doc, set, source)?;
    }
    let mut scenario: Scenario = de::from_node(&doc)?;
    resolve_paths(&mut scenario, file);
    validate::validate(&scenario, &doc)?;
    let source_text = if sets.is_empty() {
        text.to_owned()
    } else {
        let mut t = text.to_owned();
        t.push_str("\n# with overrides:\n");
        for set in sets {
            t.push_str(&format!("#   --set {set}\n"));
        }
        t
    };
    Ok(Loaded {
        scenario,
        source_text,
        file: file.to_owned(),
    })
}

/// Makes a trace file path that is not found from the working directory relative to the
/// scenario file's folder, or failing that its parent (scenarios/ beside traces/), when it
/// exists there.
fn resolve_paths(s: &mut Scenario, file: &str) {
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let resolve = |p: &mut String| {
        let given = Path::new(p.as_str());
        if given.is_absolute() || given.is_file() {
            return;
        }
        for base in [dir, dir.parent().unwrap_or(Path::new(""))] {
            let candidate = base.join(given);
            if candidate.is_file() {
                *p = candidate.display().to_string();
                return;
            }
        }
    };
    for f in &mut s.frameworks {
        if let Some(schema::WorkloadSpec::Trace(t)) = &mut f.workload {
            resolve(&mut t.path);
            if let Some(p) = &mut t.instances {
                resolve(p);
            }
            if let Some(p) = t.machines.as_mut().filter(|m| m.as_str() != "inferred") {
                resolve(p);
            }
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => e.to_string(),
    }
}
