//! Forecast reconciliation over a hierarchy (`reconcile` on a model): the
//! aggregates (the total and the groups of each declared level) are
//! forecast by the same family as the series, and the series' forecasts
//! are replaced by coherent ones `P ŷ`, ŷ stacking the aggregates' base
//! forecasts then the series'. `P` is
//! - top-down: the total's forecast split by each series' share of the
//!   total over the training data (hierarchicalforecast's
//!   `TopDown(method="proportion_averages")`);
//! - MinT with shrinkage: `P = (SᵀW⁻¹S)⁻¹SᵀW⁻¹`, S the summing matrix and
//!   W the Schäfer–Strimmer shrunk covariance of the in-sample one-step
//!   residuals, computed as hierarchicalforecast's
//!   `MinTrace(method="mint_shrink")` does (through `Uᵀ` and `J`, without
//!   inverting W).
//!
//! Reconciled forecasts have no intervals. Bottom-up leaves the series'
//! forecasts as they are: their sums are the aggregates' forecasts.

use crate::{FeatureSet, FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome};
use nalgebra::DMatrix;
use trendlab_spec::Reconcile;

/// MinT's smallest diagonal variance (hierarchicalforecast's `mint_shr_ridge`).
pub const MINT_RIDGE: f64 = 2e-8;

/// The most nodes MinT takes: W is nodes × nodes.
pub const MINT_MAX_NODES: usize = 5_000;

/// A hierarchy over the input series: each aggregate node's members
/// (indexes into the input's series), the total first.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub aggregates: Vec<(String, Vec<usize>)>,
}

impl Hierarchy {
    /// The summing matrix: one row per aggregate, then the identity.
    pub fn summing_matrix(&self, bottom: usize) -> DMatrix<f64> {
        let n = self.aggregates.len();
        let mut s = DMatrix::zeros(n + bottom, bottom);
        for (row, (_, members)) in self.aggregates.iter().enumerate() {
            for &j in members {
                s[(row, j)] = 1.0;
            }
        }
        for j in 0..bottom {
            s[(n + j, j)] = 1.0;
        }
        s
    }
}

/// The Schäfer–Strimmer shrunk covariance of `residuals` (nodes × T), off
/// the diagonal shrunk towards zero, the diagonal at least `ridge`.
pub fn shrunk_covariance(residuals: &DMatrix<f64>, ridge: f64) -> DMatrix<f64> {
    const EPS: f64 = 2e-8;
    let (n, t) = residuals.shape();
    let tf = t as f64;
    let means: Vec<f64> = (0..n).map(|i| residuals.row(i).sum() / tf).collect();
    let inv_sd: Vec<f64> = (0..n)
        .map(|i| {
            let var = residuals.row(i).iter().map(|v| (v - means[i]).powi(2)).sum::<f64>() / tf;
            1.0 / (var.sqrt() + EPS)
        })
        .collect();
    let mut w = DMatrix::zeros(n, n);
    let (mut sum_var, mut sum_sq) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..=i {
            let (mut cov, mut cov_sq) = (0.0, 0.0);
            for k in 0..t {
                let c = (residuals[(i, k)] - means[i]) * (residuals[(j, k)] - means[j]);
                cov += c;
                if i != j {
                    cov_sq += c * c;
                }
            }
            let value = cov / (tf - 1.0);
            w[(i, j)] = value;
            w[(j, i)] = value;
            if i != j {
                let mean = cov / tf;
                let s = inv_sd[i] * inv_sd[j];
                sum_var += s * s * (cov_sq - tf * mean * mean);
                sum_sq += (s * mean).powi(2);
            }
        }
    }
    let shrinkage = 1.0 - ((sum_var / (tf * (tf - 1.0))) / (sum_sq + EPS)).clamp(0.0, 1.0);
    for i in 0..n {
        for j in 0..i {
            w[(i, j)] *= shrinkage;
            w[(j, i)] *= shrinkage;
        }
        w[(i, i)] = w[(i, i)].max(ridge);
    }
    w
}

