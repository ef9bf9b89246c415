//! Automatic order selection per series, after Hyndman & Khandakar (2008),
//! as R's `forecast::auto.arima` and statsforecast's AutoARIMA do it:
//! seasonal differences D from the seasonal strength of a classical
//! decomposition (D = 1 above 0.64), differences d by repeated KPSS tests at
//! the 5% level (on the regression residuals when there are regressors),
//! then a stepwise search over (p, q, P, Q) and the mean (d + D = 0) or drift
//! (d + D = 1): from the four starting models, the first neighbour, in R's
//! order, with a lower AICc becomes the current model, until none improves
//! or 94 models were tried. Models with a root within 1.01 of the unit
//! circle are refused. With the approximation (long series, long seasons)
//! candidates are ranked by conditional sums of squares, and the best are
//! refitted by exact likelihood until one succeeds. Estimates stop where R's
//! `optim` does (relative change 1.5e-8, 100 iterations).

use super::polynomial::{apply, differencing};
use super::regression::{self, Design};
use super::statespace::Innovations;
use super::{ArimaFit, Estimation, Method, Orders, fit_by};
use crate::ModelError;
use trendlab_spec::ArimaTrend;

const MAX_P: usize = 5;
const MAX_Q: usize = 5;
const MAX_SEASONAL_P: usize = 2;
const MAX_SEASONAL_Q: usize = 2;
const MAX_MODELS: usize = 94;
/// Candidates with a root closer to the unit circle are refused.
const MIN_ROOT: f64 = 1.01;

/// KPSS statistic for level stationarity, with Newey–West long-run variance
/// over `trunc(3 √n / 13)` lags (the "short" lag of R's tseries).
pub fn kpss_statistic(x: &[f64]) -> f64 {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let lags = (3.0 * (n as f64).sqrt() / 13.0) as usize;
    let mut long_run = e.iter().map(|v| v * v).sum::<f64>();
    for l in 1..=lags {
        let weight = 1.0 - l as f64 / (lags as f64 + 1.0);
        long_run += 2.0 * weight * (l..n).map(|t| e[t] * e[t - l]).sum::<f64>();
    }
    long_run /= n as f64;
    let mut partial = 0.0;
    let eta: f64 = e
        .iter()
        .map(|v| {
            partial += v;
            partial * partial
        })
        .sum();
    eta / (n as f64 * n as f64 * long_run.max(f64::MIN_POSITIVE))
}

/// 5% critical value of the KPSS level test.
const KPSS_CRITICAL_5: f64 = 0.463;

/// Number of differences (at most 2) after which KPSS no longer rejects.
pub fn regular_differences(x: &[f64]) -> usize {
    let mut series = x.to_vec();
    for d in 0..2 {
        let constant = series.windows(2).all(|w| w[0] == w[1]);
        if series.len() < 10 || constant || kpss_statistic(&series) <= KPSS_CRITICAL_5 {
            return d;
        }
        series = apply(&differencing(1, 0, 1), &series);
    }
    2
}

/// Seasonal strength, max(0, 1 − var(remainder) / var(seasonal + remainder)),
/// of an STL decomposition with period `s`, set up as statsforecast's `mstl`
/// sets up statsmodels' STL (seasonal window 11 of degree 0, trend window
/// from Cleveland's formula, low-pass window the smallest odd number above
/// `s`, every jump 1, five inner passes, no robustness iterations). The STL
/// itself is the `stlrs` port of Cleveland et al.'s Fortran.
pub fn seasonal_strength(x: &[f64], s: usize) -> f64 {
    if s < 2 || x.len() < 2 * s + 1 {
        return 0.0;
    }
    let decomposition = stlrs::params()
        .seasonal_length(11)
        .seasonal_degree(0)
        .low_pass_length(s + 1 + s % 2)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(5)
        .outer_loops(0)
        .fit(x, s);
    let Ok(decomposition) = decomposition else {
        return 0.0;
    };
    let remainder = decomposition.remainder();
    let seasonal_plus: Vec<f64> = remainder
        .iter()
        .zip(decomposition.seasonal())
        .map(|(r, s)| r + s)
        .collect();
    let variance = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
    };
    let total = variance(&seasonal_plus);
    // A (nearly) constant series has no season, only rounding noise.
    if total <= 1e-20 * variance(x).max(f64::MIN_POSITIVE) || variance(x) == 0.0 {
        0.0
    } else {
        (1.0 - variance(remainder) / total).clamp(0.0, 1.0)
    }
}

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search {
    /// Seasonal period (1 for none).
    pub season: usize,
    /// Rank candidates by conditional sums of squares; `None`: for series
    /// longer than 150 periods or seasons longer than 12, as `auto.arima`.
    pub approximation: Option<bool>,
}

