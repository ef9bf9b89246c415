//! The operations as library calls, without the binary: outcomes carry
//! their exit status, errors know theirs.

use crate::common::{quickstart_variant, repo, write};
use std::sync::Mutex;
use trendlab_ops::execution::{self, ReportOptions, RunOptions};
use trendlab_ops::units::{self, Selection, WorkOptions};
use trendlab_ops::{CompareWith, Error, ExitStatus, Outcome, Workspace, inspect};

fn report_options() -> ReportOptions<'static> {
    ReportOptions {
        tracking_uri: None,
        from_mlflow: false,
        compare: CompareWith::default(),
    }
}

#[test]
fn run_report_and_validate_return_outcomes_with_their_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    // One workspace (spec, data, plan, store) serves every operation.
    let mut w = Workspace::open(&spec, dir.path()).unwrap();
    let warnings = Mutex::new(Vec::new());
    let first = execution::run(&mut w, RunOptions::jobs(2), &(), &warnings).unwrap();
    assert_eq!(first.exit_status(), ExitStatus::Success);
    assert_eq!((first.summary.finished, first.summary.skipped), (21, 0));
    assert_eq!(first.leaderboard.rows.len(), 7);
    assert!(first.report_dir.join("index.html").is_file());
    assert!(first.mirrored.is_none() && first.gate.is_none());
    let again = execution::run(&mut w, RunOptions::jobs(2), &(), &warnings).unwrap();
    assert_eq!((again.summary.finished, again.summary.skipped), (0, 21));
    assert!(warnings.lock().unwrap().is_empty(), "{:?}", warnings.lock().unwrap());

    let report = execution::report(&w, report_options()).unwrap();
    assert_eq!(report.exit_status(), ExitStatus::Success);
    assert_eq!(report.leaderboard.rows, first.leaderboard.rows);

    // A report of a store holding nothing of the spec: a failure (exit 1) that says what to do.
    let empty = tempfile::tempdir().unwrap();
    let nothing = execution::report(&Workspace::open(&spec, empty.path()).unwrap(), report_options()).unwrap_err();
    assert_eq!(nothing.exit_status(), ExitStatus::Failed);
    assert!(nothing.to_string().contains("run `trendlab run"), "{nothing}");

    // validate: one valid and one broken spec; the outcome is invalid (exit 2).
    let broken = repo().join("tests/bad_inputs/specs/unknown_family.toml");
    let outcome = inspect::validate(&[spec.clone(), broken.clone()]);
    assert_eq!(outcome.exit_status(), ExitStatus::Invalid);
    assert_eq!(outcome.exit_status().code(), 2);
    let checked = &outcome.specs[0].1.as_ref().unwrap();
    assert_eq!(
        (checked.configurations, checked.folds, checked.backtest_runs),
        (7, 3, 21)
    );
    match &outcome.specs[1].1 {
        Err(e @ Error::Spec { .. }) => assert!(e.to_string().starts_with(&broken.display().to_string()), "{e}"),
        other => panic!("not a spec error: {other:?}"),
    }
}

#[test]
fn work_errors_carry_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let options = WorkOptions {
        jobs: 1,
        device: None,
        wait_for_reads: None,
    };
    // A manifest that is not one: invalid (exit 2), naming the file.
    let bad = write(dir.path(), "plan.json", "{ not json");
    let selection = Selection {
        index: Some(0),
        ..Selection::default()
    };
    let e = Workspace::open_manifest(&bad, dir.path()).unwrap_err();
    assert_eq!(e.exit_status().code(), 2);
    assert!(e.to_string().contains("plan.json"), "{e}");

    // A real manifest and a unit past its end: invalid too.
    let spec = quickstart_variant(dir.path(), &[]);
    let manifest = units::write_manifest(
        &Workspace::open(&spec, dir.path()).unwrap(),
        &dir.path().join("units/plan.json"),
        None,
    )
    .unwrap();
    assert_eq!(manifest.exit_status(), ExitStatus::Success);
    let past = Selection {
        index: Some(manifest.manifest.units.len()),
        ..Selection::default()
    };
    let (mut w, read) = Workspace::open_manifest(&manifest.path, dir.path()).unwrap();
    let e = units::work(&mut w, &read, &manifest.path, past, options, &()).unwrap_err();
    assert_eq!(e.exit_status(), ExitStatus::Invalid);

    // One unit runs; a worker's failed run would be exit 3.
    let done = units::work(&mut w, &read, &manifest.path, selection, options, &()).unwrap();
    assert_eq!(done.exit_status(), ExitStatus::Success);
    assert_eq!(done.summary.finished, 1);
    assert_eq!(ExitStatus::RunFailed.code(), 3);
}
