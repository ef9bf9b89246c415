//! A saved model (`forecast --from MODEL_DIR`): the input is its
//! `model.json`, read with its checksum and every field's type checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trendlab_results::saved_model::SavedModel;

fuzz_target!(|bytes: &[u8]| {
    let path = trendlab_fuzz::write("model/model.json", bytes);
    let _ = SavedModel::read(path.parent().expect("a folder"));
});
