//! all-MiniLM-L6-v2 (fetched by `scripts/fetch_minilm.sh`; feature
//! `service-tests`) reproduces sentence-transformers' token ids and
//! mean-pooled embeddings, through the library and `trendlab embed`.

use crate::common::repo;
use trendlab_neural::bert::{Pooling, TextEncoder};

fn cpu() -> trendlab_neural::burn::tensor::Device {
    trendlab_neural::burn::tensor::Device::flex()
}

/// The MiniLM directory; the test script fetches it, so its absence fails.
pub fn minilm_dir() -> std::path::PathBuf {
    let dir = repo().join("models/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch_minilm.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

#[test]
fn minilm_matches_sentence_transformers_golden() {
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/goldens/minilm_embeddings.json")).unwrap())
            .unwrap();
    let texts: Vec<String> = serde_json::from_value(golden["texts"].clone()).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(golden["input_ids"].clone()).unwrap();
    let masks: Vec<Vec<u32>> = serde_json::from_value(golden["attention_mask"].clone()).unwrap();
    let want: Vec<Vec<f32>> = serde_json::from_value(golden["mean_pooled"].clone()).unwrap();
    let cls_first8: Vec<Vec<f32>> = serde_json::from_value(golden["cls_last_hidden_first8"].clone()).unwrap();

    let encoder = TextEncoder::load(&minilm_dir(), &cpu()).expect("MiniLM loads");
    assert_eq!(encoder.width(), 384);
    let unpadded: Vec<Vec<u32>> = ids
        .iter()
        .zip(&masks)
        .map(|(i, m)| i.iter().zip(m).filter(|(_, m)| **m == 1).map(|(i, _)| *i).collect())
        .collect();
    assert_eq!(encoder.token_ids(&texts).unwrap(), unpadded);

    let got = encoder.embed(&texts, Pooling::Mean, false).unwrap();
    let mut worst = 0.0f32;
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len());
        for (a, b) in g.iter().zip(w) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst < 1e-4, "max abs difference {worst} from sentence-transformers");

    // Normalised: the golden divided by its recorded L2 norm.
    let norms: Vec<f32> = serde_json::from_value(golden["mean_pooled_l2_norm"].clone()).unwrap();
    let unit = encoder.embed(&texts, Pooling::Mean, true).unwrap();
    for ((g, w), n) in unit.iter().zip(&want).zip(&norms) {
        assert!(g.iter().zip(w).all(|(a, b)| (a - b / n).abs() < 1e-5));
    }

    let cls = encoder.embed(&texts, Pooling::Cls, false).unwrap();
    for (g, w) in cls.iter().zip(&cls_first8) {
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() < 1e-4, "[CLS] state {a} vs {b}");
        }
    }
}

/// The CPU host path gives burn's MiniLM vectors within 2e-6 (values
/// reach 1.9 mean-pooled, 6 for `[CLS]`: a few units in the last place of
/// the largest; burn's own vectors move by as much when only its GEMM
/// kernel changes from AVX2 to AVX-512): the golden texts and product
/// descriptions from one word to a long one.
#[test]
fn minilm_host_path_equals_burn() {
    let encoder = TextEncoder::load(&minilm_dir(), &cpu()).expect("MiniLM loads");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/goldens/minilm_embeddings.json")).unwrap())
            .unwrap();
    let mut texts: Vec<String> = serde_json::from_value(golden["texts"].clone()).unwrap();
    texts.extend(
        [
            "BAG",
            "PACK OF 72 RETROSPOT CAKE CASES",
            "SET OF 3 CAKE TINS PANTRY DESIGN",
            "ROTATING SILVER ANGELS T-LIGHT HLDR",
            "WOODEN PICTURE FRAME WHITE FINISH, SHABBY CHIC FROM THE 1950s (SECOND EDITION) ++ EXTRA",
        ]
        .map(String::from),
    );
    let mut worst = 0.0f32;
    for (pooling, normalize) in [(Pooling::Mean, false), (Pooling::Mean, true), (Pooling::Cls, false)] {
        let host = encoder.embed(&texts, pooling, normalize).unwrap();
        let burn = encoder.embed_burn(&texts, pooling, normalize).unwrap();
        for (h, b) in host.iter().zip(&burn) {
            for (x, y) in h.iter().zip(b) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    assert!(worst < 2e-6, "host path within {worst} of burn's");
}

/// `trendlab embed` prints the golden's token ids and vectors, texts from
/// a file and from `--text`, and fails clearly on a missing directory.
#[test]
fn embed_command_prints_ids_and_pooled_vectors_as_json() {
    use crate::common::{stderr, stdout, trendlab, write};
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/goldens/minilm_embeddings.json")).unwrap())
            .unwrap();
    let texts: Vec<String> = serde_json::from_value(golden["texts"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "texts.txt", &format!("{}\n\n{}\n", texts[0], texts[1]));
    let encoder = minilm_dir();
    let out = trendlab(
        dir.path(),
        &[
            "embed",
            "--encoder",
            encoder.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
            "--text",
            &texts[2],
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // --text first, then the file's lines (blank ones skipped).
    let order = [2, 0, 1];
    let got_texts: Vec<String> = serde_json::from_value(printed["texts"].clone()).unwrap();
    assert_eq!(got_texts, order.map(|i| texts[i].clone()));
    for (k, &i) in order.iter().enumerate() {
        let ids: Vec<u32> = serde_json::from_value(printed["input_ids"][k].clone()).unwrap();
        let want: Vec<u32> = serde_json::from_value(golden["input_ids"][i].clone()).unwrap();
        assert_eq!(ids, want.into_iter().filter(|&t| t != 0).collect::<Vec<_>>());
        let got: Vec<f32> = serde_json::from_value(printed["embeddings"][k].clone()).unwrap();
        let want: Vec<f32> = serde_json::from_value(golden["mean_pooled"][i].clone()).unwrap();
        assert_eq!(got.len(), 384);
        assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4));
    }
    let out = trendlab(dir.path(), &["embed", "--encoder", "nowhere", "--text", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("encoder directory nowhere not found"),
        "{}",
        stderr(&out)
    );
}

/// The bundled experiments validate in place, the BERT-fusion ones against
/// the fetched MiniLM.
#[test]
fn every_bundled_experiment_validates_with_the_fetched_minilm() {
    minilm_dir();
    crate::cli::all_validate(&repo());
}
