//! The explorer's aggregate series: the total of the evaluated series and,
//! for each `[evaluation.wrmsse] levels` entry, its groups (the largest
//! `[report] per_level` by volume), their histories and each model's
//! backtest forecasts summed over their members. Planners read these first.

use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use trendlab_data::Panel;

/// One aggregate: a level's group and the series summed into it.
#[derive(Debug, Clone)]
pub struct Group {
    /// `total`, or the level's columns (`state_id+cat_id`).
    pub level: String,
    /// `total`, or the group's values (`CA+FOODS`).
    pub key: String,
    /// Panel indices.
    pub members: Vec<usize>,
}

impl Group {
    /// The explorer's id of the aggregate.
    pub fn id(&self) -> String {
        if self.level == "total" {
            "total".to_string()
        } else {
            format!("{} = {}", self.level, self.key)
        }
    }
}

/// The total and the held groups of every declared level, over the
/// `evaluated` series (panel indices); the groups of a level with more than
/// `per_level` of them are its largest by volume.
pub fn groups(panel: &Panel, evaluated: &[usize], levels: &[String], per_level: usize) -> Vec<Group> {
    let mut out = vec![Group {
        level: "total".into(),
        key: "total".into(),
        members: evaluated.to_vec(),
    }];
    for level in levels {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &i in evaluated {
            if let Some(label) = panel.level_label(&panel.series[i], level) {
                by_key.entry(label).or_default().push(i);
            }
        }
        let volume = |members: &[usize]| -> f64 {
            members
                .iter()
                .map(|&i| panel.series[i].target.iter().sum::<f64>())
                .sum()
        };
        let mut ranked: Vec<(f64, String, Vec<usize>)> = by_key.into_iter().map(|(k, m)| (volume(&m), k, m)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        out.extend(ranked.into_iter().take(per_level).map(|(_, key, members)| Group {
            level: level.clone(),
            key,
            members,
        }));
    }
    out
}

/// Sums of the members' values on the explorer's dates.
#[derive(Debug, Clone)]
pub struct Sums {
    /// Index into the dates of the first value.
    pub start: usize,
    pub values: Vec<f64>,
}

/// The summed history of `group` on `dates` (index of each date in
/// `date_index`), from its earliest member's first period.
pub fn history(panel: &Panel, group: &Group, date_index: &HashMap<NaiveDate, usize>, dates: usize) -> Sums {
    let mut values = vec![0.0; dates];
    let mut start = dates;
    for &i in &group.members {
        let s = &panel.series[i];
        let Some(&first) = s.dates.first().and_then(|d| date_index.get(d)) else {
            continue;
        };
        start = start.min(first);
        for (k, v) in s.target.iter().enumerate() {
            if let Some(slot) = values.get_mut(first + k) {
                *slot += v;
            }
        }
    }
    let start = start.min(dates);
    Sums {
        start,
        values: values.split_off(start),
    }
}

/// Adds one forecast value of a member at date index `at` to the sums of
/// a run's forecasts per group.
#[derive(Debug, Default)]
pub struct ForecastSums {
    by_group: BTreeMap<usize, BTreeMap<usize, f64>>,
}

impl ForecastSums {
    pub fn add(&mut self, group: usize, at: usize, value: f64) {
        *self.by_group.entry(group).or_default().entry(at).or_insert(0.0) += value;
    }

    /// Each group's summed forecast as consecutive dates from its first.
    pub fn into_sums(self) -> impl Iterator<Item = (usize, Sums)> {
        self.by_group.into_iter().filter_map(|(g, by_date)| {
            let (&start, _) = by_date.first_key_value()?;
            let (&end, _) = by_date.last_key_value()?;
            let mut values = vec![0.0; end - start + 1];
            for (at, v) in by_date {
                values[at - start] = v;
            }
            Some((g, Sums { start, values }))
        })
    }
}
