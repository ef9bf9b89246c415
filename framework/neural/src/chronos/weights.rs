//! A Chronos-Bolt checkpoint's `model.safetensors` read into host vectors,
//! every tensor checked by name, type and shape against the configuration.
//! The file is read tensor by tensor (its header, then each tensor's bytes),
//! so memory holds the weights once, not the file beside them. Linear
//! weights are stored transposed, `[in, out]`, for the row-major products.

use super::config::BoltConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A tensor that is missing, of the wrong shape or unreadable.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WeightsError {
    pub path: PathBuf,
    pub message: String,
}

/// A dense layer: `w [in, out]` and its bias (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Option<Vec<f32>>,
}

/// Chronos-Bolt's residual block: `W_o relu(W_h x + b_h) + b_o + W_r x + b_r`.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    pub hidden: Linear,
    pub output: Linear,
    pub residual: Linear,
}

/// One T5 encoder block.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderLayer {
    pub attention_norm: Vec<f32>,
    /// Queries, keys and values side by side: `[d_model, 3 · inner]`.
    pub qkv: Linear,
    pub out: Linear,
    pub ff_norm: Vec<f32>,
    pub wi: Linear,
    pub wo: Linear,
}

/// One T5 decoder block, for a decoder that reads one token: its
/// self-attention over that token alone is the value projection, so the
/// query and key weights (checked on loading) are not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderLayer {
    pub self_norm: Vec<f32>,
    pub self_value: Linear,
    pub self_out: Linear,
    pub cross_norm: Vec<f32>,
    pub cross_query: Linear,
    /// Keys and values side by side: `[d_model, 2 · inner]`.
    pub cross_kv: Linear,
    pub cross_out: Linear,
    pub ff_norm: Vec<f32>,
    pub wi: Linear,
    pub wo: Linear,
}

