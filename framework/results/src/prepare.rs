//! Everything checked before any run starts: the spec, the data's columns,
//! the data itself, and that the backtest fits the series. Errors here are
//! input errors (exit code 2); nothing has been computed yet.

use crate::folds::{Backtest, Fold, Window};
use std::path::Path;
use trendlab_data::{DataError, Panel, read_header};
use trendlab_models::FeatureSet;
use trendlab_spec::{Diagnostics, Experiment, KeyPath, SpecError};

/// A validated experiment with its data loaded and its backtest laid out.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub experiment: Experiment,
    pub panel: Panel,
    pub features: FeatureSet,
    pub backtest: Backtest,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Data(#[from] DataError),
}

fn invalid(d: Vec<trendlab_spec::Diagnostic>) -> PrepareError {
    PrepareError::Spec(SpecError::Invalid(Diagnostics(d)))
}

/// Loads `spec_path` and its data and checks them against each other.
pub fn prepare(spec_path: &Path) -> Result<Prepared, PrepareError> {
    let experiment = trendlab_spec::load(spec_path)?;
    let path = &experiment.data_path;
    let header = read_header(path).map_err(|e| trendlab_data::explain_damage(path, e))?;
    let missing = experiment.check_columns(&header);
    if !missing.is_empty() {
        // Garbage decompressed from a damaged archive names no column.
        if let Some(damage) = trendlab_data::gzip_damage(path) {
            return Err(damage.into());
        }
        return Err(invalid(missing));
    }
    let panel = trendlab_data::load(&experiment)?;
    let backtest = Backtest::new(&experiment, &panel);
    if backtest.series.is_empty() {
        let e = experiment.evaluation();
        let longest = panel.series.iter().map(|s| s.len()).max().unwrap_or(0);
        let message = format!(
            "impossible backtest: each series needs {} periods (min_train {} + horizon {} + (folds {} - 1) x step {}), but the longest series in {} has {longest}",
            backtest.periods_needed,
            experiment.min_train().max(e.train_size.unwrap_or(0)),
            e.horizon,
            e.folds,
            experiment.step(),
            experiment.data_path.display(),
        );
        return Err(invalid(vec![
            experiment.diagnostic(&KeyPath::from(["evaluation", "horizon"]), message),
        ]));
    }
    let unfit = validation_origins_without_series(&experiment, &panel, &backtest);
    if !unfit.is_empty() {
        return Err(invalid(unfit));
    }
    if let Some(too_long) = season_beyond_history(&experiment, &panel, &backtest) {
        return Err(invalid(vec![too_long]));
    }
    let data_covariates = &experiment.document.data.covariates;
    let features = FeatureSet::from_spec(&experiment.document.features, data_covariates, panel.frequency)
        .with_known(&panel.event_covariates, &panel.static_covariates);
    Ok(Prepared {
        experiment,
        panel,
        features,
        backtest,
    })
}

impl Prepared {
    /// Train and test ranges of every taking-part series in `fold`.
    pub fn windows(&self, fold: &Fold) -> Vec<Window> {
        self.backtest.windows(&self.experiment, &self.panel, fold)
    }
}

/// A seasonal scale (MASE, RMSSE) that no series can have: `season` not
/// shorter than every series' training history at the first fold, where
/// the scale needs pairs of values `season` periods apart.
fn season_beyond_history(
    experiment: &trendlab_spec::Experiment,
    panel: &Panel,
    backtest: &Backtest,
) -> Option<trendlab_spec::Diagnostic> {
    let e = experiment.evaluation();
    let scaled: Vec<&str> = e
        .metrics
        .iter()
        .filter(|m| matches!(m, trendlab_spec::Metric::Mase | trendlab_spec::Metric::Rmsse))
        .map(|m| m.name())
        .collect();
    let first = backtest.folds.first()?;
    let longest = backtest
        .windows(experiment, panel, first)
        .iter()
        .map(|w| w.train.len())
        .max()?;
    if scaled.is_empty() || e.season < longest {
        return None;
    }
    Some(experiment.diagnostic(
        &KeyPath::from(["evaluation", "season"]),
        format!(
            "season = {} is not shorter than any series' training history at the first fold (the longest has {longest} periods): \
             {} {} by the errors of a seasonal naive forecast {} periods back, which no series has; {}",
            e.season,
            scaled.join(" and "),
            if scaled.len() == 1 { "scales" } else { "scale" },
            e.season,
            if e.season > 1 {
                "lower season, or raise min_train"
            } else {
                "raise min_train (each series needs at least 2 training periods)"
            }
        ),
    ))
}

/// An ensemble whose earliest validation origin leaves no series with
/// `min_train` periods: its members could not be refitted there.
fn validation_origins_without_series(
    experiment: &trendlab_spec::Experiment,
    panel: &Panel,
    backtest: &Backtest,
) -> Vec<trendlab_spec::Diagnostic> {
    let configs = experiment.configs();
    let mut found = Vec::new();
    for model in &experiment.models {
        let origins = configs
            .iter()
            .filter(|c| c.model_index == model.index)
            .filter_map(|c| c.family.ensemble())
            .map(|e| e.origins(&configs))
            .max()
            .unwrap_or(0);
        let Some(earliest) = backtest.validation_folds(experiment, panel, origins).into_iter().next() else {
            continue;
        };
        if backtest.windows(experiment, panel, &earliest).is_empty() {
            let path = KeyPath::default()
                .key("models")
                .index(model.index)
                .key("validation_folds");
            found.push(experiment.diagnostic(
                &path,
                format!(
                    "the earliest validation origin, {}, leaves no series with {} training periods; lower validation_folds (or min_train)",
                    earliest.cutoff,
                    experiment.min_train()
                ),
            ));
        }
    }
    found
}
