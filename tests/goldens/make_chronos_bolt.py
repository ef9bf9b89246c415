"""Goldens of the Chronos-Bolt forecaster (tests/integration/chronos.rs), made
with the reference's own PyPI package, chronos-forecasting 2.3.0 (transformers 5,
torch 2.9, float32). Nothing is downloaded:

  - chronos_bolt_golden/: a Chronos-Bolt model built from a small T5 config
    with seeded random weights (`ChronosBoltModelForForecasting`), saved by
    `save_pretrained` (config.json + model.safetensors), the directory layout
    of the published checkpoints;
  - chronos_bolt_forecast.json: `ChronosBoltPipeline.predict` of that model
    for bundled series (M5 sample: longer than the model's 512-period context;
    Online Retail weekly: shorter, 52 weeks; a context of 300 (not a multiple
    of the patch), one shorter than a patch, one with missing values), as one
    left-padded batch, for a horizon of 40: longer than the model's
    prediction length of 16, so the pipeline's extension of every quantile
    path runs twice. Forecasts are `[series, quantile, step]`.
    Also the T5 relative-position buckets of the encoder (bidirectional) and
    decoder for relative positions -300..300, as torch computes them in
    float32.
  - chronos_bolt_tuned/ and chronos_bolt_finetune.json: that model
    fine-tuned by three AdamW steps (torch.optim.AdamW: lr 1e-3, weight
    decay 0.01, betas 0.9/0.999, eps 1e-8) on one batch of six windows cut
    from the bundled series (contexts of different lengths, one with missing
    values; targets of 12 periods, one with a missing value), on the model's
    own quantile loss (`ChronosBoltModelForForecasting.forward` with a
    target), dropout off (evaluation mode, so the gradients are
    deterministic); the windows, the loss before each step, the tuned
    weights (saved by `save_pretrained`) and the tuned pipeline's forecasts
    of the golden series.
  - chronos_bolt_layouts.json: for the published configurations of
    Chronos-Bolt tiny, mini, small and base (config.json as the model
    directories amazon/chronos-bolt-{size} hold it), the name and shape of
    every tensor `save_pretrained` writes, read back from a model built from
    that configuration (random weights, not kept).

Run: python3 -m venv /tmp/chronos && /tmp/chronos/bin/pip install chronos-forecasting==2.3.0
     /tmp/chronos/bin/python tests/goldens/make_chronos_bolt.py
"""

import csv
import gzip
import json
import pathlib
import tempfile
from collections import defaultdict

import chronos
import torch
import transformers
from chronos.chronos_bolt import ChronosBoltModelForForecasting, ChronosBoltPipeline
from safetensors import safe_open
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5Attention

HERE = pathlib.Path(__file__).parent
DATASETS = HERE.parent.parent / "datasets"
QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
HORIZON = 40


def config(d_model, d_ff, layers, heads, d_kv, context, prediction, initializer_factor):
    return T5Config(
        architectures=["ChronosBoltModelForForecasting"],
        d_model=d_model,
        d_ff=d_ff,
        d_kv=d_kv,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=heads,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="relu",
        initializer_factor=initializer_factor,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        vocab_size=2,
        chronos_pipeline_class="ChronosBoltPipeline",
        chronos_config={
            "context_length": context,
            "prediction_length": prediction,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "quantiles": QUANTILES,
            "use_reg_token": True,
        },
    )


# The published sizes (amazon/chronos-bolt-{tiny,mini,small,base}): T5
# efficient-{tiny,mini,small,base} widths, 2048-period context, 64 steps.
PUBLISHED = {
    "tiny": dict(d_model=256, d_ff=1024, layers=4, heads=4, d_kv=64),
    "mini": dict(d_model=384, d_ff=1536, layers=4, heads=8, d_kv=64),
    "small": dict(d_model=512, d_ff=2048, layers=6, heads=8, d_kv=64),
    "base": dict(d_model=768, d_ff=3072, layers=12, heads=12, d_kv=64),
}


