//! `family = "patchtst"` as a [`Forecaster`]: the PatchTST network of the
//! config's shape, through the window family ([`crate::window::family`]).

use super::network::{PatchtstNetwork, PatchtstShape};
use ref_cast::RefCast;
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
use trendlab_spec::{Activation, PatchtstConfig};

/// The PatchTST family: its configuration seen as a [`Forecaster`].
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct Patchtst(pub PatchtstConfig);

impl PatchtstShape {
    /// The network `config` describes for `horizon` periods.
    pub fn of(config: &PatchtstConfig, horizon: usize, outputs: usize) -> PatchtstShape {
        PatchtstShape {
            input_size: config.input_size,
            horizon,
            patch_len: config.patch_len,
            stride: config.stride,
            d_model: config.d_model,
            heads: config.heads,
            ff: config.ff,
            layers: config.layers,
            subtract_last: config.revin_subtract_last,
            affine: config.revin_affine,
            residual_attention: config.residual_attention,
            pre_norm: config.pre_norm,
            relu: config.activation == Activation::Relu,
            outputs,
        }
    }
}

impl Forecaster for Patchtst {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        crate::window::family::forecast::<PatchtstNetwork>(input, &self.0.training(), false, |outputs, _| {
            PatchtstShape::of(&self.0, input.horizon, outputs.len())
        })
    }
}
