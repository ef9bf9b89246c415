"""Golden of the N-HiTS network (tests/integration/nhits.rs): neuralforecast
3.3's NHITS built with small fixed hyperparameters and seeded random weights
(no training, nothing downloaded), its state_dict saved as safetensors
(nhits_weights.safetensors) and, in nhits_forward.json, its configuration,
a few input windows (with a masked period) and the network's forecasts for
them: the forward pass of `NHITS.forward`, before any scaler or loss
mapping. Two configurations: N-HiTS proper (pooling 4, 2, 1; frequency
downsampling 4, 2, 1; linear interpolation), N-BEATS' generic
architecture (pooling 1, downsampling 1: identity interpolation), N-HiTS
with a multi-quantile output (MQLoss: one set of knots per quantile) and
N-HiTS reading covariates: future (known-in-advance, over the input and
forecast periods), historical (input periods only) and static columns.

Run: python3 -m venv /tmp/nf && /tmp/nf/bin/pip install neuralforecast==3.3.0 safetensors
     /tmp/nf/bin/python tests/goldens/make_nhits.py
"""

import json
import pathlib

import neuralforecast
import torch
from neuralforecast.losses.pytorch import MAE, MQLoss
from neuralforecast.models import NHITS
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).parent
H, INPUT = 6, 12
QUANTILES = [0.1, 0.5, 0.9]
FUTR, HIST, STAT = ["f1", "f2"], ["p1"], ["s1", "s2"]


def build(pool, downsample, seed, quantiles=None, exog=False):
    torch.manual_seed(seed)
    model = NHITS(
        loss=MQLoss(quantiles=quantiles) if quantiles else MAE(),
        futr_exog_list=FUTR if exog else None,
        hist_exog_list=HIST if exog else None,
        stat_exog_list=STAT if exog else None,
        h=H,
        input_size=INPUT,
        stack_types=["identity"] * 3,
        n_blocks=[1, 1, 1],
        mlp_units=[[16, 16], [16, 16]],
        n_pool_kernel_size=pool,
        n_freq_downsample=downsample,
        pooling_mode="MaxPool1d",
        interpolation_mode="linear",
        dropout_prob_theta=0.0,
        activation="ReLU",
        random_seed=seed,
    )
    model.eval()
    return model


def main():
    torch.manual_seed(7)
    windows = torch.randn(4, INPUT, dtype=torch.float32) * 2.0 + torch.linspace(0, 3, INPUT)
    mask = torch.ones(4, INPUT)
    mask[1, 2] = 0.0  # a missing period early in the second window
    futr = torch.randn(4, INPUT + H, len(FUTR)) + 1.0
    hist = torch.randn(4, INPUT, len(HIST))
    stat = torch.randn(4, len(STAT))
    configurations = {
        "nhits": ([4, 2, 1], [4, 2, 1], 11, None, False),
        "nbeats_generic": ([1, 1, 1], [1, 1, 1], 12, None, False),
        "nhits_quantiles": ([4, 2, 1], [4, 2, 1], 13, QUANTILES, False),
        "nhits_exogenous": ([4, 2, 1], [4, 2, 1], 14, None, True),
    }
    tensors, cases = {}, {}
    for name, (pool, downsample, seed, quantiles, exog) in configurations.items():
        model = build(pool, downsample, seed, quantiles, exog)
        for key, value in model.state_dict().items():
            if key.startswith("blocks."):
                tensors[f"{name}.{key}"] = value.detach().contiguous()
        batch = {
            "insample_y": windows[:, :, None],
            "insample_mask": mask[:, :, None],
            "futr_exog": futr if exog else None,
            "hist_exog": hist if exog else None,
            "stat_exog": stat if exog else None,
        }
        with torch.no_grad():
            # [B, h, outputs] -> [B, outputs, h]: one row of h per quantile.
            forecast = model(batch).permute(0, 2, 1)
        cases[name] = {
            "pool": pool,
            "downsample": downsample,
            "quantiles": quantiles,
            "exogenous": exog,
            "forecast": forecast.tolist(),
        }
    save_file(tensors, HERE / "nhits_weights.safetensors")
    golden = {
        "source": f"neuralforecast {neuralforecast.__version__}, torch {torch.__version__}",
        "h": H,
        "input_size": INPUT,
        "mlp_units": [[16, 16], [16, 16]],
        "windows": windows.tolist(),
        "mask": mask.tolist(),
        "futr_exog": futr.tolist(),
        "hist_exog": hist.tolist(),
        "stat_exog": stat.tolist(),
        "cases": cases,
    }
    (HERE / "nhits_forward.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
