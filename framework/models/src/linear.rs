//! `linear`: ridge / OLS regression on the `[features]`, one global model
//! across series (per-series scaling makes them comparable) or one model per
//! series. Multi-step forecasts are recursive (one one-step model, forecasts
//! fed back as lags) or direct (one model per horizon step).

use crate::features::{PreparedSeries, forecast_steps, training_rows_by_step};
use crate::ridge::{NormalEquations, Ridge};
use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesOutcome};
use trendlab_spec::LinearConfig;
use trendlab_spec::Strategy;

impl Forecaster for LinearConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let features = input.features;
        let need = features.warmup().max(1);
        // A series too short for the features fails alone; the rest train the
        // model. Each series is scaled when its turn comes (once to fit, once
        // to forecast), never all at once: at M5's size the scaled copies
        // would hold hundreds of megabytes.
        let prepare = |s| prepare(self, s, need, input);
        let steps: Vec<usize> = match self.strategy {
            Strategy::Recursive => vec![1],
            Strategy::Direct => (1..=input.horizon).collect(),
        };

        // A saved fit (`forecast --from`) replaces fitting: the shared
        // `{"models": [...]}`, per series `{"scaling": ..., "models": [...]}`.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Models {
            models: Vec<Ridge>,
        }
        let saved = input.context.fitted;
        let shared = match (self.per_series, saved) {
            (true, _) => None,
            (false, Some(state)) => Some(state.shared_state::<Models>()?.models),
            (false, None) => {
                let usable = input.series.iter().filter_map(|s| prepare(s).ok());
                Some(fit(self.alpha, usable, &steps, input)?)
            }
        };
        let mut fitted = crate::FittedState::default();
        let outcomes = input
            .series
            .iter()
            .map(|s| {
                let mut s = prepare(s)?;
                let models = match (&shared, saved) {
                    (Some(m), _) => m.clone(),
                    (None, Some(state)) => state.series_state::<Models>(s.history.id)?.models,
                    (None, None) => fit(self.alpha, [&s], &steps, input)?,
                };
                if saved.is_none() {
                    let mut state = serde_json::json!({ "scaling": s.scaling() });
                    if self.per_series {
                        state["models"] = serde_json::json!(models);
                    }
                    fitted.series.insert(s.history.id.to_string(), state);
                }
                forecast_steps(self.strategy, &mut s, input, |step, row| models[step].predict(row))
                    .map(SeriesForecast::from)
            })
            .collect();
        if saved.is_none() {
            if let Some(models) = shared {
                fitted.shared = serde_json::json!(Models { models });
            }
            input.observer.fitted(fitted);
        }
        Ok(outcomes)
    }
}

/// `s` scaled for the model, or why it cannot take part (too short).
fn prepare<'a>(
    config: &LinearConfig,
    s: &'a crate::SeriesHistory<'a>,
    need: usize,
    input: &FoldInput<'_>,
) -> Result<PreparedSeries<'a>, ModelError> {
    if s.train_len() < need {
        return Err(ModelError::TooShort {
            series: s.id.to_string(),
            need,
            have: s.train_len(),
        });
    }
    PreparedSeries::for_fold(s, config.scaling, input.context.fitted)
}

/// Fits the models of horizon steps `steps` on the rows of every series in
/// `group`, in one pass over the rows (each origin's features computed once
/// for every step).
fn fit<'s, S: std::borrow::Borrow<PreparedSeries<'s>>>(
    alpha: f64,
    group: impl IntoIterator<Item = S>,
    steps: &[usize],
    input: &FoldInput<'_>,
) -> Result<Vec<Ridge>, ModelError> {
    let mut equations = vec![NormalEquations::new(input.features.width()); steps.len()];
    for s in group {
        training_rows_by_step(input.features, s.borrow(), steps, |k, x, y| equations[k].add(x, y));
    }
    equations.iter().map(|e| e.solve(alpha)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureSet;
    use crate::testing::forecast_series;
    use trendlab_spec::Scaling;

    fn forecast(config: &LinearConfig, y: &[f64], horizon: usize, lags: Vec<usize>) -> Vec<f64> {
        let features = FeatureSet {
            lags,
            ..FeatureSet::default()
        };
        forecast_series(config, y, horizon, &features).unwrap()
    }

    fn config(strategy: Strategy) -> LinearConfig {
        LinearConfig {
            alpha: 0.0,
            per_series: false,
            strategy,
            scaling: Scaling::None,
        }
    }

    #[test]
    fn ar1_recovered_exactly_both_strategies() {
        // y_t = 1 + 0.5 y_{t-1}: recursive and direct forecasts follow the recursion.
        let mut y = vec![10.0];
        for _ in 0..30 {
            y.push(1.0 + 0.5 * y.last().unwrap());
        }
        let (train, test) = y.split_at(27);
        for strategy in [Strategy::Recursive, Strategy::Direct] {
            let f = forecast(&config(strategy), train, 4, vec![1]);
            for (a, b) in f.iter().zip(test) {
                assert!((a - b).abs() < 1e-6, "{strategy:?}: {f:?} vs {test:?}");
            }
        }
    }

    #[test]
    fn scaling_does_not_change_an_exact_fit() {
        let y: Vec<f64> = (0..40).map(|t| 100.0 + 3.0 * t as f64).collect();
        let plain = forecast(&config(Strategy::Recursive), &y, 3, vec![1]);
        let scaled = forecast(
            &LinearConfig {
                scaling: Scaling::Standard,
                ..config(Strategy::Recursive)
            },
            &y,
            3,
            vec![1],
        );
        for (a, b) in plain.iter().zip(&scaled) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!((plain[0] - 220.0).abs() < 1e-6);
    }
}
