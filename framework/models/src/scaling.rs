//! Per-series scaling fitted on a fold's training values, so global models
//! can share parameters across series of very different sizes.

use trendlab_spec::Scaling;

/// `scaled = (value - shift) / scale`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaler {
    pub shift: f64,
    pub scale: f64,
}

impl Scaler {
    pub const IDENTITY: Scaler = Scaler { shift: 0.0, scale: 1.0 };

    /// Fits `kind` on `values`; a zero spread falls back to scale 1.
    pub fn fit(kind: Scaling, values: &[f64]) -> Scaler {
        if values.is_empty() {
            return Scaler::IDENTITY;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let (shift, scale) = match kind {
            Scaling::None => (0.0, 1.0),
            Scaling::MeanAbs => (0.0, values.iter().map(|v| v.abs()).sum::<f64>() / n),
            Scaling::Standard => (
                mean,
                (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt(),
            ),
            Scaling::MinMax => {
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (min, max - min)
            }
        };
        let scale = if scale > f64::EPSILON * mean.abs().max(1.0) {
            scale
        } else {
            1.0
        };
        Scaler { shift, scale }
    }

    pub fn apply(&self, v: f64) -> f64 {
        (v - self.shift) / self.scale
    }

    pub fn invert(&self, v: f64) -> f64 {
        v * self.scale + self.shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_degenerate_spread() {
        let v = [2.0, 4.0, 6.0];
        for kind in [Scaling::None, Scaling::MeanAbs, Scaling::Standard, Scaling::MinMax] {
            let s = Scaler::fit(kind, &v);
            assert!((s.invert(s.apply(5.0)) - 5.0).abs() < 1e-12);
        }
        assert_eq!(Scaler::fit(Scaling::MeanAbs, &v), Scaler { shift: 0.0, scale: 4.0 });
        assert_eq!(Scaler::fit(Scaling::MinMax, &v), Scaler { shift: 2.0, scale: 4.0 });
        assert_eq!(Scaler::fit(Scaling::Standard, &[3.0, 3.0]).scale, 1.0);
        assert_eq!(Scaler::fit(Scaling::MeanAbs, &[0.0, 0.0]).scale, 1.0);
    }
}
