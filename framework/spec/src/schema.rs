//! The spec document exactly as written in TOML: one struct per section.
//! Unknown keys are rejected (`deny_unknown_fields`) so typos never pass
//! silently. Semantic checks live in `validate`.

use crate::frequency::Frequency;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole experiment file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecDocument {
    pub experiment: ExperimentSection,
    pub data: DataSection,
    #[serde(default)]
    pub features: FeaturesSection,
    pub evaluation: EvaluationSection,
    pub models: Vec<ModelEntry>,
    #[serde(default)]
    pub tracking: TrackingSection,
    #[serde(default, skip_serializing_if = "ReportSection::is_default")]
    pub report: ReportSection,
    #[serde(default, skip_serializing_if = "ScaleSection::is_default")]
    pub scale: ScaleSection,
}

/// `[scale]`: how `plan --manifest` cuts the plan into work units.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleSection {
    /// Split each run of a family that fits series one by one (baselines,
    /// ARIMA, ETS, Theta, intermittent methods, per-series linear) into work
    /// units of at most this many series, so a job array spreads them over
    /// workers; families that learn across series (linear, LSTM, gbdt) stay
    /// one unit per fold. The merged results equal a local run's.
    /// `--series-shards N` overrides it with N units per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_per_unit: Option<usize>,
}

impl ScaleSection {
    pub fn is_default(&self) -> bool {
        *self == ScaleSection::default()
    }
}

/// `[report]`: which series the report's explorer holds. Up to `all_up_to`
/// evaluated series it holds them all; past that, the union of the `top`
/// largest by volume, the `worst` by the ranking metric for the best model,
/// a seeded random `sample` and the `series` named, with a note of how many
/// were left out. Every aggregation level of the evaluation (the total, each
/// `[evaluation.wrmsse] levels` entry) has its own entries besides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Hold every series when there are at most this many. Default 500.
    #[serde(default = "ReportSection::default_all_up_to")]
    pub all_up_to: usize,
    /// The series with the largest total of the target. Default 25.
    #[serde(default = "ReportSection::default_pick")]
    pub top: usize,
    /// The series the best model forecasts worst (by the ranking metric). Default 25.
    #[serde(default = "ReportSection::default_pick")]
    pub worst: usize,
    /// Series drawn at random (seeded by the experiment's seed). Default 25.
    #[serde(default = "ReportSection::default_pick")]
    pub sample: usize,
    /// Series always held, by id.
    #[serde(default)]
    pub series: Vec<String>,
    /// Aggregate series held per aggregation level (the largest by volume). Default 25.
    #[serde(default = "ReportSection::default_pick")]
    pub per_level: usize,
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection {
            all_up_to: Self::default_all_up_to(),
            top: Self::default_pick(),
            worst: Self::default_pick(),
            sample: Self::default_pick(),
            series: Vec::new(),
            per_level: Self::default_pick(),
        }
    }
}

impl ReportSection {
    fn default_all_up_to() -> usize {
        500
    }
    fn default_pick() -> usize {
        25
    }
    pub fn is_default(&self) -> bool {
        *self == ReportSection::default()
    }
}

/// `[tracking]`: where runs are mirrored besides the local run store.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingSection {
    /// MLflow tracking server, e.g. "http://127.0.0.1:5000". Overridden by
    /// `--tracking-uri` and by the `MLFLOW_TRACKING_URI` environment variable.
    /// Credentials come only from the environment, never from the spec.
    pub mlflow: Option<String>,
}

/// `[experiment]`: identity of the experiment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Names the run store and report folders; letters, digits, `-`, `_`, `.`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice; same spec + seed gives the same numbers.
    #[serde(default)]
    pub seed: u64,
    /// The most backtest runs (configurations x folds) the grids may expand
    /// to; a larger spec is refused before anything is expanded. Default
    /// 100,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u64>,
}

impl ExperimentSection {
    /// The default of `max_runs`.
    pub const DEFAULT_MAX_RUNS: u64 = 100_000;

    pub fn max_runs(&self) -> u64 {
        self.max_runs.unwrap_or(Self::DEFAULT_MAX_RUNS)
    }
}

