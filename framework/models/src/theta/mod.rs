//! The Theta method family in the state-space form of Fiorucci et al.
//! (2016) — standard (STM), optimised (OTM), dynamic standard (DSTM) and
//! dynamic optimised (DOTM) — fitted by Nelder–Mead on the in-sample
//! squared one-step errors, after a classical deseasonalisation when the
//! series' autocorrelation at the seasonal lag is significant, as
//! statsforecast's `Theta` models and `AutoTheta` (which keeps the lowest
//! MSE of the four).

mod family;

use crate::nelder_mead::{Settings, minimise};
use crate::seasonality::{Combine, has_seasonality, seasonal_component};
use serde::{Deserialize, Serialize};
use trendlab_spec::{Decomposition, ThetaModel};

/// One of the four fitted models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Stm,
    Otm,
    Dstm,
    Dotm,
}

impl Kind {
    fn dynamic(self) -> bool {
        matches!(self, Kind::Dstm | Kind::Dotm)
    }
    fn optimised(self) -> bool {
        matches!(self, Kind::Otm | Kind::Dotm)
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stm => "STM",
            Kind::Otm => "OTM",
            Kind::Dstm => "DSTM",
            Kind::Dotm => "DOTM",
        }
    }
    /// The models a spec's `model` stands for.
    pub fn of(model: ThetaModel) -> &'static [Kind] {
        match model {
            ThetaModel::Standard => &[Kind::Stm],
            ThetaModel::Optimized => &[Kind::Otm],
            ThetaModel::Dynamic => &[Kind::Dstm],
            ThetaModel::DynamicOptimized => &[Kind::Dotm],
            ThetaModel::Auto => &[Kind::Stm, Kind::Otm, Kind::Dstm, Kind::Dotm],
        }
    }
}

/// Level, running mean, trend line intercept and slope, and the one-step forecast μ.
type Row = [f64; 5];

/// The parameters of a fitted model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub kind: Kind,
    pub initial_level: f64,
    pub alpha: f64,
    pub theta: f64,
}

impl Params {
    fn first_row(&self, y: &[f64]) -> Row {
        let (a, b, mu) = if self.kind.dynamic() {
            (y[0], 0.0, y[0])
        } else {
            let n = y.len() as f64;
            let mean = y.iter().sum::<f64>() / n;
            let weighted = y.iter().enumerate().map(|(i, v)| (i + 1) as f64 * v).sum::<f64>() / n;
            let b = 6.0 * (2.0 * weighted - (n + 1.0) * mean) / (n * n - 1.0);
            let a = mean - (n + 1.0) * b / 2.0;
            (a, b, self.initial_level + (1.0 - 1.0 / self.theta) * (a + b))
        };
        [
            self.alpha * y[0] + (1.0 - self.alpha) * self.initial_level,
            y[0],
            a,
            b,
            mu,
        ]
    }

    /// Row `i` from row `i − 1` after observing `y` (`None`: its own forecast).
    fn next(&self, prev: &Row, i: usize, y: Option<f64>) -> Row {
        let [level, mean, a, b, _] = *prev;
        let alpha = self.alpha;
        let decay = 1.0 - alpha;
        let mu = level
            + (1.0 - 1.0 / self.theta) * (a * decay.powi(i as i32) + b * (1.0 - decay.powi(i as i32 + 1)) / alpha);
        let y = y.unwrap_or(mu);
        let i = i as f64;
        let new_mean = (i * mean + y) / (i + 1.0);
        let (a, b) = if self.kind.dynamic() {
            let b = ((i - 1.0) * b + 6.0 * (y - mean) / (i + 1.0)) / (i + 2.0);
            (new_mean - b * (i + 2.0) / 2.0, b)
        } else {
            (a, b)
        };
        [alpha * y + decay * level, new_mean, a, b, mu]
    }

    /// One-step errors over `y` and the last row.
    fn filter(&self, y: &[f64]) -> (Vec<f64>, Row) {
        let mut row = self.first_row(y);
        let mut errors = vec![y[0] - row[4]];
        for (i, &v) in y.iter().enumerate().skip(1) {
            row = self.next(&row, i, Some(v));
            errors.push(v - row[4]);
        }
        (errors, row)
    }

    /// Forecasts after `n` observations ending in `last`.
    fn forecast(&self, last: &Row, n: usize, horizon: usize) -> Vec<f64> {
        let mut row = *last;
        (0..horizon)
            .map(|j| {
                row = self.next(&row, n + j, None);
                row[4]
            })
            .collect()
    }
}

/// In-sample MSE (the first three errors left out) scaled by the mean |y|.
fn mse(errors: &[f64], scale: f64) -> f64 {
    errors.iter().skip(3).map(|e| e * e).sum::<f64>() / scale
}

