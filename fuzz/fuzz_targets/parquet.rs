//! The Parquet loader: the input is the data file, read as `data.parquet`
//! under a daily spec with a covariate, an event column and a static one
//! (strings, numbers, dates, timestamps with or without a time zone,
//! dictionary columns, damaged pages and footers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn spec() -> &'static PathBuf {
    static SPEC: OnceLock<PathBuf> = OnceLock::new();
    SPEC.get_or_init(|| {
        trendlab_fuzz::spec(
            "parquet.toml",
            "data.parquet",
            "time = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\ncovariates = [\"price\"]\nevents = [\"event\"]\nstatic = [\"store\"]",
            "[features]\nlags = [1]",
        )
    })
}

fuzz_target!(|bytes: &[u8]| {
    trendlab_fuzz::write("data.parquet", bytes);
    trendlab_fuzz::prepare(spec());
});
