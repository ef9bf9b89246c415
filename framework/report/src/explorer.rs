//! The forecast explorer's data: every evaluated series' history and, for
//! each model's best configuration, its backtest forecasts per fold with
//! the widest prediction interval it produced. Read from the run store's
//! `forecasts.csv`; the page's script draws it (pick a series by id or
//! product description, toggle models and folds, zoom and pan).

use crate::{ReportError, ReportInput};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trendlab_engine::RunStatus;
use trendlab_engine::forecasts::ForecastFile;

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
    pub series: usize,
    pub models: Vec<String>,
    /// The configuration of the forecast past the data, when shown.
    pub future: Option<String>,
}

impl Explorer {
    /// `None` when the store holds no forecast of any model (a report
    /// rebuilt from MLflow alone).
    pub fn build(input: &ReportInput<'_>) -> Result<Option<Explorer>, ReportError> {
        let (mut dates, mut series) = histories(input);
        if let Some(forecast) = input.forecast {
            let future: BTreeSet<NaiveDate> = forecast
                .forecasts
                .iter()
                .flat_map(|(_, d, _)| d.iter().copied())
                .collect();
            dates = dates
                .into_iter()
                .chain(future)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        let date_index: HashMap<NaiveDate, usize> = dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        let position: HashMap<&str, usize> = series.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
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
                for row in &table.rows {
                    let (Some(&s), Some(&at)) = (position.get(row.series_id.as_str()), date_index.get(&row.date))
                    else {
                        continue;
                    };
                    // Rows of a series come in step order.
                    let forecast = by_series.entry(s).or_insert_with(|| SeriesForecast {
                        model: models.len(),
                        fold: run.fold,
                        start: at,
                        mean: Vec::new(),
                        lo: Vec::new(),
                        hi: Vec::new(),
                    });
                    forecast.mean.push(rounded(row.forecast));
                    if let Some(k) = widest {
                        forecast.lo.push(rounded(row.bounds[k].0));
                        forecast.hi.push(rounded(row.bounds[k].1));
                    }
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
        }))
    }

    pub fn summary(&self) -> ExplorerSummary {
        ExplorerSummary {
            series: self.series.len(),
            models: self.models.iter().map(|m| m.label.clone()).collect(),
            future: self.future.as_ref().map(|m| m.label.clone()),
        }
    }
}

/// Every period of the evaluated series (ascending) and each series'
/// history, placed on them.
fn histories(input: &ReportInput<'_>) -> (Vec<NaiveDate>, Vec<ExplorerSeries>) {
    let panel = &input.prepared.panel;
    let evaluated: Vec<&trendlab_data::Series> = input
        .prepared
        .backtest
        .series
        .iter()
        .map(|&i| &panel.series[i])
        .collect();
    let dates: Vec<NaiveDate> = evaluated
        .iter()
        .flat_map(|s| s.dates.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let series = evaluated
        .iter()
        .map(|s| ExplorerSeries {
            id: s.id.clone(),
            text: s.text.clone(),
            start: s.dates.first().map_or(0, |d| dates.partition_point(|x| x < d)),
            values: s.target.iter().copied().map(rounded).collect(),
            forecasts: Vec::new(),
            future: None,
        })
        .collect();
    (dates, series)
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
