#!/usr/bin/env python3
"""Did the product text help, and where? Reads a finished experiment's run
store and its dataset and prints, per model configuration, the mean
per-series MASE over every (series, fold) and over the products with the
shortest history at each fold's cutoff (the quarter with the fewest days
since their first sale), plus how often each configuration beats a
reference (default: the model named `lstm`) series by series.

Usage: scripts/text_vs_history.py RUNS_DIR DATASET [--reference MODEL] [--metric mase] [--time date]
  e.g. scripts/text_vs_history.py runs/bert-fusion-retail datasets/online_retail_daily.csv.gz
Standard library only.
"""

import argparse
import csv
import datetime as dt
import gzip
import json
import math
import pathlib
import statistics


def first_sales(path, id_col="stock_code", time_col="date", target_col="quantity"):
    opener = gzip.open if str(path).endswith(".gz") else open
    first = {}
    with opener(path, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if float(row[target_col] or 0) > 0:
                day = dt.date.fromisoformat(row[time_col])
                sid = row[id_col]
                if sid not in first or day < first[sid]:
                    first[sid] = day
    return first


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs")
    parser.add_argument("dataset")
    parser.add_argument("--reference", default="lstm")
    parser.add_argument("--metric", default="mase")
    parser.add_argument("--short-quantile", type=float, default=0.25)
    parser.add_argument("--time", default="date", help="the dataset's date column")
    args = parser.parse_args()
    first = first_sales(args.dataset, time_col=args.time)
    # label -> {(series, fold): value}; fold -> cutoff
    scores, cutoffs = {}, {}
    for run in sorted(pathlib.Path(args.runs).glob("*/run.json")):
        record = json.loads(run.read_text())
        metrics = run.with_name("metrics.json")
        if record.get("status") != "finished" or not metrics.exists():
            continue
        grid = record.get("grid_values") or {}
        label = record["model"] + ("[" + ",".join(f"{k}={v}" for k, v in sorted(grid.items())) + "]" if grid else "")
        cutoffs[record["fold"]] = dt.date.fromisoformat(record["cutoff"])
        per_series = json.loads(metrics.read_text())["per_series"]
        for sid, values in per_series.items():
            v = values.get(args.metric)
            if v is not None and math.isfinite(v):
                scores.setdefault(label, {})[(sid, record["fold"])] = v
    short = set()
    for fold, cutoff in cutoffs.items():
        ages = sorted(((cutoff - first[s]).days, s) for s in first if first[s] <= cutoff)
        for _, sid in ages[: max(1, int(len(ages) * args.short_quantile))]:
            short.add((sid, fold))
    reference = next((l for l in scores if l == args.reference or l.startswith(args.reference + "[")), None)
    print(f"{'model':40} {args.metric + ' all':>10} {args.metric + ' short':>12} {'beats ' + args.reference:>14}")
    rows = []
    for label, values in scores.items():
        every = list(values.values())
        shorts = [v for k, v in values.items() if k in short]
        wins = ""
        if reference and label != reference:
            pairs = [(v, scores[reference][k]) for k, v in values.items() if k in scores[reference]]
            wins = f"{sum(a < b for a, b in pairs) / len(pairs):.0%} of {len(pairs)}"
        rows.append((statistics.mean(every), label, statistics.mean(shorts) if shorts else float("nan"), wins))
    for mean_all, label, mean_short, wins in sorted(rows):
        print(f"{label:40} {mean_all:10.3f} {mean_short:12.3f} {wins:>14}")
    print(f"short history: the {args.short_quantile:.0%} of products with the fewest days since their first sale "
          f"at each cutoff ({len(short)} series-folds); means over series-folds with a finite {args.metric}")


if __name__ == "__main__":
    main()
