//! Architecture invariant: production code never imports a driver.
//!
//! The master, allocators, agents, frameworks and the seam they stand on run unchanged under
//! the simulator and the live driver only as long as none of them reaches for either. This
//! test reads their sources and fails on any path into `sim`, `live` or the tooling around
//! them (`scenario`, `run`, `report`, `metrics`, `cli`, `sweep`, `fuzz`).

use std::path::{Path, PathBuf};

/// Production modules: directories and single files under src/.
const PRODUCTION: &[&str] = &[
    "master",
    "allocator",
    "agent",
    "frameworks",
    "coordinator",
    "process.rs",
    "proto.rs",
    "resources.rs",
    "time.rs",
    "ids.rs",
    "rng.rs",
    "lookup.rs",
];

/// Modules production code must not reach.
const FORBIDDEN: &[&str] = &[
    "sim", "live", "scenario", "run", "report", "metrics", "cli", "sweep", "fuzz",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The forbidden modules a source text reaches through `crate::` or `mesosim::` paths,
/// including inside `use crate::{...}` groups.
fn driver_imports(source: &str) -> Vec<String> {
    // Comments may name drivers freely.
    let code: String = source
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut found = Vec::new();
    for root in ["crate::", "mesosim::"] {
        let mut rest = compact.as_str();
        while let Some(i) = rest.find(root) {
            rest = &rest[i + root.len()..];
            let heads: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                // Top-level names of a `{a, b::c, d::{e}}` group.
                let mut depth = 0;
                let mut names = vec![String::new()];
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => names.push(String::new()),
                        _ if depth == 0 => names.last_mut().unwrap().push(ch),
                        _ => {}
                    }
                }
                names
                    .into_iter()
                    .map(|n| n.split("::").next().unwrap_or("").to_owned())
                    .collect()
            } else {
                vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                ]
            };
            for head in heads {
                if FORBIDDEN.contains(&head.as_str()) {
                    found.push(format!("{root}{head}"));
                }
            }
        }
    }
    found
}

#[test]
fn the_checker_catches_every_form_of_import() {
    assert_eq!(driver_imports("use crate::sim::Sim;"), vec!["crate::sim"]);
    assert_eq!(
        driver_imports("use crate::{ids::NodeId, live::LiveCluster};"),
        vec!["crate::live"]
    );
    assert_eq!(
        driver_imports("use crate::{\n  time,\n  scenario::{Scenario},\n};"),
        vec!["crate::scenario"]
    );
    assert_eq!(
        driver_imports("let x = mesosim::run::run(s);"),
        vec!["mesosim::run"]
    );
    assert!(driver_imports("use crate::simple::X; // crate::sim is mentioned here").is_empty());
    assert!(driver_imports("use crate::resources::Resources;").is_empty());
}

#[test]
fn production_code_never_imports_a_driver() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for module in PRODUCTION {
        let path = src.join(module);
        if path.exists() {
            rust_files(&path, &mut files);
        }
    }
    // The core of the seam must be there, or this test proves nothing.
    for must in [
        "master",
        "agent",
        "process.rs",
        "proto.rs",
        "resources.rs",
        "time.rs",
    ] {
        assert!(src.join(must).exists(), "src/{must} is missing");
    }
    assert!(files.len() >= 8, "too few production files found: {files:?}");
    let mut violations = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for import in driver_imports(&text) {
            violations.push(format!(
                "{}: {import}",
                file.strip_prefix(&src).unwrap().display()
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "production code imports a driver:\n{}",
        violations.join("\n")
    );
}
