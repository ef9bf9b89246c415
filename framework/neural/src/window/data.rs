//! A fold's series as windows for the window networks: the
//! training values of every series long enough for one input window, the
//! origins (last input period) of its training and validation windows, and
//! batches gathered on demand, each window scaled by its own input periods
//! (the `scaler`), so nothing but the series themselves is held in memory.
//!
//! Training windows end their targets before the last `validation`
//! periods of a series; validation windows have all their targets there
//! (as the LSTM's, [`crate::windows`]). The forecast window of a series
//! reads its last `input_size` training periods.

use serde::{Deserialize, Serialize};
use trendlab_models::{FoldInput, ModelError};
use trendlab_spec::WindowScaler;

/// Covariate channels per window: known-in-advance (calendar features
/// first), past-only, static.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovariateWidths {
    pub futr: usize,
    pub hist: usize,
    pub stat: usize,
}

/// One usable series' covariates, unscaled.
#[derive(Debug)]
struct SeriesCovariates {
    /// `[train + horizon, futr]`, time-major.
    futr: Vec<f32>,
    /// `[train, hist]`, time-major.
    hist: Vec<f32>,
    /// `[stat]`.
    stat: Vec<f32>,
}

/// The windows of a fold.
#[derive(Debug)]
pub struct WindowData {
    pub input_size: usize,
    pub horizon: usize,
    scaler: WindowScaler,
    /// Training values of each usable series, one after another.
    values: Vec<f32>,
    /// Where each usable series starts in `values`, and its length.
    spans: Vec<(usize, usize)>,
    /// Per usable series, its training window origins.
    pub train: Vec<std::ops::Range<usize>>,
    /// Validation windows: (usable series, origin).
    pub validation: Vec<(u32, u32)>,
    /// For each series of the fold: its usable index, or why it has none.
    pub series: Vec<Result<usize, ModelError>>,
    /// Covariate channels of every window (none unless added).
    pub widths: CovariateWidths,
    /// Periods after a window's origin its known-in-advance covariates
    /// reach: the fold's horizon (at least the windows' own).
    futr_after: usize,
    /// Per usable series, when covariates were added.
    covariates: Vec<SeriesCovariates>,
}

/// A batch of scaled windows, row-major.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub rows: usize,
    /// `[rows, input_size]`.
    pub x: Vec<f32>,
    /// `[rows, input_size]`, 1 for observed periods.
    pub mask: Vec<f32>,
    /// `[rows, horizon]` (zeros for forecast windows).
    pub y: Vec<f32>,
    /// Per row: the shift and scale its values were scaled by.
    pub scales: Vec<(f32, f32)>,
    /// `[rows, futr_periods, futr]` (empty without covariates).
    pub futr: Vec<f32>,
    /// Periods of each row's known-in-advance covariates: its input periods
    /// and the fold's horizon.
    pub futr_periods: usize,
    /// `[rows, input_size, hist]`.
    pub hist: Vec<f32>,
    /// `[rows, stat]`.
    pub stat: Vec<f32>,
}

impl WindowData {
    /// The windows of every series of `input`; `validation` periods held
    /// out at the end of each series (`None`: the horizon).
    pub fn build(
        input: &FoldInput<'_>,
        input_size: usize,
        validation: Option<usize>,
        scaler: WindowScaler,
    ) -> Result<WindowData, ModelError> {
        Self::build_for(input, input_size, input.horizon, validation, scaler)
    }

    /// As [`WindowData::build`], with windows whose targets are the next
    /// `horizon` periods rather than the fold's horizon (DeepAR's windows
    /// target the one period after them).
    pub fn build_for(
        input: &FoldInput<'_>,
        input_size: usize,
        horizon: usize,
        validation: Option<usize>,
        scaler: WindowScaler,
    ) -> Result<WindowData, ModelError> {
        let validation = validation.unwrap_or(horizon);
        if validation > 0 && validation < horizon {
            return Err(ModelError::Unfit(format!(
                "validation = {validation} periods cannot hold a window of horizon {horizon}; \
                 use validation >= {horizon} (or 0 for none)"
            )));
        }
        let mut data = WindowData {
            input_size,
            horizon,
            scaler,
            values: Vec::new(),
            spans: Vec::new(),
            train: Vec::new(),
            validation: Vec::new(),
            series: Vec::with_capacity(input.series.len()),
            widths: CovariateWidths::default(),
            futr_after: horizon,
            covariates: Vec::new(),
        };
        for s in &input.series {
            let n = s.train_len();
            if n < input_size {
                data.series.push(Err(ModelError::TooShort {
                    series: s.id.to_string(),
                    need: input_size,
                    have: n,
                }));
                continue;
            }
            let train = &s.target[..n];
            if let Some(t) = train.iter().position(|v| !v.is_finite()) {
                data.series.push(Err(ModelError::Unfit(format!(
                    "series `{}` has a missing or non-finite value at {}",
                    s.id, s.dates[t]
                ))));
                continue;
            }
            let index = data.spans.len();
            data.spans.push((data.values.len(), n));
            data.values.extend(train.iter().map(|v| *v as f32));
            let first = input_size - 1;
            let upto = |last: Option<usize>, from: usize| match last {
                Some(last) if last >= from => from..last + 1,
                _ => 0..0,
            };
            data.train.push(upto(n.checked_sub(1 + horizon + validation), first));
            if validation > 0 {
                let from = n.saturating_sub(validation + 1).max(first);
                for origin in upto(n.checked_sub(1 + horizon), from) {
                    data.validation.push((index as u32, origin as u32));
                }
            }
            data.series.push(Ok(index));
        }
        if data.train_windows() == 0 {
            let longest = input.series.iter().map(|s| s.train_len()).max().unwrap_or(0);
            return Err(ModelError::Unfit(format!(
                "no training windows: a window needs input_size {input_size} + horizon {horizon} + validation \
                 {validation} = {} training periods, and the longest series has {longest}",
                input_size + horizon + validation
            )));
        }
        Ok(data)
    }

