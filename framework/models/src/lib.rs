//! Forecasting families and the features they read.
//!
//! A family is one module implementing [`Forecaster`]: given the training
//! part of every series in a fold ([`FoldInput`]), it returns `horizon`
//! forecasts per series. Models never see target values after the fold's
//! origin: [`SeriesHistory`] holds only what was known then, so leakage is
//! ruled out by construction rather than by care.

pub mod accuracy;
pub mod arima;
pub mod baselines;
pub mod ensemble;
pub mod ets;
pub mod features;
pub mod intermittent;
pub mod intervals;
pub mod linear;
pub mod nelder_mead;
pub mod reconcile;
pub mod ridge;
mod saved_fits;
pub mod scaling;
pub mod seasonality;
pub mod theta;
pub mod transform;

use chrono::NaiveDate;
pub use features::FeatureSet;

/// What a model may see of one series in one fold.
#[derive(Debug, Clone)]
pub struct SeriesHistory<'a> {
    pub id: &'a str,
    pub text: Option<&'a str>,
    /// Training dates followed by the `horizon` forecast dates.
    pub dates: &'a [NaiveDate],
    /// Target values of the training dates only.
    pub target: &'a [f64],
    /// Past-only covariates, training dates only (`FeatureSet::past` order).
    pub past: Vec<&'a [f64]>,
    /// Known-in-advance covariates over training and forecast dates.
    pub future: Vec<&'a [f64]>,
}

impl SeriesHistory<'_> {
    /// Number of training periods.
    pub fn train_len(&self) -> usize {
        self.target.len()
    }
}

/// Everything a model needs to produce one fold's forecasts: what every
/// family reads, and in [`FamilyContext`] what only some do. Built with
/// [`FoldInput::new`] and the fields a caller needs set.
#[derive(Debug, Clone)]
pub struct FoldInput<'a> {
    pub series: Vec<SeriesHistory<'a>>,
    pub horizon: usize,
    pub features: &'a FeatureSet,
    pub seed: u64,
    /// Levels (percent, e.g. 80 and 95) of the central prediction intervals
    /// wanted, for families that produce them.
    pub levels: &'a [f64],
    /// The experiment's seasonal period (`[evaluation] season`): the block
    /// length of Box-Cox's λ.
    pub season: usize,
    /// Hears about training progress.
    pub observer: &'a dyn FitObserver,
    /// What only some families read.
    pub context: FamilyContext<'a>,
}

impl<'a> FoldInput<'a> {
    /// A fold of `series` to forecast `horizon` periods ahead: seed 0, no
    /// intervals, nobody listening, no family context.
    pub fn new(series: Vec<SeriesHistory<'a>>, horizon: usize, features: &'a FeatureSet) -> FoldInput<'a> {
        FoldInput {
            series,
            horizon,
            features,
            seed: 0,
            levels: &[],
            season: 1,
            observer: &(),
            context: FamilyContext::default(),
        }
    }
}

/// What only some families read, each field named by the capability that
/// needs it (see `trendlab_spec::Capabilities`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FamilyContext<'a> {
    /// What the same configuration chose per series on the backtest's first
    /// fold ([`SeriesForecast::chosen`]): families that reuse it.
    pub first_fold: Option<&'a Choices>,
    /// Files of the run: families that save checkpoints or read files named
    /// in the spec (the neural families).
    pub files: RunFiles<'a>,
    /// The members' stored forecasts (the engine reads them from the run
    /// store): families that read other runs (ensembles).
    pub members: Option<&'a ensemble::MemberForecasts>,
    /// A fit saved earlier (`forecast --from`): families that save their
    /// fit forecast from it instead of fitting; a series it lacks fails.
    pub fitted: Option<&'a FittedState>,
    /// Whether to return each series' in-sample residuals
    /// ([`SeriesForecast::residuals`]): families with `residuals`, when MinT
    /// reconciliation asks (kept otherwise, they would cost a copy of every
    /// series).
    pub residuals: bool,
}

/// What a family fitted, as `forecast` saves it in `model/` (reported
/// through [`FitObserver::fitted`]) and `forecast --from` hands it back
/// ([`FamilyContext::fitted`]): JSON shared by every series and per series;
/// a network's weights go to [`RunFiles::artifacts`] beside it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FittedState {
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub shared: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub series: std::collections::BTreeMap<String, serde_json::Value>,
}