/// MinT's projection `P` (bottom × nodes) for summing matrix `s` (nodes ×
/// bottom, aggregates first) and error covariance `w`.
pub fn mint_projection(s: &DMatrix<f64>, w: &DMatrix<f64>) -> Result<DMatrix<f64>, ModelError> {
    let (nodes, bottom) = s.shape();
    let aggregates = nodes - bottom;
    // J = [0 | I], Uᵀ = [I | −S_agg]: coherent forecasts have Uᵀ y = 0.
    let mut j = DMatrix::zeros(bottom, nodes);
    for b in 0..bottom {
        j[(b, aggregates + b)] = 1.0;
    }
    let mut ut = DMatrix::zeros(aggregates, nodes);
    for a in 0..aggregates {
        ut[(a, a)] = 1.0;
        for b in 0..bottom {
            ut[(a, aggregates + b)] = -s[(a, b)];
        }
    }
    let utw = &ut * w;
    let zero_tiny = |mut m: DMatrix<f64>| {
        m.iter_mut().filter(|v| v.abs() < 1e-10).for_each(|v| *v = 0.0);
        m
    };
    let coef = zero_tiny(&utw * ut.transpose());
    let dep = zero_tiny(&utw * j.transpose());
    let solved = coef.lu().solve(&dep).ok_or_else(|| {
        ModelError::Numerical("min_trace: the reconciliation system is singular (ill-conditioned residuals)".into())
    })?;
    Ok(j - solved.transpose() * ut)
}

/// Top-down's projection: the total's forecast (node 0) split by each
/// series' share of the total over `histories` (aligned by their end).
pub fn top_down_projection(histories: &[&[f64]], nodes: usize) -> Result<DMatrix<f64>, ModelError> {
    let sums: Vec<f64> = histories.iter().map(|h| h.iter().sum()).collect();
    let total: f64 = sums.iter().sum();
    if total == 0.0 || !total.is_finite() {
        return Err(ModelError::Numerical(
            "top_down: the series' training total is zero, no shares to split by".into(),
        ));
    }
    let mut p = DMatrix::zeros(histories.len(), nodes);
    for (b, sum) in sums.iter().enumerate() {
        p[(b, 0)] = sum / total;
    }
    Ok(p)
}

/// A family whose forecasts are reconciled over `hierarchy`.
pub struct Reconciled<'a> {
    pub inner: &'a dyn Forecaster,
    pub method: Reconcile,
    pub hierarchy: Hierarchy,
    /// Whether the family reads `[features]`: only then do the aggregates'
    /// missing covariates matter (validation refuses that case).
    pub reads_features: bool,
}

/// The owned histories of the aggregates, summed over their members and
/// aligned by their end (every series of a fold ends at its cutoff).
struct Aggregates<'a> {
    target: Vec<Vec<f64>>,
    /// The dates of each aggregate's longest member.
    dates: Vec<&'a [chrono::NaiveDate]>,
}

fn aggregate<'a>(input: &FoldInput<'a>, hierarchy: &Hierarchy) -> Aggregates<'a> {
    let mut out = Aggregates {
        target: Vec::new(),
        dates: Vec::new(),
    };
    for (_, members) in &hierarchy.aggregates {
        let longest = members
            .iter()
            .copied()
            .max_by_key(|&m| input.series[m].train_len())
            .expect("aggregates have members");
        let n = input.series[longest].train_len();
        let mut sum = vec![0.0; n];
        for &m in members {
            let y = input.series[m].target;
            for (k, v) in y.iter().enumerate() {
                sum[n - y.len() + k] += v;
            }
        }
        out.target.push(sum);
        out.dates.push(input.series[longest].dates);
    }
    out
}