    /// With every usable series' covariates: the calendar features of
    /// `input`'s features and its known-in-advance covariates that vary
    /// within a series, over the training and forecast dates; with `past`,
    /// its past-only covariates over the training dates; its static
    /// columns. A missing value among them is an error naming the series,
    /// date and column.
    pub fn with_covariates(mut self, input: &FoldInput<'_>, past: bool) -> Result<WindowData, ModelError> {
        let features = input.features;
        let (statics, varying): (Vec<usize>, Vec<usize>) =
            (0..features.future.len()).partition(|&k| features.statics.contains(&features.future[k]));
        let calendar = features.calendar_width();
        let hist_names: &[String] = if past { &features.past } else { &[] };
        self.widths = CovariateWidths {
            futr: calendar + varying.len(),
            hist: hist_names.len(),
            stat: statics.len(),
        };
        self.futr_after = input.horizon.max(self.horizon);
        let calendar_names = features.calendar_names();
        let futr_names: Vec<&str> = calendar_names
            .iter()
            .map(String::as_str)
            .chain(varying.iter().map(|&k| features.future[k].as_str()))
            .collect();
        let mut row = Vec::new();
        for (s, usable) in input.series.iter().zip(&self.series) {
            if usable.is_err() {
                continue;
            }
            let n = s.train_len();
            let total = n + self.futr_after;
            let missing = |t: usize, column: &str| {
                ModelError::Unfit(format!(
                    "series `{}` has a missing or non-finite `{column}` at {}",
                    s.id, s.dates[t]
                ))
            };
            let mut futr = Vec::with_capacity(total * self.widths.futr);
            for t in 0..total {
                row.clear();
                features.calendar_at(s.dates[t], &mut row);
                row.extend(varying.iter().map(|&k| s.future[k][t]));
                if let Some(c) = row.iter().position(|v| !v.is_finite()) {
                    return Err(missing(t, futr_names[c]));
                }
                futr.extend(row.iter().map(|v| *v as f32));
            }
            let mut hist = Vec::with_capacity(n * self.widths.hist);
            for t in 0..n {
                for (column, name) in s.past.iter().zip(hist_names) {
                    if !column[t].is_finite() {
                        return Err(missing(t, name));
                    }
                    hist.push(column[t] as f32);
                }
            }
            let mut stat = Vec::with_capacity(statics.len());
            for &k in &statics {
                if !s.future[k][0].is_finite() {
                    return Err(missing(0, &features.future[k]));
                }
                stat.push(s.future[k][0] as f32);
            }
            self.covariates.push(SeriesCovariates { futr, hist, stat });
        }
        Ok(self)
    }

    /// Usable series (those with a forecast window).
    pub fn usable(&self) -> usize {
        self.spans.len()
    }

    pub fn train_windows(&self) -> usize {
        self.train.iter().map(|r| r.len()).sum()
    }

