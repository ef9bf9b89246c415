//! `forecast --from MODEL_DIR`: a saved model forecasts again without
//! fitting — byte for byte on the data it was fitted on, for every family
//! (N-HiTS with a quantile loss: its intervals too);
//! on newer data it says so and forecasts past the new last date; a folder
//! that is not a saved model, one saved from another spec, or one edited
//! or damaged after it was written, is refused.

use crate::common::{files_under, stderr, stdout, trendlab, write};
use crate::forecast::{csv, panel, run, spec};

const MODELS: &str = r#"
[[models]]
name = "naive"
family = "naive"

[[models]]
name = "ridge"
family = "linear"
[models.grid]
strategy = ["recursive", "direct"]

[[models]]
name = "arima"
family = "arima"
order = [1, 1, 1]

[[models]]
name = "auto"
family = "arima"
auto = true

[[models]]
name = "lstm"
family = "lstm"
input_size = 8
hidden = 8
epochs = 4
batch_size = 16
patience = 2
validation = 4

[[models]]
name = "nhits"
family = "nhits"
input_size = 8
mlp_units = [8, 8]
pooling_sizes = [2, 1]
downsample = [2, 1]
max_steps = 20
val_check_steps = 5
windows_batch_size = 64
validation = 4
loss = "quantile"

[[models]]
name = "patchtst"
family = "patchtst"
input_size = 8
patch_len = 4
stride = 2
d_model = 8
heads = 2
layers = 1
ff = 8
max_steps = 20
val_check_steps = 5
windows_batch_size = 64
validation = 4

[[models]]
name = "deepar"
family = "deepar"
input_size = 8
lstm_hidden = 8
samples = 20
max_steps = 20
val_check_steps = 5
windows_batch_size = 64
validation = 4

[[models]]
name = "mix"
family = "ensemble"
members = ["naive", "ridge", "arima"]
method = "inverse_error"
"#;

