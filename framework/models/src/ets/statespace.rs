//! The ETS state-space recursions (Hyndman, Koehler, Snyder & Grose 2002;
//! Hyndman et al. 2008): one-step forecasts, the error-correction update
//! of level, growth and seasonal states, and the likelihood the fit
//! minimises, in the form of R's `forecast::ets` and statsforecast.

use serde::{Deserialize, Serialize};

/// How a component enters the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "N")]
    None,
    #[serde(rename = "A")]
    Additive,
    #[serde(rename = "M")]
    Multiplicative,
}

impl Kind {
    pub fn letter(self) -> char {
        match self {
            Kind::None => 'N',
            Kind::Additive => 'A',
            Kind::Multiplicative => 'M',
        }
    }
}

/// Smoothing parameters (β, γ zero and φ one where the model has no such part).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Smoothing {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// The model's form: error, trend, season, damping and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub error: Kind,
    pub trend: Kind,
    pub season: Kind,
    pub damped: bool,
    /// Season length (1 without a seasonal part).
    pub period: usize,
}

const TOL: f64 = 1e-10;
const HUGE: f64 = 1e10;

/// A state: level, growth (0 without trend) and the last `period` seasonal
/// states, `season[0]` the newest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub level: f64,
    pub growth: f64,
    pub season: Vec<f64>,
}

impl Form {
    /// ETS(A,N,N): simple exponential smoothing.
    pub const SIMPLE: Form = Form {
        error: Kind::Additive,
        trend: Kind::None,
        season: Kind::None,
        damped: false,
        period: 1,
    };

    /// "ETS(M,Ad,N)".
    pub fn name(&self) -> String {
        format!(
            "ETS({},{}{},{})",
            self.error.letter(),
            self.trend.letter(),
            if self.damped { "d" } else { "" },
            self.season.letter()
        )
    }

    /// Forecasts `out.len()` steps from `state`; NaN where a multiplicative
    /// growth has turned negative.
    pub fn forecast(&self, state: &State, phi: f64, out: &mut [f64]) {
        let mut phistar = phi;
        let m = self.period.max(1);
        let h = out.len();
        for (i, f) in out.iter_mut().enumerate() {
            *f = match self.trend {
                Kind::None => state.level,
                Kind::Additive => state.level + phistar * state.growth,
                Kind::Multiplicative if state.growth < 0.0 => f64::NAN,
                Kind::Multiplicative => state.level * state.growth.powf(phistar),
            };
            let j = (m - 1) - (i % m);
            match self.season {
                Kind::None => {}
                Kind::Additive => *f += state.season[j],
                Kind::Multiplicative => *f *= state.season[j],
            }
            // φ + φ² + … + φ^h (R's and statsforecast's loop add φ^(h−1)
            // instead of φ^h, which over-extends a damped trend).
            if i + 1 < h {
                phistar += if (phi - 1.0).abs() < TOL {
                    1.0
                } else {
                    phi.powi(i as i32 + 2)
                };
            }
        }
    }

    /// The forecast one step ahead of `state` (`forecast` with one step).
    #[inline]
    pub fn one_step(&self, state: &State, phi: f64) -> f64 {
        let f = match self.trend {
            Kind::None => state.level,
            Kind::Additive => state.level + phi * state.growth,
            Kind::Multiplicative if state.growth < 0.0 => return f64::NAN,
            Kind::Multiplicative => state.level * state.growth.powf(phi),
        };
        match self.season {
            Kind::None => f,
            Kind::Additive => f + state.season[self.period.max(1) - 1],
            Kind::Multiplicative => f * state.season[self.period.max(1) - 1],
        }
    }

    /// The state after observing `y` in `old`.
    pub fn update(&self, old: &State, p: &Smoothing, y: f64) -> State {
        let mut next = old.clone();
        self.update_in_place(&mut next, p, y);
        next
    }

    /// Observes `y` in `state` (the season shifts by one, in place).
    pub fn update_in_place(&self, state: &mut State, p: &Smoothing, y: f64) {
        let old = &*state;
        let m = self.period.max(1);
        let (q, phib) = match self.trend {
            Kind::None => (old.level, 0.0),
            Kind::Additive => (old.level + p.phi * old.growth, p.phi * old.growth),
            Kind::Multiplicative => {
                let phib = if (p.phi - 1.0).abs() < TOL {
                    old.growth
                } else {
                    old.growth.powf(p.phi)
                };
                (old.level * phib, phib)
            }
        };
        let last_season = if self.season == Kind::None {
            0.0
        } else {
            old.season[m - 1]
        };
        let deseasonalised = match self.season {
            Kind::None => y,
            Kind::Additive => y - last_season,
            Kind::Multiplicative if last_season.abs() < TOL => HUGE,
            Kind::Multiplicative => y / last_season,
        };
        let level = q + p.alpha * (deseasonalised - q);
        let growth = match self.trend {
            Kind::None => 0.0,
            Kind::Additive => phib + (p.beta / p.alpha) * ((level - old.level) - phib),
            Kind::Multiplicative => {
                let r = if old.level.abs() < TOL { HUGE } else { level / old.level };
                phib + (p.beta / p.alpha) * (r - phib)
            }
        };
        let newest = match self.season {
            Kind::None => None,
            kind => {
                let t = match kind {
                    Kind::Additive => y - q,
                    _ if q.abs() < TOL => HUGE,
                    _ => y / q,
                };
                Some(last_season + p.gamma * (t - last_season))
            }
        };
        state.level = level;
        state.growth = growth;
        if let Some(newest) = newest {
            state.season.rotate_right(1);
            state.season[0] = newest;
        }
    }
}