    /// Windows `(series, origin)` as a scaled batch; with `targets`, the
    /// next `horizon` values too.
    pub fn batch(&self, windows: &[(u32, u32)], targets: bool) -> Batch {
        let (l, h) = (self.input_size, self.horizon);
        let mut batch = Batch {
            rows: windows.len(),
            x: Vec::with_capacity(windows.len() * l),
            mask: vec![1.0; windows.len() * l],
            y: Vec::with_capacity(windows.len() * h),
            scales: Vec::with_capacity(windows.len()),
            ..Batch::default()
        };
        let widths = self.widths;
        batch.futr_periods = l + self.futr_after;
        let mut channel = Vec::with_capacity(l);
        for &(s, origin) in windows {
            let (start, _) = self.spans[s as usize];
            let at = start + origin as usize;
            let input = &self.values[at + 1 - l..=at];
            let (shift, scale) = statistics(input, self.scaler);
            batch.x.extend(input.iter().map(|v| (v - shift) / scale));
            if targets {
                let future = &self.values[at + 1..=at + h];
                batch.y.extend(future.iter().map(|v| (v - shift) / scale));
            } else {
                batch.y.extend(std::iter::repeat_n(0.0, h));
            }
            batch.scales.push((shift, scale));
            if let Some(c) = self.covariates.get(s as usize) {
                let first = origin as usize + 1 - l;
                scaled_channels(
                    &c.futr[first * widths.futr..],
                    widths.futr,
                    l,
                    batch.futr_periods,
                    self.scaler,
                    &mut channel,
                    &mut batch.futr,
                );
                scaled_channels(
                    &c.hist[first * widths.hist..],
                    widths.hist,
                    l,
                    l,
                    self.scaler,
                    &mut channel,
                    &mut batch.hist,
                );
                batch.stat.extend(&c.stat);
            }
        }
        batch
    }

    /// The forecast window of each usable series.
    pub fn forecast_windows(&self) -> Vec<(u32, u32)> {
        self.spans
            .iter()
            .enumerate()
            .map(|(s, &(_, n))| (s as u32, (n - 1) as u32))
            .collect()
    }

    /// Training windows of the usable series `series`.
    pub fn train_of(&self, series: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.train[series].clone().map(move |o| (series as u32, o as u32))
    }
}

/// Appends `periods` periods of `width` time-major channels from `values`,
/// each channel scaled by its first `input` periods.
fn scaled_channels(
    values: &[f32],
    width: usize,
    input: usize,
    periods: usize,
    scaler: WindowScaler,
    channel: &mut Vec<f32>,
    out: &mut Vec<f32>,
) {
    if width == 0 {
        return;
    }
    let start = out.len();
    out.extend_from_slice(&values[..periods * width]);
    for c in 0..width {
        channel.clear();
        channel.extend((0..input).map(|t| values[t * width + c]));
        let (shift, scale) = statistics(channel, scaler);
        for t in 0..periods {
            let v = &mut out[start + t * width + c];
            *v = (*v - shift) / scale;
        }
    }
}

/// Shift and scale of a window by its input periods (a zero spread scales
/// by 1, so a constant window stays finite).
pub fn statistics(input: &[f32], scaler: WindowScaler) -> (f32, f32) {
    let n = input.len() as f64;
    let nonzero = |s: f64| if s > 1e-12 { s } else { 1.0 };
    match scaler {
        WindowScaler::None => (0.0, 1.0),
        WindowScaler::Standard => {
            let mean = input.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
            let var = input.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / n;
            (mean as f32, nonzero(var.sqrt()) as f32)
        }
        WindowScaler::Robust => {
            let median = median(input.iter().map(|v| f64::from(*v)).collect());
            let mad = median_of_abs(input, median);
            let spread = if mad > 1e-12 {
                mad
            } else {
                input.iter().map(|v| (f64::from(*v) - median).abs()).sum::<f64>() / n
            };
            (median as f32, nonzero(spread) as f32)
        }
    }
}

