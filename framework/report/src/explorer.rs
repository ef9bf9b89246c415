//! The forecast explorer's data: the aggregates of the evaluation's levels
//! ([`aggregates`]) and the held series ([`held`]: all of a small panel),
//! each with its history and, for each model's best configuration, its
//! backtest forecasts per fold (a series' with the widest prediction
//! interval it produced). Read from the run store's
//! forecasts; the page's script draws it (pick a series by id or
//! product description, toggle models and folds, zoom and pan).

use crate::{ReportError, ReportInput, aggregates, held};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trendlab_results::RunStatus;
use trendlab_results::forecasts::ForecastFile;

/// Values are kept to this many decimals: far below what a chart shows, and
/// it keeps a report of 200 series × 10 models near a megabyte.
const DECIMALS: i32 = 3;

fn rounded(value: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    (value * scale).round() / scale
}

#[derive(Debug, Serialize)]
pub struct Explorer {
    /// Every period of any evaluated series, ascending (ISO dates).
    pub dates: Vec<String>,
    pub models: Vec<ExplorerModel>,
    /// Fold index and cutoff (the last training period).
    pub folds: Vec<(usize, String)>,
    pub series: Vec<ExplorerSeries>,
    /// The forecast past the data (`trendlab forecast`), when stored.
    pub future: Option<ExplorerModel>,
    /// How the held series were chosen, when some were left out.
    #[serde(skip)]
    pub held: Option<held::Choice>,
    /// Entries before the series: the aggregates.
    #[serde(skip)]
    pub aggregates: usize,
}

/// One model, shown by its best configuration.
#[derive(Debug, Serialize)]
pub struct ExplorerModel {
    pub label: String,
    pub family: String,
    /// Level (percent) of the interval drawn, if the model produced any.
    pub level: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ExplorerSeries {
    pub id: String,
    pub text: Option<String>,
    /// An aggregate's level (`total`, `state_id`...); `None` for a series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Index into `dates` of the first value.
    pub start: usize,
    pub values: Vec<f64>,
    pub forecasts: Vec<SeriesForecast>,
    /// Its forecast past the data (`model` and `fold` unused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub future: Option<SeriesForecast>,
}

/// One model's forecast of one series in one fold.
#[derive(Debug, Serialize)]
pub struct SeriesForecast {
    /// Index into `models`.
    #[serde(rename = "m")]
    pub model: usize,
    #[serde(rename = "f")]
    pub fold: usize,
    /// Index into `dates` of the first forecast period.
    #[serde(rename = "s")]
    pub start: usize,
    #[serde(rename = "y")]
    pub mean: Vec<f64>,
    /// Interval bounds at the model's `level` (empty without intervals).
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// What the page's text says about the explorer.
#[derive(Debug, Serialize)]
pub struct ExplorerSummary {
    /// Series held (aggregates aside).
    pub series: usize,
    pub aggregates: usize,
    pub held: Option<held::Choice>,
    pub models: Vec<String>,
    /// The configuration of the forecast past the data, when shown.
    pub future: Option<String>,
}

impl Explorer {
    /// `None` when the store holds no forecast of any model (a report
    /// rebuilt from MLflow alone).
    pub fn build(input: &ReportInput<'_>) -> Result<Option<Explorer>, ReportError> {
        let panel = &input.prepared.panel;
        let evaluated = &input.prepared.backtest.series;
        let held = held::choose(input, evaluated)?;
        let declared = input
            .prepared
            .experiment
            .evaluation()
            .wrmsse
            .as_ref()
            .map_or(&[][..], |w| &w.levels[..]);
        let per_level = input.prepared.experiment.document.report.per_level;
        let groups = aggregates::groups(panel, evaluated, declared, per_level);
        let dates = explorer_dates(input);
        let date_index: HashMap<NaiveDate, usize> = dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        // Aggregates first, then the held series.
        let mut series: Vec<ExplorerSeries> = groups
            .iter()
            .map(|g| {
                let sums = aggregates::history(panel, g, &date_index, dates.len());
                ExplorerSeries {
                    id: g.id(),
                    text: Some(format!("sum of {} series", g.members.len())),
                    level: Some(g.level.clone()),
                    start: sums.start,
                    values: sums.values.into_iter().map(rounded).collect(),
                    forecasts: Vec::new(),
                    future: None,
                }
            })
            .collect();
        series.extend(held.series.iter().map(|&i| {
            let s = &panel.series[i];
            ExplorerSeries {
                id: s.id.clone(),
                text: s.text.clone(),
                level: None,
                start: s.dates.first().and_then(|d| date_index.get(d)).copied().unwrap_or(0),
                values: s.target.iter().copied().map(rounded).collect(),
                forecasts: Vec::new(),
                future: None,
            }
        }));
        // Where each evaluated series' forecasts go: its own entry, its groups.
        let own: HashMap<&str, usize> = held
            .series
            .iter()
            .enumerate()
            .map(|(k, &i)| (panel.series[i].id.as_str(), groups.len() + k))
            .collect();
        let mut member_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for &i in &group.members {
                member_of.entry(panel.series[i].id.as_str()).or_default().push(g);
            }
        }
        let mut placed: Vec<Vec<SeriesForecast>> = (0..series.len()).map(|_| Vec::new()).collect();
        let mut models = Vec::new();
        for c in best_config_per_model(input) {
            let mut level = None;
            let mut any = false;
            for run in input.plan.runs_of(c) {
                let finished = input
                    .store
                    .record(&run.id)?
                    .is_some_and(|r| r.status == RunStatus::Finished);
                if !finished {
                    continue;
                }
                let table = input.store.forecasts(&run.id)?;
                // The widest interval the model produced.
                let widest = (0..table.levels.len()).max_by(|&a, &b| table.levels[a].total_cmp(&table.levels[b]));
                level = widest.map(|k| table.levels[k]);
                any = true;
                let mut by_series: BTreeMap<usize, SeriesForecast> = BTreeMap::new();
                let mut sums = aggregates::ForecastSums::default();
                for row in &table.rows {
                    let Some(&at) = date_index.get(&row.date) else { continue };
                    for &g in member_of.get(row.series_id.as_str()).into_iter().flatten() {
                        sums.add(g, at, row.forecast);
                    }
                    let Some(&s) = own.get(row.series_id.as_str()) else {
                        continue;
                    };
                    // Rows of a series come in step order.
                    let forecast = by_series
                        .entry(s)
                        .or_insert_with(|| SeriesForecast::starting(models.len(), run.fold, at));
                    forecast.mean.push(rounded(row.forecast));
                    if let Some(k) = widest {
                        forecast.lo.push(rounded(row.bounds[k].0));
                        forecast.hi.push(rounded(row.bounds[k].1));
                    }
                }
                for (g, sum) in sums.into_sums() {
                    let mut forecast = SeriesForecast::starting(models.len(), run.fold, sum.start);
                    forecast.mean = sum.values.into_iter().map(rounded).collect();
                    by_series.insert(g, forecast);
                }
                for (s, forecast) in by_series {
                    placed[s].push(forecast);
                }
            }
            if any {
                let config = &input.plan.configs[c];
                models.push(ExplorerModel {
                    label: config.label(),
                    family: config.family.name().to_string(),
                    level,
                });
            }
        }
        if models.is_empty() {
            return Ok(None);
        }
        for (s, forecasts) in series.iter_mut().zip(placed) {
            s.forecasts = forecasts;
        }
        let future = input
            .forecast
            .map(|forecast| place_future(forecast, &mut series, &date_index));
        Ok(Some(Explorer {
            dates: dates.iter().map(NaiveDate::to_string).collect(),
            models,
            folds: input
                .plan
                .folds
                .iter()
                .map(|f| (f.index, f.cutoff.to_string()))
                .collect(),
            series,
            future,
            held: held.choice,
            aggregates: groups.len(),
        }))
    }

