//! Intermittent-demand methods: Croston (classic, SBA, optimised), TSB,
//! ADIDA and IMAPA, each a flat forecast of the demand rate built from
//! simple exponential smoothing of derived series (demand sizes, intervals
//! between demands, demand indicators, block sums), exactly as
//! statsforecast's methods of the same names compute them.

mod family;

/// Simple exponential smoothing from the first value: the one-step
/// forecast after the last value.
pub fn ses(x: &[f64], alpha: f64) -> f64 {
    let mut level = x[0];
    for &v in &x[..x.len() - 1] {
        level = alpha * v + (1.0 - alpha) * level;
    }
    if x.len() == 1 {
        return x[0];
    }
    alpha * x[x.len() - 1] + (1.0 - alpha) * level
}

/// Sum of squared one-step errors of [`ses`].
fn ses_sse(x: &[f64], alpha: f64) -> f64 {
    let mut forecast = x[0];
    let mut sse = 0.0;
    for i in 1..x.len() {
        forecast = alpha * x[i - 1] + (1.0 - alpha) * forecast;
        sse += (x[i] - forecast).powi(2);
    }
    sse
}

/// [`ses`] with α in [0.1, 0.3] minimising the in-sample squared error
/// (golden-section search to 1e-12).
pub fn optimized_ses(x: &[f64]) -> f64 {
    let ratio = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (0.1, 0.3);
    let mut c = b - (b - a) / ratio;
    let mut d = a + (b - a) / ratio;
    let (mut fc, mut fd) = (ses_sse(x, c), ses_sse(x, d));
    while (b - a).abs() >= 1e-12 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - (b - a) / ratio;
            fc = ses_sse(x, c);
        } else if fd < fc {
            (a, c, fc) = (c, d, fd);
            d = a + (b - a) / ratio;
            fd = ses_sse(x, d);
        } else {
            break;
        }
    }
    ses(x, (a + b) / 2.0)
}

/// The non-zero values.
pub fn demand(y: &[f64]) -> Vec<f64> {
    y.iter().copied().filter(|v| *v != 0.0).collect()
}

/// Periods between demands (the first counted from before the series).
pub fn intervals(y: &[f64]) -> Vec<f64> {
    let mut previous = 0;
    y.iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(i, _)| {
            let gap = i + 1 - previous;
            previous = i + 1;
            gap as f64
        })
        .collect()
}

/// The mean interval between demands, rounded half to even (Python's `round`).
fn aggregation_level(y: &[f64]) -> usize {
    let gaps = intervals(y);
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let rounded = mean.round();
    let level = if (mean - mean.trunc() - 0.5).abs() < 1e-12 && rounded % 2.0 != 0.0 {
        rounded - 1.0
    } else {
        rounded
    };
    level.max(1.0) as usize
}

/// Sums of consecutive blocks of `size`, dropping the oldest remainder.
fn block_sums(y: &[f64], size: usize) -> Vec<f64> {
    y[y.len() % size..].chunks(size).map(|c| c.iter().sum()).collect()
}

/// Croston: smoothed demand size over smoothed interval (a series
/// without demand forecasts its last value, zero).
pub fn croston(y: &[f64], smooth: impl Fn(&[f64]) -> f64) -> f64 {
    let sizes = demand(y);
    if sizes.is_empty() {
        return y[y.len() - 1];
    }
    let size = smooth(&sizes);
    let interval = smooth(&intervals(y));
    if interval != 0.0 { size / interval } else { size }
}

/// TSB: smoothed demand probability times smoothed demand size.
pub fn tsb(y: &[f64], alpha_d: f64, alpha_p: f64) -> f64 {
    let sizes = demand(y);
    if sizes.is_empty() {
        return 0.0;
    }
    let indicator: Vec<f64> = y.iter().map(|v| f64::from(u8::from(*v != 0.0))).collect();
    ses(&indicator, alpha_p) * ses(&sizes, alpha_d)
}

/// ADIDA: optimised SES of block sums at the mean interval, spread evenly.
pub fn adida(y: &[f64]) -> f64 {
    if y.iter().all(|v| *v == 0.0) {
        return 0.0;
    }
    let size = aggregation_level(y);
    let sums = block_sums(y, size);
    let forecast = match sums.len() {
        0 => y[y.len() - 1],
        1 => sums[0],
        _ => optimized_ses(&sums),
    };
    forecast / size as f64
}

/// IMAPA: the mean of ADIDA's per-period forecast at every block size from
/// one to the mean interval.
pub fn imapa(y: &[f64]) -> f64 {
    if y.iter().all(|v| *v == 0.0) {
        return 0.0;
    }
    let top = aggregation_level(y);
    let total: f64 = (1..=top)
        .map(|size| {
            let sums = block_sums(y, size);
            if sums.is_empty() {
                0.0
            } else {
                optimized_ses(&sums) / size as f64
            }
        })
        .sum();
    total / top as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_and_its_optimum_by_hand() {
        // Levels 1, 3, 2.5; forecast 0.5·7 + 0.5·2.5.
        assert_eq!(ses(&[1.0, 5.0, 2.0, 7.0], 0.5), 4.75);
        // Sums 10, 17, 13: the error 3 − 7α is smallest at α = 3/7, above 0.3,
        // so α = 0.3: level 12.1, forecast 0.3·13 + 0.7·12.1 = 12.37.
        assert!((optimized_ses(&[10.0, 17.0, 13.0]) - 12.37).abs() < 1e-9);
    }

    #[test]
    fn derived_series_by_hand() {
        let y = [0.0, 3.0, 0.0, 0.0, 2.0, 4.0];
        assert_eq!(demand(&y), vec![3.0, 2.0, 4.0]);
        assert_eq!(intervals(&y), vec![2.0, 3.0, 1.0]);
        assert_eq!(aggregation_level(&y), 2);
        // Mean 2.5 rounds to 2 (half to even), 3.5 to 4.
        assert_eq!(aggregation_level(&[0.0, 1.0, 0.0, 0.0, 1.0]), 2);
        assert_eq!(aggregation_level(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]), 4);
        assert_eq!(block_sums(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![5.0, 9.0]);
    }

    #[test]
    fn methods_by_hand() {
        let y = [0.0, 3.0, 0.0, 0.0, 2.0, 4.0];
        // Sizes 3, 2, 4 at α 0.1: 3 → 3 → 2.9 → forecast 0.1·4 + 0.9·2.9 = 3.01.
        // Intervals 2, 3, 1: 2 → 2 → 2.1 → 0.1 + 0.9·2.1 = 1.99.
        let classic = croston(&y, |x| ses(x, 0.1));
        assert!((classic - 3.01 / 1.99).abs() < 1e-12);
        // Probability 0,1,0,0,1,1 at 0.5: 0, 0, .5, .25, .125 → .5625 → .78125; size at 1: 4.
        assert!((tsb(&y, 1.0, 0.5) - 0.78125 * 4.0).abs() < 1e-12);
        assert_eq!(tsb(&[0.0; 4], 0.1, 0.1), 0.0);
        // Blocks of 2: 0+3, 0+0, 2+4.
        let sums = [3.0, 0.0, 6.0];
        assert!((adida(&y) - optimized_ses(&sums) / 2.0).abs() < 1e-12);
        assert!((imapa(&y) - (optimized_ses(&y) + optimized_ses(&sums) / 2.0) / 2.0).abs() < 1e-12);
    }
}