impl Forecaster for Reconciled<'_> {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        if !self.method.forecasts_aggregates() {
            return self.inner.forecast(input);
        }
        let covariates = !input.features.past.is_empty() || !input.features.future.is_empty();
        if covariates && self.reads_features {
            return Err(ModelError::Unfit("reconcile: the aggregates have no covariates".into()));
        }
        let bottom = input.series.len();
        let nodes = self.hierarchy.aggregates.len() + bottom;
        if self.method == Reconcile::MinTrace && nodes > MINT_MAX_NODES {
            return Err(ModelError::Unfit(format!(
                "min_trace over {nodes} nodes needs a {nodes}×{nodes} covariance (at most {MINT_MAX_NODES} nodes): use top_down or bottom_up, or fewer levels"
            )));
        }
        let sums = aggregate(input, &self.hierarchy);
        // A family that reads no features gets none: every node alike.
        let no_features = FeatureSet::default();
        let mut all: FoldInput<'_> = input.clone();
        if covariates {
            all.features = &no_features;
            for s in &mut all.series {
                s.past.clear();
                s.future.clear();
            }
        }
        all.context.residuals = self.method == Reconcile::MinTrace;
        for ((name, _), (target, dates)) in self
            .hierarchy
            .aggregates
            .iter()
            .zip(sums.target.iter().zip(&sums.dates))
        {
            all.series.push(SeriesHistory {
                id: name,
                text: None,
                dates,
                target,
                past: Vec::new(),
                future: Vec::new(),
            });
        }
        let outcomes = self.inner.forecast(&all)?;
        // ŷ: aggregates first, then the series.
        let mut base: Vec<SeriesForecast> = Vec::with_capacity(nodes);
        let mut bottom_outcomes = outcomes;
        let aggregate_outcomes = bottom_outcomes.split_off(bottom);
        for (outcome, s) in aggregate_outcomes
            .into_iter()
            .chain(bottom_outcomes)
            .zip(all.series[bottom..].iter().chain(&all.series[..bottom]))
        {
            base.push(
                outcome.map_err(|e| {
                    ModelError::Unfit(format!("reconcile needs every node's forecast; `{}`: {e}", s.id))
                })?,
            );
        }
        let p = match self.method {
            Reconcile::TopDown => {
                let histories: Vec<&[f64]> = input.series.iter().map(|s| s.target).collect();
                top_down_projection(&histories, nodes)?
            }
            _ => {
                let t = base.iter().map(|f| f.residuals.len()).min().unwrap_or(0);
                if t < 2 {
                    return Err(ModelError::Unfit(
                        "min_trace needs at least two in-sample residuals of every node".into(),
                    ));
                }
                let residuals = DMatrix::from_fn(nodes, t, |i, k| base[i].residuals[base[i].residuals.len() - t + k]);
                let s = self.hierarchy.summing_matrix(bottom);
                mint_projection(&s, &shrunk_covariance(&residuals, MINT_RIDGE))?
            }
        };
        let horizon = input.horizon;
        let y_hat = DMatrix::from_fn(nodes, horizon, |i, h| base[i].mean[h]);
        let reconciled = p * y_hat;
        let aggregates = self.hierarchy.aggregates.len();
        Ok((0..bottom)
            .map(|b| {
                let own = &base[aggregates + b];
                Ok(SeriesForecast {
                    mean: reconciled.row(b).iter().copied().collect(),
                    intervals: Vec::new(),
                    chosen: own.chosen.clone(),
                    residuals: Vec::new(),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use nalgebra::DVector;

    #[test]
    fn mint_is_exactly_coherent_and_bottom_up_for_a_diagonal_structural_w() {
        // Two series and their total; W = diag(S·1) (structural scaling):
        // P = (SᵀW⁻¹S)⁻¹SᵀW⁻¹ by hand for S = [[1,1],[1,0],[0,1]], W = diag(2,1,1).
        let hierarchy = Hierarchy {
            aggregates: vec![("total".into(), vec![0, 1])],
        };
        let s = hierarchy.summing_matrix(2);
        let w = DMatrix::from_diagonal(&DVector::from_vec(vec![2.0, 1.0, 1.0]));
        let p = mint_projection(&s, &w).unwrap();
        // SᵀW⁻¹S = [[1.5, .5], [.5, 1.5]], inverse [[.75, -.25], [-.25, .75]];
        // SᵀW⁻¹ = [[.5, 1, 0], [.5, 0, 1]] → P = [[.25, .75, -.25], [.25, -.25, .75]].
        let expected = DMatrix::from_row_slice(2, 3, &[0.25, 0.75, -0.25, 0.25, -0.25, 0.75]);
        assert!((&p - &expected).abs().max() < 1e-12, "{p}");
        // P·S = I: coherent base forecasts pass unchanged.
        assert!((&p * &s - DMatrix::<f64>::identity(2, 2)).abs().max() < 1e-12);
    }

    #[test]
    fn top_down_splits_the_total_by_historical_shares() {
        let (a, b) = ([1.0, 3.0], [2.0, 2.0, 2.0]);
        let p = top_down_projection(&[&a, &b], 3).unwrap();
        assert_eq!(p.column(0).as_slice(), [0.4, 0.6]);
        assert_eq!(p.column(1).iter().chain(p.column(2).iter()).sum::<f64>(), 0.0);
    }
}
