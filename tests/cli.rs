//! The command line as users and CI meet it: exit codes, error lines, report files, and
//! determinism across whole runs.

use std::path::{Path, PathBuf};

mod common;
use common::{mesosim, temp_dir};

fn run_into(dir: &Path, extra: &[&str]) -> Vec<u8> {
    let out = dir.to_str().unwrap();
    let mut args = vec!["run", "scenarios/quickstart.yaml", "--quiet", "--out", out];
    args.extend_from_slice(extra);
    let output = mesosim(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "--quiet prints nothing on success");
    std::fs::read(dir.join("summary.json")).unwrap()
}

fn digest(summary: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(summary).unwrap();
    v["digest"].as_str().unwrap().to_owned()
}

#[test]
fn the_same_seed_gives_byte_identical_summaries() {
    let (a, b) = (temp_dir("same-a"), temp_dir("same-b"));
    let first = run_into(&a, &[]);
    let second = run_into(&b, &[]);
    assert_eq!(first, second);
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("run.json")).unwrap()).unwrap();
    assert!(run["wall_s"].as_f64().unwrap() > 0.0);
    assert!(
        std::fs::read_to_string(a.join("scenario.yaml"))
            .unwrap()
            .contains("name: quickstart")
    );
}

#[test]
fn another_seed_gives_another_digest_when_latency_varies() {
    let (a, b) = (temp_dir("seed-a"), temp_dir("seed-b"));
    let first = run_into(&a, &["--seed", "1"]);
    let second = run_into(&b, &["--seed", "2"]);
    assert_ne!(digest(&first), digest(&second));
}

#[test]
fn the_quickstart_counts_its_agents() {
    let dir = temp_dir("quickstart");
    let summary: serde_json::Value = serde_json::from_slice(&run_into(&dir, &[])).unwrap();
    assert_eq!(summary["schema"], "mesosim.summary/1");
    assert_eq!(summary["agents"]["registered"], 202);
    assert_eq!(summary["agents"]["unreachable"], 3);
    assert_eq!(summary["simulated_s"], 3600.0);
}

#[test]
fn check_determinism_runs_twice_and_says_so() {
    let dir = temp_dir("check");
    let output = mesosim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--check-determinism",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("determinism: two runs gave byte-identical reports"),
        "{stdout}"
    );
}

#[test]
fn set_overrides_reach_the_run() {
    let dir = temp_dir("set");
    let summary = run_into(&dir, &["--set", "duration=30m", "--set", "seed=7"]);
    let v: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(v["simulated_s"], 1800.0);
    assert_eq!(v["seed"], 7);
}

/// Every file in tests/broken/ starts with `# expect: <the exact error line>`; `{file}`
/// stands for the file's path.
#[test]
fn broken_scenarios_give_their_exact_one_line_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the table lost its cases");
    let mut failures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("an # expect: line");
        let rel = format!("tests/broken/{}", path.file_name().unwrap().to_str().unwrap());
        let expected = expect.replace("{file}", &rel);
        let output = mesosim(&["validate", &rel]);
        let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_owned();
        if output.status.code() != Some(2) || stderr != expected {
            failures.push(format!(
                "{rel}\n  expected: {expected}\n  got ({:?}): {stderr}",
                output.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_in_set_overrides_point_into_the_override() {
    let output = mesosim(&[
        "validate",
        "scenarios/quickstart.yaml",
        "--set",
        "master.alocator=binpack",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "error: --set master.alocator=binpack:8: unknown key \"alocator\" (did you mean \"allocator\"?)"
    );
}

#[test]
fn a_missing_file_and_a_bad_subcommand_are_bad_input() {
    let output = mesosim(&["run", "scenarios/nope.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "error: scenarios/nope.yaml: cannot read: no such file"
    );
    assert_eq!(mesosim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(mesosim(&["--help"]).status.code(), Some(0));
}

#[test]
fn every_bundled_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let output = mesosim(&["validate", path.to_str().unwrap()]);
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
