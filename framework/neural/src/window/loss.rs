//! The window networks' training losses computed on the host: their value
//! and, for a host training path, their gradient with respect to the
//! network's outputs — the derivatives burn's autodiff takes of the same
//! losses (`train::window_loss`), zero where the loss has a kink.

use super::Outputs;
use trendlab_spec::{WindowLoss, WindowTraining};

/// The mean loss of `prediction` (`[rows, outputs * horizon]`, one row of
/// the horizon per output) against targets `y` (`[rows, horizon]`): the
/// point loss, or the mean pinball loss over the quantiles. With
/// `gradient` (as long as `prediction`), it receives the loss's gradient
/// with respect to each prediction.
pub fn window_loss(
    prediction: &[f32],
    y: &[f32],
    horizon: usize,
    (config, outputs): (&WindowTraining, &Outputs),
    mut gradient: Option<&mut [f32]>,
) -> f64 {
    let h = horizon.max(1);
    let per_row = outputs.len() * h;
    let count = (y.len() * outputs.len()).max(1);
    let scale = 1.0 / count as f64;
    let mut sum = 0.0;
    for (row, targets) in y.chunks(h).enumerate() {
        for (k, &target) in targets.iter().enumerate() {
            match outputs {
                Outputs::Point => {
                    let at = row * per_row + k;
                    let e = f64::from(prediction[at] - target);
                    let (loss, slope) = match config.loss {
                        WindowLoss::Mse => (e * e, 2.0 * e),
                        WindowLoss::Mae | WindowLoss::Quantile => (e.abs(), sign(e)),
                    };
                    sum += loss;
                    if let Some(g) = gradient.as_deref_mut() {
                        g[at] = (slope * scale) as f32;
                    }
                }
                Outputs::Quantiles(quantiles) => {
                    for (j, q) in quantiles.iter().enumerate() {
                        let at = row * per_row + j * h + k;
                        let under = f64::from(target - prediction[at]);
                        sum += (q * under).max((q - 1.0) * under);
                        if let Some(g) = gradient.as_deref_mut() {
                            let slope = match under {
                                u if u > 0.0 => -q,
                                u if u < 0.0 => 1.0 - q,
                                _ => 0.0,
                            };
                            g[at] = (slope * scale) as f32;
                        }
                    }
                }
            }
        }
    }
    sum * scale
}

fn sign(x: f64) -> f64 {
    match x {
        x if x > 0.0 => 1.0,
        x if x < 0.0 => -1.0,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(loss: &str) -> WindowTraining {
        let nhits: trendlab_spec::NhitsConfig =
            serde_json::from_value(serde_json::json!({"input_size": 4, "loss": loss})).expect("a config");
        nhits.training()
    }

    /// Hand-computed: two rows, horizon 2.
    #[test]
    fn losses_and_gradients_by_hand() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let p = [2.0, 2.0, 1.0, 5.0];
        let mut g = [0.0; 4];
        let mae = window_loss(&p, &y, 2, (&config("mae"), &Outputs::Point), Some(&mut g));
        assert_eq!((mae, g), (1.0, [0.25, 0.0, -0.25, 0.25]));
        let mse = window_loss(&p, &y, 2, (&config("mse"), &Outputs::Point), Some(&mut g));
        assert_eq!((mse, g), (1.5, [0.5, 0.0, -1.0, 0.5]));
        // Quantiles 0.1 and 0.9, each row's horizon once per quantile.
        let quantiles = Outputs::Quantiles(vec![0.1, 0.9]);
        let p = [2.0, 2.0, 0.0, 2.0, 1.0, 5.0, 3.0, 3.0];
        let mut g = [0.0; 8];
        let pinball = window_loss(&p, &y, 2, (&config("quantile"), &quantiles), Some(&mut g));
        // Row 0: 0.9·1, 0, 0.9·1, 0; row 1: 0.1·2, 0.9·1, 0, 0.9·1.
        let want = (0.9 + 0.9 + 0.2 + 0.9 + 0.9) / 8.0;
        assert!((pinball - want).abs() < 1e-12, "{pinball} vs {want}");
        let want_g = [0.9, 0.0, -0.9, 0.0, -0.1, 0.9, 0.0, -0.9].map(|v: f64| (v / 8.0) as f32);
        for (a, b) in g.iter().zip(want_g) {
            assert!((a - b).abs() < 1e-7, "{g:?} vs {want_g:?}");
        }
    }
}
