//! Chronos-Bolt equals the reference: a model with seeded random weights
//! built and saved by chronos-forecasting 2.3 (tests/goldens/
//! make_chronos_bolt.py) gives, loaded by trendlab, the reference
//! pipeline's quantile forecasts within 1e-4 relative, for contexts longer
//! and shorter than the model's, one shorter than a patch, one with missing
//! values, and a horizon past the model's prediction length; T5's
//! relative-position buckets equal torch's. Random models of the published
//! configurations (tiny, mini, small, base) load and forecast, and broken
//! checkpoints are errors naming the file and the tensor.

use crate::common::repo;
use serde_json::Value;
use std::path::Path;
use trendlab_neural::chronos::forward::bucket;
use trendlab_neural::chronos::{Bolt, CheckpointError};

fn golden() -> Value {
    let path = repo().join("tests/goldens/chronos_bolt_forecast.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn golden_dir() -> std::path::PathBuf {
    repo().join("tests/goldens/chronos_bolt_golden")
}

/// A copy of the golden checkpoint (random weights) at `dir`.
pub fn copy_golden_checkpoint(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(golden_dir().join(file), dir.join(file)).unwrap();
    }
}

#[test]
fn the_forecasts_equal_the_reference_pipelines() {
    let golden = golden();
    let model = Bolt::load(&golden_dir()).unwrap();
    let horizon = golden["horizon"].as_u64().unwrap() as usize;
    assert!(horizon > model.config.chronos().prediction_length * 2);
    let series = golden["series"].as_array().unwrap();
    let contexts = golden_contexts(&golden);
    let refs: Vec<&[f32]> = contexts.iter().map(Vec::as_slice).collect();
    let forecasts = model.forecast(&refs, horizon);
    let mut worst = (0.0f64, String::new());
    for (s, got) in series.iter().zip(&forecasts) {
        let want: Vec<Vec<f64>> = serde_json::from_value(s["forecast"].clone()).unwrap();
        assert_eq!(got.len(), want.len());
        // Relative to the size of the series' forecast at that step, so that
        // a quantile crossing zero is not held to a relative error of its own.
        for t in 0..horizon {
            let size = want.iter().map(|q| q[t].abs()).fold(0.0, f64::max).max(1e-6);
            for (q, (g, w)) in got.iter().zip(&want).enumerate() {
                let error = (f64::from(g[t]) - w[t]).abs() / size;
                if error > worst.0 {
                    worst = (
                        error,
                        format!("{} quantile {q} step {t}: {} vs {}", s["name"], g[t], w[t]),
                    );
                }
            }
        }
    }
    assert!(
        worst.0 < 1e-4,
        "largest relative difference {:.2e} at {}",
        worst.0,
        worst.1
    );
}

#[test]
fn relative_position_buckets_equal_torchs() {
    let golden = golden();
    let buckets = &golden["buckets"];
    let positions = buckets["relative_positions"].as_array().unwrap();
    for (side, bidirectional) in [("encoder", true), ("decoder", false)] {
        let want = buckets[side].as_array().unwrap();
        for (p, w) in positions.iter().zip(want) {
            let p = p.as_i64().unwrap();
            assert_eq!(
                bucket(p, bidirectional, 32, 128) as u64,
                w.as_u64().unwrap(),
                "{side} bucket of {p}"
            );
        }
    }
}

/// Writes a safetensors file of `tensors` (name, shape) filled by `fill`,
/// as F32 (or BF16 when `half`).
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>)], half: bool, fill: impl Fn(usize) -> f32) {
    use std::io::Write;
    let width = if half { 2 } else { 4 };
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<usize>() * width;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": if half {"BF16"} else {"F32"}, "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    file.write_all(&header).unwrap();
    let mut k = 0;
    for (_, shape) in tensors {
        for _ in 0..shape.iter().product::<usize>() {
            let v = fill(k);
            k += 1;
            match half {
                true => file.write_all(&((v.to_bits() >> 16) as u16).to_le_bytes()).unwrap(),
                false => file.write_all(&v.to_le_bytes()).unwrap(),
            }
        }
    }
    file.flush().unwrap();
}