    pub fn summary(&self) -> ExplorerSummary {
        ExplorerSummary {
            series: self.series.len() - self.aggregates,
            aggregates: self.aggregates,
            held: self.held.clone(),
            models: self.models.iter().map(|m| m.label.clone()).collect(),
            future: self.future.as_ref().map(|m| m.label.clone()),
        }
    }
}

impl SeriesForecast {
    fn starting(model: usize, fold: usize, start: usize) -> SeriesForecast {
        SeriesForecast {
            model,
            fold,
            start,
            mean: Vec::new(),
            lo: Vec::new(),
            hi: Vec::new(),
        }
    }
}

/// Every period from the evaluated series' first to the last, then the
/// forecast's past the data when one is stored.
fn explorer_dates(input: &ReportInput<'_>) -> Vec<NaiveDate> {
    let panel = &input.prepared.panel;
    let evaluated = || input.prepared.backtest.series.iter().map(|&i| &panel.series[i]);
    let first = evaluated().filter_map(|s| s.dates.first()).min().copied();
    let last = evaluated().filter_map(|s| s.dates.last()).max().copied();
    let future = input
        .forecast
        .into_iter()
        .flat_map(|f| f.forecasts.iter().filter_map(|(_, d, _)| d.last().copied()))
        .max();
    let (Some(first), Some(last)) = (first, last.max(future)) else {
        return Vec::new();
    };
    let mut dates = vec![first];
    while let Some(&d) = dates.last().filter(|d| **d < last) {
        dates.push(panel.frequency.advance(d, 1));
    }
    dates
}

/// Places the forecast past the data on its series (with its widest
/// interval); returns how the explorer names it.
fn place_future(
    forecast: &ForecastFile,
    series: &mut [ExplorerSeries],
    date_index: &HashMap<NaiveDate, usize>,
) -> ExplorerModel {
    let widest = (0..forecast.levels.len()).max_by(|&a, &b| forecast.levels[a].total_cmp(&forecast.levels[b]));
    let by_id: HashMap<String, usize> = series.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    let mut level = None;
    for (id, dates, f) in &forecast.forecasts {
        let (Some(&s), Some(start)) = (by_id.get(id), dates.first().and_then(|d| date_index.get(d))) else {
            continue;
        };
        let interval = widest.and_then(|k| f.intervals.get(k));
        level = level.or(interval.map(|i| i.level));
        series[s].future = Some(SeriesForecast {
            model: 0,
            fold: 0,
            start: *start,
            mean: f.mean.iter().copied().map(rounded).collect(),
            lo: interval.map_or_else(Vec::new, |i| i.lower.iter().copied().map(rounded).collect()),
            hi: interval.map_or_else(Vec::new, |i| i.upper.iter().copied().map(rounded).collect()),
        });
    }
    ExplorerModel {
        label: format!("forecast: {}", forecast.config),
        family: forecast.family.clone(),
        level,
    }
}

/// Each model's best configuration (the first of its rows on the ranked
/// leaderboard), models in the order of their best rows.
fn best_config_per_model(input: &ReportInput<'_>) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    input
        .board
        .rows
        .iter()
        .filter(|row| seen.insert(row.model.as_str()))
        .filter_map(|row| input.config_of(row))
        .collect()
}
