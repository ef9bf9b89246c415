//! Building blocks the window networks share: a linear layer stored as
//! torch stores it once transposed, seeded dropout masks, and reading a
//! reference's `state_dict` from safetensors with its names and shapes
//! checked.

use crate::fastmath::with_best_isa;
use crate::rng::{SplitMix64, derive};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

/// `x W + b`, with `W` stored `[in, out]`.
#[derive(Module, Debug)]
pub struct Linear {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
}

impl Linear {
    /// torch's default initialisation: weights and biases uniform in
    /// ±1/√inputs.
    pub fn init(inputs: usize, outputs: usize, rng: &mut SplitMix64, device: &Device) -> Linear {
        let bound = 1.0 / (inputs as f32).sqrt();
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| (2.0 * rng.next_f32() - 1.0) * bound).collect() };
        let w = draw(inputs * outputs);
        let b = draw(outputs);
        Linear {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(w, [inputs, outputs]), device)),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(b, [outputs]), device)),
        }
    }

    /// The layer `{name}.weight` (`[out, in]`) and `{name}.bias` of a state dict.
    pub fn read(
        weights: &Weights<'_>,
        name: &str,
        inputs: usize,
        outputs: usize,
        device: &Device,
    ) -> Result<Linear, WeightsError> {
        let w = weights.read(&format!("{name}.weight"), &[outputs, inputs])?;
        let bias = weights.read(&format!("{name}.bias"), &[outputs])?;
        let mut transposed = vec![0.0; w.len()];
        for o in 0..outputs {
            for i in 0..inputs {
                transposed[i * outputs + o] = w[o * inputs + i];
            }
        }
        Ok(Linear {
            w: Param::from_tensor(Tensor::from_data(
                TensorData::new(transposed, [inputs, outputs]),
                device,
            )),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(bias, [outputs]), device)),
        })
    }

    /// The weights `[in, out]` and biases on the host.
    pub fn to_host(&self) -> (Vec<f32>, Vec<f32>) {
        (host_values(&self.w), host_values(&self.b))
    }

    /// Registers host gradients of the weights (`[in, out]`) and biases.
    pub fn register(&self, (w, b): (Vec<f32>, Vec<f32>), grads: &mut GradientsParams) {
        register(&self.w, w, grads);
        register(&self.b, b, grads);
    }

    /// Applies the layer to `[rows, in]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w.val()).add(self.b.val().unsqueeze_dim(0))
    }

    /// Applies the layer to the last dimension of `[a, b, in]`.
    pub fn forward3(&self, x: Tensor<3>) -> Tensor<3> {
        let [a, b, inputs] = x.dims();
        let y = self.forward(x.reshape([a * b, inputs]));
        let outputs = y.dims()[1];
        y.reshape([a, b, outputs])
    }
}

/// A parameter's values on the host, row-major.
pub fn host_values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param
        .val()
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float parameters")
}

/// Registers `values` (of the parameter's shape) as its gradient, on the
/// parameter's device without autodiff (where burn's optimisers read them).
pub fn register<const D: usize>(param: &Param<Tensor<D>>, values: Vec<f32>, grads: &mut GradientsParams) {
    let value = param.val();
    let device = value.device().inner();
    grads.register::<D>(
        param.id,
        Tensor::from_data(TensorData::new(values, value.dims().to_vec()), &device),
    );
}

/// Dropout while training: the rate and the seed of this batch's masks.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    pub rate: f32,
    pub seed: u64,
}

impl Dropout {
    /// Elements of a mask drawn per parallel piece.
    const PIECE: usize = 1 << 16;

    /// The mask of `n` elements for `path` ([`Dropout::fill`]); `None`
    /// without dropout.
    pub fn mask(dropout: Option<Dropout>, n: usize, path: &[u64]) -> Option<Vec<f32>> {
        let mut values = vec![0.0; n];
        Self::fill(dropout, &mut values, path).then_some(values)
    }

    /// Fills `values` with the mask for `path`, which tells this mask from
    /// the batch's others: element `i` is 0 when draw `i` of the path's
    /// stream falls under the rate, else `1 / (1 − rate)`. Pieces are drawn
    /// in parallel, each draw at its index, so the mask does not depend on
    /// the thread count. Returns false (and leaves `values`) without dropout.
    pub fn fill(dropout: Option<Dropout>, values: &mut [f32], path: &[u64]) -> bool {
        let Some(d) = dropout.filter(|d| d.rate > 0.0) else {
            return false;
        };
        let seed = derive(d.seed, path);
        let kept = 1.0 / (1.0 - d.rate);
        values
            .par_chunks_mut(Self::PIECE)
            .enumerate()
            .for_each(|(piece, values)| {
                let first = (piece * Self::PIECE) as u64;
                with_best_isa(|| {
                    for (i, v) in values.iter_mut().enumerate() {
                        let u = SplitMix64::unit_f32(SplitMix64::draw_at(seed, first + i as u64));
                        *v = if u < d.rate { 0.0 } else { kept };
                    }
                })
            });
        true
    }

    /// `x` times its [`Dropout::mask`].
    pub fn apply<const D: usize>(dropout: Option<Dropout>, x: Tensor<D>, path: &[u64]) -> Tensor<D> {
        let dims = x.dims();
        let Some(values) = Self::mask(dropout, dims.iter().product(), path) else {
            return x;
        };
        let device = x.device();
        x * Tensor::from_data(TensorData::new(values, dims.to_vec()), &device)
    }
}

/// Why weights do not make a network of a shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("the weights are not a safetensors file: {0}")]
    Unreadable(String),
    #[error("the weights lack `{0}`")]
    Missing(String),
    #[error("`{name}` has shape {found:?}, the network needs {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
}

/// A reference's state dict in safetensors, its names under `prefix`.
pub struct Weights<'a> {
    file: safetensors::SafeTensors<'a>,
    prefix: &'a str,
}

impl<'a> Weights<'a> {
    pub fn new(bytes: &'a [u8], prefix: &'a str) -> Result<Self, WeightsError> {
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Unreadable(e.to_string()))?;
        Ok(Weights { file, prefix })
    }

    /// Tensor `{prefix}{name}` as f32 values, refused unless its shape is `expected`.
    pub fn read(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, WeightsError> {
        let name = format!("{}{name}", self.prefix);
        let view = self
            .file
            .tensor(&name)
            .map_err(|_| WeightsError::Missing(name.clone()))?;
        if view.shape() != expected || view.dtype() != safetensors::Dtype::F32 {
            return Err(WeightsError::Shape {
                name,
                found: view.shape().to_vec(),
                expected: expected.to_vec(),
            });
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// A 1-d tensor as a parameter on `device`.
    pub fn param1(&self, name: &str, len: usize, device: &Device) -> Result<Param<Tensor<1>>, WeightsError> {
        let values = self.read(name, &[len])?;
        Ok(Param::from_tensor(Tensor::from_data(
            TensorData::new(values, [len]),
            device,
        )))
    }

    /// A 2-d tensor as a parameter on `device`.
    pub fn param2(&self, name: &str, dims: [usize; 2], device: &Device) -> Result<Param<Tensor<2>>, WeightsError> {
        let values = self.read(name, &dims)?;
        Ok(Param::from_tensor(Tensor::from_data(
            TensorData::new(values, dims),
            device,
        )))
    }
}
