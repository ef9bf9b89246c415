//! From a family's spec variant to its implementation. The match is
//! exhaustive, so a new `FamilySpec` variant does not compile until its
//! module is wired here.
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
        FamilySpec::Arima(c) => c,
        FamilySpec::Lstm(_) | FamilySpec::BertFusion(_) => neural(family),
        FamilySpec::Ensemble(c) => c,
    }
}

#[cfg(feature = "neural")]
fn neural(family: &FamilySpec) -> &dyn Forecaster {
    use trendlab_neural::ref_cast::RefCast;
    use trendlab_neural::{BertFusion, Lstm};
    match family {
        FamilySpec::Lstm(c) => Lstm::ref_cast(c),
        FamilySpec::BertFusion(c) => BertFusion::ref_cast(c),
        _ => unreachable!("only neural families are passed here"),
    }
}

#[cfg(not(feature = "neural"))]
fn neural(_: &FamilySpec) -> &dyn Forecaster {
    &WithoutNeural
}

/// Stands in for the neural families in a build without them.
#[cfg(not(feature = "neural"))]
struct WithoutNeural;

#[cfg(not(feature = "neural"))]
impl Forecaster for WithoutNeural {
    fn forecast(
        &self,
        _: &trendlab_models::FoldInput<'_>,
    ) -> Result<Vec<trendlab_models::SeriesOutcome>, trendlab_models::ModelError> {
        Err(trendlab_models::ModelError::Unfit(
            "this build has no neural families (trendlab-engine without its `neural` feature)".into(),
        ))
    }
}
