//! Work units: the plan cut into pieces that separate processes or machines
//! execute independently (`trendlab work`, a Slurm job array, a Kubernetes
//! Indexed Job). A unit is one run (a configuration on a fold), except
//! that a configuration whose later folds reuse its first fold's choices
//! is one unit with all its folds, since they must run in order.
//!
//! Units are grouped by what they need: `classical` runs on CPUs,
//! `neural` trains on a device (a GPU where there is one), and `ensembles`
//! read the runs of other units, so they start after them. Each group is
//! a contiguous range of unit indexes: the task index of an array over one
//! group plus the group's `first` is the unit's index.
//!
//! A run of a family that fits series one by one may be split further into
//! series shards (`[scale] series_per_unit`, `plan --series-shards N`):
//! unit k of n runs the k-th n-th of the evaluated series, stores its part
//! beside the run ([`crate::store::parts`]), and the worker that stores the last
//! part merges them into the run, exactly as a local run stores it.
//!
//! The manifest (`plan.json`) records the spec (relative to the manifest),
//! its hash and the data fingerprint; a worker rebuilds the plan from the
//! spec and refuses to run when the run ids no longer match.

use crate::plan::{Plan, PlannedRun};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The manifest format written by this version.
pub const MANIFEST_FORMAT: u32 = 1;

/// What a unit needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Families that run on CPUs.
    Classical,
    /// Families that train on a device (LSTM, BERT-fusion).
    Neural,
    /// Combinations of other units' stored runs.
    Ensembles,
}

impl Group {
    /// The group of a family's units, from its own statement.
    pub fn of(capabilities: &trendlab_spec::Capabilities) -> Group {
        if capabilities.reads_runs {
            Group::Ensembles
        } else if capabilities.device.is_some() {
            Group::Neural
        } else {
            Group::Classical
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Group::Classical => "classical",
            Group::Neural => "neural",
            Group::Ensembles => "ensembles",
        }
    }
}

/// Runs executed together by one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkUnit {
    pub index: usize,
    /// Content hash of the unit: of its runs' ids.
    pub id: String,
    pub group: Group,
    /// `ridge[alpha=1.0] fold 2`.
    pub label: String,
    /// Ids of the unit's runs, in the order they run.
    pub runs: Vec<String>,
    /// Indexes of the units whose runs this unit reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<usize>,
    /// The part of the series this unit runs, when its runs are split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesShard>,
}

/// Shard `index` of `count` of a run's series: the evaluated series (in
/// the backtest's order) from `index·N/count` up to `(index+1)·N/count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesShard {
    pub index: usize,
    pub count: usize,
}

impl SeriesShard {
    /// The positions among `n` evaluated series this shard holds.
    pub fn positions(&self, n: usize) -> std::ops::Range<usize> {
        self.index * n / self.count..(self.index + 1) * n / self.count
    }

    /// `3of8`: the folder of its part beside the run.
    pub fn name(&self) -> String {
        format!("{}of{}", self.index, self.count)
    }
}

/// The units of one group: indexes `first .. first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupRange {
    pub group: Group,
    pub first: usize,
    pub count: usize,
}

impl GroupRange {
    /// The unit indexes of the group.
    pub fn indexes(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.count
    }
}

/// `plan.json`: every unit of a spec's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub trendlab: String,
    pub experiment: String,
    /// The spec, relative to the manifest's folder (or absolute).
    pub spec: PathBuf,
    pub spec_hash: String,
    pub data_fingerprint: String,
    pub groups: Vec<GroupRange>,
    pub units: Vec<WorkUnit>,
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: not a trendlab work manifest: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{}: written by another manifest format ({found}; this trendlab reads {MANIFEST_FORMAT}): run `trendlab plan SPEC --manifest` again",
        path.display()
    )]
    Format { path: PathBuf, found: u32 },
    #[error(
        "{}: the plan of {} changed since this manifest was written ({reason}): run `trendlab plan SPEC --manifest` again",
        path.display(), spec.display()
    )]
    Stale {
        path: PathBuf,
        spec: PathBuf,
        reason: String,
    },
    #[error("{}: no unit {index} (it has units 0 to {})", path.display(), count.saturating_sub(1))]
    NoUnit { path: PathBuf, index: usize, count: usize },
    #[error(
        "{}: unit {unit} {reason}: the manifest was edited after planning; run `trendlab plan SPEC --manifest` again",
        path.display()
    )]
    Edited { path: PathBuf, unit: usize, reason: String },
}