impl Search {
    pub fn seasonal(season: usize) -> Search {
        Search {
            season,
            approximation: None,
        }
    }
}

/// The differences `(d, D)` the tests choose for `y` (regressed on
/// `exogenous` first, when given).
pub fn differences(y: &[f64], exogenous: &[&[f64]], season: usize) -> (usize, usize) {
    let residuals = regression_residuals(y, exogenous);
    let seasonal = season > 1 && y.len() >= 3 * season;
    let sd = usize::from(seasonal && seasonal_strength(&residuals, season) > 0.64);
    let after_seasonal = if sd == 1 {
        apply(&differencing(0, 1, season), &residuals)
    } else {
        residuals
    };
    (regular_differences(&after_seasonal), sd)
}

/// `y` minus its least-squares fit on a constant and `exogenous`.
fn regression_residuals(y: &[f64], exogenous: &[&[f64]]) -> Vec<f64> {
    if exogenous.is_empty() {
        return y.to_vec();
    }
    let n = y.len();
    let design = Design::new(ArimaTrend::C, exogenous);
    let columns: Vec<Vec<f64>> = (0..design.width()).map(|j| design.column(j, n)).collect();
    let kept = regression::independent(&columns);
    let innovations = Innovations {
        standardized: std::iter::once(y.to_vec())
            .chain(kept.iter().map(|j| columns[*j].clone()))
            .collect(),
        log_det: 0.0,
        states: Vec::new(),
    };
    let Some((beta, _)) = regression::concentrate(&innovations) else {
        return y.to_vec();
    };
    (0..n)
        .map(|t| y[t] - kept.iter().zip(&beta).map(|(j, b)| b * columns[*j][t]).sum::<f64>())
        .collect()
}

/// ARIMA(0,0,0) with a mean: the last model an automatic search falls back to.
const MEAN_MODEL: Orders = Orders {
    order: [0, 0, 0],
    seasonal_order: [0, 0, 0, 0],
    trend: ArimaTrend::C,
};

/// The model an automatic search returns.
#[derive(Debug, Clone)]
pub struct Searched {
    pub model: ArimaFit,
    /// Why the search fell back to a simpler model (`None`: its own choice).
    pub fallback: Option<String>,
}

/// Chooses orders for `y` and returns the best model, fitted by exact
/// likelihood. It always returns one, as R's `auto.arima` and
/// statsforecast's do: a constant series gets the mean model; when no
/// model of the stepwise search can be fitted, the differences it chose
/// without AR or MA terms (with the constant or drift where one applies,
/// then without), then the mean model, the first that fits, with the
/// reason in [`Searched::fallback`].
pub fn auto_arima(y: &[f64], exogenous: &[&[f64]], search: Search, series: &str) -> Result<Searched, ModelError> {
    if y.windows(2).all(|w| w[0] == w[1]) && exogenous.is_empty() {
        let model = fit_by(Estimation::EXACT, y, exogenous, &MEAN_MODEL, series)?;
        return Ok(Searched {
            model,
            fallback: Some("the series is constant: the mean model".into()),
        });
    }
    match stepwise(y, exogenous, search, series) {
        Ok(model) => Ok(Searched { model, fallback: None }),
        Err(failure) => simpler(y, exogenous, search, series, failure),
    }
}

/// The first of the simpler models [`auto_arima`] falls back to that fits,
/// or the search's `failure` when none does.
fn simpler(
    y: &[f64],
    exogenous: &[&[f64]],
    search: Search,
    series: &str,
    failure: ModelError,
) -> Result<Searched, ModelError> {
    let season = search.season;
    let seasonal = season > 1 && y.len() >= 3 * season;
    let (d, sd) = differences(y, exogenous, season);
    let differenced = |trend| Orders {
        order: [0, d, 0],
        seasonal_order: if seasonal { [0, sd, 0, season] } else { [0, 0, 0, 0] },
        trend,
    };
    let mut candidates = Vec::new();
    match d + sd {
        0 => {}
        1 => candidates.extend([differenced(ArimaTrend::T), differenced(ArimaTrend::N)]),
        _ => candidates.push(differenced(ArimaTrend::N)),
    }
    candidates.push(MEAN_MODEL);
    for orders in candidates {
        if let Ok(model) = fit_by(Estimation::EXACT, y, exogenous, &orders, series) {
            return Ok(Searched {
                model,
                fallback: Some(format!("{failure}; fell back to {orders}")),
            });
        }
    }
    Err(failure)
}

