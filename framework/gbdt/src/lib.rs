//! The `gbdt` family: one global gradient-boosted tree model per fold (one
//! per horizon step with `strategy = "direct"`) over every series' rows of
//! `[features]` — lags, rolling statistics, calendar, covariates — each
//! series scaled by its training statistics, as the LightGBM models that
//! won the M5 competition. The trees come from hessboost (histogram trees,
//! grown leaf-wise here as LightGBM grows them; the same model on any
//! number of threads). Gain importance per feature is reported to the run
//! (`importance` in run.json, and the report).

use hessboost::config::{GrowPolicy, LeafEstimation};
use hessboost::model::{BoostedModel, ImportanceType};
use hessboost::objective::{Quantiles, Tweedie};
use hessboost::prelude::*;
use ref_cast::RefCast;
use trendlab_models::features::{PreparedSeries, forecast_steps, training_rows};
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome};
use trendlab_spec::{GbdtConfig, GbdtObjective, Strategy};

pub use ref_cast;

/// `gbdt` as a [`Forecaster`] (the engine casts the spec's config to it).
#[derive(RefCast)]
#[repr(transparent)]
pub struct Gbdt(pub GbdtConfig);

fn failed(what: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Numerical(format!("the gradient-boosted trees could not be {what}: {e}"))
}

impl Gbdt {
    fn params(&self, seed: u64) -> Result<TrainingParams, ModelError> {
        let c = &self.0;
        let objective = match c.objective {
            GbdtObjective::SquaredError => Objective::SquaredError(RegLoss::default()),
            GbdtObjective::Absolute => Objective::AbsoluteError,
            GbdtObjective::Poisson => Objective::Poisson,
            GbdtObjective::Tweedie => {
                Objective::Tweedie(Tweedie::new(c.tweedie_power).map_err(|e| failed("set up", e))?)
            }
            GbdtObjective::Quantile => {
                Objective::Quantile(Quantiles::new([c.quantile]).map_err(|e| failed("set up", e))?)
            }
        };
        // The quantile and absolute losses have no useful Hessian: their
        // leaves take the exact quantile of the residuals they hold, as
        // LightGBM renews them.
        let leaves = match c.objective {
            GbdtObjective::Quantile | GbdtObjective::Absolute => LeafEstimation::Exact,
            _ => LeafEstimation::Newton,
        };
        TrainingParams::builder()
            .objective(objective)
            .leaf_estimation(leaves)
            .tree_method(TreeMethod::Hist)
            .grow_policy(GrowPolicy::LossGuide)
            .unlimited_depth()
            .max_leaves(c.max_leaves)
            .eta(c.learning_rate)
            .min_child_weight(c.min_child_weight)
            .subsample(c.subsample)
            .colsample_bytree(c.colsample)
            .lambda(c.lambda)
            .seed(seed)
            .nthread(rayon::current_num_threads().max(1))
            .build()
            .map_err(|e| failed("set up", e))
    }

