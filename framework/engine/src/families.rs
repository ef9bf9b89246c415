//! From a family's spec variant to its implementation. The match is
//! exhaustive, so a new `FamilySpec` variant does not compile until its
//! module is wired here. The gradient-boosted trees come from
//! `trendlab-gbdt`, the neural families from `trendlab-neural`.

use trendlab_gbdt::Gbdt;
use trendlab_models::Forecaster;
use trendlab_neural::{BertFusion, Chronos, Deepar, Lstm, Nhits, Patchtst};
use trendlab_spec::FamilySpec;

pub fn forecaster(family: &FamilySpec) -> &dyn Forecaster {
    use trendlab_neural::ref_cast::RefCast;
    match family {
        FamilySpec::Naive(c) => c,
        FamilySpec::SeasonalNaive(c) => c,
        FamilySpec::Mean(c) => c,
        FamilySpec::Drift(c) => c,
        FamilySpec::Linear(c) => c,
        FamilySpec::Gbdt(c) => Gbdt::ref_cast(c),
        FamilySpec::Arima(c) => c,
        FamilySpec::Ets(c) => c,
        FamilySpec::Theta(c) => c,
        FamilySpec::Croston(c) => c,
        FamilySpec::Tsb(c) => c,
        FamilySpec::Adida(c) => c,
        FamilySpec::Imapa(c) => c,
        FamilySpec::Lstm(c) => Lstm::ref_cast(c),
        FamilySpec::BertFusion(c) => BertFusion::ref_cast(c),
        FamilySpec::Nhits(c) => Nhits::ref_cast(c),
        FamilySpec::Patchtst(c) => Patchtst::ref_cast(c),
        FamilySpec::Deepar(c) => Deepar::ref_cast(c),
        FamilySpec::Chronos(c) => Chronos::ref_cast(c),
        FamilySpec::Ensemble(c) => c,
    }
}
