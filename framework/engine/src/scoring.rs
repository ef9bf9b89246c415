//! Scoring one fold of a run: each series' metrics against its actuals
//! (and WRMSSE over the declared hierarchy), their means, the notes on
//! what could not be scored, and the forecast table the run stores.

use trendlab_models::SeriesForecast;
use trendlab_results::folds::{Fold, Window};
use trendlab_results::metrics::{
    SeriesEval, WeightedSeries, Wrmsse, series_score, undefined_note, wrmsse, wrmsse_level_names,
};
use trendlab_results::prepare::Prepared;
use trendlab_results::store::{ForecastRow, ForecastTable, MetricsFile};
use trendlab_spec::Metric;

/// Metrics and the forecast table of one fold's scored series.
pub(crate) fn score(
    prepared: &Prepared,
    scored: &[(&Window, SeriesForecast)],
    fold: &Fold,
) -> (MetricsFile, ForecastTable) {
    let panel = &prepared.panel;
    let e = prepared.experiment.evaluation();
    let evals: Vec<SeriesEval<'_>> = scored
        .iter()
        .map(|(w, f)| {
            let s = &panel.series[w.series];
            SeriesEval {
                train: &s.target[w.train.clone()],
                actual: &s.target[w.test.clone()],
                forecast: &f.mean,
                intervals: &f.intervals,
            }
        })
        .collect();
    let windows: Vec<Window> = scored.iter().map(|(w, _)| (*w).clone()).collect();
    let mut metrics = MetricsFile::default();
    for score in prepared
        .experiment
        .scores()
        .iter()
        .filter(|s| s.metric != Metric::Wrmsse)
    {
        let mut values = Vec::new();
        let mut overflowed = 0;
        for (w, eval) in windows.iter().zip(&evals) {
            // A value past the largest float (targets near 1e308, an actual
            // near the smallest) is left out like an undefined one: a run
            // store holds numbers only.
            if let Some(v) = series_score(score, eval, e.season) {
                if !v.is_finite() {
                    overflowed += 1;
                    continue;
                }
                metrics
                    .per_series
                    .entry(panel.series[w.series].id.clone())
                    .or_default()
                    .insert(score.name(), v);
                values.push(v);
            }
        }
        let metric = score.metric;
        let zero_actuals = evals.iter().flat_map(|s| s.actual).filter(|a| **a == 0.0).count();
        let undefined = evals.len() - values.len() - overflowed;
        if undefined > 0 || (metric == Metric::Mape && zero_actuals > 0) {
            let note = undefined_note(metric, undefined, zero_actuals);
            if !metrics.notes.contains(&note) {
                metrics.notes.push(note);
            }
        }
        if overflowed > 0 {
            metrics.notes.push(overflow_note(&score.name(), overflowed));
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        if mean.is_finite() {
            metrics.aggregate.insert(score.name(), mean);
        } else if !values.is_empty() {
            metrics.notes.push(format!(
                "{} left out: the mean of its {} values is past the largest number",
                score.name(),
                values.len()
            ));
        }
    }
    if e.metrics.contains(&Metric::Wrmsse) {
        let declared = e.wrmsse.as_ref().map_or(&[][..], |w| &w.levels[..]);
        let Wrmsse {
            value,
            left_out,
            per_level,
        } = wrmsse(&weighted(prepared, &windows, &evals), declared.len());
        metrics.wrmsse_levels = wrmsse_level_names(declared)
            .into_iter()
            .zip(per_level)
            .filter_map(|(name, v)| Some((name, v.filter(|v| v.is_finite())?)))
            .collect();
        if left_out > 0 {
            metrics.notes.push(format!(
                "wrmsse left out {left_out} aggregate series whose training data never changes"
            ));
        }
        match value {
            Some(v) if v.is_finite() => {
                metrics.aggregate.insert(Metric::Wrmsse.name().into(), v);
            }
            Some(_) => metrics.notes.push(overflow_note("wrmsse", 1)),
            None => {}
        }
    }
    let levels = if scored.iter().any(|(_, f)| !f.intervals.is_empty()) {
        e.levels.clone()
    } else {
        Vec::new()
    };
    let rows = windows
        .iter()
        .zip(&evals)
        .flat_map(|(w, eval)| {
            let s = &panel.series[w.series];
            let with_bounds = !levels.is_empty();
            let level_count = levels.len();
            w.test.clone().enumerate().map(move |(h, t)| ForecastRow {
                series_id: s.id.clone(),
                fold: fold.index,
                cutoff: fold.cutoff,
                date: s.dates[t],
                step: h + 1,
                actual: eval.actual[h],
                forecast: eval.forecast[h],
                // A series without intervals among series with them (a
                // fallback fit on too few values for a spread): unknown bounds.
                bounds: match (with_bounds, eval.intervals.is_empty()) {
                    (false, _) => Vec::new(),
                    (true, true) => vec![(f64::NAN, f64::NAN); level_count],
                    (true, false) => eval.intervals.iter().map(|i| (i.lower[h], i.upper[h])).collect(),
                },
            })
        })
        .collect();
    (metrics, ForecastTable { levels, rows })
}

/// Why values past the largest number are missing.
fn overflow_note(metric: &str, count: usize) -> String {
    format!("{metric} left out {count} value(s) past the largest number (targets too large or too small to score)")
}

/// WRMSSE inputs: each series' weight over the last training periods and
/// its label at every declared level.
fn weighted<'a>(prepared: &Prepared, windows: &[Window], evals: &[SeriesEval<'a>]) -> Vec<WeightedSeries<'a>> {
    let panel = &prepared.panel;
    let spec = prepared
        .experiment
        .evaluation()
        .wrmsse
        .clone()
        .unwrap_or(trendlab_spec::WrmsseSection {
            weight: None,
            weight_periods: 28,
            levels: vec![],
        });
    let weight_column = spec.weight.as_ref().and_then(|w| panel.covariate_index(w));
    windows
        .iter()
        .zip(evals)
        .map(|(w, eval)| {
            let s = &panel.series[w.series];
            let values = weight_column.map_or(&s.target[w.train.clone()], |k| &s.covariates[k][w.train.clone()]);
            let weight = values[values.len().saturating_sub(spec.weight_periods)..].iter().sum();
            let labels = spec
                .levels
                .iter()
                .map(|level| panel.level_label(s, level).expect("level columns are loaded"))
                .collect();
            WeightedSeries {
                eval: *eval,
                weight,
                labels,
            }
        })
        .collect()
}
