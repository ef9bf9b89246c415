//! ETS prediction intervals. The linear forms have closed-form forecast
//! variances (Hyndman et al. 2008, ch. 6): with additive errors (class 1)
//! σ²(1 + Σ c_j²), with multiplicative errors and additive parts (class 2)
//! (1 + σ²)θ_h − μ_h², where c_j = α + β(φ + … + φ^j) + γ·[m divides j].
//! The multiplicative-season and multiplicative-trend forms have none:
//! their intervals are the quantiles of 5,000 sample paths simulated from
//! the last state with normal innovations, seeded so they repeat.

use super::EtsFit;
use super::statespace::{Kind, State};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const PATHS: usize = 5_000;

impl EtsFit {
    /// The c_j of the closed-form variances, j = 1..h−1.
    fn weights(&self, horizon: usize) -> Vec<f64> {
        let p = &self.smoothing;
        let mut damped_sum = 0.0;
        (1..horizon)
            .map(|j| {
                damped_sum += if self.form.damped { p.phi.powi(j as i32) } else { 1.0 };
                let trend = if self.form.trend == Kind::None {
                    0.0
                } else {
                    p.beta * damped_sum
                };
                let season = if self.form.season != Kind::None && j % self.form.period == 0 {
                    p.gamma
                } else {
                    0.0
                };
                p.alpha + trend + season
            })
            .collect()
    }

    /// Central intervals at `levels` around `mean`; `seed` drives the
    /// simulated paths where the form has no closed form.
    pub fn intervals(&self, mean: &[f64], levels: &[f64], seed: u64) -> Vec<crate::Interval> {
        if levels.is_empty() || mean.is_empty() {
            return Vec::new();
        }
        let h = mean.len();
        let sigma2 = self.sigma2;
        let linear = self.form.trend != Kind::Multiplicative && self.form.season != Kind::Multiplicative;
        if !linear {
            return self.simulated(h, levels, seed);
        }
        let c = self.weights(h);
        let variance: Vec<f64> = match self.form.error {
            Kind::Multiplicative => {
                let mut theta: Vec<f64> = Vec::with_capacity(h);
                for k in 0..h {
                    let carried: f64 = (0..k).map(|j| c[j] * c[j] * theta[k - 1 - j]).sum();
                    theta.push(mean[k] * mean[k] + sigma2 * carried);
                }
                theta
                    .iter()
                    .zip(mean)
                    .map(|(t, m)| (1.0 + sigma2) * t - m * m)
                    .collect()
            }
            _ => {
                let mut acc = 1.0;
                (0..h)
                    .map(|k| {
                        if k > 0 {
                            acc += c[k - 1] * c[k - 1];
                        }
                        sigma2 * acc
                    })
                    .collect()
            }
        };
        let sd: Vec<f64> = variance.iter().map(|v| v.max(0.0).sqrt()).collect();
        crate::intervals::normal(mean, &sd, levels)
    }

    fn simulated(&self, h: usize, levels: &[f64], seed: u64) -> Vec<crate::Interval> {
        let Ok(noise) = Normal::new(0.0, self.sigma2.max(0.0).sqrt()) else {
            return Vec::new();
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut paths = vec![Vec::with_capacity(PATHS); h];
        let mut f = [0.0];
        for _ in 0..PATHS {
            let mut state: State = self.last.clone();
            for step in paths.iter_mut() {
                self.form.forecast(&state, self.smoothing.phi, &mut f);
                let e: f64 = noise.sample(&mut rng);
                let y = match self.form.error {
                    Kind::Multiplicative => f[0] * (1.0 + e),
                    _ => f[0] + e,
                };
                step.push(y);
                state = self.form.update(&state, &self.smoothing, y);
            }
        }
        crate::intervals::from_paths(paths, levels)
    }
}
