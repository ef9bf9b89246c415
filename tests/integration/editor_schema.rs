//! `trendlab schema` in a real editor's checker (feature `service-tests`):
//! Taplo, the TOML language server behind VS Code's Even Better TOML
//! (npm `@taplo/cli`, installed by scripts/test.sh and named in
//! `TRENDLAB_TAPLO`), accepts every bundled experiment against the schema
//! and flags a misspelt model parameter.

use crate::common::{repo, required_env, stdout, trendlab, write};
use std::path::Path;
use std::process::{Command, Output};

fn taplo_check(schema: &Path, files: &[&Path]) -> Output {
    Command::new(required_env("TRENDLAB_TAPLO"))
        .arg("check")
        .arg("--schema")
        .arg(format!("file://{}", schema.display()))
        .args(files)
        .env("RUST_LOG", "warn")
        .output()
        .expect("taplo runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn taplo_accepts_every_bundled_experiment_and_flags_a_misspelt_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let schema = trendlab(dir.path(), &["schema"]);
    assert!(schema.status.success());
    let schema = write(dir.path(), "trendlab.schema.json", &stdout(&schema));

    let mut experiments: Vec<_> = std::fs::read_dir(repo().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    experiments.sort();
    assert!(experiments.len() >= 8, "{experiments:?}");
    for experiment in &experiments {
        let checked = taplo_check(&schema, &[experiment]);
        assert!(
            checked.status.success(),
            "taplo rejects {}:\n{}",
            experiment.display(),
            text(&checked)
        );
    }

    // The quickstart with `alpah` for `alpha` (fixed and in a grid), and
    // with an unknown family: each is flagged.
    let quickstart = std::fs::read_to_string(repo().join("experiments/quickstart.toml")).unwrap();
    let misspelt = [
        quickstart.replace("[models.grid]\nalpha = ", "alpah = 1.0\n[models.grid]\nalpha = "),
        quickstart.replace("[models.grid]\nalpha = ", "[models.grid]\nalpah = "),
        quickstart.replace("family = \"drift\"", "family = \"drfit\""),
    ];
    for (i, spec) in misspelt.iter().enumerate() {
        assert_ne!(spec, &quickstart, "edit {i} applies");
        let path = write(dir.path(), &format!("misspelt{i}.toml"), spec);
        let checked = taplo_check(&schema, &[&path]);
        assert!(
            !checked.status.success(),
            "taplo accepts misspelt spec {i}:\n{spec}\n{}",
            text(&checked)
        );
    }
}
