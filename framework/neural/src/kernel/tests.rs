//! The kernel's offsets and its gradient against finite differences.

use super::*;

#[test]
fn offsets_tile_the_parameter_vector() {
    let shape = Shape {
        input: 3,
        hidden: 4,
        layers: 2,
        extra: 2,
        outputs: 5,
        gate: 0,
    };
    let total: usize = shape.tensor_shapes().iter().map(|s| s.iter().product::<usize>()).sum();
    assert_eq!(shape.len(), total);
    assert_eq!(shape.layer_offsets(1)[0], (3 + 4 + 1) * 16);
    assert_eq!(
        shape.head_offsets(),
        [
            (3 + 4 + 1) * 16 + (4 + 4 + 1) * 16,
            (3 + 4 + 1) * 16 + (4 + 4 + 1) * 16 + 6 * 5
        ]
    );
}

/// Finite differences of the loss in float64 agree with the kernel's
/// analytic gradient (the autodiff comparison is in `network`).
#[test]
fn gradient_matches_finite_differences() {
    for gate in [0, 2] {
        check_gradient(Shape {
            input: 2,
            hidden: 3,
            layers: 2,
            extra: 1,
            outputs: 2,
            gate,
        });
    }
}

fn check_gradient(shape: Shape) {
    let mut rng = crate::rng::SplitMix64::new(7);
    let params: Vec<f32> = (0..shape.len()).map(|_| rng.next_f32() - 0.5).collect();
    let (rows, steps) = (3, 4);
    let x: Vec<f32> = (0..rows * steps * shape.input)
        .map(|_| rng.next_f32() * 2.0 - 1.0)
        .collect();
    let extra: Vec<f32> = (0..rows).map(|_| rng.next_f32()).collect();
    let y: Vec<f32> = (0..rows * shape.outputs).map(|_| rng.next_f32()).collect();
    let gate: Vec<f32> = (0..rows * shape.gate).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    let batch = Batch {
        rows,
        steps,
        x: &x,
        extra: &extra,
        y: &y,
        gate: &gate,
    };
    let mut ws = Workspace::default();
    let mut grads = vec![0.0; shape.len()];
    train_step(&shape, &params, &batch, &mut ws, None, 1.0, &mut grads);
    let loss = |p: &[f32]| {
        let mut ws = Workspace::default();
        predict(&shape, p, &batch, &mut ws);
        ws.yhat
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
    };
    let close = |numeric: f64, analytic: f32, what: &str| {
        let tolerance = 2e-3 * numeric.abs().max(0.05);
        assert!(
            (numeric - f64::from(analytic)).abs() < tolerance,
            "{what} (gate {}): numeric {numeric}, analytic {analytic}",
            shape.gate
        );
    };
    let eps = 1e-2;
    let central = |up: f64, down: f64| (up - down) / (2.0 * f64::from(eps));
    for k in 0..shape.len() {
        let mut p = params.clone();
        p[k] += eps;
        let up = loss(&p);
        p[k] -= 2.0 * eps;
        close(central(up, loss(&p)), grads[k], &format!("parameter {k}"));
    }
    // Gradients of the inputs that an embedding would feed.
    let input_loss = |extra: &[f32], gate: &[f32]| {
        let mut ws = Workspace::default();
        predict(&shape, &params, &Batch { extra, gate, ..batch }, &mut ws);
        ws.yhat
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
    };
    for k in 0..extra.len() {
        let (mut up, mut down) = (extra.clone(), extra.clone());
        up[k] += eps;
        down[k] -= eps;
        close(
            central(input_loss(&up, &gate), input_loss(&down, &gate)),
            ws.d_extra[k],
            "d extra",
        );
    }
    for k in 0..gate.len() {
        let (mut up, mut down) = (gate.clone(), gate.clone());
        up[k] += eps;
        down[k] -= eps;
        close(
            central(input_loss(&extra, &up), input_loss(&extra, &down)),
            ws.d_gate[k],
            "d gate",
        );
    }
}

/// The cache-free inference pass gives the training pass's predictions
/// (to rounding: it sums the input and recurrent products before adding
/// the bias), windows read in place.
#[test]
fn inference_equals_the_training_forward_pass_exactly() {
    for (layers, gate) in [(1, 0), (2, 3)] {
        let shape = Shape {
            input: 3,
            hidden: 17,
            layers,
            extra: 2,
            outputs: 4,
            gate,
        };
        let mut rng = crate::rng::SplitMix64::new(11);
        let params: Vec<f32> = (0..shape.len()).map(|_| rng.next_f32() - 0.5).collect();
        let (rows, steps) = (37, 9);
        // Window-major, as samples hold them.
        let windows: Vec<f32> = (0..rows * steps * shape.input)
            .map(|_| rng.next_f32() * 2.0 - 1.0)
            .collect();
        let extra: Vec<f32> = (0..rows * shape.extra).map(|_| rng.next_f32()).collect();
        let gates: Vec<f32> = (0..rows * gate).map(|_| rng.next_f32()).collect();
        let mut time_major = vec![0.0; windows.len()];
        for r in 0..rows {
            for t in 0..steps {
                let (src, dst) = ((r * steps + t) * shape.input, (t * rows + r) * shape.input);
                time_major[dst..dst + shape.input].copy_from_slice(&windows[src..src + shape.input]);
            }
        }
        let batch = Batch {
            rows,
            steps,
            x: &time_major,
            extra: &extra,
            y: &[],
            gate: &gates,
        };
        let mut ws = Workspace::default();
        predict(&shape, &params, &batch, &mut ws);
        let fast = infer::predict(
            &shape,
            &params,
            &infer::Windows {
                rows,
                steps,
                x: &windows,
                extra: &extra,
                gate: &gates,
            },
        );
        // A window's prediction does not depend on the piece it is in.
        let split = 10;
        let (f, e) = (steps * shape.input, shape.extra);
        let piece = |r: std::ops::Range<usize>| {
            infer::predict(
                &shape,
                &params,
                &infer::Windows {
                    rows: r.len(),
                    steps,
                    x: &windows[r.start * f..r.end * f],
                    extra: &extra[r.start * e..r.end * e],
                    gate: &gates[r.start * gate..r.end * gate],
                },
            )
        };
        assert_eq!([piece(0..split), piece(split..rows)].concat(), fast);
        assert_eq!(fast.len(), ws.yhat.len());
        for (a, b) in fast.iter().zip(&ws.yhat) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "layers {layers}, gate {gate}: {a} vs {b}"
            );
        }
    }
}
