//! Scores on the selection window and the weights derived from them:
//! inverse-error weights and Caruana's greedy ensemble selection.
//!
//! A forecast's score on the window is the mean, over its (series, origin)
//! chunks, of the chunk's `metric` — the way the leaderboard averages a
//! metric over series. Chunks where the metric is undefined (a constant
//! training series under MASE) are left out, the same ones for everyone.

use super::HistoryChunk;
use super::combine::{median, weighted_sum};
use crate::accuracy::{SeriesEval, mean, series_metric};
use trendlab_spec::Metric;

/// The selection window under one metric.
pub struct Window<'a> {
    history: &'a [HistoryChunk],
    metric: Metric,
    season: usize,
}

impl<'a> Window<'a> {
    pub fn new(history: &'a [HistoryChunk], metric: Metric, season: usize) -> Self {
        Window {
            history,
            metric,
            season,
        }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Mean chunk score of the forecasts `forecast(chunk)` builds; `None`
    /// when no chunk is scored.
    fn score(&self, forecast: impl Fn(&HistoryChunk) -> Vec<f64>) -> Option<f64> {
        mean(self.history.iter().filter_map(|chunk| {
            let f = forecast(chunk);
            let eval = SeriesEval {
                train: &chunk.train,
                actual: &chunk.actual,
                forecast: &f,
                intervals: &[],
            };
            series_metric(self.metric, &eval, self.season)
        }))
    }

    /// Candidate `c`'s own score.
    pub fn candidate_score(&self, c: usize) -> Option<f64> {
        self.score(|chunk| chunk.forecasts[c].clone())
    }

    /// The score of combining `kept` with `weights` (the median without).
    pub fn combination_score(&self, kept: &[usize], weights: Option<&[f64]>) -> Option<f64> {
        self.score(|chunk| combine_chunk(chunk, kept, weights))
    }

    /// Caruana et al. (2004) ensemble selection with replacement, as
    /// AutoGluon's weighted ensemble: start from an empty bag; each round
    /// add the candidate whose addition gives the bag's average the best
    /// score (ties: the earlier candidate); return the weights (counts /
    /// size) of the best bag of any round. The first round's bag is the
    /// best single candidate, so the result never scores worse than it.
    /// `None` when no chunk is scored.
    pub fn greedy(&self, kept: &[usize], rounds: usize) -> Option<Vec<f64>> {
        let mut counts = vec![0usize; kept.len()];
        let mut best: Option<(f64, Vec<usize>)> = None;
        for round in 1..=rounds {
            let trial = |k: usize| {
                let mut bag = counts.clone();
                bag[k] += 1;
                let weights: Vec<f64> = bag.iter().map(|n| *n as f64 / round as f64).collect();
                self.combination_score(kept, Some(&weights))
            };
            let (k, score) = (0..kept.len())
                .filter_map(|k| trial(k).map(|s| (k, s)))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
            counts[k] += 1;
            if best.as_ref().is_none_or(|(b, _)| score < *b) {
                best = Some((score, counts.clone()));
            }
        }
        let (_, bag) = best?;
        let size: usize = bag.iter().sum();
        Some(bag.iter().map(|n| *n as f64 / size as f64).collect())
    }
}

/// The combination of `kept` candidates on one chunk.
fn combine_chunk(chunk: &HistoryChunk, kept: &[usize], weights: Option<&[f64]>) -> Vec<f64> {
    (0..chunk.actual.len())
        .map(|h| {
            let values = kept.iter().map(|&c| chunk.forecasts[c][h]);
            match weights {
                Some(w) => weighted_sum(values, w),
                None => median(&mut values.collect::<Vec<_>>()),
            }
        })
        .collect()
}

/// Weights proportional to 1 / error, summing to 1; candidates with zero
/// error (a perfect past) share all the weight.
pub fn inverse_error(errors: &[f64]) -> Vec<f64> {
    let perfect = errors.iter().filter(|e| **e == 0.0).count();
    if perfect > 0 {
        return errors
            .iter()
            .map(|e| if *e == 0.0 { 1.0 / perfect as f64 } else { 0.0 })
            .collect();
    }
    let total: f64 = errors.iter().map(|e| 1.0 / e).sum();
    errors.iter().map(|e| 1.0 / e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn chunk(actual: Vec<f64>, forecasts: Vec<Vec<f64>>) -> HistoryChunk {
        HistoryChunk {
            series: 0,
            origin: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
            train: vec![0.0, 1.0, 3.0, 2.0],
            actual,
            forecasts,
        }
    }

    #[test]
    fn inverse_error_weights_by_hand() {
        // 1/2 : 1/4 = 2 : 1.
        let w = inverse_error(&[2.0, 4.0]);
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-15 && (w[1] - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(inverse_error(&[0.0, 3.0, 0.0]), vec![0.5, 0.0, 0.5]);
    }

    #[test]
    fn candidate_scores_average_chunks() {
        // MAE: candidate 0 is off by 1 then by 3 → chunk scores 1 and 3.
        let history = [
            chunk(vec![1.0, 1.0], vec![vec![2.0, 2.0], vec![1.0, 1.0]]),
            chunk(vec![0.0], vec![vec![3.0], vec![0.0]]),
        ];
        let window = Window::new(&history, Metric::Mae, 1);
        assert_eq!(window.candidate_score(0), Some(2.0));
        assert_eq!(window.candidate_score(1), Some(0.0));
        // The mean of the two is off by 0.5 and 1.5.
        assert_eq!(window.combination_score(&[0, 1], Some(&[0.5, 0.5])), Some(1.0));
        assert_eq!(Window::new(&[], Metric::Mae, 1).candidate_score(0), None);
    }

    #[test]
    fn greedy_finds_the_complementary_pair() {
        // a over-forecasts by 1 and b under-forecasts by 1: their mean is exact.
        let history = [chunk(
            vec![5.0, 6.0, 7.0],
            vec![vec![6.0, 7.0, 8.0], vec![4.0, 5.0, 6.0], vec![9.0, 9.0, 9.0]],
        )];
        let w = Window::new(&history, Metric::Rmse, 1)
            .greedy(&[0, 1, 2], 10)
            .expect("scored");
        assert_eq!(w, vec![0.5, 0.5, 0.0]);
    }

    /// On random members and actuals, the greedy bag never scores worse on
    /// its selection window than the best single member, for every metric.
    #[test]
    fn greedy_is_never_worse_than_its_best_member() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for case in 0..200 {
            let members = rng.random_range(2..6);
            let history: Vec<HistoryChunk> = (0..rng.random_range(1..5))
                .map(|_| {
                    let steps = rng.random_range(1..6);
                    let actual: Vec<f64> = (0..steps).map(|_| rng.random_range(0.0..10.0)).collect();
                    let forecasts = (0..members)
                        .map(|_| actual.iter().map(|a| a + rng.random_range(-4.0..4.0)).collect())
                        .collect();
                    let train = (0..8).map(|_| rng.random_range(0.0..10.0)).collect();
                    HistoryChunk {
                        train,
                        ..chunk(actual, forecasts)
                    }
                })
                .collect();
            for metric in [Metric::Mae, Metric::Rmse, Metric::Mase, Metric::Smape, Metric::Wape] {
                let window = Window::new(&history, metric, 1);
                let kept: Vec<usize> = (0..members).collect();
                let best = kept
                    .iter()
                    .filter_map(|&c| window.candidate_score(c))
                    .fold(f64::INFINITY, f64::min);
                let weights = window.greedy(&kept, 1 + case % 30).expect("scored");
                assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                let score = window.combination_score(&kept, Some(&weights)).expect("scored");
                assert!(
                    score <= best + 1e-12,
                    "case {case} {metric:?}: greedy {score} > best member {best}"
                );
            }
        }
    }
}
