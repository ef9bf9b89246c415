"""Golden of the DeepAR network (tests/integration/deepar.rs): neuralforecast
3.3's DeepAR built with small fixed hyperparameters and seeded random
weights (no training, nothing downloaded), its state_dict saved as
safetensors (deepar_weights.safetensors) and, in deepar_forward.json, a few
input windows with their scaling statistics, the network's raw outputs at
the last period (`DeepAR.forward` with h = 1, as it trains by default), the
distribution parameters after `scale_decouple`, and the mean negative
log-likelihood of a target per window (`DistributionLoss`). One case per
likelihood with a parameterisation trendlab shares: normal, Student's t,
negative binomial. (Tweedie is left out on purpose: trendlab's departs, see
framework/neural/src/deepar/likelihood.rs.)

Run: python3 -m venv /tmp/nf && /tmp/nf/bin/pip install neuralforecast==3.3.0 safetensors
     /tmp/nf/bin/python tests/goldens/make_deepar.py
"""

import json
import pathlib

import neuralforecast
import torch
from neuralforecast.losses.pytorch import DistributionLoss
from neuralforecast.models import DeepAR
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).parent
INPUT, HIDDEN, LAYERS = 10, 8, 2


FUTR, STAT = ["f1", "f2"], ["s1"]


def build(distribution, seed, exog=False):
    torch.manual_seed(seed)
    model = DeepAR(
        futr_exog_list=FUTR if exog else None,
        stat_exog_list=STAT if exog else None,
        h=1,
        input_size=INPUT,
        lstm_n_layers=LAYERS,
        lstm_hidden_size=HIDDEN,
        lstm_dropout=0.0,
        decoder_hidden_layers=0,
        loss=DistributionLoss(distribution=distribution, level=[80]),
        random_seed=seed,
    )
    model.eval()
    return model


def main():
    torch.manual_seed(5)
    rows = 4
    # A recurrent window reads input_size + 1 periods.
    windows = torch.randn(rows, INPUT + 1, dtype=torch.float32) + torch.linspace(-1, 1, INPUT + 1)
    loc = torch.tensor([0.0, 2.0, 5.0, 1.5])
    scale = torch.tensor([1.0, 0.5, 3.0, 2.0])
    y = torch.tensor([0.0, 3.0, 7.0, 1.0])
    # Covariates as DeepAR.forward reads them: the known-in-advance ones
    # already shifted (step t reads those of the period it forecasts), the
    # static ones per window.
    futr = torch.randn(rows, INPUT + 1, len(FUTR))
    stat = torch.randn(rows, len(STAT))
    cases = {
        "normal": ("Normal", 21, False),
        "student_t": ("StudentT", 22, False),
        "negative_binomial": ("NegativeBinomial", 23, False),
        "normal_exogenous": ("Normal", 24, True),
    }
    tensors, out = {}, {}
    for name, (distribution, seed, exog) in cases.items():
        model = build(distribution, seed, exog)
        for key, value in model.state_dict().items():
            if key.startswith("hist_encoder.") or key.startswith("decoder."):
                tensors[f"{name}.{key}"] = value.detach().contiguous()
        batch = {
            "insample_y": windows[:, :, None],
            "insample_mask": torch.ones(rows, INPUT + 1, 1),
            "futr_exog": futr if exog else None,
            "hist_exog": None,
            "stat_exog": stat if exog else None,
        }
        with torch.no_grad():
            raw = model(batch)  # [rows, 1, outputs]
            parts = model.loss.domain_map(raw)
            params = model.loss.scale_decouple(
                output=parts, loc=loc[:, None, None], scale=scale[:, None, None]
            )
            nll = model.loss(y=y[:, None, None], distr_args=params, mask=None)
        out[name] = {
            "exogenous": exog,
            "raw": raw[:, 0, :].tolist(),
            "params": [p[:, 0, 0].tolist() for p in params],
            "mean_nll": float(nll),
        }
    save_file(tensors, HERE / "deepar_weights.safetensors")
    golden = {
        "source": f"neuralforecast {neuralforecast.__version__}, torch {torch.__version__}",
        "input_size": INPUT,
        "hidden": HIDDEN,
        "layers": LAYERS,
        "windows": windows.tolist(),
        "futr_exog": futr.tolist(),
        "stat_exog": stat.tolist(),
        "loc": loc.tolist(),
        "scale": scale.tolist(),
        "y": y.tolist(),
        "cases": out,
    }
    (HERE / "deepar_forward.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(sorted(tensors))


if __name__ == "__main__":
    main()
