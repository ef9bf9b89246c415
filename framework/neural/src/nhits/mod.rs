//! `family = "nhits"`: N-HiTS (Challu et al., 2023) — N-BEATS' generic
//! architecture when nothing is pooled or downsampled. `network` is the
//! burn module (equal to neuralforecast's `NHITS` forward pass), `family`
//! the [`trendlab_models::Forecaster`] over the shared window training
//! ([`crate::window`]).

pub mod family;
pub mod network;

pub use family::Nhits;
pub use network::{NhitsNetwork, NhitsShape, linear_interpolation};
