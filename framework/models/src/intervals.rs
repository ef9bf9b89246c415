//! Normal prediction intervals: a point forecast plus or minus the standard
//! normal quantile times the forecast's standard deviation at each step.

use crate::Interval;

/// Central intervals at `levels` (percent) around `mean` with standard
/// deviations `sd`, one per level.
pub fn normal(mean: &[f64], sd: &[f64], levels: &[f64]) -> Vec<Interval> {
    levels
        .iter()
        .map(|&level| {
            let z = normal_quantile(0.5 + level / 200.0);
            Interval {
                level,
                lower: mean.iter().zip(sd).map(|(m, s)| m - z * s).collect(),
                upper: mean.iter().zip(sd).map(|(m, s)| m + z * s).collect(),
            }
        })
        .collect()
}

/// Central intervals at `levels` (percent) from simulated sample paths:
/// `paths[step]` holds every path's value at that step; the bounds are the
/// empirical quantiles (linear interpolation, as numpy's default).
pub fn from_paths(mut paths: Vec<Vec<f64>>, levels: &[f64]) -> Vec<Interval> {
    for step in &mut paths {
        step.sort_by(f64::total_cmp);
    }
    let quantile = |sorted: &[f64], q: f64| {
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos.fract());
        sorted[lo] + frac * (sorted[(lo + 1).min(sorted.len() - 1)] - sorted[lo])
    };
    levels
        .iter()
        .map(|&level| Interval {
            level,
            lower: paths.iter().map(|p| quantile(p, 0.5 - level / 200.0)).collect(),
            upper: paths.iter().map(|p| quantile(p, 0.5 + level / 200.0)).collect(),
        })
        .collect()
}

/// Standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_a_95_percent_interval() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((normal_quantile(0.1) + 1.2815515655446004).abs() < 1e-8);
        assert!(normal_quantile(0.5).abs() < 1e-12);
        let i = &normal(&[10.0], &[2.0], &[95.0])[0];
        assert!((i.lower[0] - (10.0 - 2.0 * 1.959963984540054)).abs() < 1e-7);
        assert!((i.upper[0] - (10.0 + 2.0 * 1.959963984540054)).abs() < 1e-7);
    }

    #[test]
    fn quantiles_of_paths_by_hand() {
        // Values 0..=100 at one step: the 80% interval is [10, 90]; 0.5% lies between 0 and 1.
        let i = from_paths(vec![(0..=100).rev().map(f64::from).collect()], &[80.0, 99.0]);
        assert!((i[0].lower[0] - 10.0).abs() < 1e-12 && (i[0].upper[0] - 90.0).abs() < 1e-12);
        assert!((i[1].lower[0] - 0.5).abs() < 1e-12 && (i[1].upper[0] - 99.5).abs() < 1e-12);
    }
}
