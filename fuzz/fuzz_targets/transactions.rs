//! The transaction-log loader (`[data.aggregate]`): the input is the log,
//! summed into daily or monthly series (chosen by its first byte), with a
//! text column, the top-N filter and returns dropped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn specs() -> &'static [PathBuf; 2] {
    static SPECS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    let aggregate = |frequency: &str| {
        format!(
            "\n[data.aggregate]\nsum = \"qty\"\nby = \"sku\"\ntime = \"at\"\nfrequency = \"{frequency}\"\ntext = \"desc\"\ntop = 3\npositive_only = true"
        )
    };
    SPECS.get_or_init(|| {
        [
            trendlab_fuzz::spec("log_daily.toml", "log.csv", &aggregate("D"), ""),
            trendlab_fuzz::spec("log_monthly.toml", "log.csv", &aggregate("MS"), ""),
        ]
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&choice, log)) = bytes.split_first() else {
        return;
    };
    trendlab_fuzz::write("log.csv", log);
    trendlab_fuzz::prepare(&specs()[usize::from(choice % 2)]);
});
