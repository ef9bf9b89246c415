//! A series shard's part of a run, stored under `<run>/shards/<k>of<n>/`:
//! its `run.json` and, when any series was forecast, its
//! `forecasts.parquet`. The worker that stores the last part merges the
//! parts into the run (the engine's `shards`); `trendlab status` reads the
//! parts' records.

use super::{ForecastTable, RunRecord, RunStore, StoreError, write_atomic};
use crate::units::SeriesShard;
use std::path::PathBuf;

/// Removes run `id`'s parts (`<run>/shards/`), once merged into the run.
pub fn remove_parts(store: &RunStore, id: &str) -> Result<(), StoreError> {
    let dir = store.run_dir(id).join("shards");
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io { path: dir, source }),
    }
}

/// `<run>/shards/<k>of<n>/`.
fn part_dir(store: &RunStore, id: &str, shard: SeriesShard) -> PathBuf {
    store.run_dir(id).join("shards").join(shard.name())
}

/// The stored part `shard` of run `id`: its record and forecasts.
pub fn read_part(
    store: &RunStore,
    id: &str,
    shard: SeriesShard,
) -> Result<Option<(RunRecord, ForecastTable)>, StoreError> {
    let dir = part_dir(store, id, shard);
    let path = dir.join("run.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    let record: RunRecord = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let forecasts = dir.join("forecasts.parquet");
    let table = match forecasts.exists() {
        true => ForecastTable::from_parquet(&forecasts, id)?,
        false => ForecastTable::default(),
    };
    Ok(Some((record, table)))
}

/// The record of part `shard` of run `id`, when stored.
pub fn part_record(store: &RunStore, id: &str, shard: SeriesShard) -> Result<Option<RunRecord>, StoreError> {
    Ok(read_part(store, id, shard)?.map(|(record, _)| record))
}

/// Stores part `shard` of a run: its forecasts, then its record.
pub fn save_part(
    store: &RunStore,
    shard: SeriesShard,
    record: &RunRecord,
    table: Option<&ForecastTable>,
) -> Result<(), StoreError> {
    let dir = part_dir(store, &record.run_id, shard);
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        path: dir.clone(),
        source,
    })?;
    if let Some(table) = table {
        write_atomic(&dir.join("forecasts.parquet"), &table.to_parquet(&record.run_id))?;
    }
    let mut json = serde_json::to_vec_pretty(record).expect("records serialise");
    json.push(b'\n');
    write_atomic(&dir.join("run.json"), &json)
}
