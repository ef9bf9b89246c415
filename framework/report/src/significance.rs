//! What the report shows of the leaderboard's significance section: the
//! critical-difference diagram (Demšar 2006) laid out as SVG geometry, and
//! the segment leaderboards as one table per dimension (configurations ×
//! segments, the tested metric in each cell).

use serde::Serialize;
use trendlab_results::Leaderboard;
use trendlab_results::significance::Ranks;

/// The diagram's geometry in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct CdDiagram {
    pub width: f64,
    pub height: f64,
    /// The rank axis: y, and ticks `(x, rank)`.
    pub axis_y: f64,
    pub ticks: Vec<(f64, usize)>,
    /// The critical-difference bar from rank 1: `x1, x2, y`.
    pub cd: (f64, f64, f64),
    pub cd_text: String,
    pub items: Vec<CdItem>,
    /// Clique bars: `x1, x2, y`.
    pub cliques: Vec<(f64, f64, f64)>,
}

/// One configuration: its rank's point on the axis, the elbow line to its
/// label, the label's side.
#[derive(Debug, Clone, Serialize)]
pub struct CdItem {
    pub label: String,
    pub rank: f64,
    pub x: f64,
    pub y: f64,
    /// Where the line ends and the text starts.
    pub text_x: f64,
    /// `start` (text right of the line's end) or `end`.
    pub anchor: &'static str,
}

const ROW: f64 = 22.0;
const TOP: f64 = 46.0;
/// A generous width of one character at the diagram's 13 px font.
const CHAR: f64 = 7.5;

impl CdDiagram {
    /// Labels beside the axis get the room their text needs (the page
    /// scales the drawing down to fit); the axis 40 units per rank.
    pub fn of(ranks: &Ranks) -> CdDiagram {
        let k = ranks.configurations.len().max(2);
        let longest = ranks
            .configurations
            .iter()
            .map(|(label, _)| label.chars().count() + " (10.00)".len())
            .max()
            .unwrap_or(0);
        let side = 30.0 + CHAR * longest as f64;
        let span = (40.0 * (k - 1) as f64).max(360.0);
        let width = 2.0 * side + span;
        let x = |rank: f64| side + (rank - 1.0) / (k - 1) as f64 * span;
        let clique_rows = ranks.cliques.len() as f64;
        // The better half labelled on the left, the rest on the right.
        let left = ranks.configurations.len().div_ceil(2);
        let first_label = TOP + 18.0 + clique_rows * 7.0 + ROW;
        let items: Vec<CdItem> = ranks
            .configurations
            .iter()
            .enumerate()
            .map(|(i, (label, rank))| {
                let (row, anchor, text_x) = if i < left {
                    (i, "end", side - 12.0)
                } else {
                    (ranks.configurations.len() - 1 - i, "start", width - side + 12.0)
                };
                CdItem {
                    label: label.clone(),
                    rank: *rank,
                    x: x(*rank),
                    y: first_label + row as f64 * ROW,
                    text_x,
                    anchor,
                }
            })
            .collect();
        let rows = left.max(ranks.configurations.len() - left) as f64;
        CdDiagram {
            width,
            height: first_label + rows * ROW,
            axis_y: TOP,
            ticks: (1..=k).map(|r| (x(r as f64), r)).collect(),
            cd: (x(1.0), x(1.0 + ranks.critical_difference).min(x(k as f64)), TOP - 26.0),
            cd_text: format!("CD = {:.3}", ranks.critical_difference),
            cliques: ranks
                .cliques
                .iter()
                .enumerate()
                .map(|(j, &(a, b))| {
                    let (ra, rb) = (ranks.configurations[a].1, ranks.configurations[b].1);
                    (x(ra) - 4.0, x(rb) + 4.0, TOP + 14.0 + j as f64 * 7.0)
                })
                .collect(),
            items,
        }
    }
}

/// One dimension's segment leaderboards side by side.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentTable {
    pub dimension: String,
    /// A `[evaluation] segments` column (shown by its name, as written).
    pub column: bool,
    /// `(segment, series, blocks)`.
    pub segments: Vec<(String, usize, usize)>,
    /// In the overall leaderboard's order: label, then per segment the
    /// tested metric's mean and whether it is that segment's best.
    pub rows: Vec<(String, Vec<SegmentCell>)>,
}

/// A segment's mean of the tested metric, and whether it is the best there.
pub type SegmentCell = (Option<f64>, bool);

/// The segment tables of `board` (none without segments).
pub fn segment_tables(board: &Leaderboard) -> Vec<SegmentTable> {
    let Some(s) = &board.significance else {
        return Vec::new();
    };
    let Some(metric) = &s.metric else { return Vec::new() };
    let mut tables: Vec<SegmentTable> = Vec::new();
    for segment in &s.segments {
        if tables.last().is_none_or(|t| t.dimension != segment.dimension) {
            tables.push(SegmentTable {
                dimension: segment.dimension.clone(),
                column: !["demand pattern", "history", "volume"].contains(&segment.dimension.as_str()),
                segments: Vec::new(),
                rows: board
                    .rows
                    .iter()
                    .filter(|r| segment.rows.iter().any(|x| x.label == r.label))
                    .map(|r| (r.label.clone(), Vec::new()))
                    .collect(),
            });
        }
        let table = tables.last_mut().expect("pushed above");
        table
            .segments
            .push((segment.segment.clone(), segment.series, segment.blocks));
        let best = segment
            .rows
            .first()
            .filter(|r| r.rank == Some(1))
            .map(|r| r.label.as_str());
        for (label, cells) in &mut table.rows {
            let value = segment
                .rows
                .iter()
                .find(|r| r.label == *label)
                .and_then(|r| r.metrics.get(metric).copied().flatten());
            cells.push((value, best == Some(label.as_str())));
        }
    }
    tables
}
