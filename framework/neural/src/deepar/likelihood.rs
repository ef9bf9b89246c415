//! The distributions DeepAR emits: from the network's raw outputs to a
//! distribution in the series' units, anchored on the window's scaling
//! statistics as neuralforecast's `scale_decouple` does; its negative
//! log-likelihood with the gradient with respect to the raw outputs
//! (what training backpropagates), and seeded draws (what the sample paths
//! are made of).
//!
//! With window shift `m` and scale `s` (`m = 0`, `s = 1` without a scaler)
//! and softplus `sp`:
//! - normal: mean `o₀ s + m`, standard deviation `(sp(o₁) + 0.2) s`;
//! - Student's t: degrees of freedom `3 + sp(o₀)`, location `o₁ s + m`,
//!   scale `(sp(o₂) + 0.1) s`;
//! - negative binomial: mean `μ = (sp(o₀) + 1e-8) s + m`, dispersion
//!   `α = (sp(o₁) + 1e-8) / (s + 1)`, as torch's `NegativeBinomial` with
//!   `total_count = 1/α` and `probs = μα / (1 + μα) + 1e-8`;
//! - Tweedie (variance power ρ, dispersion 1): `log μ = o₀ + log m` for a
//!   positive shift `m` (else `o₀`), clamped to [-30, 37]. neuralforecast
//!   writes `log μ = clamp(sp(o₀), 1e-9, 37) + log m` clamped again, which
//!   keeps `μ` at or above both `m` and 1 (and undefined without a positive
//!   shift); trendlab lets the mean go below the window's level.

use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal, StudentT};
use statrs::function::gamma::{digamma, ln_gamma};
use trendlab_spec::Likelihood;

/// A likelihood with its fixed settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Emission {
    pub likelihood: Likelihood,
    /// Tweedie's variance power, in (1, 2).
    pub tweedie_power: f64,
}

/// A distribution of one period's value, in the series' units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Normal { mean: f64, std: f64 },
    StudentT { df: f64, loc: f64, scale: f64 },
    NegativeBinomial { total_count: f64, probs: f64 },
    Tweedie { log_mu: f64, power: f64 },
}

