//! `family = "nhits"` as a [`Forecaster`]: the N-HiTS network of the
//! config's shape, through the window family ([`crate::window::family`]).

use super::network::{NhitsNetwork, NhitsShape};
use ref_cast::RefCast;
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
use trendlab_spec::NhitsConfig;

/// The N-HiTS family: its configuration seen as a [`Forecaster`].
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct Nhits(pub NhitsConfig);

impl Forecaster for Nhits {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        crate::window::family::forecast::<NhitsNetwork>(
            input,
            &self.0.training(),
            self.0.exogenous,
            |outputs, widths| NhitsShape::of(&self.0, input.horizon, outputs.len(), widths),
        )
    }
}
