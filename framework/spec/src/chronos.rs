//! `family = "chronos"`: a pretrained Chronos-Bolt forecaster read from a
//! local checkpoint directory, used zero-shot: every series of a fold is
//! forecast from its own history, nothing is trained. The point forecast is
//! the model's median; intervals come from its quantiles when they cover
//! every `[evaluation] levels` interval (0.1 to 0.9 cover 80%), and are
//! conformal from the backtest otherwise. With `fine_tune_steps` the model
//! is first fine-tuned on the fold's training windows (saved with the run).

use crate::capabilities::{Capabilities, CheckContext, Family};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The longest context a Chronos-Bolt model reads.
pub const MAX_CONTEXT: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChronosConfig {
    /// A Chronos-Bolt model directory (`config.json`, `model.safetensors`:
    /// a copy of amazon/chronos-bolt-tiny, -mini, -small or -base),
    /// relative to the spec file.
    pub checkpoint: String,
    /// Periods of each series' history the model reads: at most its own
    /// context length (2048 for the published models), which is the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<usize>,
    /// AdamW steps of fine-tuning on the fold's training windows before
    /// forecasting, with the model's own quantile loss (0: zero-shot).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fine_tune_steps: usize,
    /// Fine-tuning's learning rate.
    #[serde(default = "default_lr", skip_serializing_if = "is_default_lr")]
    pub lr: f64,
    /// Windows per fine-tuning step, and series per batch on a GPU.
    #[serde(default = "default_batch_size", skip_serializing_if = "is_default_batch_size")]
    pub batch_size: usize,
    /// Where to run: "cpu" (trendlab's host path; fine-tuning on burn's
    /// autodiff) or "cuda:N" (burn's module, batches of `batch_size`
    /// series; needs a build with a GPU feature).
    #[serde(default)]
    pub device: ComputeDevice,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}
fn default_lr() -> f64 {
    1e-5
}
fn is_default_lr(v: &f64) -> bool {
    *v == default_lr()
}
fn default_batch_size() -> usize {
    32
}
fn is_default_batch_size(v: &usize) -> bool {
    *v == default_batch_size()
}

/// What a checkpoint directory must hold.
pub const CHECKPOINT_FILES: [&str; 2] = ["config.json", "model.safetensors"];

impl ChronosConfig {
    /// Files the checkpoint directory (resolved against `spec_dir`) lacks.
    pub fn missing_checkpoint_files(&self, spec_dir: &Path) -> Vec<&'static str> {
        let dir = spec_dir.join(&self.checkpoint);
        CHECKPOINT_FILES
            .into_iter()
            .filter(|f| !dir.join(f).is_file())
            .collect()
    }
}

impl Family for ChronosConfig {
    fn capabilities(&self) -> Capabilities {
        // Each series from its own history, on the CPU, with the model's
        // quantiles as intervals. Zero-shot, nothing is fitted (`forecast
        // --from` forecasts from the checkpoint again, which gives the same
        // numbers); fine-tuned, the tuned weights are the fit, learnt
        // across series.
        let tuned = self.fine_tune_steps > 0;
        Capabilities {
            device: Some(self.device),
            residuals: false,
            saves_fit: tuned,
            per_series: !tuned,
            ..crate::capabilities::univariate_with_intervals()
        }
    }

    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        if let Some(length) = self.context_length
            && !(1..=MAX_CONTEXT).contains(&length)
        {
            return ParamIssue::one(
                "context_length",
                format!("context_length must be in 1..={MAX_CONTEXT} (the longest context Chronos-Bolt reads)"),
            );
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return ParamIssue::one("lr", "lr must be a finite number > 0");
        }
        if self.batch_size == 0 {
            return ParamIssue::one("batch_size", "batch_size must be at least 1");
        }
        let dir = context.spec_dir.join(&self.checkpoint);
        let missing = self.missing_checkpoint_files(context.spec_dir);
        let problem = match dir.is_dir() {
            false => "not found".to_string(),
            true if !missing.is_empty() => format!("lacks {}", missing.join(", ")),
            true => return Vec::new(),
        };
        ParamIssue::one(
            "checkpoint",
            format!(
                "checkpoint directory {} {problem} (a Chronos-Bolt model directory with {}: copy one of \
                 amazon/chronos-bolt-tiny, -mini, -small or -base there; docs/src/chronos.md says how)",
                dir.display(),
                CHECKPOINT_FILES.join(" and ")
            ),
        )
    }

    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        Some(&mut self.device)
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    fn fix_epochs(&mut self, _epochs: usize) -> bool {
        false
    }
}