/// `[data]`: where the series come from and which columns mean what.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// CSV or CSV.gz file, relative to the spec file.
    pub path: String,
    /// Date column (long format; not used with `[data.aggregate]`).
    pub time: Option<String>,
    /// Series id column.
    pub id: Option<String>,
    /// Numeric target column.
    pub target: Option<String>,
    /// Sampling frequency: D, W-MON..W-SUN, MS, M.
    pub frequency: Option<Frequency>,
    /// Optional product-text column.
    pub text: Option<String>,
    /// Numeric covariate columns.
    #[serde(default)]
    pub covariates: Vec<String>,
    /// Columns constant within each series (store, department, category):
    /// one-hot (or numeric) inputs of the families that learn across series
    /// (linear, gbdt, lstm); a value that changes within a series is an error.
    #[serde(rename = "static", default, skip_serializing_if = "Vec::is_empty")]
    pub statics: Vec<String>,
    /// Known-in-advance event or flag columns (an event's name, a SNAP day):
    /// one-hot (or numeric) known-in-advance covariates of every family
    /// that reads features, ARIMA's regressors with `exogenous = true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// What to do with missing dates inside a series.
    #[serde(default)]
    pub fill: FillPolicy,
    /// Whether forecasts and interval bounds are clipped at zero. Default:
    /// when no target value in the data is negative (unit sales); `false`
    /// keeps negative forecasts, `true` clips whatever the data holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonnegative: Option<bool>,
    /// Keep only the periods on or after this date ("2014-05-24"), e.g. the
    /// last two years of a long history; a series with none left is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "date")]
    #[schemars(with = "Option<String>")]
    pub since: Option<chrono::NaiveDate>,
    /// Build series by aggregating a transaction log instead.
    pub aggregate: Option<AggregateSection>,
}

/// A date written "YYYY-MM-DD".
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let text = String::deserialize(d)?;
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a date written YYYY-MM-DD ({e})")))
}

/// Policy for dates missing from a regular series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillPolicy {
    /// Missing dates are an error naming the series and the gap.
    #[default]
    Error,
    /// Missing dates get zero target and covariates (no sale recorded).
    Zero,
}

/// `[data.aggregate]`: sum a transaction log into one series per key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateSection {
    /// Numeric column summed per (key, period); becomes the target.
    pub sum: String,
    /// Key column; one series per distinct value.
    pub by: String,
    /// Timestamp column (date or date-time).
    pub time: String,
    /// Period of the output series (may instead be set in `[data]`).
    pub frequency: Option<Frequency>,
    /// Text column; each series keeps its most frequent value.
    pub text: Option<String>,
    /// Keep only the N series with the largest summed target.
    pub top: Option<usize>,
    /// Drop rows whose summed value is zero or negative (returns, cancellations).
    #[serde(default)]
    pub positive_only: bool,
}

/// `[features]`: inputs built for feature-based models.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSection {
    #[serde(default)]
    pub lags: Vec<usize>,
    #[serde(default)]
    pub rolling: Vec<RollingSpec>,
    #[serde(default)]
    pub calendar: Vec<CalendarFeature>,
    /// Statistics over every value up to the origin (e.g. `["mean"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expanding: Vec<RollingStat>,
    /// Means of the same position in the last `windows` seasons (the mean of
    /// the last 4 Mondays: `{ season = 7, windows = [4] }`), values up to
    /// the origin only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seasonal_rolling: Vec<SeasonalRollingSpec>,
    /// Exponentially weighted means up to the origin, one per smoothing
    /// weight α in (0, 1] (weights below 1e-8 of the newest's are dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ewm: Vec<f64>,
    /// Covariates used as features (default: all of `data.covariates`).
    pub covariates: Option<Vec<String>>,
    /// Covariates known in advance (used at the target date, not lagged).
    #[serde(default)]
    pub future: Vec<String>,
}

/// Means of the same position in the last `windows` seasons of `season` periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonalRollingSpec {
    pub season: usize,
    pub windows: Vec<usize>,
}

/// One rolling window and its statistics, over past values only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollingSpec {
    pub window: usize,
    pub stats: Vec<RollingStat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollingStat {
    Mean,
    Std,
    Min,
    Max,
}

/// Calendar features of the target date. Periodic ones are encoded as a
/// sine/cosine pair; flags as 0/1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarFeature {
    DayOfWeek,
    WeekOfYear,
    Month,
    DayOfYear,
    IsMonthEnd,
    IsLeapYear,
}

/// `[evaluation]`: the rolling-origin backtest and its metrics.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    /// Periods forecast from each origin.
    pub horizon: usize,
    #[serde(default = "one")]
    pub folds: usize,
    /// Periods between consecutive origins (default: horizon).
    pub step: Option<usize>,
    #[serde(default)]
    pub window: WindowKind,
    /// Training periods per fold, for `window = "sliding"`.
    pub train_size: Option<usize>,
    /// Fewest training periods a series needs before the first origin
    /// (default: the horizon); shorter series are skipped with a warning.
    pub min_train: Option<usize>,
    #[serde(default = "default_metrics")]
    pub metrics: Vec<Metric>,
    /// Seasonal period of the MASE/RMSSE scaling.
    #[serde(default = "one")]
    pub season: usize,
    /// Metric the leaderboard is ranked by (default: the first metric; for
    /// a per-level metric, its first level).
    pub rank_by: Option<Metric>,
    /// Levels (percent) of the central prediction intervals that families
    /// with intervals write to the stored forecasts (`lo_95`, `hi_95`) and the
    /// interval metrics score.
    #[serde(default = "default_levels")]
    pub levels: Vec<f64>,
    pub wrmsse: Option<WrmsseSection>,
    /// Significance level of the leaderboard's tests (a configuration is
    /// "tied with best" when the Holm-adjusted p-value of its paired test
    /// against the best is at least alpha), of the Nemenyi critical
    /// difference, of the bootstrap intervals (1 − alpha) and of the
    /// `--fail-on-regression` gate.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Bootstrap resamples of each configuration's mean over series.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Static columns (or `a+b` combinations) whose values become extra
    /// segments of the per-segment leaderboards, besides demand pattern,
    /// history length and volume tier.
    #[serde(default)]
    pub segments: Vec<String>,
    /// A series with fewer periods of history (from its first sale) at a
    /// fold's cutoff is a new product there (default: twice the larger of
    /// the horizon and the season).
    pub new_product_periods: Option<usize>,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_bootstrap() -> usize {
    1000
}

