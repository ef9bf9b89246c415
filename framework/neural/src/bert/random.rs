//! A randomly initialised BERT directory in Hugging Face's layout (its
//! `config.json`, a `model.safetensors` with Hugging Face's tensor names
//! and PyTorch's `[out, in]` Linear weights, and a WordPiece
//! `tokenizer.json` and `vocab.txt` over a given word list): small encoders for tests and
//! examples that go through the same loading path as a downloaded one.

use super::BertConfig;
use crate::rng::SplitMix64;
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::path::Path;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{PaddingParams, Tokenizer};

/// Special tokens at the start of the vocabulary.
const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Writes a BERT of `config`'s sizes (its `vocab_size` is replaced by the
/// vocabulary's: the special tokens, then `words` lowercased) with weights
/// drawn from `seed` into `dir`.
pub fn write(dir: &Path, config: &BertConfig, words: &[&str], seed: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut vocab: Vec<String> = SPECIAL.iter().map(|s| s.to_string()).collect();
    for w in words {
        let w = w.to_lowercase();
        if !vocab.contains(&w) {
            vocab.push(w);
        }
    }
    let config = BertConfig {
        vocab_size: vocab.len(),
        ..config.clone()
    };
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    write_tokenizer(dir, &vocab)?;
    let tensors = random_tensors(&config, seed);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes).expect("sizes match");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).map_err(std::io::Error::other)
}

/// Hugging Face names, shapes and little-endian bytes of every tensor.
fn random_tensors(config: &BertConfig, seed: u64) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, fill: Fill| {
        let n: usize = shape.iter().product();
        let bytes = (0..n)
            .flat_map(|_| {
                let v = match fill {
                    Fill::Normal => (rng.next_f32() + rng.next_f32() + rng.next_f32() - 1.5) * 0.2,
                    Fill::Ones => 1.0,
                    Fill::Zeros => 0.0,
                };
                v.to_le_bytes()
            })
            .collect();
        out.push((name, shape, bytes));
    };
    let (h, i) = (config.hidden_size, config.intermediate_size);
    let norm = |add: &mut dyn FnMut(String, Vec<usize>, Fill), prefix: &str| {
        add(format!("{prefix}.LayerNorm.weight"), vec![h], Fill::Ones);
        add(format!("{prefix}.LayerNorm.bias"), vec![h], Fill::Zeros);
    };
    add(
        "embeddings.word_embeddings.weight".into(),
        vec![config.vocab_size, h],
        Fill::Normal,
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![config.max_position_embeddings, h],
        Fill::Normal,
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        vec![config.type_vocab_size, h],
        Fill::Normal,
    );
    norm(&mut add, "embeddings");
    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        let linear = |add: &mut dyn FnMut(String, Vec<usize>, Fill), name: String, out: usize, inp: usize| {
            add(format!("{name}.weight"), vec![out, inp], Fill::Normal);
            add(format!("{name}.bias"), vec![out], Fill::Normal);
        };
        for q in ["query", "key", "value"] {
            linear(&mut add, format!("{p}.attention.self.{q}"), h, h);
        }
        linear(&mut add, format!("{p}.attention.output.dense"), h, h);
        norm(&mut add, &format!("{p}.attention.output"));
        linear(&mut add, format!("{p}.intermediate.dense"), i, h);
        linear(&mut add, format!("{p}.output.dense"), h, i);
        norm(&mut add, &format!("{p}.output"));
    }
    out
}

#[derive(Clone, Copy)]
enum Fill {
    Normal,
    Ones,
    Zeros,
}

fn write_tokenizer(dir: &Path, vocab: &[String]) -> std::io::Result<()> {
    let vocab_file = dir.join("vocab.txt");
    std::fs::write(&vocab_file, vocab.join("\n") + "\n")?;
    let wordpiece = WordPiece::builder()
        .files(vocab_file.display().to_string())
        .unk_token("[UNK]".into())
        .build()
        .map_err(std::io::Error::other)?;
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer
        .with_normalizer(Some(BertNormalizer::default()))
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_post_processor(Some(BertProcessing::new(("[SEP]".into(), 3), ("[CLS]".into(), 2))))
        .with_padding(Some(PaddingParams::default()));
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(std::io::Error::other)
}
