//! Features of feature-based models, computed per fold from what is known
//! at the forecast origin: lags and rolling statistics of the (scaled)
//! target, calendar features of the target date, and covariates — past-only
//! ones as of the origin, known-in-advance ones at the target date.
//!
//! A row for target period `t` with origin `o` (the last period whose value
//! may be used, `o < t`) reads target values `y[..=o]` only. Recursive models
//! use `o = t - 1` and feed forecasts back into `y`; direct models use a
//! fixed `o` for every step.

use crate::scaling::Scaler;
use crate::{ModelError, SeriesHistory};
use chrono::{Datelike, NaiveDate};
use std::f64::consts::TAU;
use trendlab_spec::{CalendarFeature, FeaturesSection, Frequency, RollingStat, Scaling};

/// Which features to build, resolved from `[features]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    pub lags: Vec<usize>,
    pub rolling: Vec<(usize, RollingStat)>,
    pub calendar: Vec<CalendarFeature>,
    /// Statistics over every value up to the origin.
    pub expanding: Vec<RollingStat>,
    /// (season, seasons): the mean of the same position in the last seasons.
    pub seasonal_rolling: Vec<(usize, usize)>,
    /// Smoothing weights of exponentially weighted means.
    pub ewm: Vec<f64>,
    /// Past-only covariates, by name (`SeriesHistory::past` order).
    pub past: Vec<String>,
    /// Known-in-advance covariates, by name (`SeriesHistory::future` order).
    pub future: Vec<String>,
    /// Those of `future` constant within each series (made from `[data]
    /// static`): inputs of models across series, not regressors of one.
    pub statics: Vec<String>,
    pub frequency: Frequency,
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet {
            lags: vec![],
            rolling: vec![],
            calendar: vec![],
            expanding: vec![],
            seasonal_rolling: vec![],
            ewm: vec![],
            past: vec![],
            future: vec![],
            statics: vec![],
            frequency: Frequency::Daily,
        }
    }
}

impl FeatureSet {
    /// Resolves `[features]` against the data's covariates.
    pub fn from_spec(spec: &FeaturesSection, data_covariates: &[String], frequency: Frequency) -> Self {
        let used = spec.covariates.clone().unwrap_or_else(|| data_covariates.to_vec());
        FeatureSet {
            lags: spec.lags.clone(),
            rolling: spec
                .rolling
                .iter()
                .flat_map(|r| r.stats.iter().map(|s| (r.window, *s)))
                .collect(),
            calendar: spec.calendar.clone(),
            expanding: spec.expanding.clone(),
            seasonal_rolling: spec
                .seasonal_rolling
                .iter()
                .flat_map(|r| r.windows.iter().map(|k| (r.season, *k)))
                .collect(),
            ewm: spec.ewm.clone(),
            past: used.iter().filter(|c| !spec.future.contains(c)).cloned().collect(),
            future: spec.future.clone(),
            statics: Vec::new(),
            frequency,
        }
    }

    /// With the covariates the data made from `[data] events` and `[data]
    /// static` (known in advance, after the spec's own).
    pub fn with_known(mut self, events: &[String], statics: &[String]) -> Self {
        self.future.extend(events.iter().chain(statics).cloned());
        self.statics = statics.to_vec();
        self
    }

