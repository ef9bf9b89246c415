//! The N-HiTS network (Challu et al., 2023) as a burn [`Module`], the
//! forward pass of neuralforecast's `NHITS` (the reference of
//! `tests/goldens/make_nhits.py`): a sequence of stacks of MLP blocks, each
//! reading the residual of the input window max-pooled at its stack's rate,
//! emitting a backcast subtracted from the residual and a few forecast knots
//! linearly interpolated to the horizon; the forecast is the last input
//! value plus every block's interpolated knots.
//!
//! With every pooling size and every downsampling factor 1 (each block
//! emits one knot per horizon step, so interpolation is the identity) it is
//! N-BEATS' generic architecture.
//!
//! Layout as in the reference, kept so that its weights load as they are:
//! the window is read newest first (the residual starts as the flipped
//! input, masked periods zeroed after each block), and a block's MLP is a
//! linear layer without activation followed by `mlp_units` linear layers
//! each followed by a ReLU, then the linear layer to the block's
//! coefficients (`input_size` backcast values, then the knots: one set per
//! output, quantile-major, when it forecasts quantiles). Dropout, while
//! training, follows each hidden layer's ReLU, as in the reference.
//!
//! Covariates, as the reference reads them: a block's MLP reads its pooled
//! residual, then the past-only covariates over the window and the
//! known-in-advance ones over the window and horizon, each pooled at the
//! block's rate and laid out period by period (all channels of a period
//! together), then the static columns.

use crate::rng::{SplitMix64, derive};
use crate::window::data::{Batch, CovariateWidths};
use crate::window::layers::{Dropout, Linear, Weights, WeightsError};
use crate::window::{Inputs, Outputs, WindowNetwork};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData, activation};
use trendlab_spec::WindowTraining;

/// What fixes an N-HiTS network's layout besides its weights.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NhitsShape {
    /// Periods of the input window.
    pub input_size: usize,
    /// Periods forecast.
    pub horizon: usize,
    /// Width of each hidden layer (the reference's `mlp_units`, `[[w, w], ...]`).
    pub hidden: Vec<usize>,
    /// Per stack (one block each): its max-pooling size and its frequency
    /// downsampling factor (`horizon / factor` knots, at least one).
    pub stacks: Vec<(usize, usize)>,
    /// Outputs per horizon step: 1, or one per quantile of a quantile loss.
    #[serde(default = "crate::window::one_output")]
    pub outputs: usize,
    /// Covariate channels it reads.
    #[serde(default)]
    pub covariates: CovariateWidths,
}

impl NhitsShape {
    /// The network `config` describes for `horizon` periods, with
    /// `outputs` per step, reading `covariates`.
    pub fn of(
        config: &trendlab_spec::NhitsConfig,
        horizon: usize,
        outputs: usize,
        covariates: CovariateWidths,
    ) -> NhitsShape {
        NhitsShape {
            input_size: config.input_size,
            horizon,
            hidden: config.mlp_units.clone(),
            stacks: config.block_rates(),
            outputs,
            covariates,
        }
    }

    /// Per block, the widths along its MLP: its input (the pooled residual
    /// and covariates), the first hidden width, the hidden widths, then its
    /// coefficients.
    fn widths(&self, pool: usize, factor: usize) -> Vec<usize> {
        let c = self.covariates;
        let futr_pooled = (self.input_size + self.horizon).div_ceil(pool);
        let input = self.pooled(pool) * (1 + c.hist) + c.futr * futr_pooled + c.stat;
        let mut widths = vec![input, self.hidden[0]];
        widths.extend(&self.hidden);
        widths.push(self.input_size + self.outputs * self.knots(factor));
        widths
    }

    /// The input window pooled at `pool`: `⌈input_size / pool⌉` values.
    fn pooled(&self, pool: usize) -> usize {
        self.input_size.div_ceil(pool)
    }

    /// The knots of a stack downsampling by `factor`.
    fn knots(&self, factor: usize) -> usize {
        (self.horizon / factor).max(1)
    }
}

/// One block: its MLP, from the pooled residual to its coefficients.
#[derive(Module, Debug)]
pub struct NhitsBlock {
    layers: Vec<Linear>,
}

