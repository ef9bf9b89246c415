//! The run store as `report`, `export` and a rerun read it: a store of
//! four finished runs (two models, two folds) with one file replaced by the
//! input. Its first byte picks the run and the file (`run.json`,
//! `metrics.json`, `forecasts.parquet`, `series_metrics.parquet`); the
//! run's health (every file of it read) is checked and the leaderboard
//! (with its fair means, conformal scores and tests) assembled.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trendlab_results::store::{ForecastRow, ForecastTable, MetricsFile};
use trendlab_results::{Leaderboard, Plan, Prepared, RunRecord, RunStatus, RunStore, Source};

const FILES: [&str; 4] = [
    "run.json",
    "metrics.json",
    "forecasts.parquet",
    "series_metrics.parquet",
];

struct Store {
    prepared: Prepared,
    plan: Plan,
    store: RunStore,
    /// Per run (plan order), each file's bytes as written.
    written: Vec<Vec<Vec<u8>>>,
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut rows = String::from("date,id,y\n");
        for day in 1..=12 {
            rows.push_str(&format!(
                "2024-01-{day:02},a,{day}\n2024-01-{day:02},b,{}\n",
                (day * 7) % 5
            ));
        }
        trendlab_fuzz::write("store.csv", rows.as_bytes());
        // Few bootstrap resamples: the tests' code runs, at a fraction of the time.
        let spec = trendlab_fuzz::write(
            "store.toml",
            concat!(
                "[experiment]\nname = \"fuzz\"\nseed = 1\n\n",
                "[data]\npath = \"store.csv\"\ntime = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\n\n",
                "[evaluation]\nhorizon = 2\nfolds = 2\nstep = 1\nmin_train = 3\nmetrics = [\"mae\", \"mase\"]\nbootstrap = 20\n\n",
                "[[models]]\nname = \"naive\"\nfamily = \"naive\"\n\n",
                "[[models]]\nname = \"drift\"\nfamily = \"drift\"\n",
            )
            .as_bytes(),
        );
        let prepared = trendlab_results::prepare(&spec).expect("the fuzz store's spec and data are valid");
        let plan = Plan::new(&prepared);
        let store = RunStore::new(&trendlab_fuzz::scratch().join("out"), &plan.experiment);
        let mut written = Vec::new();
        for (k, run) in plan.runs.iter().enumerate() {
            let config = &plan.configs[run.config];
            let fold = plan.fold_of(run);
            let record = RunRecord {
                run_id: run.id.clone(),
                experiment: plan.experiment.clone(),
                model: config.model.clone(),
                family: config.family.name().to_string(),
                params: config.params(),
                grid_values: config.grid_values.clone(),
                fold: run.fold,
                role: run.role,
                cutoff: fold.cutoff,
                horizon: 2,
                series: 2,
                status: RunStatus::Finished,
                error: None,
                seed: 1,
                trendlab_version: "fuzz".into(),
                spec_hash: prepared.experiment.spec_hash.clone(),
                data_fingerprint: prepared.panel.fingerprint.clone(),
                started_at: "2024-01-01T00:00:00Z".into(),
                fit_seconds: 0.0,
                total_seconds: 0.0,
                failed_series: Vec::new(),
                fallback_series: Vec::new(),
                chosen: Default::default(),
                training: None,
                ensemble: None,
                importance: Vec::new(),
            };
            let mut metrics = MetricsFile::default();
            let mut table = ForecastTable::default();
            for (s, id) in ["a", "b"].into_iter().enumerate() {
                let error = 1.0 + (k + s) as f64;
                metrics
                    .per_series
                    .insert(id.into(), [("mae".into(), error), ("mase".into(), error / 2.0)].into());
                for step in 1..=2 {
                    table.rows.push(ForecastRow {
                        series_id: id.into(),
                        fold: run.fold,
                        cutoff: fold.cutoff,
                        date: fold.cutoff + chrono::Days::new(step as u64),
                        step,
                        actual: 3.0,
                        forecast: 3.0 + error,
                        bounds: Vec::new(),
                    });
                }
            }
            metrics.aggregate = [("mae".into(), 1.5 + k as f64), ("mase".into(), 0.75 + k as f64 / 2.0)].into();
            store
                .save_finished(&record, &metrics, &table)
                .expect("a writable scratch folder");
            let dir = store.run_dir(&run.id);
            written.push(
                FILES
                    .iter()
                    .map(|f| std::fs::read(dir.join(f)).expect("just written"))
                    .collect(),
            );
        }
        Store {
            prepared,
            plan,
            store,
            written,
        }
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&choice, content)) = bytes.split_first() else {
        return;
    };
    let s = store();
    let run = usize::from(choice >> 2) % s.plan.runs.len();
    let file = usize::from(choice % 4);
    let path = s.store.run_dir(&s.plan.runs[run].id).join(FILES[file]);
    std::fs::write(&path, content).expect("a writable scratch folder");
    // What a rerun checks of the run (health reads every file of it), then
    // what `report` and `export` read of the whole store.
    let _ = s.store.health(&s.plan.runs[run].id);
    let _ = Leaderboard::assemble(&s.prepared, &s.plan, Source::Store(&s.store));
    std::fs::write(&path, &s.written[run][file]).expect("a writable scratch folder");
});
