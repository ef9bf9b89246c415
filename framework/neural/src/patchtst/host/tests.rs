//! The host path against burn's autodiff on the same training step, and
//! against itself on one and two threads.

use super::*;
use crate::device::Backend;
use crate::window::WindowNetwork;
use crate::window::data::WindowData;
use crate::window::testing::{HORIZON, sine_windows};
use crate::window::train::{burn_loss, predict_scaled, step_batch, train};
use burn::module::{Module, ModuleVisitor, Param};
use trendlab_spec::PatchtstConfig;

fn config(json: serde_json::Value) -> PatchtstConfig {
    serde_json::from_value(json).expect("a PatchTST config")
}

/// Every parameter's gradient in `grads`, in the network's order (empty
/// where it has none).
fn gradients(network: &PatchtstNetwork, grads: &GradientsParams) -> Vec<Vec<f32>> {
    struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = self
                .0
                .get::<D>(param.id)
                .map(|g| g.into_data().try_to_vec::<f32>().expect("float gradients"));
            self.1.push(values.unwrap_or_default());
        }
    }
    let mut collect = Collect(grads, Vec::new());
    network.visit(&mut collect);
    collect.1
}

/// The batch norms' running means and variances, layer by layer.
fn running(network: &PatchtstNetwork) -> Vec<Vec<f32>> {
    let values = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().expect("floats");
    network
        .layers
        .iter()
        .flat_map(|l| [&l.norm_attention, &l.norm_ff])
        .flat_map(|n| [values(n.running_mean.value()), values(n.running_var.value())])
        .collect()
}

/// Within 1e-4 of the largest magnitude of `want`, tensor by tensor, that
/// magnitude at least a thousandth of the largest of all: some gradients
/// are zero but for rounding (the keys' bias: a softmax ignores what its
/// scores share; the values' and the attention output's bias under
/// post-norm: a batch norm ignores what its tokens share).
fn assert_tensors_close(got: &[Vec<f32>], want: &[Vec<f32>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: tensors");
    let largest = |v: &[f32]| v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let floor = 1e-3 * want.iter().map(|w| largest(w)).fold(0.0, f32::max);
    assert!(floor > 0.0, "{what}: all zero");
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what} tensor {t}: lengths");
        let scale = largest(w).max(floor);
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{what} tensor {t}[{i}]: host {a}, burn {b} (scale {scale})"
            );
        }
    }
}

/// One step of `config` by the host path and by burn's autodiff on `flex`,
/// from the same weights on the same batch with the same dropout masks.
fn host_equals_burn(what: &str, config: &PatchtstConfig) {
    let data = sine_windows(config.input_size);
    let training = config.training();
    let outputs = Outputs::of(&training, &[80.0]);
    let shape = PatchtstShape::of(config, HORIZON, outputs.len());
    let device = Backend::Kernel.params_device().clone();
    let (batch, dropout) = step_batch(&data, &training, (3, 1));
    assert!(batch.rows * shape.patches() > 512, "{what}: several pieces of tokens");
    let by_burn = PatchtstNetwork::init(&shape, 7, &device);
    let loss = burn_loss(&by_burn, &shape, &data, &batch, dropout, (&training, &outputs), &device);
    let burn_value = f64::from(loss.clone().into_scalar::<f32>());
    let burn_grads = gradients(&by_burn, &GradientsParams::from_grads(loss.backward(), &by_burn));
    let by_host = PatchtstNetwork::init(&shape, 7, &device);
    let (host_value, grads) = by_host
        .host_step(&shape, &batch, dropout, (&training, &outputs))
        .expect("PatchTST has a host path");
    let host_grads = gradients(&by_host, &grads);
    eprintln!("{what}: loss host {host_value}, burn {burn_value}");
    assert!(
        (host_value - burn_value).abs() < 1e-5 * burn_value.abs(),
        "{what}: loss"
    );
    // The visitor sees the batch norms' running statistics too, which
    // have no gradient; every other tensor has one.
    let without = burn_grads.iter().filter(|g| g.is_empty()).count();
    assert_eq!(without, 4 * config.layers, "{what}: tensors without gradients");
    assert_tensors_close(&host_grads, &burn_grads, &format!("{what}: gradients"));
    assert_tensors_close(
        &running(&by_host),
        &running(&by_burn),
        &format!("{what}: running statistics"),
    );
}