    /// A series the model can train on, or why not.
    fn prepare<'a>(&self, s: &'a SeriesHistory<'a>, input: &FoldInput<'_>) -> Result<PreparedSeries<'a>, ModelError> {
        let need = input.features.warmup().max(1);
        if s.train_len() < need {
            return Err(ModelError::TooShort {
                series: s.id.to_string(),
                need,
                have: s.train_len(),
            });
        }
        let log_link = matches!(self.0.objective, GbdtObjective::Poisson | GbdtObjective::Tweedie);
        if let Some(i) = s.target.iter().position(|v| log_link && *v < 0.0) {
            return Err(ModelError::Unfit(format!(
                "series `{}` has {} at {}: the {} objective needs values >= 0",
                s.id,
                s.target[i],
                s.dates[i],
                if self.0.objective == GbdtObjective::Poisson {
                    "poisson"
                } else {
                    "tweedie"
                }
            )));
        }
        PreparedSeries::for_fold(s, self.0.scaling, None)
    }

    /// The model of horizon step `step` on every usable series' rows.
    fn fit(
        &self,
        series: &[&PreparedSeries<'_>],
        step: usize,
        input: &FoldInput<'_>,
    ) -> Result<BoostedModel, ModelError> {
        let width = input.features.width();
        let mut rows: Vec<f32> = Vec::new();
        let mut targets: Vec<f32> = Vec::new();
        for s in series {
            training_rows(input.features, s, step, |x, y| {
                rows.extend(x.iter().map(|v| *v as f32));
                targets.push(y as f32);
            });
        }
        if targets.is_empty() {
            return Err(ModelError::Unfit(
                "no series has a training row for the features (every series is shorter than the longest lag or window)".into(),
            ));
        }
        if let Some(bad) = rows.iter().chain(&targets).find(|v| !v.is_finite()) {
            return Err(ModelError::Numerical(format!("a training row holds {bad}")));
        }
        let n = targets.len();
        let data = DMatrix::from_dense_vec(rows, n, width)
            .and_then(|d| d.with_labels(&targets))
            .map_err(|e| failed("given the rows", e))?;
        train(&self.params(input.seed)?, &data, self.0.rounds).map_err(|e| failed("fitted", e))
    }
}

