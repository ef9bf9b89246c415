//! Neural forecasting families of trendlab, on burn: the LSTM. The only
//! crate that depends on burn, so the spec, data, classical models and
//! reports build and test without it.
//!
//! ```text
//! windows::build → train::train (kernel or autodiff gradients, burn's Adam) → train::predict
//! ```
//!
//! `family` is the [`trendlab_models::Forecaster`] the engine calls;
//! `device` maps the spec's device to a backend (GPU backends behind the
//! `cuda` and `tch` cargo features).

pub mod bert;
pub mod checkpoint;
pub mod device;
pub mod family;
pub mod fusion;
pub mod kernel;
pub mod network;
pub mod rng;
pub mod text;
pub mod train;
pub mod windows;

pub use burn;
pub use family::Lstm;
pub use fusion::BertFusion;
pub use ref_cast;
