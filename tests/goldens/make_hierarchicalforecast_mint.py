"""Regenerates hierarchicalforecast_mint.json: hierarchicalforecast 1.x's MinTrace(method="mint_shrink")
and BottomUp on a small hierarchy of real M5 series, for trendlab's `reconcile`.

The hierarchy: six series of datasets/m5_sample50_daily.csv.gz (three of store CA_1, three of
CA_4), the total, the two stores and the three categories (12 nodes, aggregates first). The last
28 days are held out. Base forecasts, incoherent as real ones are: simple exponential smoothing
on every node with its own α (the best of 0.05, 0.10, ..., 0.95 by one-step squared error), the
in-sample residuals its one-step errors. The file holds the summing matrix (as each aggregate's
members), the base forecasts, the residuals, and what MinTrace(mint_shrink) and BottomUp make of
them.

Usage (from this folder): python3 make_hierarchicalforecast_mint.py > hierarchicalforecast_mint.json
Needs: hierarchicalforecast>=1,<2 (numpy).
"""
import csv, gzip, json
import numpy as np
import hierarchicalforecast
from hierarchicalforecast.methods import BottomUp, MinTrace

SERIES = ["FOODS_1_002_CA_1", "FOODS_2_014_CA_1", "FOODS_3_532_CA_1",
          "FOODS_3_266_CA_4", "HOBBIES_1_063_CA_4", "HOUSEHOLD_1_285_CA_4"]
H = 28

values, stores, cats = {s: [] for s in SERIES}, {}, {}
with gzip.open("../../datasets/m5_sample50_daily.csv.gz", "rt") as f:
    for row in csv.DictReader(f):
        if row["series_id"] in values:
            values[row["series_id"]].append(float(row["value"]))
            stores[row["series_id"]] = row["store_id"]
            cats[row["series_id"]] = row["cat_id"]
train = np.array([values[s][:-H] for s in SERIES])
groups = [("total", SERIES)]
for column, labels in [("store_id", stores), ("cat_id", cats)]:
    for key in sorted(set(labels.values())):
        groups.append((f"{column} = {key}", [s for s in SERIES if labels[s] == key]))
S = np.array([[1.0 if s in members else 0.0 for s in SERIES] for _, members in groups]
             + [[1.0 if s == t else 0.0 for s in SERIES] for t in SERIES])
y = S @ train


def ses(series, alpha):
    """One-step errors and the final level of SES started at the first value."""
    level, errors = series[0], []
    for value in series[1:]:
        errors.append(value - level)
        level += alpha * (value - level)
    return np.array(errors), level


y_hat, residuals = [], []
for node in y:
    alpha = min(np.arange(1, 20) / 20, key=lambda a: float(np.sum(ses(node, a)[0] ** 2)))
    errors, level = ses(node, alpha)
    y_hat.append(np.full(H, level))
    residuals.append(errors[-364:])   # the last year: a smaller file
y_hat, residuals = np.array(y_hat), np.array(residuals)
mint = MinTrace(method="mint_shrink").fit_predict(
    S=S, y_hat=y_hat, y_insample=residuals, y_hat_insample=np.zeros_like(residuals))
bottom_up = BottomUp().fit_predict(S=S, y_hat=y_hat)
print(json.dumps({
    "source": f"hierarchicalforecast {hierarchicalforecast.__version__}: MinTrace(method='mint_shrink'), BottomUp",
    "series": SERIES,
    "aggregates": [[name, [SERIES.index(s) for s in members]] for name, members in groups],
    "y_hat": y_hat.tolist(),
    "residuals": residuals.tolist(),
    "min_trace": mint["mean"].tolist(),
    "bottom_up": bottom_up["mean"].tolist(),
}))
