//! What the window networks (`nhits`, `patchtst`) share: how a window is
//! scaled, their losses (point or quantile), and the options of their
//! step-based training loop, gathered from each family's config.

use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a window is scaled by statistics of its own input periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowScaler {
    /// Subtract the input mean, divide by the input standard deviation.
    #[default]
    Standard,
    /// Subtract the input median, divide by its median absolute deviation.
    Robust,
    /// The values as they are.
    None,
}

/// The training loss of a window network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowLoss {
    /// Mean absolute error (the point forecast is a median).
    #[default]
    Mae,
    /// Mean squared error (the point forecast is a mean).
    Mse,
    /// The mean pinball loss over `quantiles` (neuralforecast's `MQLoss`):
    /// one output per quantile; the median is the point forecast and the
    /// quantiles give the intervals.
    Quantile,
}

/// The quantiles a quantile loss trains: those given (`quantiles`), else
/// the median and both ends of each of the experiment's interval `levels`
/// (as `MQLoss(level=...)`); ascending, without repeats.
pub fn loss_quantiles(given: Option<&[f64]>, levels: &[f64]) -> Vec<f64> {
    let mut q: Vec<f64> = match given {
        Some(given) => given.to_vec(),
        None => std::iter::once(0.5)
            .chain(levels.iter().flat_map(|l| level_ends(*l)))
            .collect(),
    };
    q.sort_by(f64::total_cmp);
    q.dedup_by(|a, b| (*a - *b).abs() < QUANTILE_TOLERANCE);
    q
}

/// The quantiles at the ends of the central interval at `level` percent.
pub fn level_ends(level: f64) -> [f64; 2] {
    [(100.0 - level) / 200.0, (100.0 + level) / 200.0]
}

/// How close two quantiles must be to count as one.
pub const QUANTILE_TOLERANCE: f64 = 1e-9;

/// The position in `quantiles` of the quantile `q`, if there.
pub fn quantile_index(quantiles: &[f64], q: f64) -> Option<usize> {
    quantiles.iter().position(|x| (x - q).abs() < QUANTILE_TOLERANCE)
}

/// What is wrong with `loss` and `quantiles` for intervals at `levels`.
pub(crate) fn loss_issues(loss: WindowLoss, quantiles: Option<&[f64]>, levels: &[f64]) -> Vec<ParamIssue> {
    let Some(given) = quantiles else { return Vec::new() };
    if loss != WindowLoss::Quantile {
        return ParamIssue::one("quantiles", "quantiles are trained by loss = \"quantile\" only");
    }
    if given.is_empty() || given.iter().any(|q| !(*q > 0.0 && *q < 1.0)) {
        return ParamIssue::one("quantiles", "quantiles must list values strictly between 0 and 1");
    }
    let q = loss_quantiles(Some(given), levels);
    if quantile_index(&q, 0.5).is_none() {
        return ParamIssue::one("quantiles", "quantiles must include 0.5, the point forecast");
    }
    for level in levels {
        let ends = level_ends(*level);
        if ends.iter().any(|e| quantile_index(&q, *e).is_none()) {
            return ParamIssue::one(
                "quantiles",
                format!(
                    "the {level}% interval of `[evaluation] levels` needs quantiles {} and {}; add them \
                     (or leave quantiles out to train the levels' own)",
                    ends[0], ends[1]
                ),
            );
        }
    }
    Vec::new()
}

/// The options of the step-based training loop, as each window family's
/// config states them.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTraining {
    pub input_size: usize,
    pub dropout: f64,
    pub scaler: WindowScaler,
    pub loss: WindowLoss,
    /// With a quantile loss: the quantiles given, or `None` for the
    /// levels' own ([`loss_quantiles`]).
    pub quantiles: Option<Vec<f64>>,
    pub max_steps: usize,
    pub batch_size: usize,
    pub windows_batch_size: usize,
    pub lr: f64,
    pub lr_decays: usize,
    pub val_check_steps: usize,
    pub patience: usize,
    pub validation: Option<usize>,
    pub device: ComputeDevice,
}

// The training loop's defaults, neuralforecast's.
pub(crate) fn default_max_steps() -> usize {
    1000
}
pub(crate) fn default_batch_size() -> usize {
    32
}
pub(crate) fn default_windows_batch_size() -> usize {
    1024
}
pub(crate) fn default_val_check_steps() -> usize {
    100
}
pub(crate) fn default_patience() -> usize {
    5
}

/// A fixed number of "epochs" for a step-based family: that many rounds of
/// `val_check_steps` steps, no early stopping, no validation. Sets
/// `[max_steps, patience]` and `validation`; always applies.
pub(crate) fn fix_epochs(
    epochs: usize,
    val_check_steps: usize,
    [max_steps, patience]: [&mut usize; 2],
    validation: &mut Option<usize>,
) -> bool {
    *max_steps = epochs.max(1) * val_check_steps;
    *patience = 0;
    *validation = Some(0);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_levels_unless_given() {
        assert_eq!(loss_quantiles(None, &[80.0, 95.0]), vec![0.025, 0.1, 0.5, 0.9, 0.975]);
        assert_eq!(
            loss_quantiles(Some(&[0.9, 0.5, 0.1, 0.5]), &[80.0]),
            vec![0.1, 0.5, 0.9]
        );
        assert_eq!(quantile_index(&[0.1, 0.5, 0.9], 0.9), Some(2));
    }

    #[test]
    fn given_quantiles_must_suit_the_loss_and_the_levels() {
        let message = |loss, q: &[f64]| {
            loss_issues(loss, Some(q), &[80.0])
                .first()
                .map(|i| i.message.clone())
                .unwrap_or_default()
        };
        assert!(message(WindowLoss::Mae, &[0.5]).contains("loss = \"quantile\""));
        assert!(message(WindowLoss::Quantile, &[0.5, 1.0]).contains("strictly between"));
        assert!(message(WindowLoss::Quantile, &[0.1, 0.9]).contains("include 0.5"));
        assert!(message(WindowLoss::Quantile, &[0.05, 0.5, 0.95]).contains("needs quantiles 0.1 and 0.9"));
        assert!(message(WindowLoss::Quantile, &[0.1, 0.5, 0.9, 0.3]).is_empty());
        assert!(loss_issues(WindowLoss::Quantile, None, &[80.0]).is_empty());
    }
}
