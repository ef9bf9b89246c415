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
