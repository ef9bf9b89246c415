//! From a fold's series to LSTM windows. Each series is scaled on its own
//! training part (the declared `scaling`; covariates standardised). A
//! window with origin `o` (its last observed period) reads `input_size`
//! periods ending at `o`, each as `[target, calendar(date), past
//! covariates, future covariates]`, plus the calendar and known-in-advance
//! covariates of the `horizon` dates after `o` for the output layer; its
//! targets are the next `horizon` scaled values, measured from the window's
//! `anchor`: with `window_mean` the network learns departures from the mean
//! of the window's targets (a skip connection from the inputs to every
//! output), which lets it carry a level or trend past the range it trained
//! on; [`FoldWindows::level`] adds the anchor back.
//!
//! Windows whose targets all fall in the last `validation` periods of a
//! series validate; training windows end their targets before those
//! periods, so validation never sees a target it trained on. The forecast
//! window of a series has origin at its last training period.

use crate::samples::Samples;
use crate::train::TrainError;
use trendlab_models::features::PreparedSeries;
use trendlab_models::scaling::Scaler;
use trendlab_models::{FoldInput, ModelError, SeriesHistory};
use trendlab_spec::{Anchor, LstmConfig};

/// A fold as windows.
#[derive(Debug)]
pub struct FoldWindows {
    pub train: Samples,
    pub validation: Samples,
    /// One window per forecastable series.
    pub forecast: Samples,
    /// For each series of the fold: its forecast window and scaler, or why
    /// it cannot be forecast.
    pub series: Vec<Result<(usize, Scaler), ModelError>>,
    /// Names of the per-step inputs (for the checkpoint).
    pub step_inputs: Vec<String>,
    /// The anchor of each forecast window, to add to its outputs.
    pub level: Vec<f64>,
    /// How each forecast series was scaled (for a saved fit), by id.
    pub scalings: std::collections::BTreeMap<String, trendlab_models::features::SeriesScaling>,
}

/// Builds the windows of every series of `input`.
pub fn build(input: &FoldInput<'_>, config: &LstmConfig) -> Result<FoldWindows, ModelError> {
    let horizon = input.horizon;
    let validation = config.validation.unwrap_or(horizon);
    if validation > 0 && validation < horizon {
        return Err(ModelError::Unfit(format!(
            "validation = {validation} periods cannot hold a window of horizon {horizon}; \
             use validation >= {horizon} (or 0 for none)"
        )));
    }
    let features = input.features;
    let calendar = features.calendar_width();
    let steps = config.input_size;
    let step_width = 1 + calendar + features.past.len() + features.future.len();
    let extra_width = horizon * (calendar + features.future.len());
    let mut step_inputs = vec!["target".to_string()];
    step_inputs.extend(features.calendar_names());
    step_inputs.extend(features.past.iter().chain(&features.future).cloned());
    let empty = || Samples::new(steps, step_width, extra_width, horizon);
    let mut out = FoldWindows {
        train: empty(),
        validation: empty(),
        forecast: empty(),
        series: Vec::with_capacity(input.series.len()),
        step_inputs,
        level: Vec::new(),
        scalings: Default::default(),
    };
    let prepared: Vec<Result<PreparedSeries<'_>, ModelError>> = input
        .series
        .iter()
        .map(|s| {
            let p = PreparedSeries::for_fold(s, config.scaling, input.context.fitted)?;
            if s.train_len() < steps {
                return Err(too_short(s, steps));
            }
            Ok(p)
        })
        .collect();
    let origins = |p: &PreparedSeries<'_>| Origins::of(p.history.train_len(), steps, horizon, validation);
    let (train_count, validation_count) = prepared
        .iter()
        .flatten()
        .map(origins)
        .fold((0, 0), |(t, v), o| (t + o.train.len(), v + o.validation.len()));
    let oom = |e: TrainError| ModelError::Unfit(e.to_string());
    out.train.reserve(train_count).map_err(oom)?;
    out.validation.reserve(validation_count).map_err(oom)?;
    let mut row = Vec::new();
    for (index, p) in prepared.into_iter().enumerate() {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                out.series.push(Err(e));
                continue;
            }
        };
        let o = origins(&p);
        for origin in o.train {
            push_window(
                &p,
                index,
                config,
                features,
                origin,
                horizon,
                true,
                &mut out.train,
                &mut row,
            );
        }
        for origin in o.validation {
            push_window(
                &p,
                index,
                config,
                features,
                origin,
                horizon,
                true,
                &mut out.validation,
                &mut row,
            );
        }
        push_window(
            &p,
            index,
            config,
            features,
            p.history.train_len() - 1,
            horizon,
            false,
            &mut out.forecast,
            &mut row,
        );
        out.level
            .push(anchor(&p, p.history.train_len() - 1, steps, config.anchor));
        out.series.push(Ok((out.forecast.len() - 1, p.scaler)));
        out.scalings.insert(p.history.id.to_string(), p.scaling());
    }
    if out.train.is_empty() {
        let longest = input.series.iter().map(SeriesHistory::train_len).max().unwrap_or(0);
        return Err(ModelError::Unfit(format!(
            "no training windows: a window needs input_size {steps} + horizon {horizon} + validation {validation} \
             = {} training periods, and the longest series has {longest}",
            steps + horizon + validation
        )));
    }
    Ok(out)
}

