//! Elementwise math for the CPU kernels (the LSTM's and BERT's): `exp`,
//! `sigmoid`, `tanh`, `erf` and GELU written branch-free so that loops
//! over them vectorise, a fixed-order vector sum, and [`multiversion!`] and
//! [`with_best_isa`], which run a kernel compiled for the widest
//! instruction set the CPU has (AVX-512, AVX2 + FMA, or portable), chosen
//! at run time.
//!
//! Every function here is plain IEEE arithmetic in a fixed order (Rust
//! never fuses a multiply and an add on its own), so a result is the same
//! whichever instruction set runs it.

/// Runs `f` compiled for AVX-512 or AVX2 + FMA when the CPU has them,
/// else portable. Only code the compiler inlines into `f`'s call gets the
/// wider instructions: for small closures; a whole kernel goes through
/// [`multiversion!`].
#[inline(always)]
pub fn with_best_isa<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
        fn v4<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        fn v3<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        match isa() {
            // SAFETY: the CPU supports the enabled features (checked by `isa`).
            Isa::Avx512 => return unsafe { v4(f) },
            // SAFETY: as above.
            Isa::Avx2 => return unsafe { v3(f) },
            Isa::Portable => {}
        }
    }
    f()
}

/// Defines a function that calls an `#[inline(always)]` kernel compiled
/// for AVX-512 or AVX2 + FMA when the CPU has them, else portable:
///
/// ```ignore
/// multiversion! {
///     /// Docs.
///     pub fn predict(shape: &Shape, x: &[f32]) -> Vec<f32> = predict_kernel;
/// }
/// ```
///
/// Unlike [`with_best_isa`] with a large closure (which the compiler may
/// keep out of line, and so compile without the wider instructions), the
/// kernel is inlined into each variant.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $kernel:path;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                fn v4($($arg: $ty),*) -> $ret {
                    $kernel($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn v3($($arg: $ty),*) -> $ret {
                    $kernel($($arg),*)
                }
                match $crate::fastmath::isa() {
                    // SAFETY: the CPU supports the enabled features (checked by `isa`).
                    $crate::fastmath::Isa::Avx512 => return unsafe { v4($($arg),*) },
                    // SAFETY: as above.
                    $crate::fastmath::Isa::Avx2 => return unsafe { v3($($arg),*) },
                    $crate::fastmath::Isa::Portable => {}
                }
            }
            $kernel($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// The widest instruction set the kernels are compiled for that this CPU has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Portable,
}

/// This CPU's [`Isa`] (detected once).
pub fn isa() -> Isa {
    static DETECTED: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            let avx512 = std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq");
            match (avx2, avx512) {
                (true, true) => return Isa::Avx512,
                (true, false) => return Isa::Avx2,
                _ => {}
            }
        }
        Isa::Portable
    })
}

/// `e^x` by `2^(x log2 e)`: the integer part into the exponent bits, a
/// degree-6 polynomial on the remainder in [-ln2/2, ln2/2] (relative
/// error ~3e-7).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    // ln 2 in two parts (Cody & Waite) so that x - n ln 2 is exact enough.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let l = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + l * (1.0 + l * (0.5 + l * (1.0 / 6.0 + l * (1.0 / 24.0 + l * (1.0 / 120.0 + l * (1.0 / 720.0))))));
    // n as an integer: `shifted` holds it in its low mantissa bits (an
    // integer subtraction vectorises, where a float-to-int cast does not).
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    f32::from_bits((n_int.wrapping_add(127) as u32) << 23) * p
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// The error function as a rational function `x P(x²) / Q(x²)`, the
/// minimax fit Eigen and XLA use, on |x| ≤ 3.8325 (beyond, erf is ±1 in
/// single precision): within 5 × 10⁻⁷ of the exact value everywhere, so
/// GELU's relative error stays under 2 × 10⁻⁷.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-3.832_507, 3.832_507);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_6e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329_2e-3;
    q = q * x2 + -1.426_473_9e-2;
    x * p / q
}

/// GELU with the exact (erf) form BERT uses: `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The derivative of [`gelu`]: `Φ(x) + x φ(x)`.
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    gelu_with_derivative(x).1
}

/// [`gelu`] and its derivative together, sharing the `erf`.
#[inline(always)]
pub fn gelu_with_derivative(x: f32) -> (f32, f32) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    (x * cdf, cdf + x * INV_SQRT_2PI * exp(-0.5 * x * x))
}

/// Lanes of the fixed-order sums below: wide enough for AVX-512.
const LANES: usize = 16;

/// `Σ f(i)` over `0..n` in a fixed order: sixteen running sums over
/// strided elements, then added pairwise. The order does not depend on the
/// instruction set, and the compiler can keep the sums in vector registers
/// (a plain left-to-right float sum cannot vectorise).
#[inline(always)]
pub fn sum_by(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let full = n / LANES * LANES;
    for base in (0..full).step_by(LANES) {
        for (k, a) in acc.iter_mut().enumerate() {
            *a += f(base + k);
        }
    }
    for (k, i) in (full..n).enumerate() {
        acc[k] += f(i);
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}

/// `Σ a_i b_i` in [`sum_by`]'s order.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    sum_by(n, |i| a[i] * b[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_activations_match_std() {
        for k in -2000..=2000 {
            let x = k as f32 / 50.0;
            let (want, got) = (x.exp(), exp(x));
            assert!(((got - want) / want).abs() < 5e-7, "exp({x}) = {got}, want {want}");
            assert!((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
            assert!((tanh(x) - x.tanh()).abs() < 2e-6, "tanh({x})");
        }
        assert!(sigmoid(-200.0).abs() < 1e-30);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn erf_and_gelu_match_float64() {
        let mut worst = 0.0f64;
        for k in -60_000..=60_000 {
            let x = k as f32 / 10_000.0;
            let want = statrs::function::erf::erf(f64::from(x));
            worst = worst.max((f64::from(erf(x)) - want).abs());
            let g = f64::from(x) * 0.5 * (1.0 + statrs::function::erf::erf(f64::from(x) / 2f64.sqrt()));
            assert!((f64::from(gelu(x)) - g).abs() < 2e-6 * (1.0 + g.abs()), "gelu({x})");
            // The derivative against a central difference of the float64 GELU.
            let h = 1e-4;
            let at = |v: f64| v * 0.5 * (1.0 + statrs::function::erf::erf(v / 2f64.sqrt()));
            let numeric = (at(f64::from(x) + h) - at(f64::from(x) - h)) / (2.0 * h);
            assert!((f64::from(gelu_derivative(x)) - numeric).abs() < 1e-5, "gelu'({x})");
        }
        // Seven units in the last place near ±1 (at |x| ≈ 3.3), a few below.
        assert!(worst < 5e-7, "erf within {worst}");
        assert!((erf(10.0) - 1.0).abs() < 1.2e-7 && erf(-10.0) == -erf(10.0));
        assert_eq!(erf(0.0), 0.0);
    }

    #[test]
    fn fixed_order_sums_add_every_term_once() {
        for n in [0, 1, 15, 16, 17, 33, 100] {
            let v: Vec<f32> = (0..n).map(|i| i as f32).collect();
            assert_eq!(sum_by(n, |i| v[i]), (n * n.saturating_sub(1) / 2) as f32);
            assert_eq!(dot(&v, &v), (0..n).map(|i| (i * i) as f32).sum::<f32>());
        }
    }
}
