//! `forecast --future FILE`: the input is the file of the forecast dates'
//! covariates and events, read against a panel whose events were encoded
//! from its data (`event=Easter`, `event=Sale`, a numeric `snap`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trendlab_results::Prepared;

fn prepared() -> &'static Prepared {
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let mut rows = String::from("date,id,y,price,event,snap,store\n");
        for day in 1..=12 {
            let event = ["", "Sale", "Easter"][day % 3];
            rows.push_str(&format!("2024-01-{day:02},a,{day},1.5,{event},{},S1\n", day % 2));
            rows.push_str(&format!("2024-01-{day:02},b,{},2.5,{event},0,S2\n", 12 - day));
        }
        trendlab_fuzz::write("panel.csv", rows.as_bytes());
        let spec = trendlab_fuzz::spec(
            "future.toml",
            "panel.csv",
            "time = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\ncovariates = [\"price\"]\nevents = [\"event\", \"snap\"]\nstatic = [\"store\"]",
            "[features]\nlags = [1]\nfuture = [\"price\"]",
        );
        trendlab_results::prepare(&spec).expect("the fuzz panel's spec and data are valid")
    })
}

fuzz_target!(|bytes: &[u8]| {
    let prepared = prepared();
    let path = trendlab_fuzz::write("future.csv", bytes);
    let _ = trendlab_data::read_future(&prepared.experiment, &path, &prepared.panel.event_covariates);
});
