"""Regenerates statsforecast_families.json: statsforecast 2.1.1's AutoETS, AutoTheta and
intermittent-demand methods (CrostonClassic, CrostonSBA, CrostonOptimized, TSB, ADIDA, IMAPA)
on AirPassengers and on real series of the bundled data, for trendlab's `ets`, `theta`,
`croston`, `tsb`, `adida` and `imapa` families.

Series: AirPassengers (monthly, season 12, 12 steps); the six Online Retail products with the
most weeks in datasets/online_retail_weekly.csv (season 1, 8 steps); four M5 sample series
(datasets/m5_sample50_daily.csv.gz, their last 730 days, season 7, 28 steps).

For AutoETS the file also holds the chosen form, its parameters, last state, log-likelihood
and AICc. statsforecast (as R's etscalc.c) extends a damped trend by φ + φ + φ² + … + φ^(h−1)
at step h, where the model's forecast is φ + φ² + … + φ^h; for damped forms the file also
holds `forecast_from_state`: the forecast of statsforecast's own fitted last state and φ by
the model's formula, which trendlab is compared with.

Usage (from this folder): python3 make_statsforecast_families.py > statsforecast_families.json
Needs: statsforecast==2.1.1 (numpy, pandas, scipy, statsmodels).
"""
import csv, gzip, json, warnings
from collections import defaultdict
import numpy as np
import statsforecast
from statsforecast.models import (ADIDA, IMAPA, TSB, AutoETS, AutoTheta, CrostonClassic,
                                  CrostonOptimized, CrostonSBA)
from statsforecast.utils import AirPassengers

warnings.simplefilter("ignore")


def weekly_series():
    rows = defaultdict(list)
    with open("../../datasets/online_retail_weekly.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["stock_code"]].append(float(r["quantity"]))
    longest = sorted(rows, key=lambda k: (-len(rows[k]), k))[:6]
    return [(f"online_retail_weekly/{k}", np.array(rows[k]), 1, 8) for k in longest]


def m5_series():
    rows = defaultdict(list)
    with gzip.open("../../datasets/m5_sample50_daily.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["series_id"]].append(float(r["value"]))
    picks = ["FOODS_3_764_CA_1", "HOBBIES_1_311_TX_1", "HOUSEHOLD_1_324_TX_2", "FOODS_2_147_WI_2"]
    return [(f"m5_sample50_daily/{k}", np.array(rows[k][-730:]), 7, 28) for k in picks]


def ets_golden(y, m, h):
    model = AutoETS(season_length=m).fit(y)
    fit = model.model_
    out = {
        "method": fit["method"],
        "components": fit["components"],
        "par": [None if np.isnan(v) else float(v) for v in fit["par"][:4]],
        "loglik": float(fit["loglik"]),
        "aicc": float(fit["aicc"]),
        "sigma2": float(fit["sigma2"]),
        "initial_state": fit["par"][4:].tolist(),
        "last_state": fit["states"][-1].tolist(),
        "forecast": model.predict(h)["mean"].tolist(),
    }
    if fit["components"][3] == "D":
        phi = fit["par"][3]
        state = fit["states"][-1]
        level, growth = state[0], state[1]
        season = state[2:] if fit["components"][2] != "N" else None
        steps = []
        for k in range(1, h + 1):
            damp = sum(phi ** j for j in range(1, k + 1))
            f = level + damp * growth if fit["components"][1] == "A" else level * growth ** damp
            if season is not None:
                s = season[(m - 1) - ((k - 1) % m)]
                f = f + s if fit["components"][2] == "A" else f * s
            steps.append(float(f))
        out["forecast_from_state"] = steps
    return out


def theta_golden(y, m, h):
    model = AutoTheta(season_length=m).fit(y)
    fit = model.model_
    return {
        "model": fit["modeltype"],
        "alpha": float(fit["par"]["alpha"]),
        "theta": float(fit["par"]["theta"]),
        "mse": float(fit["mse"]),
        "decompose": bool(fit.get("decompose", False)),
        "forecast": model.predict(h)["mean"].tolist(),
    }


def intermittent_golden(y, h):
    models = {
        "croston_classic": CrostonClassic(),
        "croston_sba": CrostonSBA(),
        "croston_optimized": CrostonOptimized(),
        "tsb_0.2_0.1": TSB(alpha_d=0.2, alpha_p=0.1),
        "adida": ADIDA(),
        "imapa": IMAPA(),
    }
    return {name: float(m.fit(y).predict(h)["mean"][0]) for name, m in models.items()}


series = [("AirPassengers", AirPassengers.astype(float), 12, 12)] + weekly_series() + m5_series()
out = {
    "statsforecast": statsforecast.__version__,
    "numpy": np.__version__,
    "series": [],
}
for name, y, m, h in series:
    entry = {"name": name, "season": m, "horizon": h, "values": y.tolist()}
    entry["ets"] = ets_golden(y, m, h)
    entry["theta"] = theta_golden(y, m, h)
    entry["intermittent"] = intermittent_golden(y, h)
    out["series"].append(entry)
print(json.dumps(out, indent=1))