#[derive(Module, Debug)]
pub struct NhitsNetwork {
    blocks: Vec<NhitsBlock>,
}

impl NhitsNetwork {
    /// A network of `shape` with seeded random weights (torch's default
    /// initialisation of linear layers).
    pub fn init(shape: &NhitsShape, seed: u64, device: &Device) -> Self {
        <Self as WindowNetwork>::init(shape, seed, device)
    }

    fn init_random(shape: &NhitsShape, seed: u64, device: &Device) -> Self {
        let blocks = shape
            .stacks
            .iter()
            .enumerate()
            .map(|(b, &(pool, factor))| {
                let mut rng = SplitMix64::new(derive(seed, &[b as u64]));
                let layers = shape
                    .widths(pool, factor)
                    .windows(2)
                    .map(|pair| Linear::init(pair[0], pair[1], &mut rng, device))
                    .collect();
                NhitsBlock { layers }
            })
            .collect();
        NhitsNetwork { blocks }
    }

    /// The network of `shape` from a state dict in safetensors (the
    /// reference's names under `prefix`: `{prefix}blocks.{b}.layers.{k}.weight`,
    /// each `[out, in]` as torch stores it).
    pub fn from_safetensors(
        shape: &NhitsShape,
        bytes: &[u8],
        prefix: &str,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weights = Weights::new(bytes, prefix)?;
        let mut blocks = Vec::with_capacity(shape.stacks.len());
        for (b, &(pool, factor)) in shape.stacks.iter().enumerate() {
            let widths = shape.widths(pool, factor);
            // Torch's indexes in its Sequential: activations take a slot.
            let mut index = 0;
            let mut layers = Vec::with_capacity(widths.len() - 1);
            for (k, pair) in widths.windows(2).enumerate() {
                let name = format!("blocks.{b}.layers.{index}");
                layers.push(Linear::read(&weights, &name, pair[0], pair[1], device)?);
                let hidden_layer = k >= 1 && k <= shape.hidden.len();
                index += if hidden_layer { 2 } else { 1 };
            }
            blocks.push(NhitsBlock { layers });
        }
        Ok(NhitsNetwork { blocks })
    }

    /// Forecasts `[rows, outputs * horizon]` (one row of the horizon per
    /// output) from a batch's `inputs`.
    pub fn forward(&self, shape: &NhitsShape, inputs: Inputs) -> Tensor<2> {
        self.forward_training(shape, inputs, None)
    }

    /// [`Self::forward`], with `dropout` after each hidden layer.
    fn forward_training(&self, shape: &NhitsShape, inputs: Inputs, dropout: Option<Dropout>) -> Tensor<2> {
        let Inputs {
            y,
            mask,
            futr,
            hist,
            stat,
        } = inputs;
        let [rows, input] = y.dims();
        let device = y.device();
        let outputs = shape.outputs;
        let last = y.clone().narrow(1, input - 1, 1);
        let mut forecast = last.repeat_dim(1, outputs * shape.horizon);
        let mut residual = y.flip([1]);
        let mask = mask.flip([1]);
        for (b, (block, &(pool, factor))) in self.blocks.iter().zip(&shape.stacks).enumerate() {
            let mut parts = vec![max_pool(residual.clone(), pool)];
            parts.extend(hist.iter().chain(&futr).map(|c| pool_channels(c.clone(), pool)));
            parts.extend(stat.clone());
            let mut x = Tensor::cat(parts, 1);
            let hidden = shape.hidden.len();
            for (k, layer) in block.layers.iter().enumerate() {
                x = layer.forward(x);
                if k >= 1 && k <= hidden {
                    x = activation::relu(x);
                    x = Dropout::apply(dropout, x, &[b as u64, k as u64]);
                }
            }
            let knots = shape.knots(factor);
            let backcast = x.clone().narrow(1, 0, input);
            let coefficients = x.narrow(1, input, outputs * knots).reshape([rows * outputs, knots]);
            let interpolation = Tensor::from_data(
                TensorData::new(linear_interpolation(knots, shape.horizon), [knots, shape.horizon]),
                &device,
            );
            forecast = forecast
                + coefficients
                    .matmul(interpolation)
                    .reshape([rows, outputs * shape.horizon]);
            residual = (residual - backcast) * mask.clone();
        }
        debug_assert_eq!(forecast.dims(), [rows, outputs * shape.horizon]);
        forecast
    }
}

