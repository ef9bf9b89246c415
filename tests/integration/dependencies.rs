//! The dependency graph keeps the architecture: the crates that read
//! results (the report, tracking, the cluster launchers) and those below
//! them never build the executor or the heavy model dependencies (burn,
//! tokenizers, the tree learner), and nothing below the operations depends
//! on the executor. Read from `cargo tree` on the locked graph.

use std::collections::BTreeSet;
use std::process::Command;

/// The packages in `cargo tree` of `args` (names only, deduplicated).
fn tree(args: &[&str]) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--locked", "--prefix", "none", "--format", "{p}"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(String::from)
        .collect()
}

const HEAVY: &[&str] = &[
    "trendlab-engine",
    "trendlab-neural",
    "trendlab-gbdt",
    "burn",
    "burn-core",
    "tokenizers",
    "hessboost",
];

#[test]
fn crates_that_read_results_build_without_the_executor_or_heavy_dependencies() {
    for krate in [
        "trendlab-results",
        "trendlab-report",
        "trendlab-tracking",
        "trendlab-cluster",
        "trendlab-spec",
        "trendlab-data",
        "trendlab-stats",
    ] {
        let packages = tree(&["-p", krate, "-e", "normal"]);
        assert!(packages.contains(krate), "{krate}: {packages:?}");
        let heavy: Vec<&&str> = HEAVY.iter().filter(|h| packages.contains(**h)).collect();
        assert!(heavy.is_empty(), "{krate} depends on {heavy:?}");
    }
}

#[test]
fn only_the_operations_and_the_binary_depend_on_the_executor() {
    let dependents = tree(&["-i", "trendlab-engine", "-e", "normal,dev", "--depth", "1"]);
    let expected: BTreeSet<String> = ["trendlab-engine", "trendlab-ops", "trendlab"].map(String::from).into();
    assert_eq!(dependents, expected);
}
