//! The noise-aware regression gate by simulation with known truth: 200
//! series scored at 3 folds by an old and a new best configuration whose
//! per-series MASE share each series' difficulty and differ by noise (and,
//! in the second case, by a true 5% degradation). The leaderboards travel
//! as `leaderboard.json` does, and the gate is `mase:2` at alpha 0.05.

use std::collections::BTreeMap;
use trendlab_results::Leaderboard;
use trendlab_results::compare::{Comparison, GateOutcome, PastLeaderboard, RegressionGate};
use trendlab_results::leaderboard::{LeaderboardRow, MetricSummary};
use trendlab_results::significance::{SeriesValues, Significance};
use trendlab_spec::{Metric, Score};
use trendlab_stats::SplitMix64;

const SERIES: usize = 200;
const FOLDS: usize = 3;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * (1.0 - u).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A one-row leaderboard whose best configuration scored `values`.
fn board(label: &str, values: Vec<Vec<f64>>) -> Leaderboard {
    let mase = Score {
        metric: Metric::Mase,
        level: None,
    };
    let fold_means: Vec<f64> = values.iter().map(|f| f.iter().sum::<f64>() / f.len() as f64).collect();
    let mean = fold_means.iter().sum::<f64>() / fold_means.len() as f64;
    let row = LeaderboardRow {
        rank: None,
        model: label.into(),
        label: label.into(),
        family: "linear".into(),
        params: "{}".into(),
        config_id: label.into(),
        run_ids: Vec::new(),
        metrics: BTreeMap::from([(
            "mase".to_string(),
            MetricSummary {
                mean: Some(mean),
                std: None,
            },
        )]),
        per_fold: BTreeMap::new(),
        fit_seconds: None,
        folds_finished: FOLDS,
        folds: FOLDS,
        errors: Vec::new(),
        notes: Vec::new(),
        ensemble: None,
        conformal: None,
        levels: Vec::new(),
        test: None,
        interval: None,
    };
    // The board as a leaderboard.json read back carries it: rows and the
    // per-series values of its significance section.
    Leaderboard {
        significance: Some(Significance {
            metric: Some("mase".into()),
            alpha: 0.05,
            tested: false,
            interval_level: 0.95,
            new_product_periods: 16,
            notes: Vec::new(),
            ranks: None,
            segments: Vec::new(),
            series_values: Some(SeriesValues {
                series: (0..SERIES).map(|i| format!("s{i}")).collect(),
                best: BTreeMap::from([("mase".to_string(), label.to_string())]),
                values: BTreeMap::from([(
                    label.to_string(),
                    BTreeMap::from([(
                        "mase".to_string(),
                        values.into_iter().map(|f| f.into_iter().map(Some).collect()).collect(),
                    )]),
                )]),
            }),
        }),
        ..Leaderboard::ranked("sim", "", mase, &[mase], vec![row])
    }
}

/// How often `mase:2` fires over 200 seeded repetitions when the new
/// configuration's errors are `degradation` times the old ones' in
/// expectation, and how often a gate on the means alone would.
fn firing_rate(degradation: f64, seed: u64) -> (usize, usize) {
    let gate: RegressionGate = "mase:2".parse().unwrap();
    let score = Score {
        metric: Metric::Mase,
        level: None,
    };
    let mut rng = SplitMix64::new(seed);
    let (mut fired, mut means_only) = (0, 0);
    for _ in 0..200 {
        // Each series' difficulty (lognormal, as per-series MASE spreads) and
        // each fold's, shared by both versions; each run adds its own noise.
        let difficulty: Vec<f64> = (0..SERIES).map(|_| (0.5 * normal(&mut rng)).exp()).collect();
        let mut draw = |factor: f64| -> Vec<Vec<f64>> {
            (0..FOLDS)
                .map(|_| {
                    difficulty
                        .iter()
                        .map(|d| factor * d * (0.2 * normal(&mut rng)).exp())
                        .collect()
                })
                .collect()
        };
        let old = draw(1.0);
        let new = draw(degradation);
        let past: PastLeaderboard = serde_json::from_slice(&board("ridge", old).to_json()).unwrap();
        let comparison = Comparison::new("old.json", &past, &board("ridge", new), &[score]);
        match gate.check(&comparison, &score, 0.05) {
            GateOutcome::Failed { .. } => fired += 1,
            GateOutcome::Passed { .. } => {}
            GateOutcome::NoData => panic!("both leaderboards have a mase"),
        }
        means_only += usize::from(comparison.best["mase"].percent_worse(&score) > 2.0);
    }
    (fired, means_only)
}

#[test]
fn the_gate_fires_on_noise_at_most_7_percent_and_on_a_5_percent_degradation_at_least_90() {
    let (noise, noise_means) = firing_rate(1.0, 1);
    let (real, real_means) = firing_rate(1.05, 2);
    println!(
        "same distribution: gate fired {noise}/200 (means alone {noise_means}/200); \
         5% worse: {real}/200 (means alone {real_means}/200)"
    );
    assert!(noise <= 14, "fired on noise {noise} times of 200");
    assert!(real >= 180, "fired on a real 5% degradation only {real} times of 200");
}
