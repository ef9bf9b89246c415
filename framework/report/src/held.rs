//! Which series the forecast explorer holds. A page drawing every series of
//! a large panel (M5's 30,490) would weigh hundreds of megabytes; up to
//! `[report] all_up_to` series it holds them all, past that the union of
//! the largest by volume, the ones the best model forecasts worst, a seeded
//! random sample and the ids the spec names, and says what it left out.

use crate::{ReportError, ReportInput};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use trendlab_results::RunStatus;
use trendlab_stats::SplitMix64;

/// The held series (indices into the panel, in panel order) and, when some
/// were left out, how they were chosen.
#[derive(Debug, Clone)]
pub struct Held {
    pub series: Vec<usize>,
    pub choice: Option<Choice>,
}

/// How a subset of the series was chosen, for the page's note.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Evaluated series in all.
    pub evaluated: usize,
    pub held: usize,
    pub top: usize,
    /// The worst `worst` of `model` by `metric` (mean over its folds).
    pub worst: usize,
    pub worst_model: Option<String>,
    pub worst_metric: Option<String>,
    pub sample: usize,
    /// Ids named in `[report] series`, and those of them not evaluated.
    pub named: usize,
    pub not_found: Vec<String>,
}

/// The series of `evaluated` (panel indices) the explorer holds.
pub fn choose(input: &ReportInput<'_>, evaluated: &[usize]) -> Result<Held, ReportError> {
    let spec = &input.prepared.experiment.document.report;
    if evaluated.len() <= spec.all_up_to {
        return Ok(Held {
            series: evaluated.to_vec(),
            choice: None,
        });
    }
    let panel = &input.prepared.panel;
    let mut held = BTreeSet::new();
    // The largest by volume (ties by panel order).
    let mut by_volume: Vec<(f64, usize)> = evaluated
        .iter()
        .map(|&i| (panel.series[i].target.iter().sum::<f64>(), i))
        .collect();
    by_volume.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    held.extend(by_volume.iter().take(spec.top).map(|(_, i)| *i));
    // The worst of the best model.
    let worst = worst_of_best(input, evaluated)?;
    let (worst_model, worst_metric) = match &worst {
        Some((model, metric, _)) => (Some(model.clone()), Some(metric.clone())),
        None => (None, None),
    };
    if let Some((_, _, ranked)) = &worst {
        held.extend(ranked.iter().take(spec.worst));
    }
    // A seeded sample of the rest.
    let mut rest: Vec<usize> = evaluated.iter().copied().filter(|i| !held.contains(i)).collect();
    let mut rng = SplitMix64::new(input.prepared.experiment.document.experiment.seed ^ 0x5eed_5e1e_c7ed_0001);
    for k in 0..spec.sample.min(rest.len()) {
        let j = k + (rng.next_u64() % (rest.len() - k) as u64) as usize;
        rest.swap(k, j);
        held.insert(rest[k]);
    }
    // The ones named.
    let by_id: BTreeMap<&str, usize> = evaluated.iter().map(|&i| (panel.series[i].id.as_str(), i)).collect();
    let mut not_found = Vec::new();
    for id in &spec.series {
        match by_id.get(id.as_str()) {
            Some(&i) => {
                held.insert(i);
            }
            None => not_found.push(id.clone()),
        }
    }
    let series: Vec<usize> = held.into_iter().collect();
    Ok(Held {
        choice: Some(Choice {
            evaluated: evaluated.len(),
            held: series.len(),
            top: spec.top,
            worst: if worst.is_some() { spec.worst } else { 0 },
            worst_model,
            worst_metric,
            sample: spec.sample,
            named: spec.series.len() - not_found.len(),
            not_found,
        }),
        series,
    })
}

/// The best ranked configuration's label, the per-series metric it is
/// judged by (the ranking metric, else the first per-series one), and the
/// evaluated series from its worst mean over folds down.
fn worst_of_best(
    input: &ReportInput<'_>,
    evaluated: &[usize],
) -> Result<Option<(String, String, Vec<usize>)>, ReportError> {
    let Some(best) = input.board.rows.iter().find(|r| r.rank.is_some()) else {
        return Ok(None);
    };
    let mut sums: BTreeMap<String, BTreeMap<String, (f64, usize)>> = BTreeMap::new();
    for id in &best.run_ids {
        let finished = input.store.record(id)?.is_some_and(|r| r.status == RunStatus::Finished);
        if !finished {
            continue;
        }
        for (series, values) in input.store.series_metrics(id)? {
            for (metric, value) in values {
                let slot = sums
                    .entry(metric)
                    .or_default()
                    .entry(series.clone())
                    .or_insert((0.0, 0));
                slot.0 += value;
                slot.1 += 1;
            }
        }
    }
    let metric = std::iter::once(&input.board.rank_by)
        .chain(&input.board.metrics)
        .find(|m| sums.contains_key(*m) && *m != "bias");
    let Some(metric) = metric else { return Ok(None) };
    let means = &sums[metric];
    let panel = &input.prepared.panel;
    let mut ranked: Vec<(f64, usize)> = evaluated
        .iter()
        .filter_map(|&i| means.get(&panel.series[i].id).map(|(sum, n)| (sum / *n as f64, i)))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(Some((
        best.label.clone(),
        metric.clone(),
        ranked.into_iter().map(|(_, i)| i).collect(),
    )))
}
