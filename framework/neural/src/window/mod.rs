//! What the window networks (N-HiTS, PatchTST) share: the fold's series as
//! windows scaled one by one ([`data`]), the layers they are built of
//! ([`layers`]), their losses on the host ([`loss`]), the step-based
//! training loop ([`train`]) and the family
//! around a network: training, forecasting in the series' units, the saved
//! weights and forecasting from them ([`family`]).
//!
//! A network joins by implementing [`WindowNetwork`]; it emits one row of
//! the horizon per output ([`Outputs`]: a point forecast, or one row per
//! quantile of a quantile loss).

pub mod data;
pub mod family;
pub mod layers;
pub mod loss;
pub mod train;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use data::Batch;
use layers::Dropout;
use serde::Serialize;
use serde::de::DeserializeOwned;
use trendlab_spec::{WindowLoss, WindowTraining};

/// What a batch of windows holds for a network, scaled: the input values
/// and which were observed, and the covariates when the network reads them.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[rows, input_size]`, oldest first.
    pub y: Tensor<2>,
    /// `[rows, input_size]`, 1 for observed periods.
    pub mask: Tensor<2>,
    /// Known-in-advance covariates `[rows, input_size + horizon, futr]`.
    pub futr: Option<Tensor<3>>,
    /// Past-only covariates `[rows, input_size, hist]`.
    pub hist: Option<Tensor<3>>,
    /// Static columns `[rows, stat]`.
    pub stat: Option<Tensor<2>>,
}

/// What a window network emits per horizon step.
#[derive(Debug, Clone, PartialEq)]
pub enum Outputs {
    /// One point forecast (a point loss).
    Point,
    /// These quantiles, ascending (a quantile loss).
    Quantiles(Vec<f64>),
}

impl Outputs {
    /// The outputs `config`'s loss trains, for intervals at `levels`.
    pub fn of(config: &WindowTraining, levels: &[f64]) -> Outputs {
        match config.loss {
            WindowLoss::Mae | WindowLoss::Mse => Outputs::Point,
            WindowLoss::Quantile => {
                Outputs::Quantiles(trendlab_spec::loss_quantiles(config.quantiles.as_deref(), levels))
            }
        }
    }

    /// Outputs per horizon step.
    pub fn len(&self) -> usize {
        match self {
            Outputs::Point => 1,
            Outputs::Quantiles(q) => q.len(),
        }
    }

    /// Whether there are none (never: at least the point forecast).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The default of a saved shape's `outputs` (shapes saved before quantile
/// losses had one).
pub(crate) fn one_output() -> usize {
    1
}

/// A network from scaled input windows to scaled forecasts.
pub trait WindowNetwork: Module + Clone + std::fmt::Debug {
    /// What fixes its layout besides its weights (saved beside them).
    type Shape: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned;

    /// Its name in file names and messages ("nhits").
    const NAME: &'static str;

    /// A network of `shape` with seeded random weights.
    fn init(shape: &Self::Shape, seed: u64, device: &Device) -> Self;

    /// Outputs per horizon step of a network of `shape`.
    fn outputs(shape: &Self::Shape) -> usize;

    /// Forecasts `[rows, outputs * horizon]` (one row of the horizon per
    /// output) from a batch's `inputs`; `dropout` while training.
    fn forward_windows(&self, shape: &Self::Shape, inputs: Inputs, dropout: Option<Dropout>) -> Tensor<2>;

    /// The loss and the parameters' gradients of a training step on
    /// `batch` computed on the CPU without burn's autodiff (batch norms'
    /// running statistics moving as burn's training forward moves them),
    /// for a network with such a path; `None` leaves the step to burn's
    /// autodiff.
    fn host_step(
        &self,
        shape: &Self::Shape,
        batch: &Batch,
        dropout: Dropout,
        loss: (&WindowTraining, &Outputs),
    ) -> Option<(f64, GradientsParams)>;
}

/// Test support: windows of a few noisy daily series.
#[cfg(test)]
pub(crate) mod testing {
    use super::data::WindowData;
    use crate::rng::SplitMix64;
    use trendlab_models::{FeatureSet, FoldInput};
    use trendlab_spec::WindowScaler;

    /// The forecast horizon of [`sine_windows`].
    pub(crate) const HORIZON: usize = 7;

    /// Windows of `input_size` periods of four noisy sine series of 90
    /// days (standard-scaled, no validation).
    pub(crate) fn sine_windows(input_size: usize) -> WindowData {
        let len = 90;
        let dates = trendlab_models::testing::daily_dates(len);
        let mut rng = SplitMix64::new(17);
        let targets: Vec<Vec<f64>> = (0..4)
            .map(|s| {
                (0..len)
                    .map(|t| 5.0 + s as f64 + (t as f64 * 0.9).sin() * 2.0 + f64::from(rng.next_f32()))
                    .collect()
            })
            .collect();
        let ids = ["a", "b", "c", "d"];
        let series = targets
            .iter()
            .zip(ids)
            .map(|(y, id)| trendlab_models::testing::history(id, &dates, y))
            .collect();
        let features = FeatureSet::default();
        let input = FoldInput::new(series, HORIZON, &features);
        WindowData::build(&input, input_size, Some(0), WindowScaler::Standard).expect("windows")
    }
}
