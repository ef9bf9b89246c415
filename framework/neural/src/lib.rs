//! Neural forecasting families of trendlab, on burn: the LSTM,
//! BERT-fusion (the LSTM fused with a pretrained BERT's embedding of each
//! product's description), N-HiTS ([`nhits`]) and PatchTST ([`patchtst`])
//! over the shared window training ([`window`]), and DeepAR ([`deepar`]),
//! the LSTM emitting distributions on the same windows. The only
//! crate that depends on burn and tokenizers, so the spec, data, classical
//! models and reports build and test without them.
//!
//! ```text
//! windows::build → train::train (kernel or autodiff gradients, burn's Adam) → train::predict
//! ```
//!
//! `bert` loads a Hugging Face BERT directory (safetensors weights,
//! `tokenizer.json`); `text` turns product texts into the cached vectors
//! `fusion` joins to the network.
//!
//! `family` and `fusion` are the [`trendlab_models::Forecaster`]s the engine calls;
//! `device` maps the spec's device to a backend (GPU backends behind the
//! `cuda` and `tch` cargo features).

pub mod bert;
pub mod checkpoint;
pub mod chronos;
pub mod deepar;
pub mod device;
pub mod family;
pub mod fastmath;
pub mod fusion;
pub mod kernel;
pub mod matmul;
pub mod model_dir;
pub mod network;
pub mod nhits;
pub mod patchtst;
pub mod rng;
pub mod samples;
pub mod text;
pub mod train;
pub mod tuner;
pub mod window;
pub mod windows;

pub use burn;
pub use chronos::family::Chronos;
pub use deepar::Deepar;
pub use family::Lstm;
pub use fusion::BertFusion;
pub use nhits::Nhits;
pub use patchtst::Patchtst;
pub use ref_cast;
