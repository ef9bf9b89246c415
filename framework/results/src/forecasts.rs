//! The forecast past the data, as `trendlab forecast` stores it under
//! `forecasts/<experiment>/<data fingerprint>/`: `forecast.csv` (one row
//! per series and future period: `series_id,date,step,forecast,lo_<L>,
//! hi_<L>...,model,config`) and `forecast.json` (where it came from: spec
//! hash, data fingerprint, the configuration and its backtest metrics, how
//! it was refit, the interval method, the series that failed and why, the
//! totals per period). The report reads it back.

use crate::conformal::IntervalMethod;
use crate::leaderboard::MetricSummary;
use crate::store::{SeriesFailure, StoreError, write_atomic};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trendlab_models::{Interval, SeriesForecast};

/// `forecast.json`, with the forecasts themselves (in the CSV).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForecastFile {
    pub experiment: String,
    pub spec_hash: String,
    pub data_fingerprint: String,
    pub trendlab_version: String,
    pub model: String,
    pub family: String,
    /// The configuration's label (model and grid values).
    pub config: String,
    pub config_id: String,
    pub params: serde_json::Value,
    pub backtest: BacktestSummary,
    /// How the configuration was refit on all data, when that differs from
    /// a backtest fold's fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refit: Option<String>,
    /// The data's last date; the forecast covers the `horizon` periods after.
    pub last_date: NaiveDate,
    pub horizon: usize,
    pub levels: Vec<f64>,
    pub intervals: IntervalMethod,
    /// The interval method in words.
    pub intervals_text: String,
    /// Forecasts and bounds clipped at zero (`[data] nonnegative`).
    pub clipped_at_zero: bool,
    pub series: usize,
    /// Series without a forecast (the model and its fallback failed), with why.
    pub failures: Vec<SeriesFailure>,
    /// Series the model failed on, forecast by the configuration's fallback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<crate::store::SeriesFallback>,
    /// Series of the data the backtest leaves out (too short, ending early),
    /// with why: they are not forecast either.
    #[serde(default)]
    pub skipped: Vec<SeriesFailure>,
    /// Per future period, the forecast summed over every series.
    pub totals: Vec<PeriodTotal>,
    /// Per series: its id, the forecast dates and the forecasts.
    #[serde(skip)]
    pub forecasts: Vec<(String, Vec<NaiveDate>, SeriesForecast)>,
}

/// The chosen configuration's backtest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestSummary {
    pub rank: Option<usize>,
    pub rank_by: String,
    pub metrics: BTreeMap<String, MetricSummary>,
    pub folds: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeriodTotal {
    pub date: NaiveDate,
    pub step: usize,
    pub forecast: f64,
}

/// `<out>/forecasts/<experiment>/<data fingerprint>/`.
pub fn forecast_dir(out: &Path, experiment: &str, data_fingerprint: &str) -> PathBuf {
    out.join("forecasts").join(experiment).join(data_fingerprint)
}

