//! Combining the kept members' forecasts of one fold, series by series.
//!
//! Point forecasts are the weighted sum (or the median) at every step.
//! Prediction intervals are combined by quantile averaging (Lichtendahl,
//! Grushka-Cockayne & Winkler 2013, "Is it better to average probabilities
//! or quantiles?"): each bound of the ensemble's interval at a level is the
//! same combination of the members' bounds at that level — the weighted sum
//! with non-negative weights, or the median. That keeps bounds ordered and
//! is sharper than averaging distributions. Intervals are produced only when
//! every combined member gives them for every series and no weight is
//! negative; otherwise none, and the run record says why.

use super::MemberForecasts;
use crate::{FoldInput, Interval, ModelError, SeriesForecast, SeriesOutcome};
use trendlab_spec::{EnsembleConfig, OnMissing};

/// Σ wᵢ·vᵢ.
pub fn weighted_sum(values: impl Iterator<Item = f64>, weights: &[f64]) -> f64 {
    values.zip(weights).map(|(v, w)| v * w).sum()
}

/// The median (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Every series' combined forecast, and how the intervals were combined.
pub fn fold(
    config: &EnsembleConfig,
    members: &MemberForecasts,
    kept: &[usize],
    weights: Option<&[f64]>,
    input: &FoldInput<'_>,
) -> (Vec<SeriesOutcome>, String) {
    let (with_intervals, intervals) = interval_policy(members, kept, weights, input);
    let outcomes = members
        .current
        .iter()
        .map(|row| {
            let present: Vec<(usize, &SeriesForecast)> = kept
                .iter()
                .enumerate()
                .filter_map(|(k, &c)| row[c].as_ref().map(|f| (k, f)))
                .collect();
            if present.len() < kept.len() {
                let missing = kept
                    .iter()
                    .find(|&&c| row[c].is_none())
                    .map_or("", |&c| members.candidates[c].label.as_str());
                if config.on_missing == OnMissing::Fail || present.is_empty() {
                    return Err(ModelError::Unfit(format!(
                        "member `{missing}` has no forecast of this series"
                    )));
                }
            }
            let weights = match weights {
                Some(w) => Some(renormalised(w, &present)?),
                None => None,
            };
            Ok(series(&present, weights.as_deref(), input, with_intervals))
        })
        .collect();
    (outcomes, intervals)
}

/// The weights of the members present for a series, rescaled to the sum
/// of all kept members' weights (a member may lack a series under `drop`).
fn renormalised(weights: &[f64], present: &[(usize, &SeriesForecast)]) -> Result<Vec<f64>, ModelError> {
    let mine: Vec<f64> = present.iter().map(|(k, _)| weights[*k]).collect();
    if mine.len() == weights.len() {
        return Ok(mine);
    }
    let (total, left): (f64, f64) = (weights.iter().sum(), mine.iter().sum());
    if left.abs() < 1e-12 {
        return Err(ModelError::Unfit(
            "the members that forecast this series have zero weight".into(),
        ));
    }
    Ok(mine.iter().map(|w| w * total / left).collect())
}

/// Whether intervals are combined this fold, and the record's explanation.
fn interval_policy(
    members: &MemberForecasts,
    kept: &[usize],
    weights: Option<&[f64]>,
    input: &FoldInput<'_>,
) -> (bool, String) {
    if input.levels.is_empty() {
        return (false, "none requested".into());
    }
    let lacking = kept.iter().find(|&&c| {
        members
            .current
            .iter()
            .any(|row| row[c].as_ref().is_some_and(|f| f.intervals.is_empty()))
    });
    if let Some(&c) = lacking {
        return (
            false,
            format!("none: member `{}` gives no intervals", members.candidates[c].label),
        );
    }
    match weights {
        Some(w) if w.iter().any(|w| *w < 0.0) => (false, "none: some weights are negative".into()),
        Some(_) => (true, "the weighted sum of the members' bounds at each level".into()),
        None => (true, "the median of the members' bounds at each level".into()),
    }
}

