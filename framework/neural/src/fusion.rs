//! `family = "bert_fusion"`: the LSTM of [`crate::family`] with a
//! pretrained BERT's embedding of each product's description joined to the
//! history encoding ([`crate::text`] builds the table of text vectors):
//! `concat` feeds it to the output layer beside the last hidden state,
//! `gated` scales each hidden unit by `σ(W e + b)`. With `freeze = true`
//! the embeddings are computed once and cached; with `freeze = false` the
//! encoder's top `train_layers` layers train along with the network, by
//! Adam at `encoder_lr`, from the gradient the network passes back to
//! each text vector ([`crate::tuner`]).

use crate::bert::EncoderError;
use crate::device::{Backend, inference_device};
use crate::family::fit_and_forecast;
use crate::samples::{TextInputs, TextInto};
use crate::text::{ProductTexts, embeddings, text_table};
use crate::train::TextTuner;
pub use crate::tuner::EncoderTuner;
use crate::windows::build;
use ref_cast::RefCast;
use std::sync::Arc;
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesOutcome};
use trendlab_spec::{BertFusionConfig, Fusion};

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
