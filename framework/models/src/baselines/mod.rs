//! The baseline families: closed-form rules on one series' training values,
//! each forecasting every horizon step directly. One module per family.

mod drift;
mod mean;
mod naive;
mod seasonal_naive;

use crate::{ModelError, SeriesHistory};

/// The training values, if there are at least `need` of them.
fn require<'a>(s: &SeriesHistory<'a>, need: usize) -> Result<&'a [f64], ModelError> {
    if s.train_len() < need {
        return Err(ModelError::TooShort {
            series: s.id.to_string(),
            need,
            have: s.train_len(),
        });
    }
    Ok(s.target)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::{FeatureSet, FoldInput, Forecaster, ModelError, SeriesHistory};
    use chrono::NaiveDate;

    /// Forecasts one daily series `y` with `model`.
    pub fn run(model: &dyn Forecaster, y: &[f64], horizon: usize) -> Result<Vec<f64>, ModelError> {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let dates: Vec<NaiveDate> = (0..y.len() + horizon)
            .map(|i| start + chrono::Days::new(i as u64))
            .collect();
        let series = SeriesHistory {
            id: "s",
            text: None,
            dates: &dates,
            target: y,
            past: vec![],
            future: vec![],
        };
        let features = FeatureSet::default();
        let input = FoldInput {
            series: vec![series],
            horizon,
            features: &features,
            seed: 0,
        };
        Ok(model.forecast(&input)?.remove(0))
    }
}
