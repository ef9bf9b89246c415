//! Rolling-origin backtest folds. Origins (cutoffs) are calendar dates
//! counted back from the latest date of the panel: fold k of K tests the
//! `horizon` periods after `cutoff_k = last − horizon − (K−1−k)·step`. A
//! series takes part when it covers every fold's test window and has at
//! least `min_train` (and, sliding, `train_size`) periods before the first
//! cutoff; the others are skipped with a reason.

use chrono::NaiveDate;
use serde::Serialize;
use std::ops::Range;
use trendlab_data::Panel;
use trendlab_spec::{Experiment, WindowKind};

/// One origin of the backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fold {
    pub index: usize,
    /// Last training date.
    pub cutoff: NaiveDate,
    /// First and last test dates.
    pub test_start: NaiveDate,
    pub test_end: NaiveDate,
}

/// Index ranges of one series in one fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub series: usize,
    pub train: Range<usize>,
    pub test: Range<usize>,
}

impl Window {
    /// Series `series` trained up to its period `cutoff` (an index) and
    /// tested on the `horizon` periods after it: from its first period
    /// (expanding window) or its last `train_size` (sliding).
    pub fn at(experiment: &Experiment, series: usize, cutoff: usize, horizon: usize) -> Window {
        let e = experiment.evaluation();
        let start = match e.window {
            WindowKind::Expanding => 0,
            WindowKind::Sliding => (cutoff + 1).saturating_sub(e.train_size.unwrap_or(cutoff + 1)),
        };
        Window {
            series,
            train: start..cutoff + 1,
            test: cutoff + 1..cutoff + 1 + horizon,
        }
    }
}

/// The folds, and which series take part.
#[derive(Debug, Clone)]
pub struct Backtest {
    pub folds: Vec<Fold>,
    /// Indexes into `Panel::series` of the series evaluated in every fold.
    pub series: Vec<usize>,
    /// `(series id, reason)` of the series left out.
    pub skipped: Vec<(String, String)>,
    /// Periods a series needs: min_train + horizon + (folds − 1) × step.
    pub periods_needed: usize,
}

impl Backtest {
    pub fn new(experiment: &Experiment, panel: &Panel) -> Backtest {
        let e = experiment.evaluation();
        let (horizon, step, freq) = (e.horizon, experiment.step(), panel.frequency);
        let last = panel.last_date().expect("a loaded panel has data");
        let folds: Vec<Fold> = (0..e.folds)
            .map(|k| {
                let back = (horizon + (e.folds - 1 - k) * step) as i64;
                let cutoff = freq.shift(last, -back);
                Fold {
                    index: k,
                    cutoff,
                    test_start: freq.shift(cutoff, 1),
                    test_end: freq.shift(cutoff, horizon as i64),
                }
            })
            .collect();
        let min_train = experiment.min_train().max(e.train_size.unwrap_or(0));
        let periods_needed = min_train + horizon + (e.folds - 1) * step;
        let mut series = Vec::new();
        let mut skipped = Vec::new();
        for (i, s) in panel.series.iter().enumerate() {
            let before_first = s.position(folds[0].cutoff, freq).map_or(0, |c| c + 1);
            let reason = if s.dates.last() != Some(&last) {
                Some(format!(
                    "ends {} before the last test date {last}",
                    s.dates.last().map_or("?".into(), |d| d.to_string())
                ))
            } else if before_first < min_train {
                Some(format!(
                    "{} periods before the first cutoff {}, needs {min_train}",
                    before_first, folds[0].cutoff
                ))
            } else {
                None
            };
            match reason {
                Some(r) => skipped.push((s.id.clone(), r)),
                None => series.push(i),
            }
        }
        Backtest {
            folds,
            series,
            skipped,
            periods_needed,
        }
    }

    /// `count` origins before the first fold, `step` apart, oldest first:
    /// where an ensemble's members are refitted so that its first fold has
    /// earlier forecasts to learn from. Their `index` counts from 0 too.
    pub fn validation_folds(&self, experiment: &Experiment, panel: &Panel, count: usize) -> Vec<Fold> {
        let (horizon, step, freq) = (experiment.evaluation().horizon, experiment.step(), panel.frequency);
        let first = self.folds[0].cutoff;
        (0..count)
            .map(|j| {
                let cutoff = freq.shift(first, -(((count - j) * step) as i64));
                Fold {
                    index: j,
                    cutoff,
                    test_start: freq.shift(cutoff, 1),
                    test_end: freq.shift(cutoff, horizon as i64),
                }
            })
            .collect()
    }

    /// Train and test ranges of the taking-part series in `fold`: every one
    /// in a backtest fold; at a validation origin, those with `min_train`
    /// (and, sliding, `train_size`) periods up to it.
    pub fn windows(&self, experiment: &Experiment, panel: &Panel, fold: &Fold) -> Vec<Window> {
        let e = experiment.evaluation();
        let min_train = experiment.min_train().max(e.train_size.unwrap_or(0));
        self.series
            .iter()
            .filter_map(|&i| {
                let s = &panel.series[i];
                let c = s.position(fold.cutoff, panel.frequency)?;
                if c + 1 < min_train || c + 1 + e.horizon > s.len() {
                    return None;
                }
                Some(Window::at(experiment, i, c, e.horizon))
            })
            .collect()
    }
}