/// A unit's content hash: of its runs' ids and its series shard.
fn unit_id(runs: &[String], series: Option<SeriesShard>) -> String {
    let mut content = runs.join(";");
    if let Some(shard) = series {
        content.push_str(&format!("#{}", shard.name()));
    }
    blake3::hash(content.as_bytes()).to_hex()[..16].to_string()
}

impl Manifest {
    /// The units of `plan`; `spec` as the manifest will record it. Runs of a
    /// configuration `c` are split into `shards(c)` series shards (1: whole).
    pub fn new(
        plan: &Plan,
        spec: PathBuf,
        spec_hash: &str,
        data_fingerprint: &str,
        shards: &dyn Fn(usize) -> usize,
    ) -> Manifest {
        let mut by_group: Vec<(Group, String, Vec<&PlannedRun>)> = Vec::new();
        let mut unit_of_first_fold: HashMap<&str, usize> = HashMap::new();
        for run in &plan.runs {
            if plan.reuses_first_fold(run) {
                let first = plan
                    .prerequisites(run)
                    .into_iter()
                    .find(|id| unit_of_first_fold.contains_key(id));
                if let Some(unit) = first.and_then(|id| unit_of_first_fold.get(id)) {
                    by_group[*unit].2.push(run);
                    continue;
                }
            }
            let config = &plan.configs[run.config];
            let group = Group::of(&config.family.capabilities());
            let label =
                if plan.configs[run.config].family.reuses_first_fold() && run.fold == 0 && run.role.is_backtest() {
                    format!("{} all folds", config.label())
                } else {
                    format!("{} {}", config.label(), run.origin_label())
                };
            unit_of_first_fold.insert(run.id.as_str(), by_group.len());
            by_group.push((group, label, vec![run]));
        }
        // Stable within a group: plan order, a run's shards in order.
        let mut order: Vec<usize> = (0..by_group.len()).collect();
        order.sort_by_key(|&u| by_group[u].0);
        let mut units: Vec<WorkUnit> = Vec::new();
        for &u in &order {
            let (group, label, runs) = &by_group[u];
            let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
            let count = shards(runs[0].config).max(1);
            let parts: Vec<Option<SeriesShard>> = match count {
                1 => vec![None],
                _ => (0..count).map(|index| Some(SeriesShard { index, count })).collect(),
            };
            for series in parts {
                let mut label = label.clone();
                if let Some(shard) = series {
                    label.push_str(&format!(" series {}/{}", shard.index + 1, shard.count));
                }
                units.push(WorkUnit {
                    index: units.len(),
                    id: unit_id(&ids, series),
                    group: *group,
                    label,
                    runs: ids.clone(),
                    after: Vec::new(),
                    series,
                });
            }
        }
        let mut unit_of_run: HashMap<String, Vec<usize>> = HashMap::new();
        for u in &units {
            for r in &u.runs {
                unit_of_run.entry(r.clone()).or_default().push(u.index);
            }
        }
        let run_by_id: HashMap<&str, &PlannedRun> = plan.runs.iter().map(|r| (r.id.as_str(), r)).collect();
        // Units holding other runs this unit's runs read (not the shards of
        // its own runs, which hold the same runs).
        let afters: Vec<Vec<usize>> = units
            .iter()
            .map(|unit| {
                let after: BTreeSet<usize> = unit
                    .runs
                    .iter()
                    .filter_map(|id| run_by_id.get(id.as_str()).copied())
                    .flat_map(|r| plan.prerequisites(r))
                    .filter_map(|id| unit_of_run.get(id))
                    .flatten()
                    .copied()
                    .filter(|&u| units[u].runs != unit.runs)
                    .collect();
                after.into_iter().collect()
            })
            .collect();
        for (unit, after) in units.iter_mut().zip(afters) {
            unit.after = after;
        }
        let groups = <Group as strum::IntoEnumIterator>::iter()
            .filter_map(|group| {
                let first = units.iter().position(|u| u.group == group)?;
                let count = units.iter().filter(|u| u.group == group).count();
                Some(GroupRange { group, first, count })
            })
            .collect();
        Manifest {
            format: MANIFEST_FORMAT,
            trendlab: crate::TRENDLAB_VERSION.to_string(),
            experiment: plan.experiment.clone(),
            spec,
            spec_hash: spec_hash.to_string(),
            data_fingerprint: data_fingerprint.to_string(),
            groups,
            units,
        }
    }

