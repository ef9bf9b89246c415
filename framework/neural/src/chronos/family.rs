//! `family = "chronos"`: every series of a fold forecast zero-shot by a
//! Chronos-Bolt checkpoint from its own history (the last
//! `context_length` periods). The point forecast is the median; each
//! `[evaluation] levels` interval comes from the model's quantiles when
//! they reach both of its ends (interpolated linearly between the
//! quantiles, which are sorted step by step first), else the series gets
//! none and `forecast` makes them conformal.
//!
//! With `fine_tune_steps`, the model is first fine-tuned ([`super::tune`])
//! on windows drawn (seeded) from every series' training values, and the
//! tuned checkpoint is saved in the run's directory (`chronos/`, a
//! Chronos-Bolt directory the reference loads too); `forecast --from`
//! forecasts from it.
//!
//! A checkpoint is loaded once per process (folds and configurations
//! reading the same unchanged directory share it).

use super::network::BoltNetwork;
use super::tune::{Tuning, Window, fine_tune};
use super::{Bolt, CheckpointError};
use crate::device::{Backend, inference_device};
use crate::rng::SplitMix64;
use ref_cast::RefCast;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;
use trendlab_models::{
    EpochLoss, FittedState, FoldInput, Forecaster, Interval, ModelError, SeriesForecast, SeriesOutcome, TrainingLog,
};
use trendlab_spec::{ChronosConfig, ComputeDevice};

/// The Chronos-Bolt family (a newtype over its config, as [`crate::Lstm`]).
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct Chronos(pub ChronosConfig);

/// Which version of a directory's files a loaded model is.
type Stamp = Vec<(u64, Option<SystemTime>)>;

/// Loaded checkpoints by directory, with the version of their files.
type Loaded = HashMap<PathBuf, (Stamp, Arc<Bolt>)>;

