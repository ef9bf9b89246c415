"""statsforecast's side of benches/families_vs_statsforecast.sh.

  accuracy: the MASE of statsforecast 2.1.1's models on the two setups of the README's table,
            by rolling-origin cross-validation as trendlab's backtest folds them:
            - Online Retail weekly (datasets/online_retail_weekly.csv): horizon 8, 3 folds,
              step 8, MASE with m = 1;
            - the M5 sample (datasets/m5_sample50_daily.csv.gz), its last 730 days: horizon 28,
              3 folds, step 28, MASE with m = 7.
            MASE per series and fold (scaled by the fold's training data), averaged over series,
            then over folds.
  timing:   fit-and-forecast seconds of each model on the 200 Online Retail daily series
            (datasets/online_retail_daily.csv.gz, the last 28 days forecast), n_jobs=1, after
            one untimed warm-up on two series.

Usage: python3 statsforecast_families.py accuracy|timing REPO_ROOT    (prints JSON)
Needs: statsforecast==2.1.1 (pandas, numpy).
"""
import json, sys, time, warnings
import numpy as np
import pandas as pd
import statsforecast
from statsforecast import StatsForecast
from statsforecast.models import (ADIDA, IMAPA, TSB, AutoARIMA, AutoETS, AutoTheta, CrostonClassic,
                                  CrostonOptimized, CrostonSBA, HistoricAverage, Naive, SeasonalNaive,
                                  WindowAverage)

warnings.simplefilter("ignore")
mode, root = sys.argv[1], sys.argv[2]


def models(season):
    return [
        AutoARIMA(season_length=season), AutoETS(season_length=season), AutoTheta(season_length=season),
        CrostonClassic(), CrostonSBA(), CrostonOptimized(), TSB(alpha_d=0.2, alpha_p=0.1), ADIDA(), IMAPA(),
        Naive(), HistoricAverage(), SeasonalNaive(season_length=max(season, 1)), WindowAverage(window_size=28),
    ]


def weekly():
    df = pd.read_csv(f"{root}/datasets/online_retail_weekly.csv", parse_dates=["week_start"])
    return df.rename(columns={"stock_code": "unique_id", "week_start": "ds", "quantity": "y"})[["unique_id", "ds", "y"]]


def m5():
    df = pd.read_csv(f"{root}/datasets/m5_sample50_daily.csv.gz", parse_dates=["date"])
    df = df.rename(columns={"series_id": "unique_id", "date": "ds", "value": "y"})[["unique_id", "ds", "y"]]
    return df[df.ds > df.ds.max() - pd.Timedelta(days=730)]


def mase(cv, train, season, names):
    scores = {n: [] for n in names}
    for cutoff, fold in cv.groupby("cutoff"):
        past = train[train.ds <= cutoff]
        for uid, g in fold.groupby("unique_id"):
            y = past[past.unique_id == uid].sort_values("ds").y.to_numpy()
            if len(y) <= season:
                continue
            scale = np.mean(np.abs(y[season:] - y[:-season]))
            if scale == 0:
                continue
            for n in names:
                scores[n].append((cutoff, np.mean(np.abs(g.y - g[n])) / scale))
    out = {}
    for n, pairs in scores.items():
        by_fold = pd.DataFrame(pairs, columns=["cutoff", "mase"]).groupby("cutoff").mase.mean()
        out[n] = round(float(by_fold.mean()), 4)
    return out


if mode == "accuracy":
    result = {"statsforecast": statsforecast.__version__}
    for name, df, freq, season, h in [("online_retail_weekly", weekly(), "W-MON", 1, 8),
                                      ("m5_sample50_last730", m5(), "D", 7, 28)]:
        ms = models(season)
        sf = StatsForecast(models=ms, freq=freq, n_jobs=1)
        cv = sf.cross_validation(df=df, h=h, n_windows=3, step_size=h)
        names = [c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y")]
        scores = mase(cv, df, season, names)
        best = min(scores, key=scores.get)
        result[name] = {"mase": scores, "best": best, "best_mase": scores[best]}
        print(json.dumps({name: result[name]}), file=sys.stderr, flush=True)
    print(json.dumps(result))
elif mode == "timing":
    df = pd.read_csv(f"{root}/datasets/online_retail_daily.csv.gz", parse_dates=["date"])
    df = df.rename(columns={"stock_code": "unique_id", "date": "ds", "quantity": "y"})[["unique_id", "ds", "y"]]
    train = df[df.ds <= df.ds.max() - pd.Timedelta(days=28)]
    ids = sorted(train.unique_id.unique())
    result = {"statsforecast": statsforecast.__version__, "series": len(ids), "horizon": 28, "seconds": {}}
    for model in models(7)[:9]:
        sf = StatsForecast(models=[model], freq="D", n_jobs=1)
        sf.forecast(df=train[train.unique_id.isin(ids[:2])], h=28)
        start = time.perf_counter()
        sf.forecast(df=train, h=28)
        result["seconds"][repr(model)] = round(time.perf_counter() - start, 4)
        print(json.dumps({repr(model): result["seconds"][repr(model)]}), file=sys.stderr, flush=True)
    print(json.dumps(result))