/// Fits one model to (deseasonalised) `y`.
fn fit_kind(y: &[f64], kind: Kind) -> Option<(Params, f64)> {
    let scale = (y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64).max(1e-10);
    let start = Params {
        kind,
        initial_level: y[0] / 2.0,
        alpha: 0.5,
        theta: 2.0,
    };
    let unpack = |x: &[f64]| Params {
        initial_level: x[0],
        alpha: x[1],
        theta: if kind.optimised() { x[2] } else { 2.0 },
        ..start
    };
    let mut x0 = vec![start.initial_level, start.alpha];
    let (mut lower, mut upper) = (vec![-1e10, 0.1], vec![1e10, 0.99]);
    if kind.optimised() {
        x0.push(start.theta);
        lower.push(1.0);
        upper.push(1e10);
    }
    let objective = |x: &[f64]| mse(&unpack(x).filter(y).0, scale).max(-1e10);
    let found = minimise(objective, &x0, &lower, &upper, Settings::default());
    let params = unpack(&found.x);
    let value = mse(&params.filter(y).0, scale);
    value.is_finite().then_some((params, value))
}

/// A fitted Theta model, with the seasonal indices it was deseasonalised by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThetaFit {
    pub params: Params,
    /// Seasonal index per position in the season (position 0 = the series'
    /// first period), and how it combines; empty: not deseasonalised.
    pub seasonal: Vec<f64>,
    pub multiplicative: bool,
}

impl ThetaFit {
    fn adjust(&self, y: &[f64]) -> Vec<f64> {
        let m = self.seasonal.len();
        if m == 0 {
            return y.to_vec();
        }
        y.iter()
            .enumerate()
            .map(|(t, v)| {
                if self.multiplicative {
                    v / self.seasonal[t % m]
                } else {
                    v - self.seasonal[t % m]
                }
            })
            .collect()
    }

    fn reseasonalise(&self, values: &mut [f64], first: usize) {
        let m = self.seasonal.len();
        if m == 0 {
            return;
        }
        for (k, v) in values.iter_mut().enumerate() {
            let s = self.seasonal[(first + k) % m];
            if self.multiplicative { *v *= s } else { *v += s }
        }
    }

    /// Point forecasts of `y` (the data fitted, or the same series later),
    /// the one-step errors' standard deviation (σ, after the first three)
    /// and the model's state to simulate from.
    pub fn forecast(&self, y: &[f64], horizon: usize) -> ThetaForecast {
        let adjusted = self.adjust(y);
        let (errors, last) = self.params.filter(&adjusted);
        let mut mean = self.params.forecast(&last, y.len(), horizon);
        self.reseasonalise(&mut mean, y.len());
        let tail: Vec<f64> = if errors.len() > 4 {
            errors[3..].to_vec()
        } else {
            errors.clone()
        };
        let avg = tail.iter().sum::<f64>() / tail.len() as f64;
        let sigma = (tail.iter().map(|e| (e - avg).powi(2)).sum::<f64>() / (tail.len() as f64 - 1.0).max(1.0)).sqrt();
        ThetaForecast {
            mean,
            sigma,
            last,
            n: y.len(),
        }
    }
}

/// Forecasts with what the intervals need.
pub struct ThetaForecast {
    pub mean: Vec<f64>,
    pub sigma: f64,
    last: Row,
    n: usize,
}

/// Fits the models of `kinds` to `y` (more than three values) and keeps the
/// lowest in-sample MSE.
pub fn auto_theta(y: &[f64], kinds: &[Kind], season: usize, decomposition: Decomposition) -> Option<ThetaFit> {
    let mut fit = ThetaFit {
        params: Params {
            kind: kinds[0],
            initial_level: 0.0,
            alpha: 0.5,
            theta: 2.0,
        },
        seasonal: Vec::new(),
        multiplicative: false,
    };
    if has_seasonality(y, season) {
        let positive = y.iter().all(|v| *v > 0.0);
        let mut combine = match decomposition {
            Decomposition::Multiplicative if positive => Combine::Multiplicative,
            _ => Combine::Additive,
        };
        let mut component = seasonal_component(y, season, combine);
        if combine == Combine::Multiplicative && component.iter().any(|s| *s < 0.01) {
            combine = Combine::Additive;
            component = seasonal_component(y, season, combine);
        }
        fit.seasonal = component[..season].to_vec();
        fit.multiplicative = combine == Combine::Multiplicative;
    }
    let adjusted = fit.adjust(y);
    let (params, _) = kinds
        .iter()
        .filter_map(|&k| fit_kind(&adjusted, k))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    fit.params = params;
    Some(fit)
}

impl ThetaFit {
    /// Central intervals at `levels`: quantiles of 5,000 paths simulated
    /// through the model with normal errors of σ, seeded.
    pub fn intervals(&self, f: &ThetaForecast, levels: &[f64], seed: u64) -> Vec<crate::Interval> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let Ok(noise) = Normal::new(0.0, f.sigma) else {
            return Vec::new();
        };
        if levels.is_empty() {
            return Vec::new();
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let h = f.mean.len();
        let mut paths = vec![Vec::with_capacity(5_000); h];
        for _ in 0..5_000 {
            let mut row = f.last;
            let mut path = Vec::with_capacity(h);
            for j in 0..h {
                let guess = self.params.next(&row, f.n + j, None)[4];
                let y = guess + noise.sample(&mut rng);
                row = self.params.next(&row, f.n + j, Some(y));
                path.push(y);
            }
            self.reseasonalise(&mut path, f.n);
            for (step, v) in paths.iter_mut().zip(path) {
                step.push(v);
            }
        }
        crate::intervals::from_paths(paths, levels)
    }
}
