//! The fault swarm in the test suite: the regression scenarios the swarm found
//! (`tests/fuzz/*.yaml`, each checked through its faults and then for convergence once
//! healed, as `mesosim fuzz --scenario` does), and a few dozen random seeds. CI runs a
//! few hundred more through the release binary (`.ci/run`).

use std::path::Path;

use mesosim::fuzz;

#[test]
fn the_swarms_regression_scenarios_converge() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let loaded = mesosim::scenario::load(&path, &[]).expect("a valid scenario");
        let heal = fuzz::heal_time(&loaded.scenario);
        if let Err(f) = fuzz::check(&loaded.scenario, heal) {
            panic!("{} failed at {} s: {}", path.display(), f.at_s, f.what);
        }
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} regression scenarios found");
}

#[test]
fn random_seeds_stay_safe_and_converge() {
    for seed in 1..=24 {
        if let Err(f) = fuzz::run_seed(seed, fuzz::DEFAULT_BOUND) {
            panic!(
                "seed {seed} failed at {} s: {}\n  replay: {}",
                f.at_s,
                f.what,
                fuzz::replay_command(seed, fuzz::DEFAULT_BOUND)
            );
        }
    }
}