#[test]
fn post_norm_gelu_residual_attention_mae_with_dropout() {
    let config = config(serde_json::json!({
        "input_size": 21, "patch_len": 8, "stride": 4, "d_model": 32, "heads": 16, "ff": 32, "layers": 3,
        "windows_batch_size": 256, "dropout": 0.2,
    }));
    // Sixteen heads (the default) take the attention's specialised kernel.
    host_equals_burn("default layout", &config);
}

#[test]
fn pre_norm_relu_affine_revin_quantiles() {
    let config = config(serde_json::json!({
        "input_size": 14, "patch_len": 4, "stride": 2, "d_model": 8, "heads": 2, "ff": 16, "layers": 2,
        "windows_batch_size": 256, "dropout": 0.1, "pre_norm": true, "activation": "relu",
        "revin_affine": true, "revin_subtract_last": false, "residual_attention": false,
        "loss": "quantile", "quantiles": [0.1, 0.5, 0.9],
    }));
    host_equals_burn("pre-norm, quantiles", &config);
}

#[test]
fn mse_without_dropout() {
    let config = config(serde_json::json!({
        "input_size": 21, "patch_len": 7, "stride": 7, "d_model": 12, "heads": 3, "ff": 24, "layers": 1,
        "windows_batch_size": 256, "dropout": 0.0, "loss": "mse",
    }));
    host_equals_burn("mse", &config);
}

/// The same step on one thread and on two: bit for bit the same.
#[test]
fn a_step_does_not_depend_on_the_thread_count() {
    let config = config(serde_json::json!({
        "input_size": 21, "patch_len": 8, "stride": 4, "d_model": 16, "heads": 4, "ff": 32, "layers": 2,
        "windows_batch_size": 256, "dropout": 0.2,
    }));
    let data = sine_windows(config.input_size);
    let training = config.training();
    let shape = PatchtstShape::of(&config, HORIZON, 1);
    let device = Backend::Kernel.params_device().clone();
    let (batch, dropout) = step_batch(&data, &training, (5, 2));
    let step = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool");
        pool.install(|| {
            let network = PatchtstNetwork::init(&shape, 3, &device);
            let (loss, grads) = train_step(&network, &shape, &batch, dropout, (&training, &Outputs::Point));
            (loss, gradients(&network, &grads), running(&network))
        })
    };
    assert_eq!(step(1), step(2));
}

/// Training by the host path and by burn's autodiff on `flex` (Adam,
/// running statistics, the learning rate's decay): after a few steps the
/// two networks forecast alike.
#[test]
fn a_short_training_ends_where_burns_does() {
    let config = config(serde_json::json!({
        "input_size": 21, "patch_len": 8, "stride": 4, "d_model": 16, "heads": 4, "ff": 32, "layers": 2,
        "windows_batch_size": 128, "dropout": 0.1, "max_steps": 6, "val_check_steps": 3, "lr": 1e-3,
        "lr_decays": 1,
    }));
    let data: WindowData = sine_windows(config.input_size);
    let training = config.training();
    let shape = PatchtstShape::of(&config, HORIZON, 1);
    let run = |backend: &Backend| {
        let trained =
            train::<PatchtstNetwork>(&data, &shape, &training, &Outputs::Point, 9, backend, |_| {}).expect("training");
        let windows: Vec<(u32, u32)> = (0..4).map(|s| (s, 40)).collect();
        let batch = data.batch(&windows, true);
        (
            trained.host_steps,
            predict_scaled(&trained.network, &shape, data.widths, &batch),
        )
    };
    let (host_steps, host) = run(&Backend::Kernel);
    let (burn_steps, burn) = run(&Backend::burn_cpu());
    assert!(host_steps && !burn_steps);
    assert_tensors_close(&[host], &[burn], "forecasts after six steps");
}