    /// The known-in-advance covariates of `s` that vary within a series
    /// (regressors of a per-series model such as ARIMAX).
    pub fn varying_future<'a>(&self, s: &crate::SeriesHistory<'a>) -> Vec<&'a [f64]> {
        s.future
            .iter()
            .zip(&self.future)
            .filter(|(_, name)| !self.statics.contains(name))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Column names, in row order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lags.iter().map(|l| format!("lag_{l}")).collect();
        names.extend(
            self.rolling
                .iter()
                .map(|(w, s)| format!("rolling_{s:?}_{w}").to_lowercase()),
        );
        names.extend(self.expanding.iter().map(|s| format!("expanding_{s:?}").to_lowercase()));
        names.extend(
            self.seasonal_rolling
                .iter()
                .map(|(s, k)| format!("seasonal_mean_{s}x{k}")),
        );
        names.extend(self.ewm.iter().map(|a| format!("ewm_{a}")));
        names.extend(self.calendar_names());
        names.extend(self.past.iter().map(|c| format!("{c}_last")));
        names.extend(self.future.iter().cloned());
        names
    }

    /// Names of the calendar features' columns, in row order.
    pub fn calendar_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for c in &self.calendar {
            let name = format!("{c:?}").to_lowercase();
            match c {
                CalendarFeature::IsMonthEnd | CalendarFeature::IsLeapYear => names.push(name),
                _ => names.extend([format!("{name}_sin"), format!("{name}_cos")]),
            }
        }
        names
    }

    pub fn width(&self) -> usize {
        self.names().len()
    }

    /// Target periods needed up to and including the origin.
    pub fn warmup(&self) -> usize {
        self.lags
            .iter()
            .copied()
            .chain(self.rolling.iter().map(|r| r.0))
            .chain(self.seasonal_rolling.iter().map(|(s, k)| s * k))
            .chain((!self.expanding.is_empty() || !self.ewm.is_empty()).then_some(1))
            .max()
            .unwrap_or(0)
    }

    /// Calendar columns per date.
    pub fn calendar_width(&self) -> usize {
        let one_date = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
        let mut out = Vec::new();
        self.calendar_at(one_date, &mut out);
        out.len()
    }

    /// Appends the calendar features of `date` to `out`.
    pub fn calendar_at(&self, date: NaiveDate, out: &mut Vec<f64>) {
        for &c in &self.calendar {
            calendar(c, date, self.frequency, out);
        }
    }

    /// Appends the features of target period `t` seen from origin `o` to `out`.
    pub fn row(&self, s: &PreparedSeries<'_>, t: usize, origin: usize, out: &mut Vec<f64>) {
        let mut columns = OriginColumns::default();
        self.origin_columns(s, origin, &mut columns);
        let mut calendar = Vec::new();
        self.calendar_at(s.history.dates[t], &mut calendar);
        self.row_from(s, t, origin, &columns, &calendar, out);
    }

    /// The columns of origin `origin` that do not depend on the target date.
    fn origin_columns(&self, s: &PreparedSeries<'_>, origin: usize, columns: &mut OriginColumns) {
        let known = &s.y[..=origin];
        let OriginColumns {
            head,
            ewm: smoothed,
            past,
        } = columns;
        head.clear();
        head.extend(self.lags.iter().map(|&l| known[known.len() - l]));
        head.extend(
            self.rolling
                .iter()
                .map(|&(w, stat)| rolling(&known[known.len() - w..], stat)),
        );
        head.extend(self.expanding.iter().map(|&stat| rolling(known, stat)));
        smoothed.clear();
        smoothed.extend(self.ewm.iter().map(|&alpha| ewm(known, alpha)));
        let last_observed = origin.min(s.history.train_len() - 1);
        past.clear();
        past.extend(s.past.iter().map(|c| c[last_observed]));
    }

    /// Appends the row of target period `t` from origin `origin`, whose
    /// date-independent columns are `columns` and calendar columns
    /// `calendar`, to `out`.
    fn row_from(
        &self,
        s: &PreparedSeries<'_>,
        t: usize,
        origin: usize,
        columns: &OriginColumns,
        calendar: &[f64],
        out: &mut Vec<f64>,
    ) {
        let known = &s.y[..=origin];
        out.extend_from_slice(&columns.head);
        for &(season, seasons) in &self.seasonal_rolling {
            out.push(seasonal_mean(known, t, season, seasons));
        }
        out.extend_from_slice(&columns.ewm);
        out.extend_from_slice(calendar);
        out.extend_from_slice(&columns.past);
        out.extend(s.future.iter().map(|c| c[t]));
    }
}

