//! Laying an ensemble's inputs on the windows of a fold, for a fold that
//! was not read from the run store: the forecast past the data, whose
//! members are refit now (their forecasts come by configuration label) and
//! whose selection window is saved with a model (each chunk's series by id,
//! since a later `forecast --from` may see the series in another order).

use super::{Candidate, DroppedMember, HistoryChunk, MemberForecasts};
use crate::SeriesForecast;
use std::collections::HashMap;
use trendlab_spec::Metric;

/// Each candidate configuration's forecasts, by label, one per window of
/// the fold in its order (`None` where it could not forecast the series).
pub type ForecastsByLabel = HashMap<String, Vec<Option<SeriesForecast>>>;

impl MemberForecasts {
    /// The members of a fold from a saved selection window: its chunks
    /// placed on the fold's windows (`window_of`: a series id's window;
    /// chunks of series the fold lacks are left out), and the candidates'
    /// forecasts of the fold.
    pub fn from_saved(
        candidates: Vec<Candidate>,
        history: &[(String, HistoryChunk)],
        dropped: Vec<DroppedMember>,
        current: &ForecastsByLabel,
        windows: usize,
        window_of: impl Fn(&str) -> Option<usize>,
        (rank_by, season): (Metric, usize),
    ) -> MemberForecasts {
        let mut members = MemberForecasts {
            candidates,
            current: Vec::new(),
            history: history
                .iter()
                .filter_map(|(id, chunk)| {
                    Some(HistoryChunk {
                        series: window_of(id)?,
                        ..chunk.clone()
                    })
                })
                .collect(),
            dropped,
            rank_by,
            season,
        };
        members.set_current(current, windows);
        members
    }

    /// Sets the fold's forecasts: `current[window][candidate]` from each
    /// candidate's forecasts by label.
    pub fn set_current(&mut self, current: &ForecastsByLabel, windows: usize) {
        self.current = (0..windows)
            .map(|i| {
                self.candidates
                    .iter()
                    .map(|c| current.get(&c.label).and_then(|f| f.get(i).cloned().flatten()))
                    .collect()
            })
            .collect();
    }

    /// The selection window with each chunk's series by id (`series_id`:
    /// a window's series), as a saved model keeps it.
    pub fn history_by_id(&self, series_id: impl Fn(usize) -> String) -> Vec<(String, HistoryChunk)> {
        self.history.iter().map(|h| (series_id(h.series), h.clone())).collect()
    }
}
