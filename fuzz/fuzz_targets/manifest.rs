//! The work-unit manifest a worker reads (`trendlab work MANIFEST --unit
//! N`): read it, check it against the plan of its spec, and pick units and
//! shards as a worker and the scale-out status do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trendlab_results::{Manifest, Plan, prepare};

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let mut rows = String::from("date,id,y\n");
        for day in 1..=20 {
            rows.push_str(&format!("2024-01-{day:02},a,{day}\n2024-01-{day:02},b,{}\n", 20 - day));
        }
        trendlab_fuzz::write("plan.csv", rows.as_bytes());
        let spec = trendlab_fuzz::spec(
            "plan.toml",
            "plan.csv",
            "time = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"",
            concat!(
                "[[models]]\nname = \"ridge\"\nfamily = \"linear\"\n[models.grid]\nalpha = [0.1, 1.0]\n",
                "[[models]]\nname = \"arima\"\nfamily = \"arima\"\nauto = true\nreuse_order = true\n",
                "[[models]]\nname = \"mix\"\nfamily = \"ensemble\"\nmembers = [\"naive\", \"ridge\", \"arima\"]\nmethod = \"mean\"\n",
                "[features]\nlags = [1]",
            ),
        );
        let prepared = prepare(&spec).expect("the fuzz plan's spec and data are valid");
        Plan::new(&prepared)
    })
}

fuzz_target!(|bytes: &[u8]| {
    let plan = plan();
    let path = trendlab_fuzz::write("manifest.json", bytes);
    let Ok(manifest) = Manifest::read(&path) else {
        return;
    };
    let _ = manifest.spec_path(&path);
    if manifest.check(plan, &path).is_ok() {
        for index in 0..manifest.units.len().min(64) + 1 {
            let _ = manifest.unit(index, &path);
        }
        for shards in 1..4 {
            for shard in 0..shards + 1 {
                let _ = manifest.shard(shard, shards);
            }
        }
    }
});