fn too_short(s: &SeriesHistory<'_>, steps: usize) -> ModelError {
    ModelError::TooShort {
        series: s.id.to_string(),
        need: steps,
        have: s.train_len(),
    }
}

/// Origins of a series' training and validation windows.
struct Origins {
    train: std::ops::Range<usize>,
    validation: std::ops::Range<usize>,
}

impl Origins {
    fn of(n: usize, steps: usize, horizon: usize, validation: usize) -> Origins {
        let first = steps - 1;
        // Origins up to `last` inclusive, none when `last` precedes the window.
        let upto = |last: Option<usize>, from: usize| match last {
            Some(last) if last >= from => from..last + 1,
            _ => 0..0,
        };
        // Training targets o+1..=o+h end before the validation periods n-v..n.
        let train = upto(n.checked_sub(1 + horizon + validation), first);
        let validation = if validation == 0 {
            0..0
        } else {
            upto(
                n.checked_sub(1 + horizon),
                (n.saturating_sub(validation + 1)).max(first),
            )
        };
        Origins { train, validation }
    }
}

/// The level a window's targets are measured from.
fn anchor(p: &PreparedSeries<'_>, origin: usize, steps: usize, anchor: Anchor) -> f64 {
    match anchor {
        Anchor::None => 0.0,
        Anchor::WindowMean => p.y[origin + 1 - steps..=origin].iter().sum::<f64>() / steps as f64,
    }
}