/// The stepwise search of [`auto_arima`], which may find no model.
fn stepwise(y: &[f64], exogenous: &[&[f64]], search: Search, series: &str) -> Result<ArimaFit, ModelError> {
    let season = search.season;
    let seasonal = season > 1 && y.len() >= 3 * season;
    let (d, sd) = differences(y, exogenous, season);
    let approximate = search.approximation.unwrap_or(y.len() > 150 || season > 12);
    let method = if approximate {
        Method::Conditional
    } else {
        Method::Exact
    };
    // A constant is a mean without differencing, a drift with one difference.
    let with_constant = match d + sd {
        0 => Some(ArimaTrend::C),
        1 => Some(ArimaTrend::T),
        _ => None,
    };
    let (max_p, max_q) = if seasonal {
        (MAX_P.min(season - 1), MAX_Q.min(season - 1))
    } else {
        (MAX_P, MAX_Q)
    };
    let (max_sp, max_sq) = if seasonal {
        (MAX_SEASONAL_P, MAX_SEASONAL_Q)
    } else {
        (0, 0)
    };
    let s = if seasonal { season } else { 0 };
    let orders = |[p, q, sp, sq]: [usize; 4], constant: bool| Orders {
        order: [p, d, q],
        seasonal_order: if seasonal { [sp, sd, sq, s] } else { [0, 0, 0, 0] },
        trend: if constant {
            with_constant.unwrap_or(ArimaTrend::N)
        } else {
            ArimaTrend::N
        },
    };
    // Every model tried, with its criterion (infinite when refused).
    let mut tried: Vec<(Orders, f64)> = Vec::new();
    let mut best: Option<(f64, ArimaFit)> = None;
    let mut consider = |candidate: Orders, best: &mut Option<(f64, ArimaFit)>| -> bool {
        if tried.len() >= MAX_MODELS || tried.iter().any(|(o, _)| *o == candidate) {
            return false;
        }
        let scored = fit_by(Estimation::search(method, MIN_ROOT), y, exogenous, &candidate, series)
            .ok()
            .filter(|m| m.min_root_modulus() >= MIN_ROOT)
            .map(|m| (m.aicc(), m))
            .filter(|(score, _)| score.is_finite());
        tried.push((candidate, scored.as_ref().map_or(f64::INFINITY, |(score, _)| *score)));
        match scored {
            Some((score, model)) if best.as_ref().is_none_or(|(b, _)| score < *b) => {
                *best = Some((score, model));
                true
            }
            _ => false,
        }
    };
    let constant = with_constant.is_some();
    let start = [
        [
            2.min(max_p),
            2.min(max_q),
            usize::from(max_sp > 0),
            usize::from(max_sq > 0),
        ],
        [0, 0, 0, 0],
        [usize::from(max_p > 0), 0, usize::from(max_sp > 0), 0],
        [0, usize::from(max_q > 0), 0, usize::from(max_sq > 0)],
    ];
    for candidate in start {
        consider(orders(candidate, constant), &mut best);
    }
    if constant {
        consider(orders([0; 4], false), &mut best);
    }
    // R's neighbourhood, in R's order: seasonal moves first, then regular, then the constant.
    const MOVES: [[i32; 4]; 16] = [
        [0, 0, -1, 0],
        [0, 0, 0, -1],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, -1, -1],
        [0, 0, -1, 1],
        [0, 0, 1, -1],
        [0, 0, 1, 1],
        [-1, 0, 0, 0],
        [0, -1, 0, 0],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [-1, -1, 0, 0],
        [-1, 1, 0, 0],
        [1, -1, 0, 0],
        [1, 1, 0, 0],
    ];
    let limits = [max_p, max_q, max_sp, max_sq];
    'search: while let Some((_, current)) = &best {
        let c = current.orders;
        let at = [c.order[0], c.order[2], c.seasonal_order[0], c.seasonal_order[2]];
        let current_constant = c.trend != ArimaTrend::N;
        for delta in MOVES {
            let moved: Option<Vec<usize>> = (0..4)
                .map(|i| {
                    let v = at[i] as i32 + delta[i];
                    (v >= 0 && v as usize <= limits[i]).then_some(v as usize)
                })
                .collect();
            if let Some(moved) = moved {
                let moved = [moved[0], moved[1], moved[2], moved[3]];
                if consider(orders(moved, current_constant), &mut best) {
                    continue 'search;
                }
            }
        }
        if constant && consider(orders(at, !current_constant), &mut best) {
            continue 'search;
        }
        break;
    }
    let Some((_, chosen)) = best else {
        return Err(ModelError::Numerical(format!(
            "no ARIMA model could be fitted to series `{series}`"
        )));
    };
    if method == Method::Exact {
        return Ok(chosen);
    }
    // Refit by exact likelihood, best criterion first, until one succeeds.
    let mut ranked: Vec<&(Orders, f64)> = tried.iter().filter(|(_, score)| score.is_finite()).collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut last_error = None;
    for (candidate, _) in ranked {
        match fit_by(
            Estimation::search(Method::Exact, MIN_ROOT),
            y,
            exogenous,
            candidate,
            series,
        ) {
            Ok(model) if model.min_root_modulus() >= MIN_ROOT && model.aicc().is_finite() => return Ok(model),
            Ok(_) => {}
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        ModelError::Numerical(format!(
            "no ARIMA model of series `{series}` could be refitted by exact likelihood without a root near the unit circle"
        ))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpss_separates_noise_from_a_random_walk() {
        // A deterministic zig-zag is stationary; its running sum trends.
        let noise: Vec<f64> = (0..200)
            .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 } * ((t % 7) as f64))
            .collect();
        let walk: Vec<f64> = noise
            .iter()
            .scan(0.0, |s, v| {
                *s += v + 0.3;
                Some(*s)
            })
            .collect();
        assert!(kpss_statistic(&noise) < KPSS_CRITICAL_5);
        assert!(kpss_statistic(&walk) > KPSS_CRITICAL_5);
        assert_eq!(regular_differences(&noise), 0);
        assert_eq!(regular_differences(&walk), 1);
    }

    #[test]
    fn seasonal_strength_of_a_pure_cycle_is_one() {
        let cycle: Vec<f64> = (0..60).map(|t| [3.0, -1.0, 0.0, -2.0][t % 4]).collect();
        assert!(
            (seasonal_strength(&cycle, 4) - 1.0).abs() < 1e-9,
            "{}",
            seasonal_strength(&cycle, 4)
        );
        let flat = vec![5.0; 60];
        assert_eq!(seasonal_strength(&flat, 4), 0.0);
    }

    #[test]
    fn a_constant_series_gets_the_mean_model_and_says_so() {
        let y = vec![4.0; 30];
        let searched = auto_arima(&y, &[], Search::seasonal(7), "flat").unwrap();
        assert_eq!(searched.model.orders, MEAN_MODEL);
        assert_eq!(
            searched.fallback.as_deref(),
            Some("the series is constant: the mean model")
        );
        let forecast = searched.model.forecast(&y, 3).unwrap();
        assert!(
            forecast.mean.iter().all(|v| (v - 4.0).abs() < 1e-9),
            "{:?}",
            forecast.mean
        );
        assert!(forecast.variance.iter().all(|v| *v < 1e-300));
        // It serialises: the likelihood is finite.
        assert!(searched.model.loglik.is_finite());
    }

    #[test]
    fn a_failed_search_falls_back_to_the_differences_with_drift_then_the_mean() {
        // A random walk with drift: one difference, so ARIMA(0,1,0) with drift first.
        let mut level = 0.0;
        let walk: Vec<f64> = (0..80)
            .map(|t| {
                level += 1.0 + ((t * 7919) % 13) as f64 - 6.0;
                level
            })
            .collect();
        let failure = ModelError::Numerical("no ARIMA model could be fitted to series `w`".into());
        let searched = simpler(&walk, &[], Search::seasonal(1), "w", failure).unwrap();
        assert_eq!(searched.model.orders.to_string(), "ARIMA(0,1,0) with drift");
        assert_eq!(
            searched.fallback.as_deref(),
            Some(
                "numerical failure: no ARIMA model could be fitted to series `w`; fell back to ARIMA(0,1,0) with drift"
            )
        );
        // Without differences the mean model is the only candidate.
        let noise: Vec<f64> = (0..80).map(|t| ((t * 7919) % 13) as f64).collect();
        let failure = ModelError::Numerical("none".into());
        let searched = simpler(&noise, &[], Search::seasonal(1), "n", failure).unwrap();
        assert_eq!(searched.model.orders, MEAN_MODEL);
        // Two observations are too few for any model: the search's reason stays.
        let failure = ModelError::Numerical("too short".into());
        assert_eq!(
            simpler(&[1.0, 3.0], &[], Search::seasonal(1), "t", failure)
                .unwrap_err()
                .to_string(),
            "numerical failure: too short"
        );
    }
}