    /// Reads a manifest written by `write`.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let format = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("format")?.as_u64());
        if let Some(found) = format.filter(|f| *f != u64::from(MANIFEST_FORMAT)) {
            return Err(ManifestError::Format {
                path: path.to_path_buf(),
                found: found as u32,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ManifestError::Malformed {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .trim_end_matches(&format!(" at line {} column {}", e.line(), e.column()))
                .to_string(),
        })
    }

    /// Writes the manifest atomically (pretty JSON).
    pub fn write(&self, path: &Path) -> Result<(), ManifestError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifests serialise");
        bytes.push(b'\n');
        trendlab_models::write_atomic(path, &bytes).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The spec's path, resolved against the manifest at `manifest_path`.
    pub fn spec_path(&self, manifest_path: &Path) -> PathBuf {
        manifest_path.parent().unwrap_or(Path::new("")).join(&self.spec)
    }

    /// Checks that `plan` (rebuilt from the spec by a worker) has exactly
    /// this manifest's runs.
    pub fn check(&self, plan: &Plan, manifest_path: &Path) -> Result<(), ManifestError> {
        let stale = |reason: String| ManifestError::Stale {
            path: manifest_path.to_path_buf(),
            spec: self.spec_path(manifest_path),
            reason,
        };
        let listed: BTreeSet<&str> = self
            .units
            .iter()
            .flat_map(|u| u.runs.iter().map(String::as_str))
            .collect();
        let planned: BTreeSet<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
        if listed != planned {
            let missing = planned.difference(&listed).count();
            let gone = listed.difference(&planned).count();
            let mut parts = Vec::new();
            if missing > 0 {
                parts.push(format!("{missing} planned runs are not in it"));
            }
            if gone > 0 {
                parts.push(format!("{gone} of its runs are no longer planned"));
            }
            return Err(stale(parts.join(", ")));
        }
        if plan.experiment != self.experiment {
            return Err(stale(format!(
                "experiment `{}` is now `{}`",
                self.experiment, plan.experiment
            )));
        }
        self.check_units(manifest_path)
    }

    /// Every unit as planning wrote it: at its own index, its id the hash
    /// of its runs (and series shard), and each split run's shards one
    /// count, each index once.
    fn check_units(&self, manifest_path: &Path) -> Result<(), ManifestError> {
        let edited = |unit: usize, reason: String| ManifestError::Edited {
            path: manifest_path.to_path_buf(),
            unit,
            reason,
        };
        let mut shards_of: HashMap<&[String], (usize, BTreeSet<usize>)> = HashMap::new();
        for (position, unit) in self.units.iter().enumerate() {
            if unit.index != position {
                return Err(edited(position, format!("says it is unit {}", unit.index)));
            }
            if let Some(shard) = unit.series {
                if shard.count < 2 || shard.index >= shard.count {
                    return Err(edited(
                        position,
                        format!("holds series shard {} of {}", shard.index, shard.count),
                    ));
                }
                let (count, seen) = shards_of.entry(&unit.runs).or_insert((shard.count, BTreeSet::new()));
                if *count != shard.count || !seen.insert(shard.index) {
                    return Err(edited(
                        position,
                        format!(
                            "holds series shard {} of {}, beside another unit's shard of {count} of the same runs",
                            shard.index, shard.count
                        ),
                    ));
                }
            }
            if unit.id != unit_id(&unit.runs, unit.series) {
                return Err(edited(
                    position,
                    format!(
                        "(`{}`) is not what its id says (its runs or its series shard were changed)",
                        unit.label
                    ),
                ));
            }
        }
        if let Some((count, seen)) = shards_of.values().find(|(count, seen)| seen.len() != *count) {
            let unit = self
                .units
                .iter()
                .find(|u| u.series.is_some_and(|s| s.count == *count))
                .map_or(0, |u| u.index);
            return Err(edited(
                unit,
                format!("is one of {} series shards of its runs, of {count} planned", seen.len()),
            ));
        }
        Ok(())
    }

    /// Unit `index`.
    pub fn unit(&self, index: usize, manifest_path: &Path) -> Result<&WorkUnit, ManifestError> {
        self.units.get(index).ok_or(ManifestError::NoUnit {
            path: manifest_path.to_path_buf(),
            index,
            count: self.units.len(),
        })
    }

    /// The units of shard `shard` of `shards`: every `shards`-th unit,
    /// starting at `shard` (so each shard gets a share of every group).
    pub fn shard(&self, shard: usize, shards: usize) -> Vec<&WorkUnit> {
        self.units.iter().filter(|u| u.index % shards.max(1) == shard).collect()
    }

    /// The range of `group`, when the plan has units of it.
    pub fn group(&self, group: Group) -> Option<GroupRange> {
        self.groups.iter().copied().find(|g| g.group == group)
    }
}
