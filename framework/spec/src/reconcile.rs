//! `reconcile` on any `[[models]]` entry (or in its grid): the aggregates
//! of `[evaluation.wrmsse] levels` (and the total) become forecast targets
//! of the family too, and the series' forecasts are the reconciled ones,
//! coherent with them. Not a family parameter: it enters a run id only
//! when set. An ensemble takes it from its members.

use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How forecasts of a hierarchy are made coherent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reconcile {
    /// The series' own forecasts, aggregates being their sums (no aggregate
    /// is forecast).
    #[default]
    None,
    /// The same as `none`, explicitly: the series' forecasts summed up.
    BottomUp,
    /// The total forecast, split by each series' share of the total over
    /// its training data.
    TopDown,
    /// Every level forecast, then reconciled by MinT with the shrunk
    /// covariance of the in-sample one-step residuals (Wickramasuriya et
    /// al. 2019; hierarchicalforecast's `MinTrace(method="mint_shrink")`).
    MinTrace,
}

impl Reconcile {
    pub fn is_none(&self) -> bool {
        *self == Reconcile::None
    }

    /// Whether the aggregates are forecast too.
    pub fn forecasts_aggregates(&self) -> bool {
        matches!(self, Reconcile::TopDown | Reconcile::MinTrace)
    }
}

/// The key of a model entry that holds it.
pub const KEY: &str = "reconcile";

/// Removes `reconcile` from a model's parameter table and reads it.
pub fn take(table: &mut toml::Table) -> Result<Reconcile, String> {
    crate::transform::take_key(table, KEY)
}

/// What `reconcile` cannot do with a family: an ensemble (reconcile its
/// members), MinT without in-sample residuals, aggregates of covariates.
pub(crate) fn issues(
    reconcile: Reconcile,
    capabilities: &crate::Capabilities,
    has_covariates: bool,
) -> Vec<ParamIssue> {
    let issue = |message: &str| ParamIssue {
        field: KEY,
        message: message.into(),
    };
    let mut issues = Vec::new();
    if reconcile.is_none() {
        return issues;
    }
    if capabilities.reads_runs {
        issues.push(issue(
            "an ensemble combines its members' forecasts: give `reconcile` to the members",
        ));
    } else if reconcile == Reconcile::MinTrace && !capabilities.residuals {
        issues.push(issue(
            "min_trace estimates the error covariance from in-sample one-step residuals, which this family does not give (ets and the baselines naive, seasonal_naive, mean and drift do): use bottom_up or top_down",
        ));
    } else if reconcile.forecasts_aggregates() && capabilities.reads_features && has_covariates {
        issues.push(issue(
            "the aggregates have no covariates: reconcile a family that reads `[features]` only without covariates",
        ));
    }
    issues
}
