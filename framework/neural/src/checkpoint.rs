//! The kept weights of a trained network in its run directory: `lstm.bpk`
//! (burn's burnpack record of the [`LstmNetwork`] module) and `lstm.json`
//! (what rebuilding it and feeding it needs: sizes, inputs, configuration).

use crate::kernel::Shape;
use crate::network::LstmNetwork;
use crate::train::Trained;
use burn::module::Module;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trendlab_spec::LstmConfig;

pub const WEIGHTS: &str = "lstm.bpk";
pub const META: &str = "lstm.json";

/// What a checkpoint's weights mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub config: LstmConfig,
    /// Per-step inputs, in order.
    pub step_inputs: Vec<String>,
    pub horizon: usize,
    pub extra_inputs: usize,
    /// Inputs of the text gate (BERT-fusion with `fusion = "gated"`).
    #[serde(default)]
    pub gate_inputs: usize,
    pub best_epoch: usize,
}

impl Checkpoint {
    pub fn new(config: &LstmConfig, trained: &Trained, step_inputs: &[String], horizon: usize) -> Self {
        Checkpoint {
            config: config.clone(),
            step_inputs: step_inputs.to_vec(),
            horizon,
            extra_inputs: trained.shape.extra,
            gate_inputs: trained.shape.gate,
            best_epoch: trained.best_epoch,
        }
    }

    pub fn shape(&self) -> Shape {
        Shape {
            input: self.step_inputs.len(),
            hidden: self.config.hidden,
            layers: self.config.layers,
            extra: self.extra_inputs,
            outputs: self.horizon,
            gate: self.gate_inputs,
        }
    }
}

/// Saves `network` and `meta` into `dir`; returns the weights' file name.
pub fn save(dir: &Path, network: &LstmNetwork, meta: &Checkpoint) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot save the checkpoint in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let json = serde_json::to_vec_pretty(meta).map_err(|e| fail(&e))?;
    std::fs::write(dir.join(META), json).map_err(|e| fail(&e))?;
    network.clone().save_file(dir.join(WEIGHTS)).map_err(|e| fail(&e))?;
    Ok(WEIGHTS.to_string())
}

/// Loads a checkpoint saved by [`save`] onto `device`.
pub fn load(dir: &Path, device: &burn::tensor::Device) -> Result<(LstmNetwork, Checkpoint), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot load the checkpoint in {}: {e}", dir.display());
    let meta: Checkpoint =
        serde_json::from_slice(&std::fs::read(dir.join(META)).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    let shape = meta.shape();
    let blank = LstmNetwork::from_flat(&shape, &vec![0.0; shape.len()], device);
    let network = blank.try_load_file(dir.join(WEIGHTS)).map_err(|e| fail(&e))?;
    Ok((network, meta))
}

/// The text vectors a network was trained with (BERT-fusion; fine-tuned
/// ones differ from the encoder's): `text_table.f32`, little-endian.
pub const TEXT_TABLE: &str = "text_table.f32";

/// Saves `table` into `dir`.
pub fn save_text_table(dir: &Path, table: &[f32]) -> Result<(), String> {
    let bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join(TEXT_TABLE), bytes)
        .map_err(|e| format!("cannot save the text vectors in {}: {e}", dir.display()))
}

/// Loads the table saved by [`save_text_table`]; it must hold `len` values
/// (one row per distinct text of the data).
pub fn load_text_table(dir: &Path, len: usize) -> Result<Vec<f32>, String> {
    let path = dir.join(TEXT_TABLE);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot load the text vectors {}: {e}", path.display()))?;
    if bytes.len() != 4 * len {
        return Err(format!(
            "{} holds {} text values; this data's texts need {len} (its products changed since the model was saved)",
            path.display(),
            bytes.len() / 4
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
