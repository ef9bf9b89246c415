//! From a family's spec variant to its implementation. The match is
//! exhaustive, so a new `FamilySpec` variant does not compile until its
//! module is wired here.
//!
//! The gradient-boosted trees come from `trendlab-gbdt` (perpetual), behind
//! the engine's default feature `gbdt`, for the same reason.
//!
//! The neural families come from `trendlab-neural` (burn, tokenizers),
//! behind the engine's default feature `neural`: crates that only read the
//! run store (the report, tracking, the cluster launchers) use the engine
//! without it, and build without burn. Without it, a neural run fails with
//! the reason.

use trendlab_models::Forecaster;
use trendlab_spec::FamilySpec;

pub fn forecaster(family: &FamilySpec) -> &dyn Forecaster {
    match family {
        FamilySpec::Naive(c) => c,
        FamilySpec::SeasonalNaive(c) => c,
        FamilySpec::Mean(c) => c,
        FamilySpec::Drift(c) => c,
        FamilySpec::Linear(c) => c,
        FamilySpec::Gbdt(c) => trees::gbdt(c),
        FamilySpec::Arima(c) => c,
        FamilySpec::Ets(c) => c,
        FamilySpec::Theta(c) => c,
        FamilySpec::Croston(c) => c,
        FamilySpec::Tsb(c) => c,
        FamilySpec::Adida(c) => c,
        FamilySpec::Imapa(c) => c,
        FamilySpec::Lstm(c) => neural::lstm(c),
        FamilySpec::BertFusion(c) => neural::bert_fusion(c),
        FamilySpec::Ensemble(c) => c,
    }
}

#[cfg(feature = "gbdt")]
mod trees {
    use trendlab_gbdt::Gbdt;
    use trendlab_gbdt::ref_cast::RefCast;
    use trendlab_models::Forecaster;
    use trendlab_spec::GbdtConfig;

    pub fn gbdt(config: &GbdtConfig) -> &dyn Forecaster {
        Gbdt::ref_cast(config)
    }
}

/// Stands in for the tree family in a build without it.
#[cfg(not(feature = "gbdt"))]
mod trees {
    use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
    use trendlab_spec::GbdtConfig;

    struct WithoutTrees;

    impl Forecaster for WithoutTrees {
        fn forecast(&self, _: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
            Err(ModelError::Unfit(
                "this build has no gbdt family (trendlab-engine without its `gbdt` feature)".into(),
            ))
        }
    }

    pub fn gbdt(_: &GbdtConfig) -> &'static dyn Forecaster {
        &WithoutTrees
    }
}

#[cfg(feature = "neural")]
mod neural {
    use trendlab_models::Forecaster;
    use trendlab_neural::ref_cast::RefCast;
    use trendlab_neural::{BertFusion, Lstm};
    use trendlab_spec::{BertFusionConfig, LstmConfig};

    pub fn lstm(config: &LstmConfig) -> &dyn Forecaster {
        Lstm::ref_cast(config)
    }

    pub fn bert_fusion(config: &BertFusionConfig) -> &dyn Forecaster {
        BertFusion::ref_cast(config)
    }
}

/// Stands in for the neural families in a build without them: their runs
/// fail with the reason.
#[cfg(not(feature = "neural"))]
mod neural {
    use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
    use trendlab_spec::{BertFusionConfig, LstmConfig};

    struct WithoutNeural;

    impl Forecaster for WithoutNeural {
        fn forecast(&self, _: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
            Err(ModelError::Unfit(
                "this build has no neural families (trendlab-engine without its `neural` feature)".into(),
            ))
        }
    }

    pub fn lstm(_: &LstmConfig) -> &'static dyn Forecaster {
        &WithoutNeural
    }

    pub fn bert_fusion(_: &BertFusionConfig) -> &'static dyn Forecaster {
        &WithoutNeural
    }
}