/// One pass of the model over the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtered {
    /// Innovations: y − ŷ (additive error) or (y − ŷ) / ŷ (multiplicative).
    pub errors: Vec<f64>,
    /// The state after the last observation.
    pub last: State,
    /// −2 log-likelihood up to a constant: n log Σe² (+ 2 Σ log|ŷ| for a
    /// multiplicative error); NaN where the model broke down.
    pub likelihood: f64,
    /// Mean squared error of the 1-step forecasts.
    pub mse: f64,
}

/// The one-step residuals y − ŷ of the model run from `initial` over `y`
/// (in the data's units, whatever the error's kind).
pub fn residuals(form: &Form, p: &Smoothing, initial: &State, y: &[f64]) -> Vec<f64> {
    let mut state = initial.clone();
    y.iter()
        .map(|&value| {
            let yhat = form.one_step(&state, p.phi);
            form.update_in_place(&mut state, p, value);
            value - yhat
        })
        .collect()
}

/// Runs the model from `initial` over `y`.
pub fn filter(form: &Form, p: &Smoothing, initial: &State, y: &[f64]) -> Filtered {
    let mut state = initial.clone();
    let mut errors = Vec::with_capacity(y.len());
    let (mut squares, mut log_scale, mut mse) = (0.0, 0.0, 0.0);
    for (i, &value) in y.iter().enumerate() {
        let yhat = form.one_step(&state, p.phi);
        if yhat.is_nan() {
            return Filtered {
                errors,
                last: state,
                likelihood: f64::NAN,
                mse: f64::NAN,
            };
        }
        let e = match form.error {
            Kind::Multiplicative => (value - yhat) / if yhat.abs() < TOL { yhat + TOL } else { yhat },
            _ => value - yhat,
        };
        mse += ((value - yhat).powi(2) - mse) / (i + 1) as f64;
        squares += e * e;
        if form.error == Kind::Multiplicative {
            let scale = yhat.abs();
            log_scale += if scale > 0.0 { scale.ln() } else { (scale + 1e-8).ln() };
        }
        errors.push(e);
        form.update_in_place(&mut state, p, value);
    }
    let n = y.len() as f64;
    let mut likelihood = n * (if squares > 0.0 { squares } else { squares + 1e-8 }).ln();
    if form.error == Kind::Multiplicative {
        likelihood += 2.0 * log_scale;
    }
    Filtered {
        errors,
        last: state,
        likelihood,
        mse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_exponential_smoothing_by_hand() {
        // ETS(A,N,N) with α = 0.5 from level 1: forecasts 1, 3, 2.5; errors 4, -1, 4.5.
        let form = Form::SIMPLE;
        let p = Smoothing {
            alpha: 0.5,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        let start = State {
            level: 1.0,
            growth: 0.0,
            season: vec![],
        };
        let out = filter(&form, &p, &start, &[5.0, 2.0, 7.0]);
        assert_eq!(out.errors, vec![4.0, -1.0, 4.5]);
        assert_eq!(out.last.level, 4.75);
        assert!((out.likelihood - 3.0 * (16.0f64 + 1.0 + 20.25).ln()).abs() < 1e-12);
    }

    #[test]
    fn damped_trend_and_season_forecasts_by_hand() {
        // Level 10, growth 2, φ = 0.5: 10 + 1, 10 + 1.5, 10 + 1.75; seasons (newest first) 3, 2, 1 → oldest first.
        let form = Form {
            error: Kind::Additive,
            trend: Kind::Additive,
            season: Kind::Additive,
            damped: true,
            period: 3,
        };
        let state = State {
            level: 10.0,
            growth: 2.0,
            season: vec![3.0, 2.0, 1.0],
        };
        let mut f = [0.0; 4];
        form.forecast(&state, 0.5, &mut f);
        assert_eq!(f, [11.0 + 1.0, 11.5 + 2.0, 11.75 + 3.0, 11.875 + 1.0]);
    }
}
