"""Golden of the PatchTST network (tests/integration/patchtst.rs): neuralforecast
3.3's PatchTST built with small fixed hyperparameters and seeded random weights
(no training, nothing downloaded), its batch norms given random running
statistics and affine parameters (so that inference uses every one of them),
its state_dict saved as safetensors (patchtst_weights.safetensors, each case's
tensors under its name) and, in patchtst_forward.json, its configuration, a
few input windows and the network's forecasts for them in evaluation mode:
`PatchTST.forward` (RevIN, end padding, patching, the encoder, the flatten
head, RevIN inverted), before any scaler or loss mapping.

Two cases:
  - defaults: RevIN subtracting the last value without affine parameters,
    residual attention, post-norm (neuralforecast's defaults);
  - affine_prenorm: RevIN by the mean with affine parameters, plain attention,
    pre-norm (`batch_normalization=True`), ReLU;
  - quantiles: the defaults with a multi-quantile output (MQLoss: the head
    emits every quantile of every step, step-major).

Forecasts are stored `[window, output, step]` (one row of h per quantile).

Run: python3 -m venv /tmp/nf && /tmp/nf/bin/pip install neuralforecast==3.3.0 safetensors
     /tmp/nf/bin/python tests/goldens/make_patchtst.py
"""

import json
import pathlib

import neuralforecast
import torch
from neuralforecast.losses.pytorch import MQLoss
from neuralforecast.models import PatchTST
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).parent
H, INPUT, PATCH, STRIDE = 6, 16, 4, 2
HIDDEN, HEADS, FF, LAYERS = 8, 2, 12, 2


def build(seed, **options):
    torch.manual_seed(seed)
    model = PatchTST(
        h=H,
        input_size=INPUT,
        patch_len=PATCH,
        stride=STRIDE,
        encoder_layers=LAYERS,
        n_heads=HEADS,
        hidden_size=HIDDEN,
        linear_hidden_size=FF,
        dropout=0.0,
        fc_dropout=0.0,
        head_dropout=0.0,
        attn_dropout=0.0,
        random_seed=seed,
        **options,
    )
    generator = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.3)
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                module.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
        backbone = model.model.backbone
        backbone.W_pos.copy_(torch.randn(backbone.W_pos.shape, generator=generator) * 0.3)
        revin = model.model.revin_layer
        if getattr(revin, "affine", False):
            revin.affine_weight.copy_(torch.tensor([1.3]))
            revin.affine_bias.copy_(torch.tensor([-0.2]))
    model.eval()
    return model


def main():
    torch.manual_seed(7)
    scales = torch.tensor([1.0, 5.0, 0.2, 20.0])[:, None]
    windows = (torch.randn(4, INPUT) + torch.linspace(0, 3, INPUT)) * scales + 10.0
    configurations = {
        "defaults": (21, {}),
        "quantiles": (23, {"loss": MQLoss(quantiles=[0.1, 0.5, 0.9])}),
        "affine_prenorm": (
            22,
            {
                "revin_affine": True,
                "revin_subtract_last": False,
                "res_attention": False,
                "batch_normalization": True,
                "activation": "relu",
            },
        ),
    }
    tensors, cases = {}, {}
    for name, (seed, options) in configurations.items():
        model = build(seed, **options)
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point and not key.startswith(("loss.", "valid_loss.")):
                tensors[f"{name}.{key}"] = value.detach().float().contiguous().reshape(value.shape)
        batch = {
            "insample_y": windows[:, :, None],
            "insample_mask": torch.ones(4, INPUT, 1),
            "futr_exog": None,
            "hist_exog": None,
            "stat_exog": None,
        }
        with torch.no_grad():
            forecast = model(batch).permute(0, 2, 1)
        described = {k: v for k, v in options.items() if k != "loss"}
        if "loss" in options:
            described["quantiles"] = [round(q, 6) for q in options["loss"].quantiles.tolist()]
        cases[name] = {"options": described, "forecast": forecast.tolist()}
    save_file(tensors, HERE / "patchtst_weights.safetensors")
    golden = {
        "source": f"neuralforecast {neuralforecast.__version__}, torch {torch.__version__}",
        "h": H,
        "input_size": INPUT,
        "patch_len": PATCH,
        "stride": STRIDE,
        "hidden_size": HIDDEN,
        "n_heads": HEADS,
        "linear_hidden_size": FF,
        "encoder_layers": LAYERS,
        "windows": windows.tolist(),
        "cases": cases,
    }
    (HERE / "patchtst_forward.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
