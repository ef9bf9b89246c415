//! The spec: TOML text → a validated experiment, then its grid expanded
//! into configurations and their run-id parameters (what `plan` does
//! before it looks at the data).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let file = trendlab_fuzz::scratch().join("spec.toml");
    if let Ok(experiment) = trendlab_spec::Experiment::from_text(Path::new(&file), text) {
        let _ = experiment.scores();
        let _ = experiment.min_train();
        for config in experiment.configs() {
            let _ = config.family.hashed_params();
            let _ = config.label();
        }
    }
});