/// A small deterministic pseudo-random value in [-scale, scale].
fn noise(k: usize, scale: f32) -> f32 {
    let mut z = (k as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
}

fn layouts() -> Value {
    let path = repo().join("tests/goldens/chronos_bolt_layouts.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn tensors_of(layout: &Value) -> Vec<(String, Vec<usize>)> {
    layout["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, shape)| (name.clone(), serde_json::from_value(shape.clone()).unwrap()))
        .collect()
}

#[test]
fn random_models_of_the_published_sizes_load_and_forecast() {
    let layouts = layouts();
    let history: Vec<f32> = (0..3000).map(|t| 10.0 + (t as f32 * 0.3).sin() * 3.0).collect();
    for size in ["tiny", "mini", "small", "base"] {
        let layout = &layouts[size];
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), layout["config"].to_string()).unwrap();
        let tensors = tensors_of(layout);
        // The largest as BF16, as some copies of the checkpoints are.
        write_safetensors(&dir.path().join("model.safetensors"), &tensors, size == "base", |k| {
            noise(k, 0.02)
        });
        let model = Bolt::load(dir.path()).unwrap_or_else(|e| panic!("{size}: {e}"));
        assert_eq!(model.config.chronos().context_length, 2048, "{size}");
        let contexts: [&[f32]; 3] = [&history, &history[..100], &history[..5]];
        let forecasts = model.forecast(&contexts, 70);
        for f in &forecasts {
            assert_eq!(f.len(), 9, "{size}: nine quantiles");
            assert!(
                f.iter().all(|q| q.len() == 70 && q.iter().all(|v| v.is_finite())),
                "{size}"
            );
        }
    }
}

#[test]
fn broken_checkpoints_are_errors_naming_the_file_and_the_tensor() {
    let layouts = layouts();
    let layout = &layouts["tiny"];
    let tensors = tensors_of(layout);
    let dir = tempfile::tempdir().unwrap();
    let write_config = |config: &Value| std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let weights = dir.path().join("model.safetensors");
    let error = |dir: &Path| -> String {
        match Bolt::load(dir) {
            Ok(_) => panic!("a broken checkpoint loaded"),
            Err(e) => e.to_string(),
        }
    };
    // Missing directory, missing file.
    let absent = dir.path().join("absent");
    assert!(matches!(
        Bolt::load(&absent),
        Err(CheckpointError::MissingDirectory { .. })
    ));
    assert!(error(&absent).contains("absent"));
    write_config(&layout["config"]);
    let message = error(dir.path());
    assert!(message.contains("lacks model.safetensors"), "{message}");
    // A tensor missing, one of the wrong shape.
    let without: Vec<_> = tensors
        .iter()
        .filter(|(n, _)| n != "encoder.final_layer_norm.weight")
        .cloned()
        .collect();
    write_safetensors(&weights, &without, false, |k| noise(k, 0.02));
    let message = error(dir.path());
    assert!(
        message.contains("model.safetensors") && message.contains("`encoder.final_layer_norm.weight` is missing"),
        "{message}"
    );
    let mut reshaped = tensors.clone();
    let wi = reshaped
        .iter_mut()
        .find(|(n, _)| n == "encoder.block.1.layer.1.DenseReluDense.wi.weight")
        .unwrap();
    wi.1 = vec![512, 256];
    write_safetensors(&weights, &reshaped, false, |k| noise(k, 0.02));
    let message = error(dir.path());
    assert!(
        message.contains("`encoder.block.1.layer.1.DenseReluDense.wi.weight` has shape [512, 256]")
            && message.contains("[1024, 256]"),
        "{message}"
    );
    // Truncated: the header promises more bytes than the file holds.
    write_safetensors(&weights, &tensors, false, |k| noise(k, 0.02));
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let message = error(dir.path());
    assert!(
        message.contains("model.safetensors") && message.contains("truncated"),
        "{message}"
    );
    std::fs::write(&weights, &bytes[..4]).unwrap();
    assert!(error(dir.path()).contains("truncated"));
    std::fs::write(&weights, b"\x10\0\0\0\0\0\0\0not json at all!").unwrap();
    assert!(error(dir.path()).contains("malformed safetensors header"));
    // Another architecture's config: the original (tokenised) Chronos, a
    // plain T5, a config that is not JSON.
    std::fs::write(&weights, &bytes).unwrap();
    let mut other = layout["config"].clone();
    other["architectures"] = serde_json::json!(["ChronosModelForForecasting"]);
    write_config(&other);
    let message = error(dir.path());
    assert!(
        message.contains("config.json")
            && message.contains("ChronosModelForForecasting is not ChronosBoltModelForForecasting"),
        "{message}"
    );
    let mut t5 = layout["config"].clone();
    t5.as_object_mut().unwrap().remove("chronos_config");
    write_config(&t5);
    assert!(error(dir.path()).contains("not a Chronos checkpoint"));
    std::fs::write(dir.path().join("config.json"), "{ nope").unwrap();
    assert!(error(dir.path()).contains("config.json"));
    write_config(&layout["config"]);
    Bolt::load(dir.path()).expect("the repaired checkpoint loads");
}

/// The golden series' contexts (NaN where missing).
fn golden_contexts(golden: &Value) -> Vec<Vec<f32>> {
    let series = golden["series"].as_array().unwrap();
    series.iter().map(|s| floats(&s["context"])).collect()
}

/// A JSON array of numbers as f32 (null: NaN, a missing value).
fn floats(v: &Value) -> Vec<f32> {
    let values = v.as_array().unwrap();
    values
        .iter()
        .map(|x| x.as_f64().map_or(f32::NAN, |x| x as f32))
        .collect()
}

/// burn's module (the fine-tuning and GPU path) gives the host path's
/// forecasts, left-padded batch and all.
#[test]
fn the_burn_module_forecasts_as_the_host_path() {
    use trendlab_neural::burn::tensor::Device;
    use trendlab_neural::chronos::network::{Batch, BoltNetwork};
    let golden = golden();
    let model = Bolt::load(&golden_dir()).unwrap();
    let contexts = golden_contexts(&golden);
    let refs: Vec<&[f32]> = contexts.iter().map(Vec::as_slice).collect();
    let host = model.predict(&refs);
    let device = Device::flex();
    let network = BoltNetwork::of(&model.weights, &model.config, &device);
    let prepared: Vec<_> = refs.iter().map(|c| model.prepare(c)).collect();
    let batch = Batch::of(&prepared, &model.config, &device);
    let raw = network
        .forward(&batch, &model.config)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let width = raw.len() / refs.len();
    for (s, want) in host.iter().enumerate() {
        let size = want.iter().map(|v| v.abs()).fold(1e-6, f32::max);
        for (k, w) in want.iter().enumerate() {
            let got = raw[s * width + k] * prepared[s].scale + prepared[s].loc;
            assert!((got - w).abs() <= 1e-4 * size, "series {s} output {k}: {got} vs {w}");
        }
    }
    // The module's weights are the ones it was built from.
    assert_eq!(network.weights(&model.weights), model.weights);
    // The whole pipeline on burn (how a GPU forecasts), in batches of 4.
    let horizon = 40;
    let on_burn = model.forecast_by(&refs, horizon, |c| network.predict(&model, c, 4, &device));
    let on_host = model.forecast(&refs, horizon);
    for (s, (b, h)) in on_burn.iter().zip(&on_host).enumerate() {
        for t in 0..horizon {
            let size = h.iter().map(|q| q[t].abs()).fold(1e-6, f32::max);
            for (bq, hq) in b.iter().zip(h) {
                assert!(
                    (bq[t] - hq[t]).abs() <= 1e-4 * size,
                    "series {s} step {t}: {} vs {}",
                    bq[t],
                    hq[t]
                );
            }
        }
    }
}

/// Three AdamW steps of fine-tuning give the reference's losses, weights
/// (every tensor) and forecasts (tests/goldens/make_chronos_bolt.py).
#[test]
fn fine_tuning_equals_the_references() {
    use trendlab_neural::burn::tensor::Device;
    use trendlab_neural::chronos::tune::{Tuning, Window, fine_tune};
    let path = repo().join("tests/goldens/chronos_bolt_finetune.json");
    let golden: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let model = Bolt::load(&golden_dir()).unwrap();
    let windows: Vec<(Vec<f32>, Vec<f32>)> = golden["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (floats(&w["context"]), floats(&w["target"])))
        .collect();
    let tuning = Tuning {
        steps: golden["steps"].as_u64().unwrap() as usize,
        lr: golden["lr"].as_f64().unwrap(),
        weight_decay: golden["weight_decay"].as_f64().unwrap(),
    };
    let batch = |_| {
        windows
            .iter()
            .map(|(context, target)| Window { context, target })
            .collect()
    };
    let tuned = fine_tune(&model, tuning, batch, &Device::flex().autodiff()).unwrap();
    let losses: Vec<f64> = serde_json::from_value(golden["losses"].clone()).unwrap();
    for (got, want) in tuned.losses.iter().zip(&losses) {
        assert!(
            (got - want).abs() <= 1e-4 * want.abs(),
            "losses {:?} vs {losses:?}",
            tuned.losses
        );
    }
    // Every tuned weight, against the reference's tuned checkpoint.
    let reference = Bolt::load(&repo().join("tests/goldens/chronos_bolt_tuned")).unwrap();
    let mut ours = model.clone();
    ours.weights = tuned.weights;
    let (got, want) = (ours.weights.flat(), reference.weights.flat());
    assert_eq!(got.len(), want.len());
    let mut worst = (0.0f32, String::new());
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        let size = w.iter().map(|v| v.abs()).fold(1e-6, f32::max);
        for (k, (a, b)) in g.iter().zip(w.iter()).enumerate() {
            let error = (a - b).abs() / size;
            if error > worst.0 {
                worst = (error, format!("{name}[{k}]: {a} vs {b}"));
            }
        }
    }
    assert!(
        worst.0 <= 1e-4,
        "largest weight difference {:.2e} at {}",
        worst.0,
        worst.1
    );
    // The tuned model's forecasts.
    let contexts = golden_contexts(&self::golden());
    let refs: Vec<&[f32]> = contexts.iter().map(Vec::as_slice).collect();
    let horizon = golden["horizon"].as_u64().unwrap() as usize;
    let forecasts = ours.forecast(&refs, horizon);
    for (s, got) in golden["forecasts"].as_array().unwrap().iter().zip(&forecasts) {
        let want: Vec<Vec<f64>> = serde_json::from_value(s["forecast"].clone()).unwrap();
        for t in 0..horizon {
            let size = want.iter().map(|q| q[t].abs()).fold(1e-6, f64::max);
            for (g, w) in got.iter().zip(&want) {
                let error = (f64::from(g[t]) - w[t]).abs() / size;
                assert!(
                    error < 1e-4,
                    "{} step {t}: {} vs {} ({error:.2e})",
                    s["name"],
                    g[t],
                    w[t]
                );
            }
        }
    }
}

/// Weights written as a checkpoint (how a fine-tuned run saves its model)
/// read back equal, under the reference's tensor names and shapes.
#[test]
fn written_checkpoints_read_back_with_the_references_layout() {
    let model = Bolt::load(&golden_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    model
        .weights
        .write_checkpoint(&model.config, &model.config_json, &copy)
        .unwrap();
    let again = Bolt::load(&copy).unwrap();
    assert_eq!(again.weights, model.weights);
    assert_eq!(again.config, model.config);
    let header = |path: &Path| -> std::collections::BTreeMap<String, Vec<usize>> {
        let bytes = std::fs::read(path).unwrap();
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
        header
            .into_iter()
            .filter(|(k, _)| k != "__metadata__")
            .map(|(k, v)| (k, serde_json::from_value(v["shape"].clone()).unwrap()))
            .collect()
    };
    assert_eq!(
        header(&copy.join("model.safetensors")),
        header(&golden_dir().join("model.safetensors"))
    );
}