fn median_of_abs(input: &[f32], center: f64) -> f64 {
    median(input.iter().map(|v| (f64::from(*v) - center).abs()).collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendlab_models::{FeatureSet, SeriesHistory};

    #[test]
    fn scalers_by_hand() {
        let x = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(statistics(&x, WindowScaler::None), (0.0, 1.0));
        // Mean 4, variance (9 + 4 + 1 + 36) / 4 = 12.5.
        let (m, s) = statistics(&x, WindowScaler::Standard);
        assert_eq!(m, 4.0);
        assert!((s - 12.5f32.sqrt()).abs() < 1e-6);
        // Median 2.5, absolute deviations 1.5, 0.5, 0.5, 7.5: MAD 1.
        assert_eq!(statistics(&x, WindowScaler::Robust), (2.5, 1.0));
        // A constant window: scale 1.
        assert_eq!(statistics(&[3.0; 4], WindowScaler::Standard), (3.0, 1.0));
        // Zero MAD falls back to the mean absolute deviation: median 0, (0 + 0 + 0 + 8) / 4.
        assert_eq!(statistics(&[0.0, 0.0, 0.0, 8.0], WindowScaler::Robust), (0.0, 2.0));
    }

    #[test]
    fn windows_by_hand() {
        let dates = trendlab_models::testing::daily_dates(10);
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b = [5.0, 5.0];
        let series = vec![
            SeriesHistory {
                id: "a",
                text: None,
                dates: &dates,
                target: &a,
                past: vec![],
                future: vec![],
            },
            SeriesHistory {
                id: "b",
                text: None,
                dates: &dates[..2],
                target: &b,
                past: vec![],
                future: vec![],
            },
        ];
        let features = FeatureSet::default();
        let input = FoldInput::new(series, 2, &features);
        let w = WindowData::build(&input, 3, None, WindowScaler::None).unwrap();
        // n = 10, window 3, horizon 2, validation 2: training origins 2..=5,
        // validation origin 7.
        assert_eq!(w.train, vec![2..6]);
        assert_eq!(w.validation, vec![(0, 7)]);
        assert!(matches!(
            w.series[1],
            Err(ModelError::TooShort { need: 3, have: 2, .. })
        ));
        let batch = w.batch(&[(0, 2), (0, 7)], true);
        assert_eq!(batch.x, vec![1.0, 2.0, 3.0, 6.0, 7.0, 8.0]);
        assert_eq!(batch.y, vec![4.0, 5.0, 9.0, 10.0]);
        assert_eq!(w.forecast_windows(), vec![(0, 9)]);
        let scaled = WindowData::build(&input, 3, Some(0), WindowScaler::Standard).unwrap();
        assert_eq!(scaled.train, vec![2..8]);
        let batch = scaled.batch(&[(0, 2)], true);
        let s = (2.0f32 / 3.0).sqrt();
        assert_eq!(batch.scales, vec![(2.0, s)]);
        assert!((batch.y[0] - 2.0 / s).abs() < 1e-6);
        let err = WindowData::build(&input, 9, None, WindowScaler::None).unwrap_err();
        assert!(err.to_string().contains("longest series has 10"), "{err}");
    }

    #[test]
    fn covariates_by_hand() {
        let dates = trendlab_models::testing::daily_dates(8);
        let y: Vec<f64> = (1..=6).map(f64::from).collect();
        // Known in advance over 6 training + 2 forecast dates; a static; a past one.
        const PRICE: [f64; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        const GAP: [f64; 8] = [1.0, 2.0, f64::NAN, 4.0, 5.0, 6.0, 7.0, 8.0];
        let size = [3.0; 8];
        let visits = [0.0, 0.0, 2.0, 4.0, 6.0, 8.0];
        let series = |price: &'static [f64]| {
            vec![SeriesHistory {
                id: "a",
                text: None,
                dates: &dates,
                target: &y,
                past: vec![&visits],
                future: vec![price, &size],
            }]
        };
        let features = FeatureSet {
            past: vec!["visits".into()],
            future: vec!["price".into(), "size".into()],
            statics: vec!["size".into()],
            ..FeatureSet::default()
        };
        let input = FoldInput::new(series(&PRICE), 2, &features);
        let w = WindowData::build(&input, 3, Some(0), WindowScaler::Standard)
            .unwrap()
            .with_covariates(&input, true)
            .unwrap();
        assert_eq!(
            w.widths,
            CovariateWidths {
                futr: 1,
                hist: 1,
                stat: 1
            }
        );
        // The window with origin 2 reads periods 0..=2; price over 0..=4,
        // scaled by periods 0..=2 (mean 2, sd √(2/3)); visits by 0, 0, 2
        // (mean 2/3, sd √(8/9)); the static as it is.
        let batch = w.batch(&[(0, 2)], true);
        let (p, v) = ((2.0f32 / 3.0).sqrt(), (8.0f32 / 9.0).sqrt());
        let expected_futr: Vec<f32> = [1.0, 2.0, 3.0, 4.0, 5.0].iter().map(|x| (x - 2.0) / p).collect();
        let expected_hist: Vec<f32> = [0.0, 0.0, 2.0].iter().map(|x| (x - 2.0 / 3.0) / v).collect();
        for (a, b) in batch
            .futr
            .iter()
            .zip(&expected_futr)
            .chain(batch.hist.iter().zip(&expected_hist))
        {
            assert!((a - b).abs() < 1e-5, "{:?} {:?}", batch.futr, batch.hist);
        }
        assert_eq!(
            (batch.futr.len(), batch.hist.len(), batch.stat.clone()),
            (5, 3, vec![3.0])
        );
        // The forecast window reaches the forecast dates' prices.
        let forecast = w.batch(&w.forecast_windows(), false);
        let last = *forecast.futr.last().unwrap();
        assert!((last - (8.0 - 5.0) / p).abs() < 1e-5, "{:?}", forecast.futr);
        // A missing covariate names the series, the column and the date.
        let input = FoldInput::new(series(&GAP), 2, &features);
        let error = WindowData::build(&input, 3, Some(0), WindowScaler::Standard)
            .unwrap()
            .with_covariates(&input, true)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("series `a`") && error.contains("`price`") && error.contains(&dates[2].to_string()),
            "{error}"
        );
    }
}
