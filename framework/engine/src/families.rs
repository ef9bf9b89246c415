//! From a family's spec variant to its implementation. The match is
//! exhaustive, so a new `FamilySpec` variant does not compile until its
//! module is wired here.

use trendlab_models::Forecaster;
use trendlab_neural::ref_cast::RefCast;
use trendlab_neural::{BertFusion, Lstm};
use trendlab_spec::FamilySpec;

pub fn forecaster(family: &FamilySpec) -> &dyn Forecaster {
    match family {
        FamilySpec::Naive(c) => c,
        FamilySpec::SeasonalNaive(c) => c,
        FamilySpec::Mean(c) => c,
        FamilySpec::Drift(c) => c,
        FamilySpec::Linear(c) => c,
        FamilySpec::Arima(c) => c,
        FamilySpec::Lstm(c) => Lstm::ref_cast(c),
        FamilySpec::BertFusion(c) => BertFusion::ref_cast(c),
        FamilySpec::Ensemble(c) => c,
    }
}
