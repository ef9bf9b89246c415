//! Chronos-Bolt (Ansari et al., 2024; Amazon's patch-based successor of
//! Chronos), a pretrained forecaster used zero-shot, read from a local
//! checkpoint directory in the layout its authors publish (`config.json`,
//! `model.safetensors`; the tiny, mini, small and base sizes):
//!
//! ```text
//! Checkpoint::load(dir) → Bolt::predict (forward.rs: one block of prediction_length)
//!                       → Checkpoint::forecast (longer horizons as the reference pipeline)
//! ```
//!
//! [`config`] reads and checks `config.json`, [`weights`] the tensors,
//! [`forward`] is the network on the CPU, and [`family`] the
//! `family = "chronos"` forecaster of the backtest.

pub mod config;
pub mod family;
pub mod forward;
pub mod network;
pub mod tune;
pub mod weights;

pub use config::BoltConfig;
pub use forward::Bolt;
use std::path::{Path, PathBuf};
use weights::BoltWeights;

/// The files a checkpoint directory must hold.
pub const REQUIRED_FILES: [&str; 2] = ["config.json", "model.safetensors"];

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoint directory {} not found (a Chronos-Bolt model directory, e.g. a copy of amazon/chronos-bolt-small: config.json and model.safetensors)",
        dir.display()
    )]
    MissingDirectory { dir: PathBuf },
    #[error("checkpoint directory {} lacks {} (a Chronos-Bolt model directory holds {})", dir.display(), missing.join(", "), REQUIRED_FILES.join(", "))]
    MissingFiles { dir: PathBuf, missing: Vec<String> },
    #[error("{}: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
}

/// `config.json` of `dir`, after checking the directory holds every file.
pub fn read_config(dir: &Path) -> Result<BoltConfig, CheckpointError> {
    use crate::model_dir::{DirError, read_config};
    read_config(dir, &REQUIRED_FILES, "checkpoint", BoltConfig::unsupported).map_err(|e| match e {
        DirError::Missing => CheckpointError::MissingDirectory { dir: dir.to_path_buf() },
        DirError::Lacks(missing) => CheckpointError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
        },
        DirError::Malformed { path, message } => CheckpointError::Malformed { path, message },
    })
}

impl Bolt {
    /// Loads the checkpoint directory `dir`.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let config = read_config(dir)?;
        let weights = BoltWeights::read(&dir.join("model.safetensors"), &config)?;
        let config_json = std::fs::read_to_string(dir.join("config.json")).map_err(|e| CheckpointError::Malformed {
            path: dir.join("config.json"),
            message: e.to_string(),
        })?;
        Ok(Bolt {
            config,
            weights,
            config_json,
        })
    }

    /// The quantile levels the model emits.
    pub fn quantiles(&self) -> &[f64] {
        &self.config.chronos().quantiles
    }

    /// Quantile forecasts `[quantile][step]` of the `horizon` periods after
    /// each context, as the reference pipeline (`ChronosBoltPipeline.predict`)
    /// makes them: one block of `prediction_length` periods; past it, each
    /// quantile of the previous block extends the context (cut to the
    /// model's context length), every extension is forecast, and the
    /// quantiles of the resulting quantile × quantile values are the next
    /// block.
    pub fn forecast(&self, contexts: &[&[f32]], horizon: usize) -> Vec<Vec<Vec<f32>>> {
        self.forecast_by(contexts, horizon, |c| self.predict(c))
    }

    /// [`Self::forecast`] with each block predicted by `predict` (contexts
    /// to `[quantile × step]` per context, in the data's scale): the host
    /// path's [`Bolt::predict`] or burn's module on another device.
    pub fn forecast_by(
        &self,
        contexts: &[&[f32]],
        horizon: usize,
        predict: impl Fn(&[&[f32]]) -> Vec<Vec<f32>>,
    ) -> Vec<Vec<Vec<f32>>> {
        let c = self.config.chronos();
        let (levels, block) = (c.quantiles.len(), c.prediction_length);
        let first = predict(contexts);
        let mut out: Vec<Vec<Vec<f32>>> = first
            .iter()
            .map(|f| f.chunks(block).map(<[f32]>::to_vec).collect())
            .collect();
        if horizon <= block {
            return truncate(out, horizon);
        }
        // One path per series and quantile.
        let mut paths: Vec<Vec<f32>> = contexts
            .iter()
            .zip(&out)
            .flat_map(|(context, quantiles)| quantiles.iter().map(|q| [*context, q.as_slice()].concat()))
            .collect();
        let mut done = block;
        while done < horizon {
            let cut: Vec<&[f32]> = paths
                .iter()
                .map(|p| &p[p.len().saturating_sub(c.context_length)..])
                .collect();
            let predicted = predict(&cut);
            for (s, series) in out.iter_mut().enumerate() {
                let per_path = &predicted[s * levels..(s + 1) * levels];
                let reduced = reduce(per_path, &c.quantiles, block);
                for (q, values) in reduced.into_iter().enumerate() {
                    paths[s * levels + q].extend_from_slice(&values);
                    series[q].extend(values);
                }
            }
            done += block;
        }
        truncate(out, horizon)
    }
}

fn truncate(mut out: Vec<Vec<Vec<f32>>>, horizon: usize) -> Vec<Vec<Vec<f32>>> {
    out.iter_mut()
        .for_each(|series| series.iter_mut().for_each(|q| q.truncate(horizon)));
    out
}

/// The `levels` quantiles, step by step, of the quantile forecasts of every
/// path (`[path][quantile × step]`, `block` steps), as `torch.quantile`
/// takes them: sorted values, linear interpolation between the two nearest
/// ranks (in single precision).
fn reduce(paths: &[Vec<f32>], levels: &[f64], block: usize) -> Vec<Vec<f32>> {
    let mut values = Vec::with_capacity(paths.len() * levels.len());
    let steps: Vec<Vec<f32>> = (0..block)
        .map(|t| {
            values.clear();
            for p in paths {
                values.extend(p.iter().skip(t).step_by(block));
            }
            values.sort_by(f32::total_cmp);
            levels.iter().map(|&l| quantile_of_sorted(&values, l as f32)).collect()
        })
        .collect();
    (0..levels.len())
        .map(|q| steps.iter().map(|step| step[q]).collect())
        .collect()
}

/// `torch.quantile(values, level)` of sorted values (linear interpolation).
pub fn quantile_of_sorted(sorted: &[f32], level: f32) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let rank = level * (sorted.len() - 1) as f32;
    let below = rank.trunc();
    let above = rank.ceil() as usize;
    let weight = rank - below;
    let (start, end) = (sorted[below as usize], sorted[above.min(sorted.len() - 1)]);
    // torch.lerp's two-sided form.
    if weight < 0.5 {
        start + weight * (end - start)
    } else {
        end - (end - start) * (1.0 - weight)
    }
}