impl WindowNetwork for NhitsNetwork {
    type Shape = NhitsShape;
    const NAME: &'static str = "nhits";

    fn init(shape: &NhitsShape, seed: u64, device: &Device) -> Self {
        Self::init_random(shape, seed, device)
    }

    fn outputs(shape: &NhitsShape) -> usize {
        shape.outputs
    }

    fn forward_windows(&self, shape: &NhitsShape, inputs: Inputs, dropout: Option<Dropout>) -> Tensor<2> {
        self.forward_training(shape, inputs, dropout)
    }

    /// None: N-HiTS' step is a few wide products, which burn's `flex`
    /// backend runs with the same `gemm` kernels a host path would.
    fn host_step(
        &self,
        _: &NhitsShape,
        _: &Batch,
        _: Dropout,
        _: (&WindowTraining, &Outputs),
    ) -> Option<(f64, GradientsParams)> {
        None
    }
}

/// Channels `[rows, periods, channels]` max-pooled along the periods at
/// `size`, flattened period by period: `[rows, ⌈periods / size⌉ · channels]`.
fn pool_channels(x: Tensor<3>, size: usize) -> Tensor<2> {
    let [rows, periods, channels] = x.dims();
    let pooled = periods.div_ceil(size);
    let by_channel = x.swap_dims(1, 2).reshape([rows * channels, periods]);
    max_pool(by_channel, size)
        .reshape([rows, channels, pooled])
        .swap_dims(1, 2)
        .reshape([rows, pooled * channels])
}

/// Max over consecutive windows of `size` periods along dimension 1, the
/// last window shorter when `size` does not divide the length (torch's
/// `MaxPool1d(size, stride=size, ceil_mode=True)`).
fn max_pool(x: Tensor<2>, size: usize) -> Tensor<2> {
    if size == 1 {
        return x;
    }
    let [rows, length] = x.dims();
    let pooled = length.div_ceil(size);
    let padding = pooled * size - length;
    let x = if padding > 0 {
        let filler: Tensor<2> = Tensor::full([rows, padding], f32::NEG_INFINITY, &x.device());
        Tensor::cat(vec![x, filler], 1)
    } else {
        x
    };
    x.reshape([rows, pooled, size]).max_dim(2).reshape([rows, pooled])
}

/// The `[knots, horizon]` matrix of torch's linear interpolation of
/// `knots` values to `horizon` (`F.interpolate(mode="linear",
/// align_corners=False)`): output `j` samples the input at
/// `(j + ½)·knots/horizon − ½`, clamped at 0, between its two neighbours.
pub fn linear_interpolation(knots: usize, horizon: usize) -> Vec<f32> {
    let mut matrix = vec![0.0f32; knots * horizon];
    let scale = knots as f64 / horizon as f64;
    for j in 0..horizon {
        let source = ((j as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (source.floor() as usize).min(knots - 1);
        let i1 = if i0 + 1 < knots { i0 + 1 } else { i0 };
        let weight = (source - i0 as f64) as f32;
        matrix[i0 * horizon + j] += 1.0 - weight;
        matrix[i1 * horizon + j] += weight;
    }
    matrix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_matches_torch_by_hand() {
        // Two knots to four steps: sources -0.25→0, 0.25, 0.75, 1.25→clamped to the last.
        let m = linear_interpolation(2, 4);
        let row = |i: usize| m[i * 4..(i + 1) * 4].to_vec();
        assert_eq!(row(0), vec![1.0, 0.75, 0.25, 0.0]);
        assert_eq!(row(1), vec![0.0, 0.25, 0.75, 1.0]);
        // As many knots as steps: the identity.
        let m = linear_interpolation(3, 3);
        assert_eq!(m, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn max_pool_takes_the_last_short_window_too() {
        let device = Device::flex();
        let x: Tensor<2> = Tensor::from_data(TensorData::new(vec![1.0f32, 5.0, 2.0, -1.0, 3.0], [1, 5]), &device);
        let pooled = max_pool(x, 2).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(pooled, vec![5.0, 2.0, 3.0]);
    }
}
