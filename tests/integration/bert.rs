//! The BERT text encoder: all-MiniLM-L6-v2 (fetched by
//! `scripts/fetch_minilm.sh`) reproduces sentence-transformers' token ids
//! and mean-pooled embeddings; a random tiny BERT written in Hugging Face's
//! layout loads through the same path; broken directories say what is
//! wrong.

use trendlab_neural::bert::{BertConfig, EncoderError, Pooling, TextEncoder, random};

fn cpu() -> burn_device::Device {
    burn_device::Device::flex()
}

mod burn_device {
    pub use trendlab_neural::burn::tensor::Device;
}

#[test]
fn a_random_tiny_bert_loads_and_pads_without_changing_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let words = ["red", "heart", "bag", "jumbo", "light"];
    random::write(dir.path(), &BertConfig::tiny(0), &words, 3).unwrap();
    let encoder = TextEncoder::load(dir.path(), &cpu()).unwrap();
    assert_eq!(encoder.width(), 16);
    let texts = vec![
        "RED heart".to_string(),
        "jumbo bag red light heart".to_string(),
        "zebra".to_string(),
    ];
    // [CLS]=2, [SEP]=3, [UNK]=1; words from 5 in list order.
    assert_eq!(
        encoder.token_ids(&texts).unwrap(),
        vec![vec![2, 5, 6, 3], vec![2, 8, 7, 5, 9, 6, 3], vec![2, 1, 3]]
    );
    // Alone or padded in a batch with longer texts: the same vector.
    let batch = encoder.embed(&texts, Pooling::Mean, false).unwrap();
    let alone = encoder.embed(&texts[..1], Pooling::Mean, false).unwrap();
    for (a, b) in batch[0].iter().zip(&alone[0]) {
        assert!((a - b).abs() < 1e-6);
    }
    assert_ne!(batch[0], batch[1]);
}

/// The CPU host path (packed tokens, hand-written kernels) gives burn's
/// vectors for every pooling, with and without normalisation, for texts of
/// many lengths (an empty one, one past the position limit).
#[test]
fn the_host_path_equals_burn_on_a_random_bert() {
    let dir = tempfile::tempdir().unwrap();
    let words = ["red", "heart", "bag", "jumbo", "light", "lantern", "white", "metal"];
    random::write(dir.path(), &BertConfig::tiny(0), &words, 11).unwrap();
    let encoder = TextEncoder::load(dir.path(), &cpu()).unwrap();
    let mut texts: Vec<String> = (0..40)
        .map(|i| {
            (0..i % 13)
                .map(|k| words[(i * 7 + k * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    texts.push(words.repeat(20).join(" ")); // 160 words: truncated at 64 positions
    // The same numbers on one thread and on two.
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| encoder.embed(&texts, Pooling::Mean, false).unwrap())
    };
    assert_eq!(on(1), on(2));
    for pooling in [Pooling::Mean, Pooling::Cls] {
        for normalize in [false, true] {
            let host = encoder.embed(&texts, pooling, normalize).unwrap();
            let burn = encoder.embed_burn(&texts, pooling, normalize).unwrap();
            assert_eq!(host.len(), texts.len());
            for (h, b) in host.iter().zip(&burn) {
                assert_eq!(h.len(), 16);
                for (x, y) in h.iter().zip(b) {
                    assert!(
                        (x - y).abs() < 1e-6,
                        "{pooling:?} normalize={normalize}: host {x} vs burn {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn broken_encoder_directories_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let message = |path: &std::path::Path| TextEncoder::load(path, &cpu()).unwrap_err().to_string();
    let missing = dir.path().join("nowhere");
    assert!(message(&missing).contains("not found"), "{}", message(&missing));
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let err = message(dir.path());
    assert!(err.contains("lacks model.safetensors, tokenizer.json"), "{err}");
    assert!(err.contains("fetch_minilm.sh"), "{err}");

    random::write(dir.path(), &BertConfig::tiny(0), &["a"], 1).unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"hidden_size": 16}"#).unwrap();
    let err = message(dir.path());
    assert!(err.contains("config.json") && err.contains("missing field"), "{err}");

    // Weights of a different size: shape mismatch named, not a panic.
    let other = tempfile::tempdir().unwrap();
    random::write(
        other.path(),
        &BertConfig {
            hidden_size: 8,
            num_attention_heads: 2,
            ..BertConfig::tiny(0)
        },
        &["a"],
        1,
    )
    .unwrap();
    random::write(dir.path(), &BertConfig::tiny(0), &["a"], 1).unwrap();
    std::fs::copy(
        other.path().join("model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    let err = TextEncoder::load(dir.path(), &cpu()).unwrap_err();
    assert!(matches!(err, EncoderError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    // A checkpoint lacking a layer lists what is missing.
    random::write(
        other.path(),
        &BertConfig {
            num_hidden_layers: 1,
            ..BertConfig::tiny(0)
        },
        &["a"],
        1,
    )
    .unwrap();
    std::fs::copy(
        other.path().join("model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    let err = message(dir.path());
    assert!(
        err.contains("16 tensors missing") && err.contains("encoder.layer.1."),
        "{err}"
    );
}