impl FittedState {
    /// Series `id`'s state, read as a `T`; the error says why it cannot be.
    pub fn series_state<T: serde::de::DeserializeOwned>(&self, id: &str) -> Result<T, ModelError> {
        let value = self
            .series
            .get(id)
            .ok_or_else(|| ModelError::Unfit(format!("series `{id}` is not in the saved model")))?;
        serde_json::from_value(value.clone())
            .map_err(|e| ModelError::Unfit(format!("the saved model of series `{id}` is unreadable: {e}")))
    }

    /// The shared state, read as a `T`.
    pub fn shared_state<T: serde::de::DeserializeOwned>(&self) -> Result<T, ModelError> {
        serde_json::from_value(self.shared.clone())
            .map_err(|e| ModelError::Unfit(format!("the saved model is unreadable: {e}")))
    }
}

/// Where a run's files are.
#[derive(Debug, Clone, Copy)]
pub struct RunFiles<'a> {
    /// The run's directory, where a family may save files (checkpoints).
    pub artifacts: Option<&'a std::path::Path>,
    /// The folder relative paths of the spec (an encoder directory) are
    /// resolved against: the spec file's.
    pub spec_dir: &'a std::path::Path,
    /// A folder shared by the experiment's runs for results worth reusing
    /// across runs (text embeddings); none: recompute.
    pub cache: Option<&'a std::path::Path>,
}

impl Default for RunFiles<'_> {
    fn default() -> Self {
        RunFiles {
            artifacts: None,
            spec_dir: std::path::Path::new(""),
            cache: None,
        }
    }
}

/// One epoch of a trained family, as recorded in the run store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochLoss {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (MSE in scaled units).
    pub train: f64,
    /// Loss on the validation windows after the epoch.
    pub validation: Option<f64>,
    pub seconds: f64,
}

/// How a trained family's fit went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingLog {
    /// Where it trained ("cpu (trendlab LSTM kernel)").
    pub device: String,
    pub train_windows: usize,
    pub validation_windows: usize,
    pub epochs: Vec<EpochLoss>,
    /// The epoch whose weights forecast.
    pub best_epoch: usize,
    pub stopped_early: bool,
    /// File of the kept weights, relative to the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// Hears from a family while it fits (the engine records the training log
/// in the run and moves an epoch bar).
pub trait FitObserver: Sync {
    /// After each epoch; `of` is the most epochs the fit may take.
    fn epoch(&self, _epoch: &EpochLoss, _of: usize) {}
    /// Once, when the fit ends.
    fn trained(&self, _log: TrainingLog) {}
    /// Once, when an ensemble has combined its members.
    fn combined(&self, _log: &ensemble::CombinationLog) {}
    /// Once, when a tree model has fitted: gain importance per feature
    /// (shares summing to one), largest first.
    fn importance(&self, _gains: &[(String, f64)]) {}
    /// Once, when a family that saves its fit has fitted (not when it
    /// forecast from [`FamilyContext::fitted`]).
    fn fitted(&self, _state: FittedState) {}
}

/// Ignores everything.
impl FitObserver for () {}

impl std::fmt::Debug for dyn FitObserver + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FitObserver")
    }
}

/// Per-series choices of a model (series id → choice).
pub type Choices = std::collections::BTreeMap<String, serde_json::Value>;

/// One series' forecasts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesForecast {
    /// Point forecasts, one per horizon step.
    pub mean: Vec<f64>,
    /// Central prediction intervals at [`FoldInput::levels`], in that order;
    /// empty for a family without intervals.
    pub intervals: Vec<Interval>,
    /// What the model chose for the series (an automatic search's orders),
    /// recorded in the run and offered back to later folds.
    pub chosen: Option<serde_json::Value>,
    /// In-sample one-step residuals (actual minus fitted), ending at the
    /// last training period, when [`FamilyContext::residuals`] asks for
    /// them; else empty, as for a family that gives none. MinT
    /// reconciliation estimates the forecast error covariance from them.
    pub residuals: Vec<f64>,
}

