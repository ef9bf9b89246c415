//! Opening an experiment once for every operation: the validated spec, its
//! data and backtest ([`Prepared`]), the plan, and the run store under the
//! output folder.

use crate::error::Error;
use std::path::{Path, PathBuf};
use trendlab_results::{Manifest, Plan, Prepared, RunStore, prepare};
use trendlab_spec::ComputeDevice;

/// An experiment ready for any operation.
#[derive(Debug)]
pub struct Workspace {
    /// The spec file as given.
    pub spec: PathBuf,
    pub prepared: Prepared,
    pub plan: Plan,
    pub store: RunStore,
    /// The folder holding `runs/` and `reports/`.
    pub out: PathBuf,
}

impl Workspace {
    /// Validates `spec`, loads its data, plans its runs and opens its run
    /// store under `out`. An invalid spec or data is an error
    /// with the located messages ([`Error::Spec`]).
    pub fn open(spec: &Path, out: &Path) -> Result<Workspace, Error> {
        let prepared = prepared(spec)?;
        let plan = Plan::new(&prepared);
        let store = RunStore::new(out, &plan.experiment);
        Ok(Workspace {
            spec: spec.to_path_buf(),
            prepared,
            plan,
            store,
            out: out.to_path_buf(),
        })
    }

    /// The same, with the run store under `out` made absolute (for paths
    /// that go into scripts run elsewhere); `out` is created.
    pub fn open_absolute(spec: &Path, out: &Path) -> Result<Workspace, Error> {
        let mut workspace = Workspace::open(spec, out)?;
        std::fs::create_dir_all(out).map_err(|e| Error::failed(format!("creating {}", out.display()), e))?;
        workspace.out = absolute(out)?;
        workspace.store = RunStore::new(&workspace.out, &workspace.plan.experiment);
        Ok(workspace)
    }

    /// The workspace of a work manifest (`plan --manifest`): its spec,
    /// found relative to the manifest, opened with the run store under
    /// `out`, and the manifest, checked against the plan.
    pub fn open_manifest(manifest_path: &Path, out: &Path) -> Result<(Workspace, Manifest), Error> {
        let manifest = Manifest::read(manifest_path)?;
        let workspace = Workspace::open(&manifest.spec_path(manifest_path), out)?;
        manifest.check(&workspace.plan, manifest_path)?;
        Ok((workspace, manifest))
    }

    /// Trains the neural families on `device` (run ids unchanged); `false`
    /// when no model of the spec trains on a device.
    pub fn set_device(&mut self, device: ComputeDevice) -> bool {
        self.plan.set_device(device)
    }

    /// The folder of this experiment's report.
    pub fn report_dir(&self) -> PathBuf {
        self.out.join("reports").join(&self.plan.experiment)
    }

    /// Series left out of the backtest (too short), with the reason.
    pub fn skipped_series(&self) -> &[(String, String)] {
        &self.prepared.backtest.skipped
    }

    /// The runs scored on the leaderboard (not the validation runs).
    pub fn backtest_runs(&self) -> usize {
        self.plan.runs.iter().filter(|r| r.role.is_backtest()).count()
    }
}

/// The prepared spec, or its located errors as [`Error::Spec`].
fn prepared(spec: &Path) -> Result<Prepared, Error> {
    prepare(spec).map_err(|error| Error::Spec {
        error,
        spec: spec.to_path_buf(),
    })
}

/// `path` made absolute and resolved.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).map_err(|e| Error::failed(format!("resolving {}", path.display()), e))
}
