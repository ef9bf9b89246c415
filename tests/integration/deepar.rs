//! The DeepAR network equals neuralforecast's: the reference's seeded
//! weights (tests/goldens/make_deepar.py, neuralforecast 3.3) loaded into
//! trendlab's LSTM give the reference's raw outputs, distribution
//! parameters and mean negative log-likelihood within 1e-5 relative, for
//! the normal, Student-t and negative binomial likelihoods and the normal
//! one reading known-in-advance and static covariates (each step reads the
//! value, then the covariates, then the static columns), on the CPU kernel
//! and through the burn module (the path GPUs take).

use crate::common::repo;
use serde_json::Value;
use trendlab_neural::burn::tensor::{Device, Tensor, TensorData};
use trendlab_neural::deepar::likelihood::{Dist, Emission};
use trendlab_neural::deepar::weights::from_safetensors;
use trendlab_neural::kernel::{Shape, infer};
use trendlab_neural::network::LstmNetwork;
use trendlab_spec::Likelihood;

fn golden() -> Value {
    serde_json::from_slice(&std::fs::read(repo().join("tests/goldens/deepar_forward.json")).unwrap()).unwrap()
}

fn floats(value: &Value) -> Vec<f32> {
    serde_json::from_value::<Vec<f32>>(value.clone()).unwrap()
}

fn close(ours: f64, theirs: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
        "{what}: {ours} vs neuralforecast's {theirs}"
    );
}

fn params(dist: Dist) -> Vec<f64> {
    match dist {
        Dist::Normal { mean, std } => vec![mean, std],
        Dist::StudentT { df, loc, scale } => vec![df, loc, scale],
        Dist::NegativeBinomial { total_count, probs } => vec![total_count, probs],
        Dist::Tweedie { log_mu, .. } => vec![log_mu],
    }
}

#[test]
fn outputs_distributions_and_likelihoods_equal_neuralforecasts() {
    let golden = golden();
    let weights = std::fs::read(repo().join("tests/goldens/deepar_weights.safetensors")).unwrap();
    let rows: Vec<Vec<f32>> = serde_json::from_value(golden["windows"].clone()).unwrap();
    let futr: Vec<Vec<Vec<f32>>> = serde_json::from_value(golden["futr_exog"].clone()).unwrap();
    let stat: Vec<Vec<f32>> = serde_json::from_value(golden["stat_exog"].clone()).unwrap();
    let steps = rows[0].len();
    // Per window and step: the value, then (with covariates) the step's
    // known-in-advance covariates and the window's static columns.
    let step_inputs = |r: usize, t: usize, exogenous: bool| -> Vec<f32> {
        let mut x = vec![rows[r][t]];
        if exogenous {
            x.extend(&futr[r][t]);
            x.extend(&stat[r]);
        }
        x
    };
    let (loc, scale, y) = (floats(&golden["loc"]), floats(&golden["scale"]), floats(&golden["y"]));
    let cases = [
        ("normal", Likelihood::Normal),
        ("student_t", Likelihood::StudentT),
        ("negative_binomial", Likelihood::NegativeBinomial),
        ("normal_exogenous", Likelihood::Normal),
    ];
    assert_eq!(golden["cases"].as_object().unwrap().len(), cases.len());
    for (name, likelihood) in cases {
        let case = &golden["cases"][name];
        let exogenous = case["exogenous"].as_bool().unwrap();
        let width = step_inputs(0, 0, exogenous).len();
        let x: Vec<f32> = (0..rows.len())
            .flat_map(|r| (0..steps).flat_map(move |t| step_inputs(r, t, exogenous)))
            .collect();
        let emission = Emission {
            likelihood,
            tweedie_power: 1.5,
        };
        let shape = Shape {
            input: width,
            hidden: golden["hidden"].as_u64().unwrap() as usize,
            layers: golden["layers"].as_u64().unwrap() as usize,
            extra: 0,
            outputs: emission.outputs(),
            gate: 0,
        };
        let flat = from_safetensors(&shape, &weights, &format!("{name}.")).unwrap();
        let windows = infer::Windows {
            rows: rows.len(),
            steps,
            x: &x,
            extra: &[],
            gate: &[],
        };
        let kernel = infer::predict(&shape, &flat, &windows);
        // The burn module (time-major input), the path GPUs take.
        let device = Device::flex();
        let network = LstmNetwork::from_flat(&shape, &flat, &device);
        let time_major: Vec<f32> = (0..steps)
            .flat_map(|t| (0..rows.len()).flat_map(move |r| step_inputs(r, t, exogenous)))
            .collect();
        let empty = || Tensor::<2>::from_data(TensorData::new(Vec::<f32>::new(), [rows.len(), 0]), &device);
        let burn = network
            .forward(
                Tensor::from_data(TensorData::new(time_major, [steps, rows.len(), width]), &device),
                empty(),
                empty(),
                None,
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let raw: Vec<Vec<f32>> = serde_json::from_value(case["raw"].clone()).unwrap();
        let expected: Vec<Vec<f64>> = serde_json::from_value(case["params"].clone()).unwrap();
        let p = shape.outputs;
        let mut nll = 0.0;
        for (r, theirs) in raw.iter().enumerate() {
            for k in 0..p {
                close(
                    f64::from(kernel[r * p + k]),
                    f64::from(theirs[k]),
                    &format!("{name} raw {r}.{k} (kernel)"),
                );
                close(
                    f64::from(burn[r * p + k]),
                    f64::from(theirs[k]),
                    &format!("{name} raw {r}.{k} (burn)"),
                );
            }
            let dist = emission.decouple(&kernel[r * p..(r + 1) * p], loc[r], scale[r]);
            for (k, ours) in params(dist).into_iter().enumerate() {
                close(ours, expected[k][r], &format!("{name} parameter {k} of window {r}"));
            }
            nll += dist.nll(f64::from(y[r]));
        }
        close(
            nll / raw.len() as f64,
            case["mean_nll"].as_f64().unwrap(),
            &format!("{name} mean NLL"),
        );
    }
}

#[test]
fn a_state_dict_of_the_wrong_size_is_refused_by_name() {
    let weights = std::fs::read(repo().join("tests/goldens/deepar_weights.safetensors")).unwrap();
    let shape = Shape {
        input: 1,
        hidden: 16,
        layers: 2,
        extra: 0,
        outputs: 2,
        gate: 0,
    };
    let err = from_safetensors(&shape, &weights, "normal.").unwrap_err().to_string();
    assert!(err.contains("normal.hist_encoder.weight_ih_l0"), "{err}");
}