/// A central prediction interval at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Percent, e.g. 95.
    pub level: f64,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl SeriesForecast {
    /// Forecasts and interval bounds at zero or above (a target that is
    /// never negative, such as unit sales).
    pub fn clip_at_zero(&mut self) {
        let clip = |v: &mut f64| *v = v.max(0.0);
        self.mean.iter_mut().for_each(clip);
        for i in &mut self.intervals {
            i.lower.iter_mut().chain(i.upper.iter_mut()).for_each(clip);
        }
    }
}

impl From<Vec<f64>> for SeriesForecast {
    fn from(mean: Vec<f64>) -> Self {
        SeriesForecast {
            mean,
            ..SeriesForecast::default()
        }
    }
}

/// A series' forecasts, or why that series could not be forecast (the other
/// series of the fold are still scored).
pub type SeriesOutcome = Result<SeriesForecast, ModelError>;

/// Why a model could not forecast a fold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("series `{series}` has {have} training periods; this model needs at least {need}")]
    TooShort { series: String, need: usize, have: usize },
    #[error("non-finite value in {what} of series `{series}` at {date}")]
    NonFinite {
        series: String,
        what: String,
        date: NaiveDate,
    },
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// A configuration that cannot run on this fold or machine (a window
    /// longer than every series, a device this build lacks, memory).
    #[error("{0}")]
    Unfit(String),
}

/// A forecasting model family with fixed hyperparameters.
pub trait Forecaster: Send + Sync {
    /// Fits on the training part of every series of the fold and returns
    /// `input.horizon` forecasts for each, in `input.series` order. An error
    /// fails the whole fold; a per-series error only that series.
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError>;
}

/// Writes `bytes` to `path` through a temporary file renamed over it, so
/// readers (and concurrent writers) see the old or the new content, never
/// a torn one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{write}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Applies a per-series forecasting rule to every series of a fold, in
/// parallel on the current rayon pool (the engine sizes it by `--jobs`).
/// Each series' result depends on that series alone, so the outcome is the
/// same on any number of threads.
pub(crate) fn per_series<T: Into<SeriesForecast>>(
    input: &FoldInput<'_>,
    rule: impl Fn(&SeriesHistory<'_>, usize) -> Result<T, ModelError> + Sync,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    use rayon::prelude::*;
    Ok(input
        .series
        .par_iter()
        .map(|s| rule(s, input.horizon).map(Into::into))
        .collect())
}

/// Shared test support (this crate's tests, the neural crate's and the
/// integration tests, through the `testing` feature): folds of daily series.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use crate::{FeatureSet, FoldInput, Forecaster, ModelError, SeriesHistory};
    use chrono::NaiveDate;

    /// `n` consecutive days from 2024-01-01.
    pub fn daily_dates(n: usize) -> Vec<NaiveDate> {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
        (0..n).map(|i| start + chrono::Days::new(i as u64)).collect()
    }

    /// A series `id` of training values `target` over the first dates of
    /// `dates` (which run on over the horizon), without text or covariates.
    pub fn history<'a>(id: &'a str, dates: &'a [NaiveDate], target: &'a [f64]) -> SeriesHistory<'a> {
        SeriesHistory {
            id,
            text: None,
            dates,
            target,
            past: vec![],
            future: vec![],
        }
    }

    /// `model`'s forecasts of the daily series `y` (from 2024-01-01).
    pub fn forecast_series(
        model: &dyn Forecaster,
        y: &[f64],
        horizon: usize,
        features: &FeatureSet,
    ) -> Result<Vec<f64>, ModelError> {
        Ok(forecast_with_levels(model, y, horizon, features, &[])?.mean)
    }

    /// `model`'s forecasts of the daily series `y`, with intervals at `levels`.
    pub fn forecast_with_levels(
        model: &dyn Forecaster,
        y: &[f64],
        horizon: usize,
        features: &FeatureSet,
        levels: &[f64],
    ) -> Result<crate::SeriesForecast, ModelError> {
        let dates = daily_dates(y.len() + horizon);
        let input = FoldInput {
            levels,
            ..FoldInput::new(vec![history("s", &dates, y)], horizon, features)
        };
        model.forecast(&input)?.remove(0)
    }

    /// Forecasts without features (the baselines).
    pub fn run(model: &dyn Forecaster, y: &[f64], horizon: usize) -> Result<Vec<f64>, ModelError> {
        forecast_series(model, y, horizon, &FeatureSet::default())
    }
}
