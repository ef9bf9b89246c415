//! Model families as a serde-tagged enum (`family = "..."`): one variant and
//! one config struct per family, each config in its own module of this
//! crate with its statement ([`crate::Family`]). The implementation of each
//! family lives in one module of `trendlab-models` (the neural ones in
//! `trendlab-neural`, the trees in `trendlab-gbdt`); adding a family means
//! adding a variant here, its config module, and that implementation.

use crate::arima::ArimaConfig;
use crate::baselines::{DriftConfig, MeanConfig, NaiveConfig, SeasonalNaiveConfig};
use crate::bert_fusion::BertFusionConfig;
use crate::chronos::ChronosConfig;
use crate::deepar::DeeparConfig;
use crate::ensemble::EnsembleConfig;
use crate::gbdt::GbdtConfig;
use crate::intermittent::{AdidaConfig, CrostonConfig, ImapaConfig, TsbConfig};
use crate::linear::LinearConfig;
use crate::lstm::LstmConfig;
use crate::nhits::NhitsConfig;
use crate::patchtst::PatchtstConfig;
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
    /// N-HiTS: a global network of MLP blocks over pooled windows, with
    /// interpolated multi-rate forecasts (N-BEATS' generic one without pooling).
    Nhits(NhitsConfig),
    /// PatchTST: a Transformer encoder over patches of each window (univariate).
    Patchtst(PatchtstConfig),
    /// DeepAR: a global autoregressive LSTM emitting a distribution per
    /// period, forecast by sample paths.
    Deepar(DeeparConfig),
    /// Chronos-Bolt: a pretrained forecaster from a local checkpoint,
    /// zero-shot (every series from its own history).
    Chronos(ChronosConfig),
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
