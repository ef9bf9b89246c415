//! The LSTM network as a burn [`Module`]: its parameters (what the optimiser
//! updates and the checkpoint records), conversion to and from the flat
//! vector the CPU kernel reads, and the same forward pass on burn tensors for
//! every other device (autodiff gives its gradients there).

use crate::kernel::{Dropout, Shape};
use burn::module::{Module, Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData, activation};

#[derive(Module, Debug)]
pub struct LstmLayer {
    /// `[in, 4H]`, gate blocks i, f, g, o.
    w_ih: Param<Tensor<2>>,
    /// `[H, 4H]`.
    w_hh: Param<Tensor<2>>,
    /// `[4H]`.
    bias: Param<Tensor<1>>,
}

#[derive(Module, Debug)]
pub struct LstmNetwork {
    layers: Vec<LstmLayer>,
    /// `[H + E, out]`.
    head_w: Param<Tensor<2>>,
    /// `[out]`.
    head_b: Param<Tensor<1>>,
    /// The gate on the last hidden state, if the network has one.
    gate: Option<Gate>,
}

/// `σ(u W + b)`, multiplying the last hidden state.
#[derive(Module, Debug)]
pub struct Gate {
    /// `[G, H]`.
    w: Param<Tensor<2>>,
    /// `[H]`.
    b: Param<Tensor<1>>,
}

impl LstmNetwork {
    /// Builds the network from a flat parameter vector (the kernel's layout).
    pub fn from_flat(shape: &Shape, flat: &[f32], device: &Device) -> Self {
        assert_eq!(flat.len(), shape.len(), "flat parameters of the wrong length");
        let mut offset = 0;
        let mut take = |dims: &[usize]| {
            let n: usize = dims.iter().product();
            let data = TensorData::new(flat[offset..offset + n].to_vec(), dims.to_vec());
            offset += n;
            data
        };
        let (h, g) = (shape.hidden, 4 * shape.hidden);
        let layers = (0..shape.layers)
            .map(|l| {
                let inputs = if l == 0 { shape.input } else { h };
                LstmLayer {
                    w_ih: Param::from_tensor(Tensor::from_data(take(&[inputs, g]), device)),
                    w_hh: Param::from_tensor(Tensor::from_data(take(&[h, g]), device)),
                    bias: Param::from_tensor(Tensor::from_data(take(&[g]), device)),
                }
            })
            .collect();
        LstmNetwork {
            layers,
            head_w: Param::from_tensor(Tensor::from_data(take(&[h + shape.extra, shape.outputs]), device)),
            head_b: Param::from_tensor(Tensor::from_data(take(&[shape.outputs]), device)),
            gate: (shape.gate > 0).then(|| Gate {
                w: Param::from_tensor(Tensor::from_data(take(&[shape.gate, h]), device)),
                b: Param::from_tensor(Tensor::from_data(take(&[h]), device)),
            }),
        }
    }

    /// Initial weights as PyTorch draws them: uniform in ±1/√H for the
    /// LSTM, ±1/√fan_in for the head; from `seed` on the host, so every
    /// device starts from the same numbers.
    pub fn init_flat(shape: &Shape, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let head_start = shape.head_offsets()[0];
        let gate_start = shape.gate_offsets()[0];
        let lstm_bound = 1.0 / (shape.hidden as f32).sqrt();
        let head_bound = 1.0 / ((shape.hidden + shape.extra) as f32).sqrt();
        let gate_bound = 1.0 / (shape.gate.max(1) as f32).sqrt();
        (0..shape.len())
            .map(|k| {
                let bound = match k {
                    _ if k < head_start => lstm_bound,
                    _ if k < gate_start => head_bound,
                    _ => gate_bound,
                };
                (rng.next_f32() * 2.0 - 1.0) * bound
            })
            .collect()
    }

    /// The parameters in the kernel's flat layout.
    pub fn to_flat(&self) -> Vec<f32> {
        self.tensors()
            .into_iter()
            .flat_map(|data| data.try_to_vec::<f32>().expect("float parameters"))
            .collect()
    }

    fn tensors(&self) -> Vec<TensorData> {
        let mut out = Vec::new();
        for l in &self.layers {
            out.extend([
                l.w_ih.val().into_data(),
                l.w_hh.val().into_data(),
                l.bias.val().into_data(),
            ]);
        }
        out.extend([self.head_w.val().into_data(), self.head_b.val().into_data()]);
        if let Some(g) = &self.gate {
            out.extend([g.w.val().into_data(), g.b.val().into_data()]);
        }
        out
    }

    /// Parameter ids with their tensor ranks, in flat order.
    pub fn param_ids(&self) -> Vec<(ParamId, usize)> {
        let mut ids = Vec::new();
        for l in &self.layers {
            ids.extend([(l.w_ih.id, 2), (l.w_hh.id, 2), (l.bias.id, 1)]);
        }
        ids.extend([(self.head_w.id, 2), (self.head_b.id, 1)]);
        if let Some(g) = &self.gate {
            ids.extend([(g.w.id, 2), (g.b.id, 1)]);
        }
        ids
    }

    /// Forward pass on burn tensors: `x [T, B, F]` time-major, `extra [B,
    /// E]`, the gate's inputs `gate [B, G]` (ignored without a gate);
    /// returns `[B, out]`. `dropout` masks come from the same generator as
    /// the kernel's, so both paths train the same network.
    pub fn forward(&self, x: Tensor<3>, extra: Tensor<2>, gate: Tensor<2>, dropout: Option<Dropout>) -> Tensor<2> {
        let [steps, rows, _] = x.dims();
        let device = x.device();
        let mut sequence = x;
        let mut last = None;
        for (l, layer) in self.layers.iter().enumerate() {
            let [_, _, inputs] = sequence.dims();
            let hidden = layer.w_hh.dims()[0];
            let projected = sequence
                .reshape([steps * rows, inputs])
                .matmul(layer.w_ih.val())
                .add(layer.bias.val().unsqueeze_dim(0));
            let mut h: Tensor<2> = Tensor::zeros([rows, hidden], &device);
            let mut c: Tensor<2> = Tensor::zeros([rows, hidden], &device);
            let mut outputs = Vec::with_capacity(steps);
            for step in projected.chunk(steps, 0) {
                let gates = step + h.matmul(layer.w_hh.val());
                let [i, f, g, o]: [Tensor<2>; 4] = gates.chunk(4, 1).try_into().expect("four gate blocks");
                let (i, f, g, o) = (
                    activation::sigmoid(i),
                    activation::sigmoid(f),
                    g.tanh(),
                    activation::sigmoid(o),
                );
                c = f * c + i * g;
                h = o * c.clone().tanh();
                outputs.push(h.clone());
            }
            let mut out: Tensor<3> = Tensor::stack(outputs, 0);
            if let Some(d) = dropout.filter(|d| d.rate > 0.0) {
                let mut mask = vec![0.0; steps * rows * hidden];
                d.fill_mask(l, &mut mask);
                out = out * Tensor::from_data(TensorData::new(mask, [steps, rows, hidden]), &device);
            }
            last = Some(out.clone().narrow(0, steps - 1, 1).reshape([rows, hidden]));
            sequence = out;
        }
        let mut last = last.expect("at least one layer");
        if let Some(g) = &self.gate {
            last = last * activation::sigmoid(gate.matmul(g.w.val()).add(g.b.val().unsqueeze_dim(0)));
        }
        Tensor::cat(vec![last, extra], 1)
            .matmul(self.head_w.val())
            .add(self.head_b.val().unsqueeze_dim(0))
    }
}
