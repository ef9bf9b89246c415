//! `trendlab forecast SPEC --from MODEL_DIR`: forecasting from a saved model
//! (`forecasts/<experiment>/<data fingerprint>/model/`) without fitting. On
//! the data it was fitted on, that reproduces its forecast; on newer data,
//! new observations update what the family allows: an ARIMA filters them
//! through its fixed parameters, linear models read the new lags, the
//! baselines read the latest values, an ensemble combines its members'
//! forecasts with the weights of its saved selection window. The model must
//! come from the same spec (its hash); its horizon and levels are the saved
//! ones (its conformal widths are for them).

use super::refit::{self, Source};
use super::{ForecastOptions, Split, finish_intervals, output, split};
use crate::error::Error;
use crate::experiment::Workspace;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use trendlab_engine::future::FutureFold;
use trendlab_results::conformal::IntervalMethod;
use trendlab_results::forecasts::ForecastFile;
use trendlab_results::saved_model::SavedModel;
use trendlab_results::store::SeriesFailure;

/// Which saved model a forecast came from.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub dir: PathBuf,
    /// The data it was fitted on.
    pub fitted_on: String,
    /// Whether that is the data forecast from now.
    pub same_data: bool,
}

impl Provenance {
    pub(super) fn of(model: &SavedModel, w: &Workspace, dir: &Path) -> Provenance {
        Provenance {
            dir: dir.to_path_buf(),
            fitted_on: model.data_fingerprint.clone(),
            same_data: model.data_fingerprint == w.prepared.panel.fingerprint,
        }
    }
}

/// The saved model in `dir`, checked against the spec and the request.
pub(super) fn read(w: &Workspace, dir: &Path, options: &ForecastOptions<'_>) -> Result<SavedModel, Error> {
    let model = SavedModel::read(dir).map_err(Error::Invalid)?;
    let spec = w.spec.display();
    if model.spec_hash != w.prepared.experiment.spec_hash || model.experiment != w.plan.experiment {
        return Err(Error::Invalid(format!(
            "--from {}: saved from another spec (experiment `{}`, spec hash {}), not from {spec} (experiment `{}`, spec hash {}); run `trendlab forecast {spec}` to fit this one",
            dir.display(),
            model.experiment,
            &model.spec_hash[..12.min(model.spec_hash.len())],
            w.plan.experiment,
            &w.prepared.experiment.spec_hash[..12]
        )));
    }
    if !matches!(options.choice, super::Choice::Best) {
        return Err(Error::Invalid(format!(
            "--from {}: a saved model holds one configuration (`{}`); --model and --config choose what to fit",
            dir.display(),
            model.fit.config
        )));
    }
    if options.horizon.is_some_and(|h| h != model.horizon) {
        return Err(Error::Invalid(format!(
            "--horizon: the saved model in {} forecasts {} periods; run `trendlab forecast` without --from for another horizon",
            dir.display(),
            model.horizon
        )));
    }
    if options.levels.is_some_and(|l| l != model.levels.as_slice()) {
        return Err(Error::Invalid(format!(
            "--levels: the saved model in {} has intervals at {:?}; run `trendlab forecast` without --from for others",
            dir.display(),
            model.levels
        )));
    }
    if !w.plan.configs.iter().any(|c| c.label() == model.fit.config) {
        return Err(Error::Invalid(format!(
            "--from {}: its configuration `{}` is not in {spec}",
            dir.display(),
            model.fit.config
        )));
    }
    Ok(model)
}

/// Forecasts `fold` from the saved `model` (in `dir`).
pub(super) fn forecast(
    w: &Workspace,
    model: &SavedModel,
    dir: &Path,
    fold: &FutureFold,
) -> Result<ForecastFile, Error> {
    let fitted_to = model.forecast.last_date;
    if fold.fold.cutoff < fitted_to {
        return Err(Error::Invalid(format!(
            "--from {}: the model was fitted on data up to {fitted_to}, and this data ends on {}: it would forecast dates it was fitted on; forecast from data that ends on or after {fitted_to}",
            dir.display(),
            fold.fold.cutoff
        )));
    }
    let c = (0..w.plan.configs.len())
        .find(|&c| w.plan.configs[c].label() == model.fit.config)
        .expect("checked when read");
    let refitted = refit::refit(
        w,
        c,
        fold,
        &model.levels,
        Source::Saved {
            fit: &model.fit,
            model_dir: dir,
        },
    )?;
    let Split {
        mut forecasts,
        failures,
        fallbacks,
    } = split(fold, w.plan.configs[c].fallback, refitted.outcomes);
    if forecasts.is_empty() {
        let first = failures.first().map_or("", |f| f.reason.as_str());
        return Err(Error::Failed(format!(
            "the saved `{}` could not forecast any of the {} series; the first: {first}",
            model.fit.config,
            failures.len()
        )));
    }
    let widths = match model.intervals {
        IntervalMethod::ConformalPerSeries { .. } | IntervalMethod::ConformalPooled { .. } => model.conformal.clone(),
        IntervalMethod::Own | IntervalMethod::Combined | IntervalMethod::None => BTreeMap::new(),
    };
    finish_intervals(w, &mut forecasts, &model.levels, &widths);
    let mut file = model.forecast.clone();
    file.config_id = w.plan.config_id(c);
    output::set_forecasts(
        &mut file,
        w,
        fold,
        forecasts,
        output::Unforecast { failures, fallbacks },
    );
    // A series the model forecast that this data lacks is named, never
    // silently dropped from the forecast.
    let named: BTreeSet<&str> = file
        .forecasts
        .iter()
        .map(|(id, ..)| id.as_str())
        .chain(file.failures.iter().chain(&file.skipped).map(|f| f.series.as_str()))
        .collect();
    let gone: Vec<SeriesFailure> = model
        .series
        .iter()
        .filter(|id| !named.contains(id.as_str()))
        .map(|id| SeriesFailure {
            series: id.clone(),
            reason: "not in this data: the saved model forecast it from the data it was fitted on".into(),
        })
        .collect();
    file.skipped.extend(gone);
    let relation = if model.data_fingerprint == w.prepared.panel.fingerprint {
        " (this data)"
    } else if fold.fold.cutoff > fitted_to {
        "; the data is newer and updated the state where the family allows it"
    } else {
        "; the data differs but ends on the same date, and its values updated the state where the family allows it"
    };
    file.refit = Some(format!(
        "none: forecast from the saved model in {}, fitted on data {}{relation}",
        dir.display(),
        model.data_fingerprint,
    ));
    Ok(file)
}
