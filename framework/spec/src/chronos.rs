//! `family = "chronos"`: a pretrained Chronos-Bolt forecaster read from a
//! local checkpoint directory, used zero-shot: every series of a fold is
//! forecast from its own history, nothing is trained. The point forecast is
//! the model's median; intervals come from its quantiles when they cover
//! every `[evaluation] levels` interval (0.1 to 0.9 cover 80%), and are
//! conformal from the backtest otherwise.

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
        // quantiles as intervals; nothing is fitted (`forecast --from`
        // forecasts from the checkpoint again, which gives the same numbers).
        Capabilities {
            residuals: false,
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
        None
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    fn fix_epochs(&mut self, _epochs: usize) -> bool {
        false
    }
}