/// Appends the window of `p` with origin `origin` (and its targets, when
/// `with_targets`) to `samples`.
#[allow(clippy::too_many_arguments)]
fn push_window(
    p: &PreparedSeries<'_>,
    series: usize,
    config: &LstmConfig,
    features: &trendlab_models::FeatureSet,
    origin: usize,
    horizon: usize,
    with_targets: bool,
    samples: &mut Samples,
    row: &mut Vec<f64>,
) {
    let dates = p.history.dates;
    samples.series.push(series as u32);
    for t in origin + 1 - samples.steps..=origin {
        row.clear();
        row.push(p.y[t]);
        features.calendar_at(dates[t], row);
        row.extend(p.past().iter().map(|c| c[t]));
        row.extend(p.future().iter().map(|c| c[t]));
        samples.x.extend(row.iter().map(|v| *v as f32));
    }
    for t in origin + 1..=origin + horizon {
        row.clear();
        features.calendar_at(dates[t], row);
        row.extend(p.future().iter().map(|c| c[t]));
        samples.extra.extend(row.iter().map(|v| *v as f32));
    }
    if with_targets {
        let level = anchor(p, origin, samples.steps, config.anchor);
        samples
            .y
            .extend(p.y[origin + 1..=origin + horizon].iter().map(|v| (v - level) as f32));
    } else {
        samples.y.extend(std::iter::repeat_n(0.0, horizon));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendlab_models::FeatureSet;
    use trendlab_spec::{CalendarFeature, Frequency, Scaling};

    fn config(input_size: usize, validation: Option<usize>) -> LstmConfig {
        let mut c: LstmConfig = serde_json::from_value(serde_json::json!({ "input_size": input_size })).unwrap();
        c.validation = validation;
        c.scaling = Scaling::None;
        c
    }

    #[test]
    fn origins_split_training_from_validation_targets() {
        // n = 10, window 3, horizon 2, validation 2: training targets end at
        // period 7 (origin 5), the one validation window has origin 7.
        let o = Origins::of(10, 3, 2, 2);
        assert_eq!(o.train, 2..6);
        assert_eq!(o.validation, 7..8);
        let o = Origins::of(10, 3, 2, 0);
        assert_eq!(o.train, 2..8);
        assert!(o.validation.is_empty());
        assert!(Origins::of(5, 3, 2, 2).train.is_empty());
    }

    #[test]
    fn window_contents_by_hand() {
        let dates = trendlab_models::testing::daily_dates(8); // from Monday 2024-01-01
        let target = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let promo = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let short = [1.0];
        let series = vec![
            SeriesHistory {
                id: "a",
                text: None,
                dates: &dates,
                target: &target,
                past: vec![],
                future: vec![&promo],
            },
            SeriesHistory {
                id: "b",
                text: None,
                dates: &dates[..3],
                target: &short,
                past: vec![],
                future: vec![&promo[..3]],
            },
        ];
        let features = FeatureSet {
            calendar: vec![CalendarFeature::DayOfWeek],
            future: vec!["promo".into()],
            frequency: Frequency::Daily,
            ..FeatureSet::default()
        };
        let input = FoldInput::new(series, 2, &features);
        let w = build(&input, &config(2, Some(2))).unwrap();
        assert_eq!(w.step_inputs, ["target", "dayofweek_sin", "dayofweek_cos", "promo"]);
        // Training origins 1..=1 (targets at 2, 3), validation origin 3 (targets 4, 5).
        assert_eq!(w.train.len(), 1);
        assert_eq!(w.validation.len(), 1);
        assert_eq!(w.train.y, vec![3.0, 4.0]);
        assert_eq!(w.validation.y, vec![5.0, 6.0]);
        assert_eq!(w.level, vec![0.0]);
        // Anchored: departures from the window mean, (1 + 2) / 2, then (3 + 4) / 2.
        let anchored = LstmConfig {
            anchor: Anchor::WindowMean,
            ..config(2, Some(2))
        };
        let a = build(&input, &anchored).unwrap();
        assert_eq!(a.train.y, vec![1.5, 2.5]);
        assert_eq!(a.validation.y, vec![1.5, 2.5]);
        assert_eq!(a.level, vec![5.5]);
        assert_eq!(
            (a.forecast.x.clone(), a.forecast.extra.clone()),
            (w.forecast.x.clone(), w.forecast.extra.clone())
        );
        let z = |v: f64| Scaler::fit(Scaling::Standard, &promo[..6]).apply(v) as f32;
        let dow = |d: f64| {
            let a = std::f64::consts::TAU * d / 7.0;
            [a.sin() as f32, a.cos() as f32]
        };
        // Forecast window of "a": periods 4 and 5 (Fri, Sat), then Sun and Mon ahead.
        let f = &w.forecast;
        assert_eq!(f.x[..4], [5.0, dow(4.0)[0], dow(4.0)[1], z(0.0)]);
        assert_eq!(f.x[4..8], [6.0, dow(5.0)[0], dow(5.0)[1], z(1.0)]);
        assert_eq!(
            f.extra,
            vec![dow(6.0)[0], dow(6.0)[1], z(1.0), dow(0.0)[0], dow(0.0)[1], z(0.0)]
        );
        // "b" has one period, shorter than the window.
        assert!(matches!(
            &w.series[1],
            Err(ModelError::TooShort { need: 2, have: 1, .. })
        ));
        assert_eq!(w.series[0].as_ref().unwrap().0, 0);
        // Validation shorter than the horizon is refused.
        assert!(matches!(build(&input, &config(2, Some(1))), Err(ModelError::Unfit(_))));
        // A window longer than every series: no training windows.
        let err = build(&input, &config(6, None)).unwrap_err().to_string();
        assert!(
            err.contains("no training windows") && err.contains("longest series has 6"),
            "{err}"
        );
    }
}
