//! The significance section of a leaderboard read back from MLflow. The
//! tests need every configuration's per-series values, which child runs do
//! not hold; the parent run of each `trendlab run` holds the
//! `leaderboard.json` it wrote. The newest parent whose leaderboard has
//! exactly the configurations read back (by content hash: the same runs,
//! so the same per-series values) lends its section and each row's test
//! and interval.

use crate::client::{MlflowClient, TrackingError};
use crate::mirror::KIND;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use trendlab_engine::Leaderboard;
use trendlab_engine::significance::{BestTest, Significance};
use trendlab_stats::Interval;

#[derive(Deserialize)]
struct StoredBoard {
    rows: Vec<StoredRow>,
    significance: Option<Significance>,
}

#[derive(Deserialize)]
struct StoredRow {
    config_id: String,
    test: Option<BestTest>,
    interval: Option<Interval>,
}

/// Sets `board.significance` (and the rows' tests and intervals) from the
/// newest matching parent run; leaves it `None` when none matches.
pub fn from_parent_runs(
    client: &MlflowClient,
    experiment_id: &str,
    board: &mut Leaderboard,
) -> Result<(), TrackingError> {
    let wanted: BTreeSet<&str> = board.rows.iter().map(|r| r.config_id.as_str()).collect();
    let parents = client.search_runs(&[experiment_id], &format!("tags.`{KIND}` = 'invocation'"))?;
    for parent in parents.iter().filter(|p| p.info.status == "FINISHED") {
        // A parent without the file (an outage, an older trendlab) is passed over.
        let Ok(json) = client.artifact_json(&parent.info, "leaderboard.json") else {
            continue;
        };
        let Ok(stored) = serde_json::from_value::<StoredBoard>(json) else {
            continue;
        };
        let found: BTreeSet<&str> = stored.rows.iter().map(|r| r.config_id.as_str()).collect();
        let Some(significance) = stored.significance.filter(|_| found == wanted) else {
            continue;
        };
        let rows: BTreeMap<String, StoredRow> = stored.rows.into_iter().map(|r| (r.config_id.clone(), r)).collect();
        for row in &mut board.rows {
            if let Some(stored) = rows.get(&row.config_id) {
                row.test = stored.test.clone();
                row.interval = stored.interval;
            }
        }
        board.significance = Some(significance);
        return Ok(());
    }
    Ok(())
}
