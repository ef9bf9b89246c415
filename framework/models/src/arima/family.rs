//! The `arima` family in a backtest: per series, the fixed orders of the
//! spec or an automatic search (or, with `reuse_order`, the orders the
//! search chose for that series on the first fold), regressed on the
//! known-in-advance covariates with `exogenous = true`, forecast with
//! prediction intervals at the experiment's levels. A series that cannot be
//! fitted fails alone, with its reason.

use super::auto::{Search, auto_arima};
use super::saved::SavedArima;
use super::{ArimaFit, Orders, fit};
use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome, per_series};
use trendlab_spec::{ArimaConfig, ArimaTrend};

/// The orders recorded per series (`chosen` in run.json), e.g.
/// `{"order": [1, 1, 1], "seasonal_order": [0, 1, 1, 7], "trend": "t",
/// "model": "ARIMA(1,1,1)(0,1,1)[7] with drift"}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Chosen {
    order: [usize; 3],
    seasonal_order: [usize; 4],
    trend: ArimaTrend,
    model: String,
    /// Why the search fell back to this simpler model, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fallback: Option<String>,
}

impl From<Orders> for Chosen {
    fn from(o: Orders) -> Self {
        Chosen {
            order: o.order,
            seasonal_order: o.seasonal_order,
            trend: o.trend,
            model: o.to_string(),
            fallback: None,
        }
    }
}

impl From<Chosen> for Orders {
    fn from(c: Chosen) -> Self {
        Orders {
            order: c.order,
            seasonal_order: c.seasonal_order,
            trend: c.trend,
        }
    }
}

impl Orders {
    /// The fixed orders of a spec (`None` with `auto = true`).
    pub fn of(config: &ArimaConfig) -> Option<Orders> {
        let order = config.order?;
        let differences = order[1] + config.seasonal_order[1];
        Some(Orders {
            order,
            seasonal_order: config.seasonal_order,
            trend: config.trend.unwrap_or(ArimaTrend::default_for(differences)),
        })
    }
}

/// Fits one series: fixed orders, the first fold's choice, or a search
/// (with why it fell back to a simpler model, when it did).
fn fit_series(
    config: &ArimaConfig,
    s: &SeriesHistory<'_>,
    input: &FoldInput<'_>,
) -> Result<(ArimaFit, Option<String>), ModelError> {
    let exogenous = if config.exogenous {
        input.features.varying_future(s)
    } else {
        Vec::new()
    };
    if let Some(orders) = Orders::of(config) {
        return Ok((fit(s.target, &exogenous, &orders, s.id)?, None));
    }
    let reused = input
        .context
        .first_fold
        .filter(|_| config.reuse_order)
        .and_then(|choices| choices.get(s.id))
        .and_then(|value| serde_json::from_value::<Chosen>(value.clone()).ok());
    match reused {
        Some(chosen) => Ok((fit(s.target, &exogenous, &chosen.into(), s.id)?, None)),
        None => {
            let search = Search {
                season: config.season.unwrap_or(1),
                approximation: config.approximation,
            };
            let searched = auto_arima(s.target, &exogenous, search, s.id)?;
            Ok((searched.model, searched.fallback))
        }
    }
}

impl Forecaster for ArimaConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let saved = input.context.fitted;
        let fitted = std::sync::Mutex::new(crate::FittedState::default());
        let outcomes = per_series(input, |s, horizon| {
            let (model, fallback) = match saved {
                // A saved fit (`forecast --from`): its model on this data.
                Some(state) => {
                    let exogenous = if self.exogenous {
                        input.features.varying_future(s)
                    } else {
                        Vec::new()
                    };
                    let model = state
                        .series_state::<SavedArima>(s.id)?
                        .refilter(s.target, &exogenous, s.id)?;
                    (model, None)
                }
                None => {
                    let (model, fallback) = fit_series(self, s, input)?;
                    let saved = serde_json::to_value(model.saved()).expect("saved fits serialise");
                    let mut fitted = fitted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    fitted.series.insert(s.id.to_string(), saved);
                    (model, fallback)
                }
            };
            let forecast = model.forecast(s.target, horizon)?;
            let sd: Vec<f64> = forecast.variance.iter().map(|v| v.sqrt()).collect();
            let intervals = crate::intervals::normal(&forecast.mean, &sd, input.levels);
            Ok(SeriesForecast {
                residuals: Vec::new(),
                mean: forecast.mean,
                intervals,
                chosen: self.auto.then(|| {
                    let chosen = Chosen {
                        fallback,
                        ..Chosen::from(model.orders)
                    };
                    serde_json::to_value(chosen).expect("orders serialise")
                }),
            })
        })?;
        if saved.is_none() {
            input
                .observer
                .fitted(fitted.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{daily_dates, history};
    use crate::{Choices, FeatureSet};

    fn config(reuse_order: bool) -> ArimaConfig {
        ArimaConfig {
            order: None,
            seasonal_order: [0; 4],
            trend: None,
            auto: true,
            season: None,
            approximation: None,
            reuse_order,
            exogenous: false,
        }
    }

    /// Forecasts one AR(1)-like series with `first_fold` choices on offer.
    fn run(config: &ArimaConfig, first_fold: &Choices) -> SeriesForecast {
        let mut x = 0.0;
        let y: Vec<f64> = (0..120)
            .map(|t| {
                x = 0.7 * x + ((t * 7919) % 17) as f64 - 8.0;
                50.0 + x
            })
            .collect();
        let dates = daily_dates(130);
        let features = FeatureSet::default();
        let mut input = FoldInput::new(vec![history("s", &dates, &y)], 10, &features);
        input.levels = &[90.0];
        input.context.first_fold = Some(first_fold);
        config.forecast(&input).unwrap().remove(0).unwrap()
    }

    #[test]
    fn reuse_order_takes_the_first_folds_orders_instead_of_searching() {
        // An order the search would not choose for this series.
        let imposed = Orders {
            order: [0, 1, 2],
            seasonal_order: [0; 4],
            trend: ArimaTrend::N,
        };
        let choices: Choices = [("s".to_string(), serde_json::to_value(Chosen::from(imposed)).unwrap())].into();
        let searched = run(&config(false), &choices);
        let reused = run(&config(true), &choices);
        let order_of = |f: &SeriesForecast| f.chosen.as_ref().unwrap()["model"].as_str().unwrap().to_string();
        assert_eq!(order_of(&reused), "ARIMA(0,1,2)");
        assert_ne!(order_of(&searched), "ARIMA(0,1,2)");
        assert_eq!(reused.intervals.len(), 1);
        assert_eq!(reused.intervals[0].level, 90.0);
    }
}
