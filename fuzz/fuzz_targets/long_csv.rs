//! The long-format loader: the input is the data file, read under one of
//! five specs chosen by its first byte (daily; weekly with a covariate,
//! text and a known-in-advance feature; monthly with gaps filled by zero;
//! the same file as a `.csv.gz` archive, damaged or not; daily with an
//! event column and a static one, one-hot encoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

const COLUMNS: &str = "time = \"date\"\nid = \"id\"\ntarget = \"y\"";

fn specs() -> &'static [PathBuf; 5] {
    static SPECS: OnceLock<[PathBuf; 5]> = OnceLock::new();
    SPECS.get_or_init(|| {
        [
            trendlab_fuzz::spec("daily.toml", "data.csv", &format!("{COLUMNS}\nfrequency = \"D\""), ""),
            trendlab_fuzz::spec(
                "weekly.toml",
                "data.csv",
                &format!("{COLUMNS}\nfrequency = \"W-MON\"\ntext = \"desc\"\ncovariates = [\"price\", \"promo\"]"),
                "[features]\nlags = [1]\nrolling = [{ window = 2, stats = [\"mean\", \"std\"] }]\ncalendar = [\"week_of_year\"]\nfuture = [\"promo\"]",
            ),
            trendlab_fuzz::spec(
                "monthly.toml",
                "data.csv",
                &format!("{COLUMNS}\nfrequency = \"MS\"\nfill = \"zero\""),
                "",
            ),
            trendlab_fuzz::spec("gzip.toml", "data.csv.gz", &format!("{COLUMNS}\nfrequency = \"D\""), ""),
            trendlab_fuzz::spec(
                "categorical.toml",
                "data.csv",
                &format!("{COLUMNS}\nfrequency = \"D\"\nevents = [\"event\"]\nstatic = [\"store\"]"),
                "[features]\nlags = [1]",
            ),
        ]
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&choice, data)) = bytes.split_first() else {
        return;
    };
    let spec = &specs()[usize::from(choice % 5)];
    let file = if choice % 5 == 3 { "data.csv.gz" } else { "data.csv" };
    trendlab_fuzz::write(file, data);
    trendlab_fuzz::prepare(spec);
});
