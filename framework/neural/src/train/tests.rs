//! The training loop: kernel gradients against burn's autodiff, learning a
//! noise-free mapping, determinism.

use super::*;
use crate::samples::TextInputs;

fn random_samples(n: usize, steps: usize, features: usize, extra: usize, outputs: usize, seed: u64) -> Samples {
    let mut rng = SplitMix64::new(seed);
    let mut s = Samples::new(steps, features, extra, outputs);
    s.x = (0..n * steps * features).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    s.extra = (0..n * extra).map(|_| rng.next_f32()).collect();
    s.y = (0..n * outputs).map(|_| rng.next_f32()).collect();
    s
}

pub(crate) fn flat_grads(network: &LstmNetwork, grads: &GradientsParams) -> Vec<f32> {
    network
        .param_ids()
        .into_iter()
        .flat_map(|(id, rank)| {
            let data = match rank {
                1 => grads.get::<1>(id).expect("gradient").into_data(),
                _ => grads.get::<2>(id).expect("gradient").into_data(),
            };
            data.try_to_vec::<f32>().expect("floats")
        })
        .collect()
}

/// Each kernel value within `1e-4 ×` the largest autodiff value of its
/// autodiff counterpart.
pub(crate) fn assert_close(kernel: &[f32], autodiff: &[f32], what: &str) {
    assert_eq!(kernel.len(), autodiff.len(), "{what}: lengths");
    let scale = autodiff.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    for (i, (x, y)) in kernel.iter().zip(autodiff).enumerate() {
        assert!((x - y).abs() < 1e-4 * scale, "{what} {i}: kernel {x}, autodiff {y}");
    }
}

/// The kernel and burn's autodiff (on every test device: `flex`, and
/// LibTorch's CPU in a `tch` build) compute the same loss and gradients
/// for a 2-layer network with dropout and extra head inputs, over more
/// rows than one shard.
#[test]
fn kernel_gradients_equal_burn_autodiff() {
    for (name, device) in crate::device::burn_test_devices() {
        kernel_gradients_equal_autodiff_on(name, &device);
    }
}

fn kernel_gradients_equal_autodiff_on(name: &str, device: &burn::tensor::Device) {
    let samples = random_samples(150, 5, 3, 2, 4, 11);
    let shape = Shape {
        input: 3,
        hidden: 6,
        layers: 2,
        extra: 2,
        outputs: 4,
        gate: 0,
    };
    let flat = LstmNetwork::init_flat(&shape, 5);
    let rows: Vec<usize> = (0..samples.len()).rev().collect();
    let no_dropout = Dropout { rate: 0.0, seed: 1 };
    let cpu = LstmNetwork::from_flat(&shape, &flat, Backend::Kernel.params_device());
    let (loss, grads, _) = kernel_gradients(&cpu, &shape, &samples, &rows, no_dropout, false, &mut Vec::new());
    let net = LstmNetwork::from_flat(&shape, &flat, device);
    let (auto_loss, auto_grads, _) = autodiff_gradients(&net, &samples, &rows, no_dropout, false, device);
    assert!(
        (loss - auto_loss).abs() < 1e-5 * auto_loss,
        "{name}: loss {loss} vs {auto_loss}"
    );
    let (k, a) = (flat_grads(&cpu, &grads), flat_grads(&net, &auto_grads));
    assert_eq!(k.len(), shape.len());
    assert_close(&k, &a, &format!("{name}: gradient"));
    // With dropout: one shard (so both draw the same masks).
    let rows: Vec<usize> = (0..SHARD_ROWS).collect();
    let dropout = Dropout { rate: 0.3, seed: 9 };
    let (loss, grads, _) = kernel_gradients(
        &cpu,
        &shape,
        &samples,
        &rows,
        Dropout { seed: 0, ..dropout },
        false,
        &mut Vec::new(),
    );
    let shard_dropout = Dropout {
        seed: derive(0, &[0]),
        ..dropout
    };
    let (auto_loss, auto_grads, _) = autodiff_gradients(&net, &samples, &rows, shard_dropout, false, device);
    assert!(
        (loss - auto_loss).abs() < 1e-5 * auto_loss,
        "{name}: dropout loss {loss} vs {auto_loss}"
    );
    let (k, a) = (flat_grads(&cpu, &grads), flat_grads(&net, &auto_grads));
    assert_close(&k, &a, &format!("{name}: dropout gradient"));
}