/// The loaded checkpoint of `dir`, from the process' cache while its files
/// are unchanged.
pub fn cached(dir: &Path) -> Result<Arc<Bolt>, CheckpointError> {
    static LOADED: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let stamp: Stamp = super::REQUIRED_FILES
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(dir.join(f)).ok();
            (
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    let cache = LOADED.get_or_init(Default::default);
    if let Some((seen, model)) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(dir)
        && *seen == stamp
    {
        return Ok(model.clone());
    }
    let model = Arc::new(Bolt::load(dir)?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dir.to_path_buf(), (stamp, model.clone()));
    Ok(model)
}

/// Where a fine-tuned run keeps its tuned checkpoint, in its directory.
pub const TUNED: &str = "chronos";

impl Chronos {
    /// The model that forecasts: the checkpoint, or fine-tuned on the
    /// fold's windows (saved with the run), or the saved tuned one
    /// (`forecast --from`).
    fn model(&self, input: &FoldInput<'_>) -> Result<Arc<Bolt>, ModelError> {
        let dir = input.context.files.spec_dir.join(&self.0.checkpoint);
        let unfit = |e: CheckpointError| ModelError::Unfit(e.to_string());
        let model = cached(&dir).map_err(unfit)?;
        if self.0.fine_tune_steps == 0 {
            return Ok(model);
        }
        let artifacts = input.context.files.artifacts;
        if input.context.fitted.is_some() {
            let dir = artifacts.ok_or_else(|| ModelError::Unfit("no folder holds the saved model".into()))?;
            return Ok(Arc::new(Bolt::load(&dir.join(TUNED)).map_err(unfit)?));
        }
        let started = std::time::Instant::now();
        let windows = TrainingWindows::of(input, model.config.chronos().prediction_length);
        if windows.count() == 0 {
            return Err(ModelError::Unfit(
                "no training window: every series is shorter than two periods".into(),
            ));
        }
        let tuning = Tuning {
            steps: self.0.fine_tune_steps,
            lr: self.0.lr,
            weight_decay: WEIGHT_DECAY,
        };
        let mut rng = SplitMix64::new(input.seed);
        let sample = |_| windows.sample(&mut rng, self.0.batch_size);
        let backend = Backend::for_device(self.0.device).map_err(ModelError::Unfit)?;
        let tuned = fine_tune(&model, tuning, sample, backend.params_device()).map_err(ModelError::Numerical)?;
        let mut bolt = (*model).clone();
        bolt.weights = tuned.weights;
        let checkpoint = match artifacts {
            Some(dir) => {
                bolt.weights
                    .write_checkpoint(&bolt.config, &bolt.config_json, &dir.join(TUNED))
                    .map_err(|e| {
                        ModelError::Unfit(format!("cannot save the tuned checkpoint in {}: {e}", dir.display()))
                    })?;
                input.observer.fitted(FittedState {
                    shared: serde_json::json!({ "checkpoint": TUNED }),
                    series: Default::default(),
                });
                Some(TUNED.to_string())
            }
            None => None,
        };
        let seconds = started.elapsed().as_secs_f64() / tuned.losses.len().max(1) as f64;
        input.observer.trained(TrainingLog {
            device: Backend::Burn(backend.params_device().clone()).describe(self.0.device),
            train_windows: windows.count(),
            validation_windows: 0,
            epochs: tuned
                .losses
                .iter()
                .enumerate()
                .map(|(k, &train)| EpochLoss {
                    epoch: k + 1,
                    train,
                    validation: None,
                    seconds,
                })
                .collect(),
            best_epoch: tuned.losses.len(),
            stopped_early: false,
            checkpoint,
        });
        Ok(Arc::new(bolt))
    }
}

/// AdamW's weight decay in fine-tuning (torch's default).
const WEIGHT_DECAY: f64 = 0.01;

/// Every series' training values, from which fine-tuning samples windows:
/// a cut after at least one period, the values before it (the context)
/// and up to `block` after it (the target).
struct TrainingWindows {
    series: Vec<Vec<f32>>,
    block: usize,
}

impl TrainingWindows {
    fn of(input: &FoldInput<'_>, block: usize) -> Self {
        let series = input
            .series
            .iter()
            .map(|s| s.target.iter().map(|&v| v as f32).collect::<Vec<f32>>())
            .filter(|v| v.len() >= 2)
            .collect();
        TrainingWindows { series, block }
    }

    /// Possible cuts: each series' periods but its first.
    fn count(&self) -> usize {
        self.series.iter().map(|s| s.len() - 1).sum()
    }

    /// `n` windows drawn uniformly among every series' cuts.
    fn sample(&self, rng: &mut SplitMix64, n: usize) -> Vec<Window<'_>> {
        let total = self.count();
        (0..n)
            .map(|_| {
                let mut k = rng.below(total);
                let mut s = 0;
                while k >= self.series[s].len() - 1 {
                    k -= self.series[s].len() - 1;
                    s += 1;
                }
                let (values, cut) = (&self.series[s], k + 1);
                Window {
                    context: &values[..cut],
                    target: &values[cut..(cut + self.block).min(values.len())],
                }
            })
            .collect()
    }
}

impl Forecaster for Chronos {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let model = self.model(input)?;
        let own = model.config.chronos().context_length;
        let length = self.0.context_length.map_or(own, |l| l.min(own));
        let contexts: Vec<Vec<f32>> = input
            .series
            .iter()
            .map(|s| {
                s.target[s.target.len().saturating_sub(length)..]
                    .iter()
                    .map(|&v| v as f32)
                    .collect()
            })
            .collect();
        let usable: Vec<usize> = (0..contexts.len()).filter(|&i| !contexts[i].is_empty()).collect();
        let refs: Vec<&[f32]> = usable.iter().map(|&i| contexts[i].as_slice()).collect();
        let forecasts = match self.0.device {
            ComputeDevice::Cpu => model.forecast(&refs, input.horizon),
            gpu => {
                let device = inference_device(gpu).map_err(ModelError::Unfit)?;
                let network = BoltNetwork::of(&model.weights, &model.config, &device);
                let predict = |c: &[&[f32]]| network.predict(&model, c, self.0.batch_size, &device);
                model.forecast_by(&refs, input.horizon, predict)
            }
        };
        let mut outcomes: Vec<SeriesOutcome> = input
            .series
            .iter()
            .map(|s| {
                Err(ModelError::TooShort {
                    series: s.id.to_string(),
                    need: 1,
                    have: 0,
                })
            })
            .collect();
        for (&i, quantiles) in usable.iter().zip(forecasts) {
            outcomes[i] = series_forecast(model.quantiles(), &quantiles, input.levels, input.horizon)
                .map_err(|what| ModelError::Numerical(format!("series `{}`: {what}", input.series[i].id)));
        }
        Ok(outcomes)
    }
}

