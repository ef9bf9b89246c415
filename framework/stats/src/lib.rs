//! The statistics behind trendlab's leaderboards: whether a difference
//! between two configurations is real, how uncertain a score is, how
//! configurations rank across many series, and what kind of demand a series
//! has. Pure functions on slices; no knowledge of runs or stores.
//!
//! - [`wilcoxon`]: the Wilcoxon signed-rank test of paired differences,
//!   exact, by enumeration or normal-approximated as SciPy's `wilcoxon`;
//! - [`friedman`]: Friedman's rank test over blocks and Nemenyi's post-hoc
//!   comparison (critical difference, pairwise p-values) with the
//!   studentized range distribution;
//! - [`holm`]: Holm's step-down adjustment of several p-values;
//! - [`diebold_mariano`]: the Diebold–Mariano test of two forecasts' loss
//!   series with the Harvey–Leybourne–Newbold correction;
//! - [`bootstrap`]: seeded percentile intervals of a mean over clusters;
//! - [`demand`]: Syntetos–Boylan demand classes (ADI, CV²);
//! - [`ranks`]: average ranks with ties; [`rng`]: the seeded generator.
//!
//! Normal, χ² and Student-t distributions come from `statrs`.

pub mod bootstrap;
pub mod demand;
pub mod diebold_mariano;
pub mod friedman;
pub mod holm;
pub mod ranks;
pub mod rng;
pub mod wilcoxon;

pub use bootstrap::{Interval, bootstrap_mean};
pub use demand::{DemandClass, DemandProfile};
pub use diebold_mariano::{DieboldMariano, diebold_mariano};
pub use friedman::{Friedman, Nemenyi, friedman, nemenyi};
pub use holm::holm;
pub use rng::SplitMix64;
pub use wilcoxon::{Wilcoxon, WilcoxonMethod, wilcoxon};

/// Why a test was not run (too few observations, nothing to compare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoTest(pub String);

impl std::fmt::Display for NoTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
