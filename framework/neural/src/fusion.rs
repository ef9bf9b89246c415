//! `family = "bert_fusion"`: the LSTM of [`crate::family`] with a
//! pretrained BERT's embedding of each product's description joined to the
//! history encoding ([`crate::text`] builds the table of text vectors):
//! `concat` feeds it to the output layer beside the last hidden state,
//! `gated` scales each hidden unit by `σ(W e + b)`. With `freeze = true`
//! the embeddings are computed once and cached; with `freeze = false` the
//! encoder's top `train_layers` layers train along with the network, by
//! Adam at `encoder_lr`, from the gradient the network passes back to
//! each text vector ([`EncoderTuner`]).

use crate::bert::{Bert, EncoderError, TextEncoder, Tokens, pool};
use crate::device::{Backend, inference_device};
use crate::family::fit_and_forecast;
use crate::samples::{TextInputs, TextInto};
use crate::text::{ProductTexts, embeddings, text_table};
use crate::train::{TextTuner, TrainError};
use crate::windows::build;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use ref_cast::RefCast;
use std::sync::Arc;
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
use trendlab_spec::{BertFusionConfig, Fusion, Pooling};

/// The BERT-fusion family (a newtype over its config, as [`crate::Lstm`]).
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct BertFusion(pub BertFusionConfig);

impl Forecaster for BertFusion {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let BertFusionConfig { text, sequence } = &self.0;
        let backend = Backend::for_device(sequence.device).map_err(ModelError::Unfit)?;
        let mut windows = build(input, sequence)?;
        let texts = ProductTexts::of(input);
        let dir = input.context.files.spec_dir.join(&text.encoder);
        let unfit = |e: EncoderError| ModelError::Unfit(e.to_string());
        let mut tuner = match text.freeze {
            true => None,
            false => Some(
                EncoderTuner::new(
                    &dir,
                    &texts.distinct,
                    (text.pooling, text.normalize),
                    text.train_layers,
                    text.encoder_lr,
                    backend.params_device(),
                )
                .map_err(unfit)?,
            ),
        };
        let (vectors, width) = match &tuner {
            Some(t) => (t.vectors(), t.width()),
            None => {
                let device = inference_device(sequence.device).map_err(ModelError::Unfit)?;
                embeddings(
                    &dir,
                    &texts.distinct,
                    text.pooling,
                    text.normalize,
                    input.context.files.cache,
                    &device,
                )
                .map_err(unfit)?
            }
        };
        let table = Arc::new(text_table(&vectors, width));
        let into = match text.fusion {
            Fusion::Concat => TextInto::Head,
            Fusion::Gated => TextInto::Gate,
        };
        for samples in [&mut windows.train, &mut windows.validation, &mut windows.forecast] {
            let rows = samples
                .series
                .iter()
                .map(|&s| texts.row_of_series[s as usize])
                .collect();
            samples.text = Some(TextInputs {
                into,
                width: width + 1,
                table: table.clone(),
                rows,
            });
        }
        let tuner = tuner.as_mut().map(|t| t as &mut dyn TextTuner);
        fit_and_forecast(input, sequence, windows, &backend, tuner)
    }
}

/// Fine-tunes the top layers of a BERT from the gradients of the text
/// vectors. The lower layers' outputs are computed once (they do not
/// change); each step runs the top layers on the batch's texts, backward
/// from `Σ vector · gradient`, one Adam step, and refreshes those texts'
/// vectors.
pub struct EncoderTuner {
    model: Bert,
    optimizer: ModuleOptimizer,
    heads: usize,
    pooling: Pooling,
    normalize: bool,
    lr: f64,
    /// Frozen layers' output for every text `[N, L, H]`, and the mask.
    lower: Tensor<3>,
    mask: Tensor<2>,
    trained: std::ops::Range<usize>,
    /// The current table `[N + 1, H + 1]` (see [`text_table`]).
    table: Vec<f32>,
    width: usize,
}

