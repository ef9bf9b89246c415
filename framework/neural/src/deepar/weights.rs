//! neuralforecast's `DeepAR` weights in the kernel's layout: its
//! `hist_encoder` (torch's `nn.LSTM`: `weight_ih_l{k}` `[4H, in]`,
//! `weight_hh_l{k}` `[4H, H]`, two biases, gate blocks i, f, g, o as the
//! kernel's) and its linear `decoder`, transposed into the flat vector
//! [`crate::network::LstmNetwork::from_flat`] reads, the two biases summed.

use crate::kernel::Shape;
use crate::window::layers::{Weights, WeightsError};

/// The flat parameters of a network of `shape` (no extra inputs, no gate)
/// from a state dict in safetensors, its names under `prefix`.
pub fn from_safetensors(shape: &Shape, bytes: &[u8], prefix: &str) -> Result<Vec<f32>, WeightsError> {
    let weights = Weights::new(bytes, prefix)?;
    let (h, g) = (shape.hidden, 4 * shape.hidden);
    let transposed = |values: Vec<f32>, rows: usize, cols: usize| -> Vec<f32> {
        (0..cols)
            .flat_map(|c| (0..rows).map(move |r| (r, c)))
            .map(|(r, c)| values[r * cols + c])
            .collect()
    };
    let mut flat = Vec::with_capacity(shape.len());
    for l in 0..shape.layers {
        let inputs = if l == 0 { shape.input } else { h };
        let w_ih = weights.read(&format!("hist_encoder.weight_ih_l{l}"), &[g, inputs])?;
        let w_hh = weights.read(&format!("hist_encoder.weight_hh_l{l}"), &[g, h])?;
        let b_ih = weights.read(&format!("hist_encoder.bias_ih_l{l}"), &[g])?;
        let b_hh = weights.read(&format!("hist_encoder.bias_hh_l{l}"), &[g])?;
        flat.extend(transposed(w_ih, g, inputs));
        flat.extend(transposed(w_hh, g, h));
        flat.extend(b_ih.iter().zip(&b_hh).map(|(a, b)| a + b));
    }
    let out = shape.outputs;
    let w = weights.read("decoder.layers.0.weight", &[out, h])?;
    flat.extend(transposed(w, out, h));
    flat.extend(weights.read("decoder.layers.0.bias", &[out])?);
    Ok(flat)
}