fn default_levels() -> Vec<f64> {
    vec![95.0]
}

fn one() -> usize {
    1
}

fn default_metrics() -> Vec<Metric> {
    vec![Metric::Mae, Metric::Rmse, Metric::Mase]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// Train on everything before the origin.
    #[default]
    Expanding,
    /// Train on the last `train_size` periods before the origin.
    Sliding,
}

/// Accuracy metrics. See the README for each definition.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Metric {
    Mae,
    Rmse,
    Mape,
    Smape,
    Mase,
    Rmsse,
    Wape,
    Bias,
    R2,
    Wrmsse,
    /// Share of actuals inside the central prediction interval, per level
    /// (`coverage_95`); ranked by the distance from the nominal level.
    Coverage,
    /// Winkler interval score per level (`winkler_95`): width plus 2/α
    /// times any miss.
    Winkler,
    /// Pinball (quantile) loss averaged over the interval bounds of every
    /// level and the median (the point forecast).
    Pinball,
}

impl Metric {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Whether the metric scores prediction intervals.
    pub fn needs_intervals(self) -> bool {
        matches!(self, Metric::Coverage | Metric::Winkler | Metric::Pinball)
    }

    /// Whether an ensemble can rank members by this metric: a per-series
    /// score of point forecasts where smaller is better.
    pub fn ranks_members(self) -> bool {
        matches!(
            self,
            Metric::Mae | Metric::Rmse | Metric::Mape | Metric::Smape | Metric::Mase | Metric::Rmsse | Metric::Wape
        )
    }

    /// The values the metric yields under the interval `levels`: one per
    /// level for coverage and Winkler, one otherwise.
    pub fn scores(self, levels: &[f64]) -> Vec<Score> {
        match self {
            Metric::Coverage | Metric::Winkler => levels
                .iter()
                .map(|l| Score {
                    metric: self,
                    level: Some(*l),
                })
                .collect(),
            _ => vec![Score {
                metric: self,
                level: None,
            }],
        }
    }
}

/// One reported value: a metric, at an interval level for per-level metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub metric: Metric,
    /// Percent (95 for the 95% interval).
    pub level: Option<f64>,
}

impl Score {
    /// The key in metrics.json, the leaderboard and MLflow: `mase`, `coverage_95`.
    pub fn name(&self) -> String {
        match self.level {
            Some(level) => format!("{}_{level}", self.metric.name()),
            None => self.metric.name().to_string(),
        }
    }

    /// How two values compare when ranking (smaller is better): r2 larger,
    /// bias closer to zero, coverage closer to its nominal level.
    pub fn rank_key(&self, value: f64) -> f64 {
        match (self.metric, self.level) {
            (Metric::R2, _) => -value,
            (Metric::Bias, _) => value.abs(),
            (Metric::Coverage, Some(level)) => (value - level / 100.0).abs(),
            _ => value,
        }
    }
}

/// `[evaluation.wrmsse]`: the M5 weighted RMSSE over a hierarchy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WrmsseSection {
    /// Numeric column whose sum over the last `weight_periods` training
    /// periods weights each series (default: the target itself).
    pub weight: Option<String>,
    #[serde(default = "twenty_eight")]
    pub weight_periods: usize,
    /// Aggregation levels besides the total and the series themselves: a
    /// column name (`"store_id"`) or columns joined by `+` (`"state_id+cat_id"`).
    #[serde(default)]
    pub levels: Vec<String>,
}

fn twenty_eight() -> usize {
    28
}

/// One `[[models]]` entry: a name, a family with its parameters, and a grid
/// of parameter values to sweep. Family parameters are checked against the
/// family's own config struct (see `families`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub family: String,
    #[serde(default)]
    pub grid: BTreeMap<String, toml::Value>,
    /// Memory one run of this model needs, in GB: `trendlab run --jobs N`
    /// never runs more runs at once than fit in its memory budget. Where a
    /// run executes, not what it computes: not part of run ids.
    #[serde(default)]
    pub memory_gb: Option<f64>,
    #[serde(flatten)]
    pub params: BTreeMap<String, toml::Value>,
}

impl JsonSchema for ModelEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ModelEntry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::model_schema::model_entry(generator)
    }
}
