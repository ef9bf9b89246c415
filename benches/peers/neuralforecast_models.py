"""neuralforecast's side of benches/neural_vs_neuralforecast.sh.

Runs one neuralforecast 3.3 model through the backtest trendlab folds (rolling origin, 3 windows,
step = horizon, a model trained per window) on one of two setups:
  - m5:     the M5 sample (datasets/m5_sample50_daily.csv.gz), its last 730 days, horizon 28,
            RMSSE scaled by the one-step changes of each fold's training data (M5's scale);
  - retail: Online Retail weekly (datasets/online_retail_weekly.csv), horizon 8, MASE with m = 1.
The hyperparameters are the ones the shell script gives trendlab: input 2 × horizon, MAE loss
(N-HiTS, PatchTST; DeepAR trains by its likelihood), a standard scaler per window, `steps` optimiser steps, no validation and no early stopping, seed 1;
otherwise each model's defaults (trendlab's defaults of these families are neuralforecast's
architecture defaults).

Prints JSON: the model, per series and window its score, the mean over series then windows, the
training seconds (sum over windows, `fit` of each) and seconds per optimiser step.

Usage: python3 neuralforecast_models.py nhits|patchtst|deepar m5|retail STEPS REPO_ROOT [THREADS]
Needs: neuralforecast==3.3.0 (torch, pandas).
"""
import json, logging, sys, time, warnings

import numpy as np
import pandas as pd
import torch

warnings.simplefilter("ignore")
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import NHITS, DeepAR, PatchTST  # noqa: E402

model_name, setup, steps, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
torch.set_num_threads(threads)


def load():
    if setup == "m5":
        df = pd.read_csv(f"{root}/datasets/m5_sample50_daily.csv.gz", parse_dates=["date"])
        df = df.rename(columns={"series_id": "unique_id", "date": "ds", "value": "y"})[["unique_id", "ds", "y"]]
        return df[df.ds > df.ds.max() - pd.Timedelta(days=730)], "D", 28, 2
    df = pd.read_csv(f"{root}/datasets/online_retail_weekly.csv", parse_dates=["week_start"])
    df = df.rename(columns={"stock_code": "unique_id", "week_start": "ds", "quantity": "y"})
    return df[["unique_id", "ds", "y"]], "W-MON", 8, 1


def build(h):
    common = dict(h=h, input_size=2 * h, max_steps=steps, scaler_type="standard", random_seed=1,
                  val_check_steps=steps, early_stop_patience_steps=-1, enable_progress_bar=False,
                  enable_model_summary=False, logger=False, accelerator="cpu")
    if model_name == "nhits":
        return NHITS(**common)
    if model_name == "patchtst":
        return PatchTST(**common)
    if model_name == "deepar":
        # Its default likelihood (Student's t) and 100 trajectories; the
        # first output column is the distribution's mean.
        return DeepAR(**common)
    raise SystemExit(f"unknown model {model_name}")


df, freq, h, power = load()
df["y"] = df["y"].astype("float32")
cutoffs = sorted(df.ds.unique())[-3 * h - 1::h][:3]
rows, fit_seconds = [], 0.0
for cutoff in cutoffs:
    train = df[df.ds <= cutoff]
    test = df[(df.ds > cutoff)]
    model = build(h)
    nf = NeuralForecast(models=[model], freq=freq)
    started = time.perf_counter()
    nf.fit(train)
    fit_seconds += time.perf_counter() - started
    forecast = nf.predict().reset_index()
    column = [c for c in forecast.columns if c not in ("unique_id", "ds", "index")][0]
    for uid, g in train.groupby("unique_id"):
        y = g.sort_values("ds").y.to_numpy(dtype=float)
        actual = test[test.unique_id == uid].sort_values("ds").y.to_numpy(dtype=float)[:h]
        predicted = forecast[forecast.unique_id == uid].sort_values("ds")[column].to_numpy(dtype=float)
        if len(actual) < h or len(predicted) < h or len(y) < 2:
            continue
        scale = np.mean(np.abs(np.diff(y)) ** power)
        if scale == 0:
            continue
        error = np.mean(np.abs(actual - predicted) ** power) / scale
        rows.append({"series": str(uid), "cutoff": str(pd.Timestamp(cutoff).date()),
                     "score": float(error ** (1 / power))})
scores = pd.DataFrame(rows)
mean = scores.groupby("cutoff").score.mean().mean()
print(json.dumps({
    "model": model_name, "setup": setup, "metric": "rmsse" if power == 2 else "mase",
    "mean": round(float(mean), 4), "fit_seconds": round(fit_seconds, 2), "steps": 3 * steps,
    "seconds_per_step": round(fit_seconds / (3 * steps), 5), "threads": threads, "scores": rows,
}))