/// Gain importance per feature, summed over the step models and scaled to
/// sum to one, largest first.
fn importance(models: &[BoostedModel], names: &[String]) -> Vec<(String, f64)> {
    let mut totals = vec![0.0f64; names.len()];
    for model in models {
        for (feature, gain) in model.feature_importance(ImportanceType::TotalGain) {
            if let Some(t) = totals.get_mut(feature) {
                *t += gain;
            }
        }
    }
    let sum: f64 = totals.iter().sum();
    let mut out: Vec<(String, f64)> = names
        .iter()
        .cloned()
        .zip(totals.iter().map(|t| if sum > 0.0 { t / sum } else { 0.0 }))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

impl Forecaster for Gbdt {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        if input.features.width() == 0 {
            return Err(ModelError::Unfit(
                "gbdt needs `[features]`: lags, rolling windows, calendar or covariates".into(),
            ));
        }
        let prepared: Vec<Result<PreparedSeries<'_>, ModelError>> =
            input.series.iter().map(|s| self.prepare(s, input)).collect();
        let usable: Vec<&PreparedSeries<'_>> = prepared.iter().filter_map(|s| s.as_ref().ok()).collect();
        let steps: Vec<usize> = match self.0.strategy {
            Strategy::Recursive => vec![1],
            Strategy::Direct => (1..=input.horizon).collect(),
        };
        let models = steps
            .iter()
            .map(|&step| self.fit(&usable, step, input))
            .collect::<Result<Vec<_>, _>>()?;
        input.observer.importance(&importance(&models, &input.features.names()));
        let mut row32: Vec<f32> = Vec::with_capacity(input.features.width());
        Ok(prepared
            .into_iter()
            .map(|s| {
                let mut s = s?;
                let mut failure = None;
                let out = forecast_steps(self.0.strategy, &mut s, input, |k, row| {
                    row32.clear();
                    row32.extend(row.iter().map(|v| *v as f32));
                    match models[k].predict_row(&row32, Iterations::Best) {
                        Ok(v) => f64::from(v),
                        Err(e) => {
                            failure = Some(failed("applied", e));
                            f64::NAN
                        }
                    }
                });
                match failure {
                    Some(e) => Err(e),
                    None => out.map(SeriesForecast::from),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendlab_models::testing::{daily_dates, history};
    use trendlab_models::{FeatureSet, FitObserver};
    use trendlab_spec::Scaling;

    fn config(objective: GbdtObjective, strategy: Strategy) -> GbdtConfig {
        GbdtConfig {
            objective,
            tweedie_power: 1.5,
            quantile: 0.5,
            learning_rate: 0.3,
            rounds: 60,
            max_leaves: 8,
            min_child_weight: 1e-3,
            subsample: 1.0,
            colsample: 1.0,
            lambda: 0.0,
            strategy,
            scaling: Scaling::None,
        }
    }

    /// Weekly cycles at three levels (one series each), 16 weeks.
    fn cycles() -> Vec<Vec<f64>> {
        [1.0, 2.0, 3.0]
            .iter()
            .map(|level| {
                (0..112)
                    .map(|t| level * [5.0, 1.0, 1.0, 2.0, 3.0, 8.0, 4.0][t % 7])
                    .collect()
            })
            .collect()
    }

    #[derive(Default)]
    struct Gains(std::sync::Mutex<Vec<(String, f64)>>);
    impl FitObserver for Gains {
        fn importance(&self, gains: &[(String, f64)]) {
            *self.0.lock().unwrap() = gains.to_vec();
        }
    }

    fn forecast(config: GbdtConfig, series: &[Vec<f64>], threads: usize, gains: &Gains) -> Vec<SeriesOutcome> {
        let dates = daily_dates(112 + 14);
        let features = FeatureSet {
            lags: vec![1, 7],
            rolling: vec![(7, trendlab_spec::RollingStat::Mean)],
            ..FeatureSet::default()
        };
        let ids = ["a", "b", "c"];
        let histories = series.iter().zip(ids).map(|(y, id)| history(id, &dates, y)).collect();
        let input = FoldInput {
            observer: gains,
            seed: 3,
            ..FoldInput::new(histories, 14, &features)
        };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| Gbdt(config).forecast(&input).unwrap())
    }

    #[test]
    fn learns_weekly_cycles_recursively_and_directly_the_same_on_any_thread_count() {
        let series = cycles();
        for strategy in [Strategy::Recursive, Strategy::Direct] {
            let gains = Gains::default();
            let one = forecast(config(GbdtObjective::SquaredError, strategy), &series, 1, &gains);
            for (y, f) in series.iter().zip(&one) {
                let f = &f.as_ref().unwrap().mean;
                // The next week continues the cycle: mean error within 5% of its level.
                // (Further on, a recursive forecast reads its own forecasts as lags, a
                // hair off the training values the trees split exactly at.)
                let level = y.iter().sum::<f64>() / y.len() as f64;
                let error = f[..7]
                    .iter()
                    .enumerate()
                    .map(|(h, v)| (v - y[112 + h - 14]).abs())
                    .sum::<f64>()
                    / 7.0;
                assert!(
                    error < 0.05 * level,
                    "{strategy:?}: mean error {error}, level {level}: {f:?}"
                );
            }
            let two = forecast(
                config(GbdtObjective::SquaredError, strategy),
                &series,
                2,
                &Gains::default(),
            );
            assert_eq!(one, two, "{strategy:?}: another thread count changed the forecasts");
            let gains = gains.0.into_inner().unwrap();
            assert_eq!(gains.len(), 3);
            assert!((gains.iter().map(|g| g.1).sum::<f64>() - 1.0).abs() < 1e-9);
            // The cycle is read from the value a week earlier.
            assert_eq!(gains[0].0, "lag_7", "{gains:?}");
        }
    }

    #[test]
    fn count_objectives_forecast_positive_levels_and_refuse_negative_series_alone() {
        let mut series = cycles();
        let tweedie = forecast(
            config(GbdtObjective::Tweedie, Strategy::Recursive),
            &series,
            1,
            &Gains::default(),
        );
        assert!(
            tweedie
                .iter()
                .all(|f| f.as_ref().unwrap().mean.iter().all(|v| *v > 0.0))
        );
        series[1][50] = -4.0;
        let poisson = forecast(
            config(GbdtObjective::Poisson, Strategy::Recursive),
            &series,
            1,
            &Gains::default(),
        );
        assert!(poisson[0].is_ok() && poisson[2].is_ok());
        let reason = poisson[1].as_ref().unwrap_err().to_string();
        assert_eq!(
            reason,
            "series `b` has -4 at 2024-02-20: the poisson objective needs values >= 0"
        );
    }
}
