//! The text side of BERT-fusion, timed. Prints one JSON line per figure.
//!
//! 1. Embedding throughput: all-MiniLM-L6-v2 on the 200 distinct product
//!    descriptions of `datasets/online_retail_daily.csv.gz` (batches of 64
//!    texts of similar length, padded to the longest; mean pooling): one
//!    warm-up pass, then the median of 5. `benches/peers/hf_minilm_embed.py`
//!    does the same with Hugging Face transformers.
//! 2. Fusion training s/epoch: the LSTM workload of `benches/lstm.rs`
//!    (12,800 windows of 28 × 8, hidden 64, batch 256, Adam) with each
//!    window reading one of the 200 description vectors (385 wide with the
//!    no-text unit): without text, `concat`, `gated`, and `concat` with the
//!    top MiniLM layer fine-tuned; mean of 2 epochs after a warm-up.
//!
//! `cargo bench --bench bert -- [--threads N] [--encoder DIR] [--only VARIANT]`
//! (default 2 threads and models/all-MiniLM-L6-v2; `--only` times one
//! fusion variant).

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;
use trendlab_neural::bert::TextEncoder;
use trendlab_neural::device::Backend;
use trendlab_neural::samples::{Samples, TextInputs, TextInto};
use trendlab_neural::text::text_table;
use trendlab_neural::train::{TextTuner, TrainConfig, train};
use trendlab_neural::tuner::EncoderTuner;
use trendlab_spec::Pooling;

#[path = "support/workload.rs"]
mod workload;

fn main() {
    let threads = workload::threads();
    let encoder_dir =
        std::path::PathBuf::from(workload::flag("--encoder").unwrap_or_else(|| "models/all-MiniLM-L6-v2".into()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let texts = descriptions();
    pool.install(|| {
        let encoder =
            TextEncoder::load(&encoder_dir, &trendlab_neural::burn::tensor::Device::flex()).expect("the encoder loads");
        encoder.embed(&texts, Pooling::Mean, false).expect("warm-up");
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let vectors = encoder.embed(&texts, Pooling::Mean, false).expect("embeddings");
                assert_eq!(vectors.len(), texts.len());
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let tokens: usize = encoder.token_ids(&texts).unwrap().iter().map(Vec::len).sum();
        println!(
            "{{\"trendlab\": \"{}\", \"what\": \"embed\", \"threads\": {threads}, \"descriptions\": {}, \"tokens\": {tokens}, \
             \"median_s\": {:.4}, \"descriptions_per_s\": {:.1}}}",
            env!("CARGO_PKG_VERSION"),
            texts.len(),
            times[2],
            texts.len() as f64 / times[2]
        );
        let vectors = encoder.embed(&texts, Pooling::Mean, false).unwrap();
        let table = Arc::new(text_table(&vectors, encoder.width()));
        let only = workload::flag("--only");
        for variant in ["none", "concat", "gated", "concat_finetune"] {
            if only.as_ref().is_some_and(|o| o != variant) {
                continue;
            }
            let mut samples = workload::lstm_workload();
            if variant != "none" {
                samples.text = Some(TextInputs {
                    into: if variant == "gated" { TextInto::Gate } else { TextInto::Head },
                    width: encoder.width() + 1,
                    table: table.clone(),
                    rows: (0..samples.len()).map(|r| (r % texts.len()) as u32).collect(),
                });
            }
            let mut tuner = (variant == "concat_finetune").then(|| {
                EncoderTuner::new(
                    &encoder_dir,
                    &texts,
                    (Pooling::Mean, false),
                    1,
                    2e-5,
                    Backend::Kernel.params_device(),
                )
                .expect("the tuner loads")
            });
            let config = TrainConfig {
                hidden: 64,
                layers: 1,
                dropout: 0.0,
                lr: 1e-3,
                batch_size: 256,
                epochs: 3,
                patience: 0,
                seed: 0,
            };
            let mut epochs = Vec::new();
            train(
                &mut samples,
                &mut Samples::default(),
                &config,
                &Backend::Kernel,
                tuner.as_mut().map(|t| t as &mut dyn TextTuner),
                |e| epochs.push(e.seconds),
            )
            .expect("training");
            let timed = &epochs[1..];
            println!(
                "{{\"what\": \"fusion_epoch\", \"text\": \"{variant}\", \"threads\": {threads}, \"epoch_times_s\": {:?}, \"mean_epoch_s\": {:.4}}}",
                epochs.iter().map(|s| (s * 1e3).round() / 1e3).collect::<Vec<_>>(),
                timed.iter().sum::<f64>() / timed.len() as f64,
            );
        }
    });
}

/// Distinct descriptions of the bundled daily Online Retail file, in order
/// of first appearance.
fn descriptions() -> Vec<String> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open("datasets/online_retail_daily.csv.gz").expect("the dataset"))
        .read_to_end(&mut raw)
        .expect("gzip");
    let mut reader = csv::Reader::from_reader(raw.as_slice());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "description")
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for record in reader.records() {
        let text = record.unwrap()[column].trim().to_string();
        if !text.is_empty() && seen.insert(text.clone()) {
            out.push(text);
        }
    }
    out
}