#[test]
fn a_saved_model_forecasts_again_without_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let series = panel(4, 80);
    write(dir.path(), "data.csv", &csv(&series, 77));
    let evaluation = "horizon = 4\nfolds = 3\nstep = 4\nmin_train = 40\nmetrics = [\"mae\"]\nlevels = [80, 95]";
    let spec_path = spec(dir.path(), "spec.toml", "data.csv", evaluation, MODELS);
    assert!(run(&spec_path, dir.path()).failed.is_empty());
    let forecast_dir = || {
        files_under(&dir.path().join("forecasts"))
            .into_iter()
            .find(|p| p.ends_with("forecast.csv"))
            .map(|p| p.parent().unwrap().to_path_buf())
            .unwrap()
    };
    for config in [
        "naive",
        "ridge[strategy=\"direct\"]",
        "arima",
        "auto",
        "lstm",
        "nhits",
        "patchtst",
        "deepar",
        "mix",
    ] {
        let out = trendlab(dir.path(), &["forecast", "spec.toml", "--config", config]);
        assert_eq!(out.status.code(), Some(0), "{config}: {}", stderr(&out));
        let fitted = forecast_dir();
        let model = fitted.join("model");
        assert!(model.join("model.json").is_file(), "{config}: no model.json");
        let original = std::fs::read(fitted.join("forecast.csv")).unwrap();
        let out = trendlab(
            dir.path(),
            &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{config} --from: {}", stderr(&out));
        assert!(
            stdout(&out).contains("without fitting (the data it was fitted on)"),
            "{}",
            stdout(&out)
        );
        let again = std::fs::read(fitted.join("forecast.csv")).unwrap();
        assert!(original == again, "{config}: --from changed forecast.csv");
        if config == "mix" {
            // A saved ensemble cut short (its selection window of one
            // series) is refused as damaged, not read as another model.
            let path = model.join("model.json");
            let written = std::fs::read_to_string(&path).unwrap();
            let mut edited: serde_json::Value = serde_json::from_str(&written).unwrap();
            edited["fit"]["selection"]["history"]
                .as_array_mut()
                .unwrap()
                .truncate(1);
            std::fs::write(&path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
            let out = trendlab(
                dir.path(),
                &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
            );
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("model.json: the saved model was changed after `trendlab forecast` wrote it"),
                "{}",
                stderr(&out)
            );
            // Its content as written (another layout) reads again.
            let reformatted: serde_json::Value = serde_json::from_str(&written).unwrap();
            std::fs::write(&path, serde_json::to_string(&reformatted).unwrap()).unwrap();
            let out = trendlab(
                dir.path(),
                &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
            );
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
    }
    // A model of the ARIMA, then three more days of data: the saved model
    // forecasts past them, without fitting, and says so.
    assert_eq!(
        trendlab(dir.path(), &["forecast", "spec.toml", "--config", "arima"])
            .status
            .code(),
        Some(0)
    );
    let saved = tempfile::tempdir().unwrap();
    let model = saved.path().join("model");
    std::fs::rename(forecast_dir().join("model"), &model).unwrap();
    write(dir.path(), "data.csv", &csv(&series, 80));
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("without fitting (newer data than it was fitted on"),
        "{}",
        stdout(&out)
    );
    let newer = std::fs::read_to_string(forecast_dir().join("forecast.csv")).unwrap();
    assert!(newer.lines().nth(1).unwrap().contains(",2024-03-21,1,"), "{newer}");

    // A series of the model missing from the data is named in
    // forecast.json's skipped series, not silently dropped.
    let (gone, kept) = series.split_first().unwrap();
    write(dir.path(), "data.csv", &csv(kept, 80));
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json_path = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("forecast.json: ").map(str::to_string))
        .unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(json_path.trim())).unwrap()).unwrap();
    let skipped = file["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["series"] == gone.0.as_str() && s["reason"].as_str().unwrap().starts_with("not in this data")),
        "{skipped:?}"
    );

    // Data that ends before the model's last date: refused (exit 2), since
    // it would forecast dates the model was fitted on; nothing is written.
    write(dir.path(), "data.csv", &csv(&series, 74));
    let before = files_under(&dir.path().join("forecasts"));
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--from", model.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the model was fitted on data up to 2024-03-17, and this data ends on 2024-03-14"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_under(&dir.path().join("forecasts")), before);

    // Refused, exit 2: not a saved model; a model of another spec; --model with --from.
    let empty = tempfile::tempdir().unwrap();
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--from", empty.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a saved model"), "{}", stderr(&out));
    let other = std::fs::read_to_string(&spec_path)
        .unwrap()
        .replace("seed = 7", "seed = 8");
    write(dir.path(), "other.toml", &other);
    let out = trendlab(
        dir.path(),
        &["forecast", "other.toml", "--from", model.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("saved from another spec"), "{}", stderr(&out));
    let out = trendlab(
        dir.path(),
        &[
            "forecast",
            "spec.toml",
            "--model",
            "naive",
            "--from",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a saved model holds one configuration"),
        "{}",
        stderr(&out)
    );
}

/// BERT-fusion, frozen and fine-tuned (whose text vectors are saved with
/// the network): the saved model forecasts the same, byte for byte.
#[test]
fn a_saved_bert_fusion_forecasts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = dir.path().join("encoder");
    std::fs::create_dir(&encoder).unwrap();
    crate::bert_fusion::tiny_encoder(&encoder);
    let series = panel(3, 70);
    let mut data = String::from("date,id,y,promo,desc\n");
    for line in csv(&series, 70).lines().skip(1) {
        let id: usize = line.split(',').nth(1).unwrap()[1..].parse().unwrap();
        data.push_str(&format!("{line},{} mug\n", ["red", "blue", "lamp"][id]));
    }
    write(dir.path(), "data.csv", &data);
    let sequence = "input_size = 8\nhidden = 8\nepochs = 3\nbatch_size = 16\nvalidation = 4\npatience = 2";
    let models = format!(
        "[[models]]\nname = \"frozen\"\nfamily = \"bert_fusion\"\nencoder = \"encoder\"\n{sequence}\n\n[[models]]\nname = \"tuned\"\nfamily = \"bert_fusion\"\nencoder = \"encoder\"\nfreeze = false\ntrain_layers = 1\nencoder_lr = 0.001\n{sequence}\n"
    );
    let evaluation = "horizon = 4\nfolds = 2\nstep = 4\nmin_train = 40\nmetrics = [\"mae\"]";
    let path = spec(dir.path(), "spec.toml", "data.csv", evaluation, &models);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("covariates = [\"promo\"]", "covariates = [\"promo\"]\ntext = \"desc\"");
    write(dir.path(), "spec.toml", &text);
    assert!(run(&path, dir.path()).failed.is_empty());
    for model in ["frozen", "tuned"] {
        let out = trendlab(dir.path(), &["forecast", "spec.toml", "--model", model]);
        assert_eq!(out.status.code(), Some(0), "{model}: {}", stderr(&out));
        let fitted = files_under(&dir.path().join("forecasts"))
            .into_iter()
            .find(|p| p.ends_with("forecast.csv"))
            .unwrap();
        let original = std::fs::read(&fitted).unwrap();
        let model_dir = fitted.parent().unwrap().join("model");
        let out = trendlab(
            dir.path(),
            &["forecast", "spec.toml", "--from", model_dir.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{model} --from: {}", stderr(&out));
        assert!(
            original == std::fs::read(&fitted).unwrap(),
            "{model}: --from changed forecast.csv"
        );
        assert!(
            files_under(&model_dir).iter().any(|p| p.ends_with("text_table.f32")),
            "{model}: the text vectors are saved"
        );
    }
}
