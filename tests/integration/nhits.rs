//! The N-HiTS network equals neuralforecast's: the reference's seeded
//! weights (tests/goldens/make_nhits.py, neuralforecast 3.3) loaded into
//! trendlab's module give the reference's forecasts within 1e-5 relative,
//! for N-HiTS proper (pooling and downsampling 4, 2, 1, linear
//! interpolation of the knots), N-BEATS' generic architecture (all 1),
//! N-HiTS forecasting three quantiles (MQLoss) and N-HiTS reading future,
//! past and static covariates, on windows with a masked period.

use crate::common::repo;
use serde_json::Value;
use trendlab_neural::burn::tensor::{Device, Tensor, TensorData};
use trendlab_neural::nhits::{NhitsNetwork, NhitsShape};
use trendlab_neural::window::Inputs;
use trendlab_neural::window::data::CovariateWidths;
use trendlab_neural::window::layers::WeightsError as NhitsWeightsError;

fn golden() -> Value {
    serde_json::from_slice(&std::fs::read(repo().join("tests/goldens/nhits_forward.json")).unwrap()).unwrap()
}

fn matrix(value: &Value) -> (Vec<f32>, [usize; 2]) {
    let rows: Vec<Vec<f32>> = serde_json::from_value(value.clone()).unwrap();
    let shape = [rows.len(), rows[0].len()];
    (rows.into_iter().flatten().collect(), shape)
}

#[test]
fn the_forward_pass_equals_neuralforecasts() {
    let golden = golden();
    let weights = std::fs::read(repo().join("tests/goldens/nhits_weights.safetensors")).unwrap();
    let device = Device::flex();
    let tensor = |value: &Value| {
        let (data, shape) = matrix(value);
        Tensor::<2>::from_data(TensorData::new(data, shape), &device)
    };
    let channels = |value: &Value| {
        let rows: Vec<Vec<Vec<f32>>> = serde_json::from_value(value.clone()).unwrap();
        let shape = [rows.len(), rows[0].len(), rows[0][0].len()];
        let data: Vec<f32> = rows.into_iter().flatten().flatten().collect();
        (Tensor::<3>::from_data(TensorData::new(data, shape), &device), shape[2])
    };
    let hidden: Vec<[usize; 2]> = serde_json::from_value(golden["mlp_units"].clone()).unwrap();
    let cases = golden["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (name, case) in cases {
        let pools: Vec<usize> = serde_json::from_value(case["pool"].clone()).unwrap();
        let factors: Vec<usize> = serde_json::from_value(case["downsample"].clone()).unwrap();
        let quantiles = case["quantiles"].as_array().map_or(1, Vec::len);
        let exogenous = case["exogenous"].as_bool().unwrap();
        let (futr, futr_width) = channels(&golden["futr_exog"]);
        let (hist, hist_width) = channels(&golden["hist_exog"]);
        let (stat_values, [_, stat_width]) = matrix(&golden["stat_exog"]);
        let shape = NhitsShape {
            input_size: golden["input_size"].as_u64().unwrap() as usize,
            horizon: golden["h"].as_u64().unwrap() as usize,
            hidden: hidden.iter().map(|[_, w]| *w).collect(),
            stacks: pools.into_iter().zip(factors).collect(),
            outputs: quantiles,
            covariates: if exogenous {
                CovariateWidths {
                    futr: futr_width,
                    hist: hist_width,
                    stat: stat_width,
                }
            } else {
                CovariateWidths::default()
            },
        };
        let network = NhitsNetwork::from_safetensors(&shape, &weights, &format!("{name}."), &device).unwrap();
        let inputs = Inputs {
            y: tensor(&golden["windows"]),
            mask: tensor(&golden["mask"]),
            futr: exogenous.then_some(futr),
            hist: exogenous.then_some(hist),
            stat: exogenous.then(|| Tensor::from_data(TensorData::new(stat_values, [4, stat_width]), &device)),
        };
        let forecast = network.forward(&shape, inputs).into_data().try_to_vec::<f32>().unwrap();
        // [window][output][step], as trendlab's [window, output · step].
        let expected: Vec<Vec<Vec<f32>>> = serde_json::from_value(case["forecast"].clone()).unwrap();
        let expected: Vec<f32> = expected.into_iter().flatten().flatten().collect();
        assert_eq!(forecast.len(), expected.len());
        for (k, (ours, theirs)) in forecast.iter().zip(&expected).enumerate() {
            assert!(
                (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
                "{name}: value {k}: {ours} vs neuralforecast's {theirs}"
            );
        }
    }
}

#[test]
fn weights_of_another_shape_are_refused_naming_the_tensor() {
    let weights = std::fs::read(repo().join("tests/goldens/nhits_weights.safetensors")).unwrap();
    let shape = NhitsShape {
        input_size: 10,
        horizon: 6,
        hidden: vec![16, 16],
        stacks: vec![(4, 4), (2, 2), (1, 1)],
        outputs: 1,
        covariates: CovariateWidths::default(),
    };
    let error = NhitsNetwork::from_safetensors(&shape, &weights, "nhits.", &Device::flex()).unwrap_err();
    // A 10-period window: the pooled input still fits, the coefficients
    // (10 backcast values and a knot) do not.
    assert_eq!(
        error,
        NhitsWeightsError::Shape {
            name: "nhits.blocks.0.layers.5.weight".into(),
            found: vec![13, 16],
            expected: vec![11, 16],
        }
    );
    let error = NhitsNetwork::from_safetensors(&shape, &weights, "other.", &Device::flex()).unwrap_err();
    assert_eq!(
        error,
        NhitsWeightsError::Missing("other.blocks.0.layers.0.weight".into())
    );
    let error = NhitsNetwork::from_safetensors(&shape, b"not weights", "nhits.", &Device::flex()).unwrap_err();
    assert!(matches!(error, NhitsWeightsError::Unreadable(_)), "{error:?}");
}