/// One series' combination of the present members.
fn series(
    present: &[(usize, &SeriesForecast)],
    weights: Option<&[f64]>,
    input: &FoldInput<'_>,
    with_intervals: bool,
) -> SeriesForecast {
    let combine = |value: &dyn Fn(&SeriesForecast) -> f64| {
        let values = present.iter().map(|(_, f)| value(f));
        match weights {
            Some(w) => weighted_sum(values, w),
            None => median(&mut values.collect::<Vec<_>>()),
        }
    };
    let steps = 0..input.horizon;
    SeriesForecast {
        residuals: Vec::new(),
        mean: steps.clone().map(|h| combine(&|f| f.mean[h])).collect(),
        intervals: if with_intervals {
            (0..input.levels.len())
                .map(|l| Interval {
                    level: input.levels[l],
                    lower: steps.clone().map(|h| combine(&|f| f.intervals[l].lower[h])).collect(),
                    upper: steps.clone().map(|h| combine(&|f| f.intervals[l].upper[h])).collect(),
                })
                .collect()
        } else {
            Vec::new()
        },
        chosen: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{candidate, with_input};
    use super::super::{MemberForecasts, combine};
    use super::*;
    use trendlab_spec::{Method, Metric};

    fn config(method: &str, on_missing: &str) -> EnsembleConfig {
        let json = serde_json::json!({"members": ["a", "b", "c"], "method": method, "on_missing": on_missing});
        serde_json::from_value(json).expect("valid config")
    }

    fn forecast(mean: &[f64], lower: &[f64], upper: &[f64]) -> Option<SeriesForecast> {
        Some(SeriesForecast {
            mean: mean.to_vec(),
            intervals: vec![Interval {
                level: 80.0,
                lower: lower.to_vec(),
                upper: upper.to_vec(),
            }],
            chosen: None,
            residuals: Vec::new(),
        })
    }

    /// Equal up to the rounding of thirds.
    fn close(got: &[f64], want: &[f64]) {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1e-14 * w.abs()),
            "{got:?} != {want:?}"
        );
    }

    /// Three members of one two-step series, with 80% intervals.
    fn toy() -> MemberForecasts {
        MemberForecasts {
            candidates: ["a", "b", "c"].map(candidate).to_vec(),
            current: vec![vec![
                forecast(&[1.0, 10.0], &[0.0, 8.0], &[2.0, 12.0]),
                forecast(&[2.0, 40.0], &[1.0, 30.0], &[5.0, 50.0]),
                forecast(&[6.0, 20.0], &[3.0, 19.0], &[9.0, 21.0]),
            ]],
            history: vec![],
            dropped: vec![],
            rank_by: Metric::Mae,
            season: 1,
        }
    }

    #[test]
    fn mean_and_median_are_exact() {
        with_input(1, 4, 2, &[80.0], |input| {
            let mean = combine(&config("mean", "fail"), &toy(), input).expect("combines");
            let f = mean.outcomes[0].as_ref().expect("forecast");
            close(&f.mean, &[3.0, 70.0 / 3.0]);
            close(&f.intervals[0].lower, &[4.0 / 3.0, 19.0]);
            close(&f.intervals[0].upper, &[16.0 / 3.0, 83.0 / 3.0]);
            assert!(mean.log.members.iter().all(|m| m.used && m.weight == Some(1.0 / 3.0)));
            let median = combine(&config("median", "fail"), &toy(), input).expect("combines");
            let f = median.outcomes[0].as_ref().expect("forecast");
            assert_eq!(f.mean, vec![2.0, 20.0]);
            assert_eq!(f.intervals[0].lower, vec![1.0, 19.0]);
            assert_eq!(f.intervals[0].upper, vec![5.0, 21.0]);
            assert_eq!(median.log.method, Method::Median.name());
            assert!(median.log.members.iter().all(|m| m.weight.is_none()));
        });
    }

    #[test]
    fn a_missing_member_fails_the_series_or_is_dropped() {
        let mut members = toy();
        members.current[0][1] = None;
        with_input(1, 4, 2, &[80.0], |input| {
            let failed = combine(&config("mean", "fail"), &members, input).expect("combines");
            let error = failed.outcomes[0].as_ref().expect_err("fails").to_string();
            assert!(error.contains("member `b` has no forecast"), "{error}");
            let dropped = combine(&config("median", "drop"), &members, input).expect("combines");
            assert_eq!(dropped.outcomes[0].as_ref().expect("forecast").mean, vec![3.5, 15.0]);
            let mean = combine(&config("mean", "drop"), &members, input).expect("combines");
            assert_eq!(mean.outcomes[0].as_ref().expect("forecast").mean, vec![3.5, 15.0]);
        });
    }

    #[test]
    fn intervals_only_when_every_member_gives_them() {
        let mut members = toy();
        members.current[0][2].as_mut().expect("forecast").intervals.clear();
        with_input(1, 4, 2, &[80.0], |input| {
            let combined = combine(&config("mean", "fail"), &members, input).expect("combines");
            assert!(combined.outcomes[0].as_ref().expect("forecast").intervals.is_empty());
            assert_eq!(combined.log.intervals, "none: member `c` gives no intervals");
        });
    }
}
