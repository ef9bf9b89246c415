//! The `ets` family in a backtest: per series, the search of the spec's
//! model code (or one fixed form), forecasts and intervals; the chosen form
//! is recorded per series (`chosen` in run.json).

use super::statespace::filter;
use super::{EtsFit, NoFit, Search, auto_ets};
use crate::saved_fits::{SeriesFit, per_series_fits};
use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome};
use trendlab_spec::EtsConfig;

impl SeriesFit for EtsFit {
    fn on_data(mut self, s: &SeriesHistory<'_>) -> Result<Self, ModelError> {
        if s.target.is_empty() {
            return Err(ModelError::TooShort {
                series: s.id.to_string(),
                need: 1,
                have: 0,
            });
        }
        self.last = filter(&self.form, &self.smoothing, &self.initial, s.target).last;
        self.observations = s.target.len();
        Ok(self)
    }
}

fn fit(config: &EtsConfig, s: &SeriesHistory<'_>) -> Result<EtsFit, ModelError> {
    let search = Search::new(&config.model, config.damped, config.season, config.multiplicative_trend);
    auto_ets(s.target, &search).map_err(|why| match why {
        NoFit::TooShort { need } => ModelError::TooShort {
            series: s.id.to_string(),
            need,
            have: s.train_len(),
        },
        NoFit::NoCandidate => ModelError::Unfit(format!(
            "series `{}`: no ETS model `{}` suits it (a multiplicative part needs values that are all positive, a season more than one period of data)",
            s.id, config.model
        )),
        NoFit::Failed => ModelError::Numerical(format!("no ETS model `{}` could be fitted to series `{}`", config.model, s.id)),
    })
}

impl Forecaster for EtsConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series_fits(
            input,
            |s| fit(self, s),
            |model, s, horizon| {
                let mean = model.forecast(horizon);
                let intervals = model.intervals(&mean, input.levels, input.seed);
                Ok(SeriesForecast {
                    residuals: match input.context.residuals {
                        true => super::statespace::residuals(&model.form, &model.smoothing, &model.initial, s.target),
                        false => Vec::new(),
                    },
                    mean,
                    intervals,
                    chosen: Some(serde_json::json!({
                        "model": model.form.name(),
                        "alpha": model.smoothing.alpha,
                        "beta": model.smoothing.beta,
                        "gamma": model.smoothing.gamma,
                        "phi": model.smoothing.phi,
                        "aicc": model.aicc,
                    })),
                })
            },
        )
    }
}