fn softplus(x: f64) -> f64 {
    // torch's threshold: linear above 20.
    if x > 20.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

const LOG_MU_RANGE: (f64, f64) = (-30.0, 37.0);

impl Emission {
    /// Raw outputs the network emits per period.
    pub fn outputs(&self) -> usize {
        match self.likelihood {
            Likelihood::Normal => 2,
            Likelihood::StudentT => 3,
            Likelihood::NegativeBinomial => 2,
            Likelihood::Tweedie => 1,
        }
    }

    /// Whether the series must be non-negative (counts, Tweedie).
    pub fn non_negative(&self) -> bool {
        matches!(self.likelihood, Likelihood::NegativeBinomial | Likelihood::Tweedie)
    }

    /// The distribution of raw outputs `raw` for a window scaled by
    /// `(shift, scale)`.
    pub fn decouple(&self, raw: &[f32], shift: f32, scale: f32) -> Dist {
        let o = |i: usize| f64::from(raw[i]);
        let (m, s) = (f64::from(shift), f64::from(scale));
        match self.likelihood {
            Likelihood::Normal => Dist::Normal {
                mean: o(0) * s + m,
                std: (softplus(o(1)) + 0.2) * s,
            },
            Likelihood::StudentT => Dist::StudentT {
                df: 3.0 + softplus(o(0)),
                loc: o(1) * s + m,
                scale: (softplus(o(2)) + 0.1) * s,
            },
            Likelihood::NegativeBinomial => {
                let mu = (softplus(o(0)) + 1e-8) * s + m;
                let alpha = (softplus(o(1)) + 1e-8) / (s + 1.0);
                Dist::NegativeBinomial {
                    total_count: 1.0 / alpha,
                    probs: mu * alpha / (1.0 + mu * alpha) + 1e-8,
                }
            }
            Likelihood::Tweedie => Dist::Tweedie {
                log_mu: (o(0) + anchor(m)).clamp(LOG_MU_RANGE.0, LOG_MU_RANGE.1),
                power: self.tweedie_power,
            },
        }
    }

    /// The negative log-likelihood of `y` under the distribution of `raw`
    /// (scaled by `(shift, scale)`); adds `weight ·` its gradient with
    /// respect to `raw` to `grad`.
    pub fn nll(&self, raw: &[f32], shift: f32, scale: f32, y: f64, weight: f64, grad: &mut [f32]) -> f64 {
        let o = |i: usize| f64::from(raw[i]);
        let (m, s) = (f64::from(shift), f64::from(scale));
        let dist = self.decouple(raw, shift, scale);
        let mut put = |i: usize, d: f64| grad[i] += (weight * d) as f32;
        match dist {
            Dist::Normal { mean, std } => {
                let z = (y - mean) / std;
                put(0, -z / std * s);
                put(1, (1.0 - z * z) / std * s * sigmoid(o(1)));
            }
            Dist::StudentT { df, loc, scale: sc } => {
                let z = (y - loc) / sc;
                let q = 1.0 + z * z / df;
                let d_df = 0.5 * (digamma(df / 2.0) - digamma((df + 1.0) / 2.0)) + 0.5 / df + 0.5 * q.ln()
                    - 0.5 * (df + 1.0) * z * z / (df * df * q);
                let d_loc = -(df + 1.0) * z / (sc * df * q);
                let d_sc = 1.0 / sc - (df + 1.0) * z * z / (sc * df * q);
                put(0, d_df * sigmoid(o(0)));
                put(1, d_loc * s);
                put(2, d_sc * s * sigmoid(o(2)));
            }
            Dist::NegativeBinomial {
                total_count: r,
                probs: p,
            } => {
                let mu = (softplus(o(0)) + 1e-8) * s + m;
                let alpha = 1.0 / r;
                let d_r = -(digamma(y + r) - digamma(r) + (1.0 - p).ln());
                let d_p = r / (1.0 - p) - y / p;
                let denom = (1.0 + mu * alpha).powi(2);
                let d_mu = d_p * alpha / denom;
                let d_alpha = d_r * (-1.0 / (alpha * alpha)) + d_p * mu / denom;
                put(0, d_mu * s * sigmoid(o(0)));
                put(1, d_alpha * sigmoid(o(1)) / (s + 1.0));
            }
            Dist::Tweedie { log_mu, power } => {
                let inside = (o(0) + anchor(m)).clamp(LOG_MU_RANGE.0, LOG_MU_RANGE.1) == o(0) + anchor(m);
                let d = -y * ((1.0 - power) * log_mu).exp() + ((2.0 - power) * log_mu).exp();
                put(0, if inside { d } else { 0.0 });
            }
        }
        dist.nll(y)
    }
}

/// The log of Tweedie's anchor: the window's shift when positive.
fn anchor(shift: f64) -> f64 {
    if shift > 0.0 { shift.ln() } else { 0.0 }
}

impl Dist {
    /// Its negative log-likelihood at `y` (Tweedie: up to a term free of
    /// the mean, as neuralforecast's).
    pub fn nll(&self, y: f64) -> f64 {
        match *self {
            Dist::Normal { mean, std } => {
                let z = (y - mean) / std;
                0.5 * z * z + std.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()
            }
            Dist::StudentT { df, loc, scale } => {
                let z = (y - loc) / scale;
                ln_gamma(df / 2.0) - ln_gamma((df + 1.0) / 2.0)
                    + 0.5 * (df * std::f64::consts::PI).ln()
                    + scale.ln()
                    + 0.5 * (df + 1.0) * (1.0 + z * z / df).ln()
            }
            Dist::NegativeBinomial {
                total_count: r,
                probs: p,
            } => -(ln_gamma(y + r) - ln_gamma(r) - ln_gamma(y + 1.0) + r * (1.0 - p).ln() + y * p.ln()),
            Dist::Tweedie { log_mu, power } => {
                -(y * ((1.0 - power) * log_mu).exp() / (1.0 - power) - ((2.0 - power) * log_mu).exp() / (2.0 - power))
            }
        }
    }

    /// Its mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Normal { mean, .. } => mean,
            Dist::StudentT { loc, .. } => loc,
            Dist::NegativeBinomial { total_count, probs } => total_count * probs / (1.0 - probs),
            Dist::Tweedie { log_mu, .. } => log_mu.exp(),
        }
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Dist::Normal { mean, std } => {
                let z: f64 = StandardNormal.sample(rng);
                mean + std * z
            }
            Dist::StudentT { df, loc, scale } => {
                let t = StudentT::new(df).map(|d| d.sample(rng)).unwrap_or(0.0);
                loc + scale * t
            }
            Dist::NegativeBinomial { total_count, probs } => {
                let rate = Gamma::new(total_count, probs / (1.0 - probs))
                    .map(|d| d.sample(rng))
                    .unwrap_or(0.0);
                poisson(rate, rng)
            }
            Dist::Tweedie { log_mu, power } => {
                let mu = log_mu.exp();
                let n = poisson(mu.powf(2.0 - power) / (2.0 - power), rng);
                if n == 0.0 {
                    return 0.0;
                }
                let shape = n * (2.0 - power) / (power - 1.0);
                let rate = mu.powf(1.0 - power) / (power - 1.0);
                Gamma::new(shape, 1.0 / rate).map(|d| d.sample(rng)).unwrap_or(0.0)
            }
        }
    }
}

