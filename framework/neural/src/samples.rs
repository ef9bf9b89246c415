//! A fold's windows as the training loop reads them ([`Samples`]): inputs,
//! extra head inputs and targets per window, the series each comes from,
//! and the text vector each reads (a row of a shared table, for
//! BERT-fusion); and the copy of a batch's windows into time-major buffers
//! ([`ShardInput`]) that the kernel and the burn path take.

use crate::kernel::{Batch, Shape};
use crate::train::TrainError;
use std::sync::Arc;

/// Training windows: `x [n, steps, features]` (sample-major), `extra [n,
/// extra]`, `y [n, outputs]`, the series each window comes from, and
/// optionally a text vector per window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub steps: usize,
    pub features: usize,
    pub extra_width: usize,
    pub outputs: usize,
    pub x: Vec<f32>,
    pub extra: Vec<f32>,
    pub y: Vec<f32>,
    /// Index of each window's series in the fold.
    pub series: Vec<u32>,
    pub text: Option<TextInputs>,
}

/// Text vectors of the windows: one table row per distinct text, shared
/// by the windows of every product with that text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextInputs {
    pub into: TextInto,
    pub width: usize,
    /// `[texts, width]`.
    pub table: Arc<Vec<f32>>,
    /// Each window's row in `table`.
    pub rows: Vec<u32>,
}

/// Where text vectors enter the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextInto {
    /// Beside the last hidden state, as extra inputs of the output layer.
    Head,
    /// Through the sigmoid gate on the last hidden state.
    Gate,
}

impl Samples {
    pub fn new(steps: usize, features: usize, extra_width: usize, outputs: usize) -> Self {
        Samples {
            steps,
            features,
            extra_width,
            outputs,
            ..Samples::default()
        }
    }

    pub fn len(&self) -> usize {
        self.y.len() / self.outputs.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    fn text_width(&self, into: TextInto) -> usize {
        self.text.as_ref().filter(|t| t.into == into).map_or(0, |t| t.width)
    }

    /// The network's sizes for these windows.
    pub fn shape(&self, hidden: usize, layers: usize) -> Shape {
        Shape {
            input: self.features,
            hidden,
            layers,
            extra: self.extra_width + self.text_width(TextInto::Head),
            outputs: self.outputs,
            gate: self.text_width(TextInto::Gate),
        }
    }

    /// Reserves room for `n` more windows, failing instead of aborting when
    /// memory runs out.
    pub fn reserve(&mut self, n: usize) -> Result<(), TrainError> {
        let oom = |_| TrainError::OutOfMemory {
            what: format!("{n} training windows"),
            bytes: n.saturating_mul(self.steps * self.features + self.extra_width + self.outputs) * 4,
        };
        self.x
            .try_reserve_exact(n.saturating_mul(self.steps * self.features))
            .map_err(oom)?;
        self.extra
            .try_reserve_exact(n.saturating_mul(self.extra_width))
            .map_err(oom)?;
        self.series.try_reserve_exact(n).map_err(oom)?;
        self.y.try_reserve_exact(n.saturating_mul(self.outputs)).map_err(oom)
    }

    /// Copies the windows `rows` into time-major batch buffers.
    pub(crate) fn gather(&self, rows: &[usize], buffers: &mut ShardInput) {
        let ShardInput { x, extra, y, gate } = buffers;
        let (t, f, o) = (self.steps, self.features, self.outputs);
        x.resize(t * rows.len() * f, 0.0);
        for (b, &r) in rows.iter().enumerate() {
            for s in 0..t {
                let src = (r * t + s) * f;
                let dst = (s * rows.len() + b) * f;
                x[dst..dst + f].copy_from_slice(&self.x[src..src + f]);
            }
        }
        y.clear();
        for &r in rows {
            y.extend_from_slice(&self.y[r * o..(r + 1) * o]);
        }
        self.gather_head_inputs(rows, extra, gate);
    }

    /// Copies the head's extra inputs `[rows, extra (+ text)]` and the
    /// gate's inputs `[rows, gate]` of the windows `rows`.
    pub(crate) fn gather_head_inputs(&self, rows: &[usize], extra: &mut Vec<f32>, gate: &mut Vec<f32>) {
        let e = self.extra_width;
        extra.clear();
        gate.clear();
        for &r in rows {
            extra.extend_from_slice(&self.extra[r * e..(r + 1) * e]);
            if let Some(text) = &self.text {
                let w = text.width;
                let at = text.rows[r] as usize * w;
                let vector = &text.table[at..at + w];
                match text.into {
                    TextInto::Head => extra.extend_from_slice(vector),
                    TextInto::Gate => gate.extend_from_slice(vector),
                }
            }
        }
    }
}

/// A shard's windows, time-major.
#[derive(Default)]
pub(crate) struct ShardInput {
    pub(crate) x: Vec<f32>,
    pub(crate) extra: Vec<f32>,
    pub(crate) y: Vec<f32>,
    pub(crate) gate: Vec<f32>,
}

impl ShardInput {
    /// Copies the windows `rows` of `samples` in and views them as a batch.
    pub(crate) fn load(&mut self, samples: &Samples, rows: &[usize]) -> Batch<'_> {
        samples.gather(rows, self);
        Batch {
            rows: rows.len(),
            steps: samples.steps,
            x: &self.x,
            extra: &self.extra,
            y: &self.y,
            gate: &self.gate,
        }
    }
}
