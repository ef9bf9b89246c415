//! The bad-input corpus under `tests/bad_inputs` (its README says how to add
//! a case): every input there must be refused with exit code 2, the exact
//! message its case states, no panic, and nothing written.
//!
//! - `specs/*.toml`: broken specs; the first line is `# expect: L:C:
//!   message` (`trendlab validate` prints it after the spec's path), the
//!   second optionally `# expect-also: text`.
//! - `cases/<name>/`: bad data, logs and manifests, each with the command's
//!   arguments in `args` (run in a copy of the folder) and the first line of
//!   its standard error in `expect`.

use crate::common::{files_under, repo, stderr, trendlab};
use std::path::Path;

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}

/// Every file below `dir` with its bytes, by path.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = files_under(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_broken_spec_is_reported_at_its_line_and_column() {
    let specs = entries(&repo().join("tests/bad_inputs/specs"));
    assert!(specs.len() >= 39, "expected the 39 broken specs, found {}", specs.len());
    for spec in specs {
        let text = std::fs::read_to_string(&spec).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line is `# expect: L:C: message`");
        let relative = spec.strip_prefix(repo()).unwrap().to_str().unwrap().to_string();
        let out = trendlab(&repo(), &["validate", &relative]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{relative}: exit code; stderr:\n{err}");
        assert!(
            err.contains(&format!("{relative}:{expect}")),
            "{relative}: expected `{relative}:{expect}` in:\n{err}"
        );
        if let Some(also) = text.lines().nth(1).and_then(|l| l.strip_prefix("# expect-also: ")) {
            assert!(err.contains(also), "{relative}: expected `{also}` in:\n{err}");
        }
        assert!(!err.contains("panicked"), "{relative} panicked:\n{err}");
    }
}

#[test]
fn every_bad_data_log_and_manifest_gets_its_exact_message() {
    let cases = entries(&repo().join("tests/bad_inputs/cases"));
    assert!(cases.len() >= 18, "expected at least 18 cases, found {}", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        for file in entries(&case) {
            std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
        }
        let before = snapshot(dir.path());
        let args = std::fs::read_to_string(case.join("args")).unwrap();
        let args: Vec<&str> = args.split_whitespace().collect();
        let expect = std::fs::read_to_string(case.join("expect")).unwrap();
        let out = trendlab(dir.path(), &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: exit code; stderr:\n{err}");
        assert_eq!(err.lines().next(), Some(expect.trim_end()), "{name}: stderr:\n{err}");
        assert!(!err.contains("panicked"), "{name} panicked:\n{err}");
        let after = snapshot(dir.path());
        assert!(before == after, "{name}: the command wrote or changed files");
    }
}
