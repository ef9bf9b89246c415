//! The BERT-fusion family on a random tiny BERT: when the product text
//! tells the level, fusion beats the same LSTM without text; products
//! without text get the no-text row; embeddings are cached per text; the
//! gated and fine-tuned variants train and are deterministic.

use crate::lstm::{Log, Panel, noise};
use trendlab_models::{FeatureSet, Forecaster};
use trendlab_neural::bert::{BertConfig, random};
use trendlab_neural::rng::SplitMix64;
use trendlab_neural::{BertFusion, Lstm};
use trendlab_spec::{BertFusionConfig, LstmConfig};

const HORIZON: usize = 7;

/// 36 products over 120 days: white noise (sd 2) around a level that the
/// text gives, one of six levels 3 apart (red lamp 15, red mug 12, …, blue
/// bag 0); 6 products have no text (level 7.5). A one-day window tells the
/// level only roughly; the text tells it exactly.
fn text_panel() -> Panel {
    let mut rng = SplitMix64::new(9);
    let mut targets = Vec::new();
    let mut texts = Vec::new();
    for i in 0..36 {
        let (text, level) = match i % 6 {
            5 => (None, 7.5),
            _ => {
                // Texts rotate over the rows, so each has several products.
                let k = (i + i / 6) % 6;
                let (colour, noun) = (["RED", "BLUE"][k / 3], ["lamp", "mug", "bag"][k % 3]);
                (Some(format!("{colour} {noun}")), 15.0 - 3.0 * k as f64)
            }
        };
        targets.push((0..120).map(|_| level + noise(&mut rng, 2.0)).collect());
        texts.push(text);
    }
    let mut panel = Panel::daily(120, targets, vec![]);
    panel.texts = texts;
    panel
}

/// A tiny random BERT encoder (vocabulary: red, blue, lamp, mug, bag) in `dir`.
pub(crate) fn tiny_encoder(dir: &std::path::Path) {
    let words = ["red", "blue", "lamp", "mug", "bag"];
    random::write(dir, &BertConfig::tiny(0), &words, 5).unwrap();
}

fn sequence() -> serde_json::Value {
    serde_json::json!({
        "input_size": 1, "hidden": 16, "epochs": 80, "patience": 0, "lr": 0.01,
        "batch_size": 128, "validation": 7, "scaling": "none",
    })
}

fn fusion(encoder: &std::path::Path, text: serde_json::Value) -> BertFusion {
    let mut settings = sequence();
    settings["encoder"] = encoder.display().to_string().into();
    for (k, v) in text.as_object().unwrap() {
        settings[k] = v.clone();
    }
    BertFusion(serde_json::from_value::<BertFusionConfig>(settings).expect("a valid bert_fusion config"))
}

fn forecast(panel: &Panel, model: &dyn Forecaster) -> Vec<Vec<f64>> {
    panel.forecast(model, HORIZON, &FeatureSet::default(), &Log::default())
}

#[test]
fn text_that_tells_the_level_beats_the_same_lstm_without_text() {
    let encoder = tempfile::tempdir().unwrap();
    tiny_encoder(encoder.path());
    let cache = tempfile::tempdir().unwrap();
    let mut panel = text_panel();
    panel.cache = Some(cache.path().to_path_buf());

    let lstm = Lstm(serde_json::from_value::<LstmConfig>(sequence()).unwrap());
    let without_text = panel.mse(&forecast(&panel, &lstm));
    // Raw pooled vectors: a random BERT's unit-length ones are too alike
    // for 80 epochs to separate fully.
    let model = fusion(
        encoder.path(),
        serde_json::json!({ "fusion": "concat", "normalize": false }),
    );
    let with_text = forecast(&panel, &model);
    let fused = panel.mse(&with_text);
    assert!(
        fused < 0.8 * without_text,
        "bert_fusion MSE {fused:.2} is not well below the LSTM's {without_text:.2}"
    );
    eprintln!("MSE: bert_fusion {fused:.3}, lstm {without_text:.3}");
    // Noise variance is 4: knowing the level is the best one can do.
    assert!(fused < 5.0, "bert_fusion MSE {fused:.2}");

    // One cache file for the encoder, one vector per distinct text (6);
    // a second run reads them and gives the same numbers.
    let files: Vec<_> = std::fs::read_dir(cache.path().join("embeddings")).unwrap().collect();
    assert_eq!(files.len(), 1);
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(files[0].as_ref().unwrap().path()).unwrap()).unwrap();
    assert_eq!(cached["vectors"].as_object().unwrap().len(), 6);
    assert_eq!(cached["width"], 16);
    assert_eq!(forecast(&panel, &model), with_text);
}

#[test]
fn gated_and_fine_tuned_fusion_train_and_repeat_exactly() {
    let encoder = tempfile::tempdir().unwrap();
    tiny_encoder(encoder.path());
    let panel = text_panel();
    let frozen = fusion(encoder.path(), serde_json::json!({ "fusion": "gated" }));
    let tuned = fusion(
        encoder.path(),
        serde_json::json!({ "fusion": "gated", "freeze": false, "train_layers": 1, "encoder_lr": 1e-3 }),
    );
    let (a, b) = (forecast(&panel, &frozen), forecast(&panel, &tuned));
    for f in a.iter().chain(&b) {
        assert_eq!(f.len(), HORIZON);
        assert!(f.iter().all(|v| v.is_finite()));
    }
    assert_ne!(a, b, "fine-tuning the encoder changed nothing");
    assert_eq!(forecast(&panel, &tuned), b, "fine-tuning is not deterministic");
    // Fine-tuning concat fusion too, through both encoder layers.
    let all = fusion(
        encoder.path(),
        serde_json::json!({ "freeze": false, "train_layers": 2, "encoder_lr": 1e-3 }),
    );
    assert!(panel.mse(&forecast(&panel, &all)) < 6.0);
}
