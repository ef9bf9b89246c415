//! The PatchTST network equals neuralforecast's: the reference's seeded
//! weights, with random batch-norm statistics and positions
//! (tests/goldens/make_patchtst.py, neuralforecast 3.3), loaded into
//! trendlab's module give the reference's forecasts within 1e-5 relative in
//! inference, for its defaults (RevIN minus the last value, residual
//! attention, post-norm, GELU), for RevIN by the mean with affine
//! parameters, plain attention, pre-norm and ReLU, and for the defaults
//! forecasting three quantiles (MQLoss).

use crate::common::repo;
use serde_json::Value;
use trendlab_neural::burn::tensor::{Device, Tensor, TensorData};
use trendlab_neural::patchtst::{PatchtstNetwork, PatchtstShape};
use trendlab_neural::window::layers::WeightsError;

fn golden() -> Value {
    serde_json::from_slice(&std::fs::read(repo().join("tests/goldens/patchtst_forward.json")).unwrap()).unwrap()
}

fn shape(golden: &Value, options: &Value) -> PatchtstShape {
    let size = |key: &str| golden[key].as_u64().unwrap() as usize;
    let flag = |key: &str, default: bool| options.get(key).and_then(Value::as_bool).unwrap_or(default);
    PatchtstShape {
        input_size: size("input_size"),
        horizon: size("h"),
        patch_len: size("patch_len"),
        stride: size("stride"),
        d_model: size("hidden_size"),
        heads: size("n_heads"),
        ff: size("linear_hidden_size"),
        layers: size("encoder_layers"),
        subtract_last: flag("revin_subtract_last", true),
        affine: flag("revin_affine", false),
        residual_attention: flag("res_attention", true),
        pre_norm: flag("batch_normalization", false),
        relu: options.get("activation").and_then(Value::as_str) == Some("relu"),
        outputs: options.get("quantiles").and_then(Value::as_array).map_or(1, Vec::len),
    }
}

#[test]
fn the_forward_pass_equals_neuralforecasts() {
    let golden = golden();
    let weights = std::fs::read(repo().join("tests/goldens/patchtst_weights.safetensors")).unwrap();
    let device = Device::flex();
    let rows: Vec<Vec<f32>> = serde_json::from_value(golden["windows"].clone()).unwrap();
    let shape_of = [rows.len(), rows[0].len()];
    let windows = Tensor::<2>::from_data(TensorData::new(rows.concat(), shape_of), &device);
    let cases = golden["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 3);
    for (name, case) in cases {
        let shape = shape(&golden, &case["options"]);
        assert_eq!(shape.patches(), 8, "(16 + 2 - 4) / 2 + 1");
        let network = PatchtstNetwork::from_safetensors(&shape, &weights, &format!("{name}."), &device).unwrap();
        let forecast = network
            .forward(&shape, windows.clone(), None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
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
    let golden = golden();
    let weights = std::fs::read(repo().join("tests/goldens/patchtst_weights.safetensors")).unwrap();
    let mut shape = shape(&golden, &serde_json::json!({}));
    shape.ff = 16;
    let error = PatchtstNetwork::from_safetensors(&shape, &weights, "defaults.", &Device::flex()).unwrap_err();
    assert_eq!(
        error,
        WeightsError::Shape {
            name: "defaults.model.backbone.encoder.layers.0.ff.0.weight".into(),
            found: vec![12, 8],
            expected: vec![16, 8],
        }
    );
    // The defaults have no RevIN affine parameters.
    shape.ff = 12;
    shape.affine = true;
    let error = PatchtstNetwork::from_safetensors(&shape, &weights, "defaults.", &Device::flex()).unwrap_err();
    assert_eq!(
        error,
        WeightsError::Missing("defaults.model.revin_layer.affine_weight".into())
    );
}