fn poisson<R: Rng + ?Sized>(rate: f64, rng: &mut R) -> f64 {
    if rate.is_nan() || rate <= 0.0 {
        return 0.0;
    }
    Poisson::new(rate).map(|d| d.sample(rng)).unwrap_or(rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    fn emission(likelihood: Likelihood) -> Emission {
        Emission {
            likelihood,
            tweedie_power: 1.5,
        }
    }

    const ALL: [Likelihood; 4] = [
        Likelihood::Normal,
        Likelihood::StudentT,
        Likelihood::NegativeBinomial,
        Likelihood::Tweedie,
    ];

    #[test]
    fn gradients_match_finite_differences() {
        for l in ALL {
            let e = emission(l);
            let raw: Vec<f32> = [0.3f32, -0.4, 0.8][..e.outputs()].to_vec();
            let (shift, scale, y) = (2.0f32, 1.5f32, 4.0);
            let mut grad = vec![0.0f32; raw.len()];
            e.nll(&raw, shift, scale, y, 1.0, &mut grad);
            for i in 0..raw.len() {
                let at = |d: f32| {
                    let mut r = raw.clone();
                    r[i] += d;
                    e.decouple(&r, shift, scale).nll(y)
                };
                let numeric = (at(1e-3) - at(-1e-3)) / 2e-3;
                assert!(
                    (f64::from(grad[i]) - numeric).abs() < 2e-3 * (1.0 + numeric.abs()),
                    "{l:?} output {i}: {} vs {numeric}",
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn log_likelihoods_by_hand() {
        // Standard normal at 0: ½ log 2π.
        let n = Dist::Normal { mean: 0.0, std: 1.0 };
        assert!((n.nll(0.0) - 0.918_938_533).abs() < 1e-9);
        // Student's t, df 1 (Cauchy) at 0: log π.
        let t = Dist::StudentT {
            df: 1.0,
            loc: 0.0,
            scale: 1.0,
        };
        assert!((t.nll(0.0) - std::f64::consts::PI.ln()).abs() < 1e-9);
        // Negative binomial r = 1 is geometric: P(0) = 1 - p.
        let nb = Dist::NegativeBinomial {
            total_count: 1.0,
            probs: 0.25,
        };
        assert!((nb.nll(0.0) + 0.75f64.ln()).abs() < 1e-9);
        assert!((nb.nll(2.0) + (0.75 * 0.25 * 0.25f64).ln()).abs() < 1e-9);
    }

    #[test]
    fn draws_have_the_distributions_means() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let cases = [
            Dist::Normal { mean: 3.0, std: 2.0 },
            Dist::StudentT {
                df: 5.0,
                loc: -1.0,
                scale: 0.5,
            },
            Dist::NegativeBinomial {
                total_count: 2.0,
                probs: 0.6,
            },
            Dist::Tweedie {
                log_mu: 0.7,
                power: 1.5,
            },
        ];
        for d in cases {
            let n = 200_000;
            let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / f64::from(n);
            assert!((mean - d.mean()).abs() < 0.02 * (1.0 + d.mean().abs()), "{d:?}: {mean}");
        }
    }

    #[test]
    fn anchoring_follows_the_window() {
        let e = emission(Likelihood::StudentT);
        let Dist::StudentT { df, loc, scale } = e.decouple(&[0.0, 1.0, 0.0], 10.0, 2.0) else {
            unreachable!()
        };
        assert!((df - (3.0 + 2f64.ln())).abs() < 1e-6);
        assert!((loc - 12.0).abs() < 1e-6);
        assert!((scale - (2f64.ln() + 0.1) * 2.0).abs() < 1e-6);
        let t = emission(Likelihood::Tweedie).decouple(&[0.5], 4.0, 1.0);
        assert!((t.mean() - 4.0 * 0.5f64.exp()).abs() < 1e-9);
    }
}