impl ForecastFile {
    /// `forecast.csv`.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["series_id", "date", "step", "forecast"].map(String::from).to_vec();
        for level in &self.levels {
            header.push(format!("lo_{level}"));
            header.push(format!("hi_{level}"));
        }
        header.extend(["model".to_string(), "config".to_string()]);
        writer.write_record(&header).expect("writing to memory");
        for (id, dates, f) in &self.forecasts {
            for (h, date) in dates.iter().enumerate() {
                let mut record = vec![id.clone(), date.to_string(), (h + 1).to_string(), f.mean[h].to_string()];
                for interval in &f.intervals {
                    record.push(interval.lower[h].to_string());
                    record.push(interval.upper[h].to_string());
                }
                record.extend([self.model.clone(), self.config.clone()]);
                writer.write_record(&record).expect("writing to memory");
            }
        }
        writer.into_inner().expect("writing to memory")
    }

    /// Writes `forecast.csv` and `forecast.json` into `dir` (created), each
    /// atomically.
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        write_atomic(&dir.join("forecast.csv"), &self.to_csv())?;
        write_atomic(&dir.join("forecast.json"), &self.to_json())
    }

    /// `forecast.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("forecast files serialise");
        json.push(b'\n');
        json
    }

    /// The forecast stored in `dir`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<ForecastFile>, StoreError> {
        let json_path = dir.join("forecast.json");
        let bytes = match std::fs::read(&json_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path: json_path,
                    source,
                });
            }
        };
        let malformed = |path: &Path, message: String| StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
        };
        let mut file: ForecastFile =
            serde_json::from_slice(&bytes).map_err(|e| malformed(&json_path, format!("not a forecast.json: {e}")))?;
        let csv_path = dir.join("forecast.csv");
        let mut reader = csv::Reader::from_path(&csv_path).map_err(|e| malformed(&csv_path, e.to_string()))?;
        let levels = file.levels.len();
        let mut by_series: Vec<(String, Vec<NaiveDate>, SeriesForecast)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| malformed(&csv_path, e.to_string()))?;
            let cell = |i: usize| record.get(i).unwrap_or_default();
            let number = |i: usize| {
                cell(i)
                    .parse::<f64>()
                    .map_err(|_| malformed(&csv_path, format!("`{}` is not a number", cell(i))))
            };
            let date: NaiveDate = cell(1)
                .parse()
                .map_err(|_| malformed(&csv_path, format!("`{}` is not a date", cell(1))))?;
            if by_series.last().is_none_or(|(id, _, _)| id != cell(0)) {
                let intervals = file
                    .levels
                    .iter()
                    .map(|&level| Interval {
                        level,
                        lower: Vec::new(),
                        upper: Vec::new(),
                    })
                    .collect();
                by_series.push((
                    cell(0).to_string(),
                    Vec::new(),
                    SeriesForecast {
                        intervals,
                        ..SeriesForecast::default()
                    },
                ));
            }
            let (_, dates, f) = by_series.last_mut().expect("just pushed");
            dates.push(date);
            f.mean.push(number(3)?);
            for k in 0..levels {
                if let Some(interval) = f.intervals.get_mut(k) {
                    interval.lower.push(number(4 + 2 * k)?);
                    interval.upper.push(number(5 + 2 * k)?);
                }
            }
        }
        // A forecast without intervals has no bound columns.
        for (_, _, f) in &mut by_series {
            f.intervals.retain(|i| !i.lower.is_empty());
        }
        file.forecasts = by_series;
        Ok(Some(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(levels: Vec<f64>) -> ForecastFile {
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
        let forecast = |base: f64| SeriesForecast {
            mean: vec![base, base + 0.5],
            intervals: levels
                .iter()
                .map(|&level| Interval {
                    level,
                    lower: vec![base - level / 10.0, base - 1.0],
                    upper: vec![base + level / 10.0, base + 1.25],
                })
                .collect(),
            chosen: None,
            residuals: Vec::new(),
        };
        ForecastFile {
            experiment: "e".into(),
            spec_hash: "h".into(),
            data_fingerprint: "f".into(),
            trendlab_version: "0".into(),
            model: "m".into(),
            family: "naive".into(),
            config: "m".into(),
            config_id: "c".into(),
            params: serde_json::json!({}),
            backtest: BacktestSummary {
                rank: Some(1),
                rank_by: "mase".into(),
                metrics: BTreeMap::new(),
                folds: 3,
            },
            refit: None,
            last_date: day(1),
            horizon: 2,
            intervals: IntervalMethod::Own,
            intervals_text: IntervalMethod::Own.to_string(),
            levels: levels.clone(),
            clipped_at_zero: false,
            series: 2,
            failures: vec![SeriesFailure {
                series: "c".into(),
                reason: "too short".into(),
            }],
            fallbacks: Vec::new(),
            skipped: Vec::new(),
            totals: Vec::new(),
            forecasts: vec![
                ("a".into(), vec![day(2), day(3)], forecast(10.0)),
                ("b, \"quoted\"".into(), vec![day(2), day(3)], forecast(-3.125)),
            ],
        }
    }

    #[test]
    fn a_forecast_reads_back_as_written_with_and_without_intervals() {
        for levels in [vec![80.0, 95.0], vec![]] {
            let dir = tempfile::tempdir().unwrap();
            let written = file(levels.clone());
            written.write(dir.path()).unwrap();
            let read = ForecastFile::read(dir.path()).unwrap().unwrap();
            assert_eq!(read.forecasts, written.forecasts, "levels {levels:?}");
            assert_eq!(read.failures, written.failures);
            assert_eq!(read.to_csv(), written.to_csv());
        }
        let empty = tempfile::tempdir().unwrap();
        assert!(ForecastFile::read(empty.path()).unwrap().is_none());
        std::fs::write(empty.path().join("forecast.json"), "{").unwrap();
        assert!(ForecastFile::read(empty.path()).is_err());
    }
}