/// A tensor kept as read (torch's layout), for writing the checkpoint back.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every weight of a Chronos-Bolt model.
#[derive(Debug, Clone, PartialEq)]
pub struct BoltWeights {
    /// `[vocab, d_model]`: the decoder's start token, then `[REG]`.
    pub shared: Vec<f32>,
    pub input: Residual,
    pub encoder: Vec<EncoderLayer>,
    /// The encoder's relative position bias `[buckets, heads]`.
    pub position_bias: Vec<f32>,
    pub encoder_norm: Vec<f32>,
    pub decoder: Vec<DecoderLayer>,
    pub decoder_norm: Vec<f32>,
    pub output: Residual,
    /// What a one-token decoder never reads (its self-attention's queries,
    /// keys and position bias), kept to write the checkpoint whole.
    pub unused: Vec<RawTensor>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// The safetensors file being read: its header, and the file.
struct Tensors {
    path: PathBuf,
    file: File,
    /// Where the tensor data starts in the file.
    data_start: u64,
    entries: BTreeMap<String, Entry>,
}

impl Tensors {
    fn open(path: &Path) -> Result<Self, WeightsError> {
        let fail = |message: String| WeightsError {
            path: path.to_path_buf(),
            message,
        };
        let mut file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let size = file.metadata().map_err(|e| fail(e.to_string()))?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len)
            .map_err(|_| fail("truncated: shorter than a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(len);
        if header_len > size.saturating_sub(8) || header_len > 100 << 20 {
            return Err(fail(format!(
                "not a safetensors file or truncated: its header claims {header_len} bytes of {size}"
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| fail(format!("cannot read the header: {e}")))?;
        let mut raw: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| fail(format!("malformed safetensors header: {e}")))?;
        raw.remove("__metadata__");
        let data_start = 8 + header_len;
        let mut entries = BTreeMap::new();
        for (name, value) in raw {
            let entry: Entry =
                serde_json::from_value(value).map_err(|e| fail(format!("malformed header entry `{name}`: {e}")))?;
            let [start, end] = entry.data_offsets;
            if start > end || data_start + end as u64 > size {
                return Err(fail(format!(
                    "truncated: tensor `{name}` lies at bytes {start}..{end} of the data, past the file's end"
                )));
            }
            entries.insert(name, entry);
        }
        Ok(Tensors {
            path: path.to_path_buf(),
            file,
            data_start,
            entries,
        })
    }

    fn fail(&self, message: String) -> WeightsError {
        WeightsError {
            path: self.path.clone(),
            message,
        }
    }

    /// The tensor `name` as f32, which must have `shape`.
    fn read(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, WeightsError> {
        let Some(entry) = self.entries.get(name) else {
            return Err(self.fail(format!("tensor `{name}` is missing (expected shape {shape:?})")));
        };
        if entry.shape != shape {
            return Err(self.fail(format!(
                "tensor `{name}` has shape {:?}; this config.json needs {shape:?}",
                entry.shape
            )));
        }
        let count: usize = shape.iter().product();
        let width = match entry.dtype.as_str() {
            "F32" => 4,
            "BF16" | "F16" => 2,
            other => return Err(self.fail(format!("tensor `{name}` is {other} (supported: F32, BF16, F16)"))),
        };
        let [start, end] = entry.data_offsets;
        if end - start != count * width {
            return Err(self.fail(format!(
                "tensor `{name}` holds {} bytes for {count} {} values",
                end - start,
                entry.dtype
            )));
        }
        let dtype = entry.dtype.clone();
        let mut bytes = vec![0u8; end - start];
        let offset = self.data_start + start as u64;
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| self.fail(format!("cannot read tensor `{name}`: {e}")))?;
        Ok(match dtype.as_str() {
            "F32" => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            "BF16" => bytes
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        })
    }

    /// A torch `Linear` (`weight [out, in]`, optional `bias [out]`), stored
    /// transposed.
    fn linear(&mut self, prefix: &str, inputs: usize, outputs: usize, bias: bool) -> Result<Linear, WeightsError> {
        let torch = self.read(&format!("{prefix}.weight"), &[outputs, inputs])?;
        let b = match bias {
            true => Some(self.read(&format!("{prefix}.bias"), &[outputs])?),
            false => None,
        };
        Ok(Linear {
            inputs,
            outputs,
            w: transpose(&torch, outputs, inputs),
            b,
        })
    }

    fn residual(
        &mut self,
        prefix: &str,
        inputs: usize,
        hidden: usize,
        outputs: usize,
    ) -> Result<Residual, WeightsError> {
        Ok(Residual {
            hidden: self.linear(&format!("{prefix}.hidden_layer"), inputs, hidden, true)?,
            output: self.linear(&format!("{prefix}.output_layer"), hidden, outputs, true)?,
            residual: self.linear(&format!("{prefix}.residual_layer"), inputs, outputs, true)?,
        })
    }

    /// Linear layers of the same input side by side, as one.
    fn joined(&mut self, prefixes: &[String], inputs: usize, outputs: usize) -> Result<Linear, WeightsError> {
        let parts = prefixes
            .iter()
            .map(|p| self.linear(p, inputs, outputs, false))
            .collect::<Result<Vec<_>, _>>()?;
        let width = outputs * parts.len();
        let mut w = vec![0.0; inputs * width];
        for (k, part) in parts.iter().enumerate() {
            for r in 0..inputs {
                w[r * width + k * outputs..][..outputs].copy_from_slice(&part.w[r * outputs..][..outputs]);
            }
        }
        Ok(Linear {
            inputs,
            outputs: width,
            w,
            b: None,
        })
    }
}

fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// IEEE half precision to single.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Writes `tensors` (name, shape, values in torch's layout) as a
/// safetensors file of F32 tensors at `path`.
fn write_safetensors(path: &Path, tensors: &[RawTensor]) -> std::io::Result<()> {
    use std::io::Write;
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for t in tensors {
        let bytes = t.values.len() * 4;
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut header = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    // The data starts 8-byte aligned, as the reference writer pads it.
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut file = std::io::BufWriter::new(File::create(path)?);
    file.write_all(&(header.len() as u64).to_le_bytes())?;
    file.write_all(&header)?;
    for t in tensors {
        for v in &t.values {
            file.write_all(&v.to_le_bytes())?;
        }
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()
}

impl Linear {
    /// Torch's `weight [out, in]` of columns `from..from + count` (one part
    /// of a joined layer).
    fn torch(&self, from: usize, count: usize) -> Vec<f32> {
        let mut out = vec![0.0; count * self.inputs];
        for r in 0..self.inputs {
            for c in 0..count {
                out[c * self.inputs + r] = self.w[r * self.outputs + from + c];
            }
        }
        out
    }
}

impl BoltWeights {
    /// Every tensor as the reference names and lays it out.
    pub fn tensors(&self, config: &BoltConfig) -> Vec<RawTensor> {
        let d = config.d_model;
        let inner = config.inner();
        let mut out = Vec::new();
        let mut push = |name: String, shape: Vec<usize>, values: Vec<f32>| out.push(RawTensor { name, shape, values });
        push(
            "shared.weight".into(),
            vec![self.shared.len() / d, d],
            self.shared.clone(),
        );
        for (prefix, r) in [
            ("input_patch_embedding", &self.input),
            ("output_patch_embedding", &self.output),
        ] {
            for (part, l) in [
                ("hidden_layer", &r.hidden),
                ("output_layer", &r.output),
                ("residual_layer", &r.residual),
            ] {
                push(
                    format!("{prefix}.{part}.weight"),
                    vec![l.outputs, l.inputs],
                    l.torch(0, l.outputs),
                );
                if let Some(b) = &l.b {
                    push(format!("{prefix}.{part}.bias"), vec![l.outputs], b.clone());
                }
            }
        }
        let part =
            |name: String, l: &Linear, k: usize, count: usize| (name, vec![count, l.inputs], l.torch(k * count, count));
        let mut parts = Vec::new();
        for (i, l) in self.encoder.iter().enumerate() {
            let p = format!("encoder.block.{i}.layer");
            parts.push((format!("{p}.0.layer_norm.weight"), vec![d], l.attention_norm.clone()));
            for (k, name) in ["q", "k", "v"].iter().enumerate() {
                parts.push(part(format!("{p}.0.SelfAttention.{name}.weight"), &l.qkv, k, inner));
            }
            parts.push(part(format!("{p}.0.SelfAttention.o.weight"), &l.out, 0, d));
            parts.push((format!("{p}.1.layer_norm.weight"), vec![d], l.ff_norm.clone()));
            parts.push(part(format!("{p}.1.DenseReluDense.wi.weight"), &l.wi, 0, l.wi.outputs));
            parts.push(part(format!("{p}.1.DenseReluDense.wo.weight"), &l.wo, 0, d));
        }
        let heads = config.num_heads;
        parts.push((
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight".into(),
            vec![self.position_bias.len() / heads, heads],
            self.position_bias.clone(),
        ));
        parts.push((
            "encoder.final_layer_norm.weight".into(),
            vec![d],
            self.encoder_norm.clone(),
        ));
        for (i, l) in self.decoder.iter().enumerate() {
            let p = format!("decoder.block.{i}.layer");
            parts.push((format!("{p}.0.layer_norm.weight"), vec![d], l.self_norm.clone()));
            parts.push(part(format!("{p}.0.SelfAttention.v.weight"), &l.self_value, 0, inner));
            parts.push(part(format!("{p}.0.SelfAttention.o.weight"), &l.self_out, 0, d));
            parts.push((format!("{p}.1.layer_norm.weight"), vec![d], l.cross_norm.clone()));
            parts.push(part(
                format!("{p}.1.EncDecAttention.q.weight"),
                &l.cross_query,
                0,
                inner,
            ));
            parts.push(part(format!("{p}.1.EncDecAttention.k.weight"), &l.cross_kv, 0, inner));
            parts.push(part(format!("{p}.1.EncDecAttention.v.weight"), &l.cross_kv, 1, inner));
            parts.push(part(format!("{p}.1.EncDecAttention.o.weight"), &l.cross_out, 0, d));
            parts.push((format!("{p}.2.layer_norm.weight"), vec![d], l.ff_norm.clone()));
            parts.push(part(format!("{p}.2.DenseReluDense.wi.weight"), &l.wi, 0, l.wi.outputs));
            parts.push(part(format!("{p}.2.DenseReluDense.wo.weight"), &l.wo, 0, d));
        }
        parts.push((
            "decoder.final_layer_norm.weight".into(),
            vec![d],
            self.decoder_norm.clone(),
        ));
        for (name, shape, values) in parts {
            push(name, shape, values);
        }
        out.extend(self.unused.iter().cloned());
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Writes the weights as a Chronos-Bolt checkpoint directory `dir`
    /// (`config.json` from `config_json`, the checkpoint's own text).
    pub fn write_checkpoint(&self, config: &BoltConfig, config_json: &str, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("config.json"), config_json)?;
        write_safetensors(&dir.join("model.safetensors"), &self.tensors(config))
    }

    /// Every tensor by a name of its own, flattened (the joined layers as
    /// stored here), for comparing two sets of weights.
    pub fn flat(&self) -> Vec<(String, Vec<f32>)> {
        let mut out = vec![("shared".to_string(), self.shared.clone())];
        let mut linear = |name: String, l: &Linear| {
            out.push((format!("{name}.w"), l.w.clone()));
            if let Some(b) = &l.b {
                out.push((format!("{name}.b"), b.clone()));
            }
        };
        for (name, r) in [("input", &self.input), ("output", &self.output)] {
            linear(format!("{name}.hidden"), &r.hidden);
            linear(format!("{name}.output"), &r.output);
            linear(format!("{name}.residual"), &r.residual);
        }
        for (i, l) in self.encoder.iter().enumerate() {
            for (part, w) in [("qkv", &l.qkv), ("out", &l.out), ("wi", &l.wi), ("wo", &l.wo)] {
                linear(format!("encoder.{i}.{part}"), w);
            }
        }
        for (i, l) in self.decoder.iter().enumerate() {
            let parts = [
                ("self_value", &l.self_value),
                ("self_out", &l.self_out),
                ("cross_query", &l.cross_query),
                ("cross_kv", &l.cross_kv),
                ("cross_out", &l.cross_out),
                ("wi", &l.wi),
                ("wo", &l.wo),
            ];
            for (part, w) in parts {
                linear(format!("decoder.{i}.{part}"), w);
            }
        }
        for (i, l) in self.encoder.iter().enumerate() {
            out.push((format!("encoder.{i}.attention_norm"), l.attention_norm.clone()));
            out.push((format!("encoder.{i}.ff_norm"), l.ff_norm.clone()));
        }
        for (i, l) in self.decoder.iter().enumerate() {
            for (part, w) in [
                ("self_norm", &l.self_norm),
                ("cross_norm", &l.cross_norm),
                ("ff_norm", &l.ff_norm),
            ] {
                out.push((format!("decoder.{i}.{part}"), w.clone()));
            }
        }
        out.push(("position_bias".into(), self.position_bias.clone()));
        out.push(("encoder_norm".into(), self.encoder_norm.clone()));
        out.push(("decoder_norm".into(), self.decoder_norm.clone()));
        out.extend(self.unused.iter().map(|t| (t.name.clone(), t.values.clone())));
        out
    }

    /// Reads `path` for a model of `config` (checked by
    /// [`BoltConfig::unsupported`] first).
    pub fn read(path: &Path, config: &BoltConfig) -> Result<Self, WeightsError> {
        let mut t = Tensors::open(path)?;
        let c = config.chronos();
        let (d, ff, inner, heads) = (config.d_model, config.d_ff, config.inner(), config.num_heads);
        let buckets = config.relative_attention_num_buckets;
        let shared = t.read("shared.weight", &[config.vocab(), d])?;
        let input = t.residual("input_patch_embedding", 2 * c.input_patch_size, ff, d)?;
        let output = t.residual("output_patch_embedding", d, ff, c.quantiles.len() * c.prediction_length)?;
        let mut encoder = Vec::new();
        for i in 0..config.num_layers {
            let p = format!("encoder.block.{i}.layer");
            let a = format!("{p}.0.SelfAttention");
            encoder.push(EncoderLayer {
                attention_norm: t.read(&format!("{p}.0.layer_norm.weight"), &[d])?,
                qkv: t.joined(&[format!("{a}.q"), format!("{a}.k"), format!("{a}.v")], d, inner)?,
                out: t.linear(&format!("{a}.o"), inner, d, false)?,
                ff_norm: t.read(&format!("{p}.1.layer_norm.weight"), &[d])?,
                wi: t.linear(&format!("{p}.1.DenseReluDense.wi"), d, ff, false)?,
                wo: t.linear(&format!("{p}.1.DenseReluDense.wo"), ff, d, false)?,
            });
        }
        let position_bias = t.read(
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            &[buckets, heads],
        )?;
        let encoder_norm = t.read("encoder.final_layer_norm.weight", &[d])?;
        // The decoder's own position bias: unused by one token.
        let mut unused = Vec::new();
        let mut keep = |t: &mut Tensors, name: String, shape: Vec<usize>| -> Result<(), WeightsError> {
            let values = t.read(&name, &shape)?;
            unused.push(RawTensor { name, shape, values });
            Ok(())
        };
        keep(
            &mut t,
            "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight".into(),
            vec![buckets, heads],
        )?;
        let mut decoder = Vec::new();
        for i in 0..config.decoder_layers() {
            let p = format!("decoder.block.{i}.layer");
            let a = format!("{p}.0.SelfAttention");
            let x = format!("{p}.1.EncDecAttention");
            for part in ["q", "k"] {
                keep(&mut t, format!("{a}.{part}.weight"), vec![inner, d])?;
            }
            decoder.push(DecoderLayer {
                self_norm: t.read(&format!("{p}.0.layer_norm.weight"), &[d])?,
                self_value: t.linear(&format!("{a}.v"), d, inner, false)?,
                self_out: t.linear(&format!("{a}.o"), inner, d, false)?,
                cross_norm: t.read(&format!("{p}.1.layer_norm.weight"), &[d])?,
                cross_query: t.linear(&format!("{x}.q"), d, inner, false)?,
                cross_kv: t.joined(&[format!("{x}.k"), format!("{x}.v")], d, inner)?,
                cross_out: t.linear(&format!("{x}.o"), inner, d, false)?,
                ff_norm: t.read(&format!("{p}.2.layer_norm.weight"), &[d])?,
                wi: t.linear(&format!("{p}.2.DenseReluDense.wi"), d, ff, false)?,
                wo: t.linear(&format!("{p}.2.DenseReluDense.wo"), ff, d, false)?,
            });
        }
        let decoder_norm = t.read("decoder.final_layer_norm.weight", &[d])?;
        Ok(BoltWeights {
            shared,
            input,
            encoder,
            position_bias,
            encoder_norm,
            decoder,
            decoder_norm,
            output,
            unused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