/// A series' median and intervals from its quantile forecasts
/// (`[quantile][step]` at `levels_of_model`).
pub fn series_forecast(
    levels_of_model: &[f64],
    quantiles: &[Vec<f32>],
    levels: &[f64],
    horizon: usize,
) -> Result<SeriesForecast, String> {
    let mut sorted = vec![Vec::with_capacity(quantiles.len()); horizon];
    for (t, column) in sorted.iter_mut().enumerate() {
        column.extend(quantiles.iter().map(|q| f64::from(q[t])));
        if column.iter().any(|v| !v.is_finite()) {
            return Err(format!("the model's forecast at step {} is not finite", t + 1));
        }
        column.sort_by(f64::total_cmp);
    }
    let at =
        |level: f64| -> Option<Vec<f64>> { sorted.iter().map(|c| interpolate(levels_of_model, c, level)).collect() };
    let median = match levels_of_model.iter().position(|&q| q == 0.5) {
        Some(k) => quantiles[k].iter().map(|&v| f64::from(v)).collect(),
        None => at(0.5).ok_or("the model's quantiles do not reach the median")?,
    };
    let intervals = levels
        .iter()
        .map(|&level| {
            let tail = (1.0 - level / 100.0) / 2.0;
            Some(Interval {
                level,
                lower: at(tail)?,
                upper: at(1.0 - tail)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    Ok(SeriesForecast {
        mean: median,
        intervals,
        chosen: None,
        residuals: Vec::new(),
    })
}

/// The value at `level` of sorted `values` at levels `grid` (increasing),
/// linearly between grid points; `None` outside the grid.
fn interpolate(grid: &[f64], values: &[f64], level: f64) -> Option<f64> {
    const TOLERANCE: f64 = 1e-9;
    let (first, last) = (*grid.first()?, *grid.last()?);
    if level < first - TOLERANCE || level > last + TOLERANCE {
        return None;
    }
    let level = level.clamp(first, last);
    let k = grid.partition_point(|&g| g < level);
    if k < grid.len() && (grid[k] - level).abs() <= TOLERANCE {
        return Some(values[k]);
    }
    let (lo, hi) = (k - 1, k);
    let w = (level - grid[lo]) / (grid[hi] - grid[lo]);
    Some(values[lo] + w * (values[hi] - values[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_come_from_the_quantiles_that_cover_them() {
        let grid = [0.1, 0.5, 0.9];
        // Step 1 crosses (0.1 above 0.5): sorted first.
        let quantiles = vec![vec![3.0, 1.0], vec![2.0, 2.0], vec![1.0, 5.0]];
        let f = series_forecast(&grid, &quantiles, &[80.0, 40.0], 2).unwrap();
        assert_eq!(f.mean, vec![2.0, 2.0], "the median as the model gives it");
        assert_eq!(f.intervals[0].lower, vec![1.0, 1.0]);
        assert_eq!(f.intervals[0].upper, vec![3.0, 5.0]);
        // 40%: 0.3 and 0.7, halfway between the grid's points.
        let close = |got: &[f64], want: [f64; 2]| got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12);
        assert!(close(&f.intervals[1].lower, [1.5, 1.5]), "{:?}", f.intervals[1]);
        assert!(close(&f.intervals[1].upper, [2.5, 3.5]), "{:?}", f.intervals[1]);
        // 95% needs 0.025: outside the grid, so no intervals at all.
        let f = series_forecast(&grid, &quantiles, &[80.0, 95.0], 2).unwrap();
        assert!(f.intervals.is_empty());
        let bad = vec![vec![f32::NAN, 1.0], vec![2.0, 2.0], vec![1.0, 5.0]];
        assert!(series_forecast(&grid, &bad, &[], 2).unwrap_err().contains("step 1"));
    }
}
