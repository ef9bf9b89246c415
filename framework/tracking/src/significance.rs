//! The significance section of a leaderboard read back from MLflow. The
//! tests need every configuration's per-series values, which child runs do
//! not hold; the parent run of each `trendlab run` holds the
//! `leaderboard.json` it wrote. The newest parent whose leaderboard has
//! exactly the configurations read back (by content hash: the same runs,
//! so the same per-series values) lends its section, each row's test and
//! interval, and the coverage of the means.

use crate::client::{MlflowClient, TrackingError};
use crate::mirror::KIND;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use trendlab_results::leaderboard::{Coverage, LentSignificance};
use trendlab_results::significance::{BestTest, Significance};
use trendlab_stats::Interval;

#[derive(Deserialize)]
struct StoredBoard {
    rows: Vec<StoredRow>,
    significance: Option<Significance>,
    #[serde(default)]
    coverage: Option<Coverage>,
}

#[derive(Deserialize)]
struct StoredRow {
    config_id: String,
    test: Option<BestTest>,
    interval: Option<Interval>,
}

/// The significance section of the newest finished parent run whose
/// leaderboard holds exactly the configurations `wanted`, with each row's
/// test and interval; `None` when no parent matches.
pub fn from_parent_runs(
    client: &MlflowClient,
    experiment_id: &str,
    wanted: &BTreeSet<&str>,
) -> Result<Option<LentSignificance>, TrackingError> {
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
        let Some(section) = stored.significance.filter(|_| &found == wanted) else {
            continue;
        };
        let rows: BTreeMap<String, (Option<BestTest>, Option<Interval>)> = stored
            .rows
            .into_iter()
            .map(|r| (r.config_id, (r.test, r.interval)))
            .collect();
        return Ok(Some(LentSignificance {
            section,
            rows,
            coverage: stored.coverage,
        }));
    }
    Ok(None)
}