/// Text vectors through the gate or beside the hidden state (BERT-fusion's
/// network): the kernel and autodiff agree too, on every test device.
#[test]
fn text_fusion_gradients_equal_burn_autodiff() {
    for ((name, device), into) in crate::device::burn_test_devices()
        .into_iter()
        .flat_map(|d| [(d.clone(), TextInto::Gate), (d, TextInto::Head)])
    {
        let mut samples = random_samples(90, 4, 2, 1, 3, 21);
        let mut rng = SplitMix64::new(5);
        samples.text = Some(TextInputs {
            into,
            width: 5,
            table: Arc::new((0..3 * 5).map(|_| rng.next_f32() * 2.0 - 1.0).collect()),
            rows: (0..samples.len()).map(|r| (r % 3) as u32).collect(),
        });
        let shape = samples.shape(4, 1);
        assert_eq!(
            (shape.extra, shape.gate),
            if into == TextInto::Gate { (1, 5) } else { (6, 0) }
        );
        let flat = LstmNetwork::init_flat(&shape, 8);
        let rows: Vec<usize> = (0..samples.len()).collect();
        let no_dropout = Dropout { rate: 0.0, seed: 1 };
        let cpu = LstmNetwork::from_flat(&shape, &flat, Backend::Kernel.params_device());
        let (loss, grads, text) = kernel_gradients(&cpu, &shape, &samples, &rows, no_dropout, true, &mut Vec::new());
        let net = LstmNetwork::from_flat(&shape, &flat, &device);
        let (auto_loss, auto_grads, auto_text) = autodiff_gradients(&net, &samples, &rows, no_dropout, true, &device);
        assert!(
            (loss - auto_loss).abs() < 1e-5 * auto_loss,
            "{name} {into:?}: loss {loss} vs {auto_loss}"
        );
        assert_eq!(text.len(), 15);
        assert_close(&text, &auto_text, &format!("{name} {into:?} text gradient"));
        let (k, a) = (flat_grads(&cpu, &grads), flat_grads(&net, &auto_grads));
        assert_eq!(k.len(), shape.len());
        assert_close(&k, &a, &format!("{name} {into:?} gradient"));
    }
}

#[test]
fn learns_a_noise_free_mapping_and_is_deterministic() {
    // y = mean of the last step's features: learnable exactly.
    let mut samples = random_samples(512, 6, 2, 0, 1, 3);
    for r in 0..samples.len() {
        let last = &samples.x[(r * 6 + 5) * 2..(r * 6 + 6) * 2];
        samples.y[r] = (last[0] + last[1]) / 2.0;
    }
    let config = TrainConfig {
        hidden: 16,
        layers: 1,
        dropout: 0.0,
        lr: 1e-2,
        batch_size: 100,
        epochs: 30,
        patience: 0,
        seed: 4,
    };
    let first = train(
        &mut samples.clone(),
        &mut Samples::default(),
        &config,
        &Backend::Kernel,
        None,
        |_| {},
    )
    .unwrap();
    let losses: Vec<f64> = first.epochs.iter().map(|e| e.train).collect();
    assert!(losses[29] < losses[0] / 20.0, "losses {losses:?}");
    let again = train(
        &mut samples,
        &mut Samples::default(),
        &config,
        &Backend::Kernel,
        None,
        |_| {},
    )
    .unwrap();
    assert_eq!(first.network.to_flat(), again.network.to_flat());
}