/// The columns of a row fixed by its origin: lags, rolling and expanding
/// statistics, exponentially weighted means, past-only covariates.
#[derive(Debug, Default)]
struct OriginColumns {
    head: Vec<f64>,
    ewm: Vec<f64>,
    past: Vec<f64>,
}

/// The mean of the values at t − j·season (j ≥ 1) among `known`, the
/// `seasons` latest of them; the last known value if none is known.
fn seasonal_mean(known: &[f64], t: usize, season: usize, seasons: usize) -> f64 {
    let origin = known.len() - 1;
    let first = (t - origin).div_ceil(season).max(1);
    let values: Vec<f64> = (first..first + seasons)
        .filter_map(|j| t.checked_sub(j * season))
        .map(|i| known[i])
        .collect();
    if values.is_empty() {
        known[origin]
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The exponentially weighted mean at the last of `known` with weight
/// `alpha` on the newest value, started from the oldest value it reaches
/// (weights below 1e-8 of the newest's dropped).
fn ewm(known: &[f64], alpha: f64) -> f64 {
    let reach = if alpha >= 1.0 {
        1
    } else {
        ((1e-8f64).ln() / (1.0 - alpha).ln()).ceil() as usize + 1
    };
    let window = &known[known.len().saturating_sub(reach)..];
    window[1..].iter().fold(window[0], |m, v| alpha * v + (1.0 - alpha) * m)
}

fn rolling(window: &[f64], stat: RollingStat) -> f64 {
    let n = window.len() as f64;
    let mean = window.iter().sum::<f64>() / n;
    match stat {
        RollingStat::Mean => mean,
        RollingStat::Std => (window.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt(),
        RollingStat::Min => window.iter().copied().fold(f64::INFINITY, f64::min),
        RollingStat::Max => window.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

#[cfg(test)]
mod window_tests {
    use super::{ewm, seasonal_mean};

    #[test]
    fn seasonal_means_and_exponential_weights_by_hand() {
        // Period 3, values 1..=9 known (origin 8): target 9 reads 6 (j = 1) and 3 (j = 2).
        let known: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(seasonal_mean(&known, 9, 3, 2), (7.0 + 4.0) / 2.0);
        // Target 10, two steps past the origin: j starts at 1 still (10 − 3 = 7 <= 8).
        assert_eq!(seasonal_mean(&known, 10, 3, 1), 8.0);
        // Target 12 with season 2: 12 − 2 = 10 is not known, so j starts at 2 (value at 8).
        assert_eq!(seasonal_mean(&known, 12, 2, 2), (9.0 + 7.0) / 2.0);
        // α = 0.5 from 1: 1 → 1.5 → 2.25.
        assert_eq!(ewm(&[1.0, 2.0, 3.0], 0.5), 2.25);
        assert_eq!(ewm(&[1.0, 2.0, 3.0], 1.0), 3.0);
    }
}

fn calendar(feature: CalendarFeature, date: NaiveDate, frequency: Frequency, out: &mut Vec<f64>) {
    let mut cyclic = |value: f64, period: f64| {
        let angle = TAU * value / period;
        out.extend([angle.sin(), angle.cos()]);
    };
    match feature {
        CalendarFeature::DayOfWeek => cyclic(date.weekday().num_days_from_monday().into(), 7.0),
        CalendarFeature::WeekOfYear => cyclic(f64::from(date.iso_week().week0()), 52.0),
        CalendarFeature::Month => cyclic(date.month0().into(), 12.0),
        CalendarFeature::DayOfYear => cyclic(date.ordinal0().into(), if date.leap_year() { 366.0 } else { 365.0 }),
        // The period contains a month end: the next period starts in another month.
        CalendarFeature::IsMonthEnd => out.push(f64::from(
            frequency.advance(frequency.floor(date), 1).month() != date.month() || frequency == Frequency::MonthEnd,
        )),
        CalendarFeature::IsLeapYear => out.push(f64::from(date.leap_year())),
    }
}

/// One series in model units: the target scaled per series and the
/// covariates standardised, all with statistics of the training part.
#[derive(Debug, Clone)]
pub struct PreparedSeries<'a> {
    pub history: &'a SeriesHistory<'a>,
    pub scaler: Scaler,
    /// Scaled training values; recursive forecasting appends its forecasts.
    pub y: Vec<f64>,
    past: Vec<Vec<f64>>,
    future: Vec<Vec<f64>>,
    /// The covariates' scalers (past, then future).
    covariate_scalers: Vec<Scaler>,
}

/// How a series was put in model units: part of a saved fit, so that
/// `forecast --from` scales newer data as the model was fitted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesScaling {
    pub target: Scaler,
    /// The covariates' (past, then future).
    pub covariates: Vec<Scaler>,
}

impl<'a> PreparedSeries<'a> {
    /// Scales one series as a fold of `input` wants: with the statistics of
    /// its training part, or with those of a saved fit
    /// (`input.context.fitted`, per series `{"scaling": ...}`).
    pub fn for_fold(
        history: &'a SeriesHistory<'a>,
        scaling: Scaling,
        saved: Option<&crate::FittedState>,
    ) -> Result<Self, ModelError> {
        match saved {
            None => Self::new(history, scaling),
            Some(state) => {
                #[derive(serde::Deserialize)]
                struct Saved {
                    scaling: SeriesScaling,
                }
                let saved: Saved = state.series_state(history.id)?;
                Self::scaled(history, Some(saved.scaling), scaling)
            }
        }
    }

    /// How the series is scaled.
    pub fn scaling(&self) -> SeriesScaling {
        SeriesScaling {
            target: self.scaler,
            covariates: self.covariate_scalers.clone(),
        }
    }

    /// Scales one series; non-finite inputs are an error naming the date.
    pub fn new(history: &'a SeriesHistory<'a>, scaling: Scaling) -> Result<Self, ModelError> {
        Self::scaled(history, None, scaling)
    }

    /// Scales one series with `saved` scalers, or fits them (`scaling` for
    /// the target, standardising the covariates).
    fn scaled(
        history: &'a SeriesHistory<'a>,
        saved: Option<SeriesScaling>,
        scaling: Scaling,
    ) -> Result<Self, ModelError> {
        let n = history.train_len();
        let non_finite = |what: &str, values: &[f64]| {
            values
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| ModelError::NonFinite {
                    series: history.id.to_string(),
                    what: what.to_string(),
                    date: history.dates[i],
                })
        };
        if let Some(e) = non_finite("the target", history.target) {
            return Err(e);
        }
        for (k, c) in history.past.iter().chain(&history.future).enumerate() {
            if let Some(e) = non_finite(&format!("covariate #{}", k + 1), c) {
                return Err(e);
            }
        }
        let covariates = history.past.len() + history.future.len();
        let (scaler, covariate_scalers) = match saved {
            Some(saved) if saved.covariates.len() == covariates => (saved.target, saved.covariates),
            Some(_) => {
                return Err(ModelError::Unfit(format!(
                    "the saved scaling of series `{}` is for other covariates",
                    history.id
                )));
            }
            None => (
                Scaler::fit(scaling, history.target),
                history
                    .past
                    .iter()
                    .chain(&history.future)
                    .map(|c| Scaler::fit(Scaling::Standard, &c[..n]))
                    .collect(),
            ),
        };
        let standardise = |(c, s): (&&[f64], &Scaler)| c.iter().map(|v| s.apply(*v)).collect();
        let (past_scalers, future_scalers) = covariate_scalers.split_at(history.past.len());
        Ok(PreparedSeries {
            history,
            scaler,
            y: history.target.iter().map(|v| scaler.apply(*v)).collect(),
            past: history.past.iter().zip(past_scalers).map(standardise).collect(),
            future: history.future.iter().zip(future_scalers).map(standardise).collect(),
            covariate_scalers,
        })
    }
}

impl PreparedSeries<'_> {
    /// Past-only covariates, standardised (training dates).
    pub fn past(&self) -> &[Vec<f64>] {
        &self.past
    }

    /// Known-in-advance covariates, standardised (training and forecast dates).
    pub fn future(&self) -> &[Vec<f64>] {
        &self.future
    }
}

/// Forecasts one series `input.horizon` steps past its training data, in
/// its original units: `model(k, row)` is the model of horizon step k + 1
/// (the one-step model, k = 0, for `Recursive`, whose forecasts are fed
/// back as lags) on that step's feature row.
pub fn forecast_steps(
    strategy: trendlab_spec::Strategy,
    s: &mut PreparedSeries<'_>,
    input: &crate::FoldInput<'_>,
    mut model: impl FnMut(usize, &[f64]) -> f64,
) -> Result<Vec<f64>, ModelError> {
    let n = s.history.train_len();
    let mut row = Vec::with_capacity(input.features.width());
    let mut out = Vec::with_capacity(input.horizon);
    for h in 0..input.horizon {
        let t = n + h;
        row.clear();
        let value = match strategy {
            trendlab_spec::Strategy::Recursive => {
                input.features.row(s, t, t - 1, &mut row);
                let v = model(0, &row);
                s.y.push(v);
                v
            }
            trendlab_spec::Strategy::Direct => {
                input.features.row(s, t, n - 1, &mut row);
                model(h, &row)
            }
        };
        let value = s.scaler.invert(value);
        if !value.is_finite() {
            return Err(ModelError::Numerical(format!(
                "forecast {} of series `{}` is not finite",
                h + 1,
                s.history.id
            )));
        }
        out.push(value);
    }
    Ok(out)
}

/// Calls `visit(row, target)` for every training row of `s` for a model of
/// horizon step `step` (origin `t - step`), in time order.
pub fn training_rows(features: &FeatureSet, s: &PreparedSeries<'_>, step: usize, mut visit: impl FnMut(&[f64], f64)) {
    training_rows_by_step(features, s, &[step], |_, row, y| visit(row, y));
}

/// [`training_rows`] of the models of every horizon step in `steps` at
/// once: `visit(k, row, target)` for step `steps[k]`. Each origin's lags and
/// windows are computed once for all steps; each step's rows still come in
/// time order, exactly as `training_rows(features, s, steps[k], ..)` gives them.
pub fn training_rows_by_step(
    features: &FeatureSet,
    s: &PreparedSeries<'_>,
    steps: &[usize],
    mut visit: impl FnMut(usize, &[f64], f64),
) {
    let n = s.history.train_len();
    let Some(&nearest) = steps.iter().min() else { return };
    let mut columns = OriginColumns::default();
    let mut row = Vec::with_capacity(features.width());
    // Each date's calendar columns, computed once.
    let width = features.calendar_width();
    let mut calendar = Vec::with_capacity(n * width);
    for &date in &s.history.dates[..n] {
        features.calendar_at(date, &mut calendar);
    }
    // Step h's first target is max(warmup + h − 1, h): origin max(warmup − 1, 0).
    for origin in features.warmup().saturating_sub(1)..n.saturating_sub(nearest) {
        features.origin_columns(s, origin, &mut columns);
        for (k, &step) in steps.iter().enumerate() {
            let t = origin + step;
            if t < n {
                row.clear();
                let at = &calendar[t * width..(t + 1) * width];
                features.row_from(s, t, origin, &columns, at, &mut row);
                visit(k, &row, s.y[t]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_names_follow_every_target_feature() {
        let features = FeatureSet {
            lags: vec![1],
            expanding: vec![RollingStat::Mean],
            ewm: vec![0.5],
            calendar: vec![CalendarFeature::DayOfWeek, CalendarFeature::IsMonthEnd],
            ..FeatureSet::default()
        };
        let calendar = features.calendar_names();
        assert_eq!(calendar, vec!["dayofweek_sin", "dayofweek_cos", "ismonthend"]);
        assert_eq!(calendar.len(), features.calendar_width());
        // After the lag, the expanding mean and the weighted mean.
        assert_eq!(features.names()[3..6], calendar[..]);
    }

    #[test]
    fn row_by_hand() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 29).unwrap();
        let dates: Vec<NaiveDate> = (0..7).map(|i| start + chrono::Days::new(i)).collect();
        let target = [1.0, 2.0, 4.0, 8.0, 16.0];
        let price = [10.0, 20.0, 30.0, 40.0, 50.0];
        let promo = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let h = SeriesHistory {
            id: "a",
            text: None,
            dates: &dates,
            target: &target,
            past: vec![&price],
            future: vec![&promo],
        };
        let features = FeatureSet {
            lags: vec![1, 3],
            rolling: vec![(2, RollingStat::Mean), (3, RollingStat::Max)],
            calendar: vec![CalendarFeature::IsMonthEnd, CalendarFeature::IsLeapYear],
            past: vec!["price".into()],
            future: vec!["promo".into()],
            frequency: Frequency::Daily,
            ..FeatureSet::default()
        };
        assert_eq!(features.warmup(), 3);
        assert_eq!(features.width(), 8);
        let s = PreparedSeries::new(&h, Scaling::None).unwrap();
        let price_z = |v| Scaler::fit(Scaling::Standard, &price).apply(v);
        let promo_z = |v| Scaler::fit(Scaling::Standard, &promo[..5]).apply(v);
        let mut row = vec![];
        // Target 2024-01-31 (t = 2, a month end) from origin 1 would need lag 3: not a training row.
        // Target 2024-02-01 (t = 3) from origin 2: lags 4 and 1, mean(2, 4), max(1, 2, 4).
        features.row(&s, 3, 2, &mut row);
        assert_eq!(row, vec![4.0, 1.0, 3.0, 4.0, 0.0, 1.0, price_z(30.0), promo_z(1.0)]);
        // Target t = 6 (2024-02-04, beyond training) from origin 4 (direct, step 2):
        // the past covariate stays at its last observed value, the future one is read at t.
        row.clear();
        features.row(&s, 6, 4, &mut row);
        assert_eq!(row, vec![16.0, 4.0, 12.0, 16.0, 0.0, 1.0, price_z(50.0), promo_z(1.0)]);
        let mut targets = vec![];
        training_rows(&features, &s, 1, |_, y| targets.push(y));
        assert_eq!(targets, vec![8.0, 16.0]);
    }

    #[test]
    fn non_finite_training_value_names_series_and_date() {
        let dates = crate::testing::daily_dates(3);
        let target = [1.0, f64::NAN, 2.0];
        let h = crate::testing::history("x", &dates, &target);
        let err = PreparedSeries::new(&h, Scaling::MeanAbs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "non-finite value in the target of series `x` at 2024-01-02"
        );
    }

    #[test]
    fn a_saved_scaling_is_used_instead_of_fitting_one() {
        let dates = crate::testing::daily_dates(4);
        let target = [1.0, 2.0, 3.0, 4.0];
        let h = crate::testing::history("x", &dates, &target);
        let fitted = PreparedSeries::new(&h, Scaling::Standard).unwrap();
        assert_eq!(fitted.scaling().target, Scaler::fit(Scaling::Standard, &target));
        let mut state = crate::FittedState::default();
        let saved = SeriesScaling {
            target: Scaler {
                shift: 100.0,
                scale: 2.0,
            },
            covariates: vec![],
        };
        state.series.insert("x".into(), serde_json::json!({ "scaling": saved }));
        let p = PreparedSeries::for_fold(&h, Scaling::Standard, Some(&state)).unwrap();
        assert_eq!(p.y, vec![-49.5, -49.0, -48.5, -48.0]);
        let other = crate::testing::history("y", &dates, &target);
        let missing = PreparedSeries::for_fold(&other, Scaling::Standard, Some(&state)).unwrap_err();
        assert_eq!(missing.to_string(), "series `y` is not in the saved model");
    }
}
