//! `family = "patchtst"`: PatchTST (Nie et al., 2023), channel-independent
//! patches of each window read by a Transformer encoder. `network` is the
//! burn module (equal to neuralforecast's `PatchTST` forward pass), `host`
//! its training step on the CPU without burn's autodiff,
//! `family` the [`trendlab_models::Forecaster`] over the shared window
//! training ([`crate::window`]).

pub mod family;
mod host;
pub mod network;

pub use family::Patchtst;
pub use network::{PatchtstNetwork, PatchtstShape};