def series():
    """Named contexts from the bundled data."""
    m5 = defaultdict(list)
    with gzip.open(DATASETS / "m5_sample50_daily.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            m5[row["series_id"]].append(float(row["value"]))
    retail = defaultdict(list)
    with open(DATASETS / "online_retail_weekly.csv") as f:
        for row in csv.DictReader(f):
            retail[row["stock_code"]].append(float(row["quantity"]))
    out = {}
    for name in sorted(m5)[:3]:
        out[f"m5:{name}"] = m5[name]
    for name in sorted(retail)[:3]:
        out[f"retail:{name}"] = retail[name]
    first = sorted(m5)[3]
    out[f"m5:{first}:last300"] = m5[first][-300:]
    out[f"m5:{first}:last10"] = m5[first][-10:]
    gappy = list(retail[sorted(retail)[3]])
    for i in (5, 6, 7, 30):
        gappy[i] = float("nan")
    out[f"retail:{sorted(retail)[3]}:gaps"] = gappy
    return out


def buckets():
    positions = torch.arange(-300, 301)
    return {
        "relative_positions": positions.tolist(),
        "encoder": T5Attention._relative_position_bucket(positions, True, 32, 128).tolist(),
        "decoder": T5Attention._relative_position_bucket(positions, False, 32, 128).tolist(),
    }


def forecast_golden():
    torch.manual_seed(7)
    model = ChronosBoltModelForForecasting(
        config(d_model=64, d_ff=128, layers=2, heads=4, d_kv=16, context=512, prediction=16, initializer_factor=1.0)
    )
    model.eval()
    directory = HERE / "chronos_bolt_golden"
    model.save_pretrained(directory)
    pipeline = ChronosBoltPipeline.from_pretrained(directory)
    named = series()
    contexts = [torch.tensor(v, dtype=torch.float32) for v in named.values()]
    predictions = pipeline.predict(contexts, prediction_length=HORIZON)
    golden = {
        "about": "chronos-forecasting 2.3.0 ChronosBoltPipeline.predict, random weights (seed 7); see make_chronos_bolt.py",
        "versions": {
            "chronos-forecasting": "2.3.0",
            "transformers": transformers.__version__,
            "torch": torch.__version__.split("+")[0],
        },
        "checkpoint": directory.name,
        "horizon": HORIZON,
        "quantiles": QUANTILES,
        "series": [
            {"name": name, "context": [None if v != v else v for v in values], "forecast": p.tolist()}
            for (name, values), p in zip(named.items(), predictions)
        ],
        "buckets": buckets(),
    }
    (HERE / "chronos_bolt_forecast.json").write_text(json.dumps(golden) + "\n")


FINETUNE_STEPS, FINETUNE_LR, TARGET = 3, 1e-3, 12


def finetune_golden():
    directory = HERE / "chronos_bolt_golden"
    model = ChronosBoltModelForForecasting.from_pretrained(directory)
    model.eval()
    named = list(series().items())
    windows = []
    for k, (name, values) in enumerate(named[:6]):
        cut = len(values) - TARGET - 3 * k
        context, target = values[:cut], values[cut : cut + TARGET]
        if k == 2:
            target[4] = float("nan")
        windows.append({"name": name, "context": context, "target": target})
    contexts = [torch.tensor(w["context"], dtype=torch.float32) for w in windows]
    batch = torch.stack(
        [torch.cat([torch.full((max(len(c) for c in contexts) - len(c),), float("nan")), c]) for c in contexts]
    )
    targets = torch.tensor([w["target"] for w in windows], dtype=torch.float32)
    optimiser = torch.optim.AdamW(model.parameters(), lr=FINETUNE_LR, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(FINETUNE_STEPS):
        optimiser.zero_grad()
        loss = model(context=batch, target=targets).loss
        losses.append(loss.item())
        loss.backward()
        optimiser.step()
    tuned = HERE / "chronos_bolt_tuned"
    model.save_pretrained(tuned)
    pipeline = ChronosBoltPipeline.from_pretrained(tuned)
    forecasts = pipeline.predict([torch.tensor(v, dtype=torch.float32) for _, v in named], prediction_length=20)
    nan = lambda values: [None if v != v else v for v in values]  # noqa: E731
    golden = {
        "about": "three AdamW steps on chronos_bolt_golden with its own quantile loss; see make_chronos_bolt.py",
        "steps": FINETUNE_STEPS,
        "lr": FINETUNE_LR,
        "weight_decay": 0.01,
        "windows": [{**w, "context": nan(w["context"]), "target": nan(w["target"])} for w in windows],
        "losses": losses,
        "checkpoint": tuned.name,
        "horizon": 20,
        "forecasts": [{"name": name, "forecast": f.tolist()} for (name, _), f in zip(named, forecasts)],
    }
    (HERE / "chronos_bolt_finetune.json").write_text(json.dumps(golden) + "\n")


def layouts():
    out = {}
    for size, dims in PUBLISHED.items():
        torch.manual_seed(0)
        model = ChronosBoltModelForForecasting(config(**dims, context=2048, prediction=64, initializer_factor=0.05))
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            written = json.loads((pathlib.Path(tmp) / "config.json").read_text())
            with safe_open(pathlib.Path(tmp) / "model.safetensors", "pt") as f:
                tensors = {k: list(f.get_slice(k).get_shape()) for k in sorted(f.keys())}
        out[size] = {"config": written, "tensors": tensors}
    (HERE / "chronos_bolt_layouts.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    print("chronos-forecasting", chronos.__version__ if hasattr(chronos, "__version__") else "2.3.0")
    forecast_golden()
    finetune_golden()
    layouts()
