//! Segments of the backtest's blocks (a series at a fold) and a leaderboard
//! per segment. Each block is classified by what was known at its fold's
//! cutoff, its training window:
//!
//! - demand pattern: Syntetos–Boylan's smooth, erratic, intermittent,
//!   lumpy (or no demand), from ADI and CV² ([`trendlab_stats::demand`]);
//! - history: `new` with fewer than `new_product_periods` periods since
//!   its first sale, else `established`;
//! - volume: ABC tiers of the fold's series by mean demand per training
//!   period — A the largest making up 80% of the volume, B the next 15%,
//!   C the rest;
//! - each `[evaluation] segments` column: the series' value of it.
//!
//! A segment's score is the mean over its blocks, so the segments of one
//! dimension, weighted by their block counts, add up to the mean over
//! every block (the leaderboard's mean when every fold scores the same
//! series).

use super::blocks::Blocks;
use crate::leaderboard::Leaderboard;
use crate::prepare::Prepared;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trendlab_stats::DemandProfile;

/// One segment's leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentBoard {
    /// `demand pattern`, `history`, `volume`, or a column.
    pub dimension: String,
    pub segment: String,
    /// Blocks (series × fold) in the segment, and distinct series.
    pub blocks: usize,
    pub series: usize,
    /// Ranked by the leaderboard's tested metric, best first.
    pub rows: Vec<SegmentRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRow {
    pub label: String,
    pub rank: Option<usize>,
    /// Mean over the segment's blocks of each metric (`None`: no value).
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// Every block's segment in each dimension: `(dimension, labels per block)`.
pub fn classify(prepared: &Prepared, blocks: &Blocks) -> Vec<(String, Vec<Option<String>>)> {
    let experiment = &prepared.experiment;
    let panel = &prepared.panel;
    let n = blocks.series.len();
    let position = super::positions(&blocks.series);
    let new_below = experiment.new_product_periods();
    let custom = &experiment.evaluation().segments;
    let mut demand = vec![None; blocks.folds * n];
    let mut history = vec![None; blocks.folds * n];
    let mut volume = vec![None; blocks.folds * n];
    let mut columns: Vec<Vec<Option<String>>> = vec![vec![None; blocks.folds * n]; custom.len()];
    for fold in prepared.backtest.folds.iter().take(blocks.folds) {
        let windows = prepared.backtest.windows(experiment, panel, fold);
        let mut volumes: Vec<(usize, f64)> = Vec::new();
        for w in &windows {
            let s = &panel.series[w.series];
            let Some(&k) = position.get(s.id.as_str()) else {
                continue;
            };
            let block = fold.index * n + k;
            let train = &s.target[w.train.clone()];
            let profile = DemandProfile::of(train);
            demand[block] = Some(profile.class.name().to_string());
            history[block] = Some(
                if profile.active_periods < new_below {
                    "new"
                } else {
                    "established"
                }
                .to_string(),
            );
            let positive: f64 = train.iter().filter(|v| **v > 0.0).sum();
            volumes.push((block, positive / train.len().max(1) as f64));
            for (c, column) in custom.iter().enumerate() {
                columns[c][block] = panel.level_label(s, column);
            }
        }
        volumes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let total: f64 = volumes.iter().map(|v| v.1).sum();
        let mut before = 0.0;
        for (block, v) in volumes {
            // The tier of the volume share reached before this series.
            let share = if total > 0.0 { before / total } else { 1.0 };
            volume[block] = Some(
                if share < 0.80 {
                    "A"
                } else if share < 0.95 {
                    "B"
                } else {
                    "C"
                }
                .to_string(),
            );
            before += v;
        }
    }
    let mut out = vec![
        ("demand pattern".to_string(), demand),
        ("history".to_string(), history),
        ("volume".to_string(), volume),
    ];
    out.extend(custom.iter().cloned().zip(columns));
    out
}

/// A leaderboard per segment of every dimension, ranked by metric `tested`
/// (an index into `blocks.scores`).
pub fn boards(
    board: &Leaderboard,
    blocks: &Blocks,
    dimensions: &[(String, Vec<Option<String>>)],
    tested: usize,
) -> Vec<SegmentBoard> {
    let mut out = Vec::new();
    for (dimension, labels) in dimensions {
        let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (block, label) in labels.iter().enumerate() {
            if let Some(label) = label {
                members.entry(label.as_str()).or_default().push(block);
            }
        }
        let mut segments: Vec<(&str, Vec<usize>)> = members.into_iter().collect();
        if dimension == "demand pattern" {
            let order = |name: &str| trendlab_stats::DemandClass::ALL.iter().position(|c| c.name() == name);
            segments.sort_by_key(|(name, _)| order(name));
        } else if dimension == "history" {
            segments.sort_by_key(|(name, _)| *name != "new");
        }
        for (segment, members) in segments {
            let mut series: Vec<usize> = members.iter().map(|&b| blocks.series_of(b)).collect();
            series.sort_unstable();
            series.dedup();
            let mut rows: Vec<(SegmentRow, Option<f64>)> = blocks
                .rows
                .iter()
                .map(|(r, values)| {
                    let means: Vec<Option<f64>> = values.iter().map(|v| mean_at(v, &members)).collect();
                    let key = means[tested].map(|m| blocks.scores[tested].rank_key(m));
                    let metrics = blocks.scores.iter().map(|s| s.name()).zip(means).collect();
                    let row = SegmentRow {
                        label: board.rows[*r].label.clone(),
                        rank: None,
                        metrics,
                    };
                    (row, key)
                })
                .collect();
            let ranks = crate::leaderboard::rank_by_key(&mut rows, |(_, key)| *key);
            for ((row, _), rank) in rows.iter_mut().zip(ranks) {
                row.rank = rank;
            }
            out.push(SegmentBoard {
                dimension: dimension.clone(),
                segment: segment.to_string(),
                blocks: members.len(),
                series: series.len(),
                rows: rows.into_iter().map(|(row, _)| row).collect(),
            });
        }
    }
    out
}

/// Mean of the defined values at `blocks`.
fn mean_at(values: &[f64], blocks: &[usize]) -> Option<f64> {
    let (sum, count) = blocks
        .iter()
        .map(|&b| values[b])
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}
