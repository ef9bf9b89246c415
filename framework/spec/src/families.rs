//! Model families as a serde-tagged enum (`family = "..."`): one variant and
//! one config struct per family. The implementation of each family lives in
//! one module of `trendlab-models`; adding a family means adding a variant
//! here and that module there.

use crate::bert_fusion::BertFusionConfig;
use crate::capabilities::{Capabilities, CheckContext, Family, Intervals, univariate_with_intervals};
use crate::ensemble::EnsembleConfig;
use crate::gbdt::GbdtConfig;
use crate::intermittent::{AdidaConfig, CrostonConfig, ImapaConfig, TsbConfig};
use crate::statistical::{EtsConfig, ThetaConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A model family with its (fully resolved) parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(tag = "family", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FamilySpec {
    /// Repeats the last observed value.
    Naive(NaiveConfig),
    /// Repeats the last observed season.
    SeasonalNaive(SeasonalNaiveConfig),
    /// Forecasts the mean of the training values (or of the last `window`).
    Mean(MeanConfig),
    /// Extends the line from the first to the last training value.
    Drift(DriftConfig),
    /// Ridge / OLS regression on the `[features]`.
    Linear(LinearConfig),
    /// Seasonal ARIMA by exact maximum likelihood.
    Arima(ArimaConfig),
    /// A global gradient-boosted tree model on the `[features]`.
    Gbdt(GbdtConfig),
    /// Exponential smoothing state-space models (AutoETS with `Z` letters).
    Ets(EtsConfig),
    /// Standard, optimised and dynamic Theta methods (AutoTheta by default).
    Theta(ThetaConfig),
    /// Croston's method for intermittent demand (classic, SBA, optimised).
    Croston(CrostonConfig),
    /// Teunter–Syntetos–Babai intermittent demand.
    Tsb(TsbConfig),
    /// Aggregate–disaggregate intermittent demand approach.
    Adida(AdidaConfig),
    /// Intermittent multiple aggregation prediction algorithm.
    Imapa(ImapaConfig),
    /// A global LSTM over windows of history, direct multi-step output.
    Lstm(LstmConfig),
    /// The LSTM fused with a pretrained BERT's embedding of the product text.
    BertFusion(BertFusionConfig),
    /// A combination of other models' forecasts (read from the run store).
    Ensemble(EnsembleConfig),
}

/// A parameter that failed a family's own check.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamIssue {
    pub field: &'static str,
    pub message: String,
}

impl ParamIssue {
    /// A list of one issue.
    pub fn one(field: &'static str, message: impl Into<String>) -> Vec<ParamIssue> {
        vec![ParamIssue {
            field,
            message: message.into(),
        }]
    }
}

impl FamilySpec {
    /// The family's spec name (`"seasonal_naive"`).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Parameters as a JSON object (without the family tag), for run records.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut value = serde_json::to_value(self).expect("family configs serialise");
        let map = value.as_object_mut().expect("tagged enum serialises to an object");
        map.remove("family");
        std::mem::take(map)
    }

    /// The ensemble's configuration, for the family that combines other
    /// models' forecasts (it runs after them and reads their results).
    pub fn ensemble(&self) -> Option<&EnsembleConfig> {
        if let FamilySpec::Ensemble(c) = self {
            Some(c)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NaiveConfig {}

// Families without parameters: each series' own history, on the CPU,
// with their own intervals.
crate::capabilities::unchecked_family!(univariate_with_intervals(); NaiveConfig, DriftConfig);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonalNaiveConfig {
    /// Season length in periods (7 for daily data with a weekly cycle).
    pub season: usize,
}

impl Family for SeasonalNaiveConfig {
    fn capabilities(&self) -> Capabilities {
        univariate_with_intervals()
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        match self.season {
            0 => ParamIssue::one("season", "season must be at least 1"),
            _ => Vec::new(),
        }
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanConfig {
    /// Average only the last `window` training values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

impl Family for MeanConfig {
    fn capabilities(&self) -> Capabilities {
        univariate_with_intervals()
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        match self.window {
            Some(0) => ParamIssue::one("window", "window must be at least 1"),
            _ => Vec::new(),
        }
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// L2 penalty; 0 gives ordinary least squares.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// One model per series instead of one global model.
    #[serde(default)]
    pub per_series: bool,
    /// How multi-step forecasts are produced.
    #[serde(default)]
    pub strategy: Strategy,
    /// Per-series scaling of the target (fitted on each fold's training data).
    #[serde(default)]
    pub scaling: Scaling,
}

impl Family for LinearConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            reads_features: true,
            future_covariates: false,
            reads_text: false,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: Intervals::None,
            saves_fit: true,
            // One model per series with `per_series`; else one across them.
            per_series: self.per_series,
            residuals: false,
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        if self.alpha >= 0.0 && self.alpha.is_finite() {
            Vec::new()
        } else {
            ParamIssue::one("alpha", "alpha must be a finite number >= 0")
        }
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

fn default_alpha() -> f64 {
    1.0
}

/// Multi-step forecasting strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One one-step model applied repeatedly, feeding forecasts back as lags.
    #[default]
    Recursive,
    /// One model per horizon step, each using only what is known at the origin.
    Direct,
}

/// Per-series target scaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    None,
    /// Divide by the mean absolute training value.
    #[default]
    MeanAbs,
    /// Subtract the training mean, divide by the training standard deviation.
    Standard,
    /// Map the training range to [0, 1].
    MinMax,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArimaConfig {
    /// `[p, d, q]`: AR order, differences, MA order (not with `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<[usize; 3]>,
    /// `[P, D, Q, s]`: seasonal AR order, seasonal differences, seasonal MA order, period.
    #[serde(default)]
    pub seasonal_order: [usize; 4],
    /// Deterministic trend: "n" none, "c" constant, "t" linear in time (a
    /// drift when d + D = 1), "ct" both; default "c" without differencing, else "n".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<ArimaTrend>,
    /// Choose the orders per series: Hyndman-Khandakar stepwise search on AICc.
    #[serde(default)]
    pub auto: bool,
    /// Seasonal period the automatic search considers (with `auto`; default 1: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<usize>,
    /// With `auto`: rank candidates by conditional sums of squares and refit
    /// only the winner by exact likelihood (as `auto.arima`'s
    /// `approximation`); default: on for series longer than 150 periods or
    /// seasons longer than 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximation: Option<bool>,
    /// With `auto`: choose each series' orders on the first fold of the
    /// backtest and refit those orders on later folds.
    #[serde(default)]
    pub reuse_order: bool,
    /// Regress on the experiment's known-in-advance covariates
    /// (`[features] covariates` marked future): ARIMAX.
    #[serde(default)]
    pub exogenous: bool,
}

impl Family for ArimaConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            // ARIMAX reads the known-in-advance covariates of `[features]`.
            reads_features: self.exogenous,
            future_covariates: self.exogenous,
            reads_text: false,
            reads_runs: false,
            reuses_first_fold: self.reuse_order,
            intervals: Intervals::Own,
            saves_fit: true,
            per_series: true,
            residuals: false,
        }
    }
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = self.check_orders();
        if self.exogenous && !context.has_future_covariates {
            issues.extend(ParamIssue::one(
                "exogenous",
                "exogenous regressors come from `[features] future`, which lists none",
            ));
        }
        issues
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

/// Deterministic trend of an ARIMA model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ArimaTrend {
    #[serde(rename = "n")]
    N,
    #[serde(rename = "c")]
    C,
    #[serde(rename = "t")]
    T,
    #[serde(rename = "ct")]
    Ct,
}

impl ArimaTrend {
    /// The statsmodels default: a constant without differencing, else nothing.
    pub fn default_for(differences: usize) -> ArimaTrend {
        if differences == 0 { ArimaTrend::C } else { ArimaTrend::N }
    }

    /// Powers of time the trend holds (0 for the constant, 1 for the slope).
    pub fn powers(self) -> &'static [usize] {
        match self {
            ArimaTrend::N => &[],
            ArimaTrend::C => &[0],
            ArimaTrend::T => &[1],
            ArimaTrend::Ct => &[0, 1],
        }
    }
}

impl ArimaConfig {
    fn check_orders(&self) -> Vec<ParamIssue> {
        let issue = |field, message: String| vec![ParamIssue { field, message }];
        match (self.auto, self.order) {
            (true, Some(_)) => {
                return issue(
                    "order",
                    "with auto = true the search chooses the orders; remove `order`".into(),
                );
            }
            (false, None) => return issue("auto", "arima needs `order = [p, d, q]` (or `auto = true`)".into()),
            _ => {}
        }
        if self.auto && self.seasonal_order != [0; 4] {
            return issue(
                "seasonal_order",
                "with auto = true give the period as `season`; the search chooses the orders".into(),
            );
        }
        if self.auto && self.trend.is_some() {
            return issue(
                "trend",
                "with auto = true the search chooses the mean or drift; remove `trend`".into(),
            );
        }
        for (set, field) in [
            (self.season.is_some(), "season"),
            (self.approximation.is_some(), "approximation"),
            (self.reuse_order, "reuse_order"),
        ] {
            if set && !self.auto {
                return issue(field, format!("`{field}` applies to auto = true"));
            }
        }
        let [p, d, q] = self.order.unwrap_or_default();
        let [sp, sd, sq, s] = self.seasonal_order;
        if sp + sd + sq > 0 && s < 2 {
            return issue(
                "seasonal_order",
                format!("a seasonal part needs a period s >= 2, got {s}"),
            );
        }
        if p + q + sp + sq > 30 || d > 2 || sd > 1 {
            return issue(
                "order",
                "orders are limited to p + q + P + Q <= 30, d <= 2, D <= 1".into(),
            );
        }
        if let Some(trend) = self.trend {
            if let Some(power) = trend.powers().iter().find(|power| **power < d + sd) {
                return issue(
                    "trend",
                    format!(
                        "with d + D = {} differences a trend term of power {power} is differenced away; \
                         use a trend of power >= {} (\"t\" is a drift when d + D = 1)",
                        d + sd,
                        d + sd
                    ),
                );
            }
        }
        Vec::new()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Periods of history the network reads (the window length).
    pub input_size: usize,
    /// Hidden units per layer.
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_one")]
    pub layers: usize,
    /// Dropout on each layer's outputs while training (between layers and
    /// before the output layer), in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// Adam learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Windows per gradient step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Maximum passes over the training windows.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Stop after this many epochs without a better validation loss
    /// (0: train all epochs); the best epoch's weights forecast.
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// Periods at the end of each series' training part held out for
    /// validation (windows whose targets all fall there); default: the
    /// horizon. 0 trains on everything and keeps the last epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Per-series scaling of the target, fitted on the training part.
    #[serde(default = "default_lstm_scaling")]
    pub scaling: Scaling,
    /// What the outputs are measured from: `none` (the scaled targets
    /// themselves) or `window_mean` (departures from the mean of the input
    /// window, added back: helps a level or trend beyond the training range).
    #[serde(default)]
    pub anchor: Anchor,
    /// Where to train: "cpu" or "cuda:N" (needs a build with a GPU feature).
    #[serde(default)]
    pub device: ComputeDevice,
}

impl Family for LstmConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: Some(self.device),
            reads_features: true,
            future_covariates: false,
            reads_text: false,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: Intervals::None,
            saves_fit: true,
            // One network across series.
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        self.check_params()
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        Some(&mut self.device)
    }
    fn fix_epochs(&mut self, epochs: usize) -> bool {
        self.epochs = epochs.max(1);
        self.patience = 0;
        self.validation = Some(0);
        true
    }
}

fn default_hidden() -> usize {
    64
}
fn default_one() -> usize {
    1
}
fn default_lr() -> f64 {
    1e-3
}
fn default_batch_size() -> usize {
    64
}
fn default_epochs() -> usize {
    50
}
fn default_patience() -> usize {
    5
}
fn default_lstm_scaling() -> Scaling {
    Scaling::Standard
}

impl LstmConfig {
    pub(crate) fn check_params(&self) -> Vec<ParamIssue> {
        let issue = |field, message: &str| {
            vec![ParamIssue {
                field,
                message: message.to_string(),
            }]
        };
        let positive = [
            (self.input_size, "input_size"),
            (self.hidden, "hidden"),
            (self.layers, "layers"),
            (self.batch_size, "batch_size"),
            (self.epochs, "epochs"),
        ];
        if let Some((_, field)) = positive.iter().find(|(v, _)| *v == 0) {
            return issue(field, &format!("{field} must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return issue("dropout", "dropout must be in [0, 1)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return issue("lr", "lr must be a finite number > 0");
        }
        Vec::new()
    }
}

/// The level a sequence model's outputs are measured from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    #[default]
    None,
    WindowMean,
}

/// Where a neural family trains and predicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(with = "String")]
pub enum ComputeDevice {
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal.
    Cuda(usize),
}

impl std::str::FromStr for ComputeDevice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let cuda = |n: &str| n.parse().map(ComputeDevice::Cuda).ok();
        match s {
            "cpu" => Ok(ComputeDevice::Cpu),
            "cuda" => Ok(ComputeDevice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(cuda)
                .ok_or_else(|| format!("unknown device `{s}`; expected \"cpu\" or \"cuda:N\" (e.g. \"cuda:0\")")),
        }
    }
}

impl TryFrom<String> for ComputeDevice {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<ComputeDevice> for String {
    fn from(d: ComputeDevice) -> String {
        d.to_string()
    }
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeDevice::Cpu => f.write_str("cpu"),
            ComputeDevice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}