impl EncoderTuner {
    pub fn new(
        dir: &std::path::Path,
        texts: &[String],
        (pooling, normalize): (Pooling, bool),
        train_layers: usize,
        lr: f64,
        device: &Device,
    ) -> Result<Self, EncoderError> {
        let encoder = TextEncoder::load(dir, device)?;
        let layers = encoder.model.layers();
        let first = layers.saturating_sub(train_layers);
        let heads = encoder.config.num_attention_heads;
        let width = encoder.width();
        // Texts of a fold are few (one per product); one padded batch. An
        // empty list still needs a tensor, of one empty text.
        let batch = if texts.is_empty() {
            vec![String::new()]
        } else {
            texts.to_vec()
        };
        let (_, tokens) = encoder.tokenize(&batch)?;
        let Tokens { mask, .. } = tokens.clone();
        let lower = encoder
            .model
            .encode(encoder.model.embed(&tokens), &mask, heads, 0..first)
            .detach();
        let mut tuner = EncoderTuner {
            model: encoder.model,
            optimizer: AdamConfig::new().init(),
            heads,
            pooling,
            normalize,
            lr,
            lower,
            mask,
            trained: first..layers,
            table: Vec::new(),
            width,
        };
        let all: Vec<usize> = (0..texts.len()).collect();
        let vectors = tuner.forward(&all).detach().into_data();
        let vectors = vectors.try_to_vec::<f32>().expect("float vectors");
        let per_text: Vec<Vec<f32>> = vectors
            .chunks(width.max(1))
            .take(texts.len())
            .map(<[f32]>::to_vec)
            .collect();
        tuner.table = text_table(&per_text, width);
        Ok(tuner)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The current vectors of the texts (without the no-text row).
    pub fn vectors(&self) -> Vec<Vec<f32>> {
        let w = self.width + 1;
        let texts = self.table.len() / w - 1;
        self.table
            .chunks(w)
            .take(texts)
            .map(|row| row[..self.width].to_vec())
            .collect()
    }

    /// Pooled vectors `[k, H]` of texts `rows` through the trained layers.
    fn forward(&self, rows: &[usize]) -> Tensor<2> {
        let device = self.lower.device();
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]),
            &device,
        );
        let mask = self.mask.clone().select(0, index.clone());
        let hidden = self.model.encode(
            self.lower.clone().select(0, index),
            &mask,
            self.heads,
            self.trained.clone(),
        );
        pool(self.pooling, self.normalize, hidden, &mask)
    }
}

impl TextTuner for EncoderTuner {
    fn step(&mut self, grads: &[f32]) -> Result<Vec<f32>, TrainError> {
        let w = self.width + 1;
        let texts = self.table.len() / w - 1;
        let rows: Vec<usize> = (0..texts)
            .filter(|&r| grads[r * w..r * w + self.width].iter().any(|g| *g != 0.0))
            .collect();
        if rows.is_empty() {
            return Ok(self.table.clone());
        }
        let device = self.lower.device();
        let upstream: Vec<f32> = rows
            .iter()
            .flat_map(|&r| grads[r * w..r * w + self.width].iter().copied())
            .collect();
        let upstream = Tensor::<2>::from_data(TensorData::new(upstream, [rows.len(), self.width]), &device);
        let surrogate = (self.forward(&rows) * upstream).sum();
        let gradients = GradientsParams::from_grads(surrogate.backward(), &self.model);
        self.model = self.optimizer.step(self.lr, self.model.clone(), gradients);
        let fresh = self.forward(&rows).detach().into_data();
        let fresh = fresh.try_to_vec::<f32>().expect("float vectors");
        for (k, &r) in rows.iter().enumerate() {
            self.table[r * w..r * w + self.width].copy_from_slice(&fresh[k * self.width..(k + 1) * self.width]);
        }
        if fresh.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Device(
                "the fine-tuned encoder produced non-finite text vectors (try a smaller encoder_lr)".into(),
            ));
        }
        Ok(self.table.clone())
    }
}
