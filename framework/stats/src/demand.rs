//! Demand classes of Syntetos, Boylan & Croston (2005): a series' average
//! inter-demand interval (ADI) and the squared coefficient of variation of
//! its non-zero demand sizes (CV²) against the cut-offs 1.32 and 0.49:
//!
//! | | CV² < 0.49 | CV² ≥ 0.49 |
//! |---|---|---|
//! | ADI < 1.32 | smooth | erratic |
//! | ADI ≥ 1.32 | intermittent | lumpy |
//!
//! A demand is a positive value (returns and zeros are not demand); the
//! history is counted from the first demand, so a product launched late
//! is not intermittent for its months before launch. ADI = periods from
//! the first demand to the end / demands; CV² uses the population
//! variance of the demand sizes.

use serde::{Deserialize, Serialize};

/// The Syntetos–Boylan cut-offs.
pub const ADI_CUTOFF: f64 = 1.32;
pub const CV2_CUTOFF: f64 = 0.49;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    Smooth,
    Erratic,
    Intermittent,
    Lumpy,
    /// No positive value in the history.
    NoDemand,
}

impl DemandClass {
    pub const ALL: [DemandClass; 5] = [
        DemandClass::Smooth,
        DemandClass::Erratic,
        DemandClass::Intermittent,
        DemandClass::Lumpy,
        DemandClass::NoDemand,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DemandClass::Smooth => "smooth",
            DemandClass::Erratic => "erratic",
            DemandClass::Intermittent => "intermittent",
            DemandClass::Lumpy => "lumpy",
            DemandClass::NoDemand => "no demand",
        }
    }
}

/// What the classification saw of one history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandProfile {
    /// `None` without demand.
    pub adi: Option<f64>,
    pub cv2: Option<f64>,
    /// Periods from the first demand to the end of the history.
    pub active_periods: usize,
    pub class: DemandClass,
}

impl DemandProfile {
    pub fn of(history: &[f64]) -> DemandProfile {
        let Some(first) = history.iter().position(|v| *v > 0.0) else {
            return DemandProfile {
                adi: None,
                cv2: None,
                active_periods: 0,
                class: DemandClass::NoDemand,
            };
        };
        let active = &history[first..];
        let sizes: Vec<f64> = active.iter().copied().filter(|v| *v > 0.0).collect();
        let adi = active.len() as f64 / sizes.len() as f64;
        let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
        let variance = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / sizes.len() as f64;
        let cv2 = variance / (mean * mean);
        let class = match (adi < ADI_CUTOFF, cv2 < CV2_CUTOFF) {
            (true, true) => DemandClass::Smooth,
            (true, false) => DemandClass::Erratic,
            (false, true) => DemandClass::Intermittent,
            (false, false) => DemandClass::Lumpy,
        };
        DemandProfile {
            adi: Some(adi),
            cv2: Some(cv2),
            active_periods: active.len(),
            class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_of_each_class_by_hand() {
        // Every period, sizes 10 ± 1: ADI 1, CV² ≈ 0.01.
        let smooth = [9.0, 11.0, 10.0, 9.0, 11.0, 10.0];
        // Every period, sizes 1 and 20: ADI 1, CV² = (9.5/10.5)² ≈ 0.82.
        let erratic = [1.0, 20.0, 1.0, 20.0];
        // Leading zeros ignored; then every other period, size 5: ADI 2, CV² 0.
        let intermittent = [0.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 0.0];
        // Every third period, sizes 1 and 30: ADI 3, CV² ≈ 0.87.
        let lumpy = [1.0, 0.0, 0.0, 30.0, 0.0, 0.0];
        let class = |h: &[f64]| DemandProfile::of(h).class;
        assert_eq!(class(&smooth), DemandClass::Smooth);
        assert_eq!(class(&erratic), DemandClass::Erratic);
        assert_eq!(class(&intermittent), DemandClass::Intermittent);
        assert_eq!(class(&lumpy), DemandClass::Lumpy);
        assert_eq!(class(&[0.0, -2.0]), DemandClass::NoDemand);
        let p = DemandProfile::of(&intermittent);
        assert_eq!((p.adi, p.cv2, p.active_periods), (Some(2.0), Some(0.0), 6));
        // On the cut-off: 25 demands over 33 periods, ADI = 1.32, is intermittent.
        let mut at = vec![1.0; 33];
        at[1..9].fill(0.0);
        let p = DemandProfile::of(&at);
        assert_eq!((p.adi, p.class), (Some(1.32), DemandClass::Intermittent));
    }
}
