//! What the window networks (N-HiTS, PatchTST) share: the fold's series as
//! windows scaled one by one ([`data`]), the layers they are built of
//! ([`layers`]), the step-based training loop ([`train`]) and the family
//! around a network: training, forecasting in the series' units, the saved
//! weights and forecasting from them ([`family`]).
//!
//! A network joins by implementing [`WindowNetwork`].

pub mod data;
pub mod family;
pub mod layers;
pub mod train;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use layers::Dropout;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A network from scaled input windows to scaled forecasts.
pub trait WindowNetwork: Module + Clone + std::fmt::Debug {
    /// What fixes its layout besides its weights (saved beside them).
    type Shape: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned;

    /// Its name in file names and messages ("nhits").
    const NAME: &'static str;

    /// A network of `shape` with seeded random weights.
    fn init(shape: &Self::Shape, seed: u64, device: &Device) -> Self;

    /// Forecasts `[rows, horizon]` from windows `x` (`[rows, input_size]`,
    /// oldest first) whose observed periods are 1 in `mask`; `dropout`
    /// while training.
    fn forward_windows(
        &self,
        shape: &Self::Shape,
        x: Tensor<2>,
        mask: Tensor<2>,
        dropout: Option<Dropout>,
    ) -> Tensor<2>;
}
