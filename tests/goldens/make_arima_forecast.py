"""Regenerates arima_forecast_retail_weekly.json: statsmodels' SARIMAX(1,1,1) fit on the whole of
four weekly series of datasets/online_retail_weekly.csv (simple_differencing=True: the ARMA is
fit to the first differences, the convention trendlab documents), and its 8-week forecasts in
levels (the last value plus the cumulated forecast differences).

The four series are those whose MA coefficient is well inside the invertible region (|ma.L1| <
0.8), where the likelihood has one clear maximum; near the boundary optimisers part ways.

Usage (from this folder): python3 make_arima_forecast.py > arima_forecast_retail_weekly.json
Needs: statsmodels==0.15.0 (numpy, scipy, pandas).
"""
import csv, json, warnings
from collections import defaultdict
import numpy as np
import statsmodels
from statsmodels.tsa.statespace.sarimax import SARIMAX

warnings.simplefilter("ignore")
SERIES = ["15056N", "20728", "21034", "21080"]
HORIZON = 8
rows = defaultdict(list)
with open("../../datasets/online_retail_weekly.csv", newline="") as f:
    for r in csv.DictReader(f):
        rows[r["stock_code"]].append((r["week_start"], float(r["quantity"])))
out = {
    "model": "statsmodels SARIMAX(order=(1,1,1), trend='n', simple_differencing=True).fit()",
    "statsmodels": statsmodels.__version__,
    "source": "datasets/online_retail_weekly.csv (stock_code, week_start, quantity)",
    "horizon": HORIZON,
    "series": {},
}
for sid in SERIES:
    dates = [d for d, _ in rows[sid]]
    y = np.array([v for _, v in rows[sid]])
    fit = SARIMAX(y, order=(1, 1, 1), simple_differencing=True).fit(disp=False)
    levels = y[-1] + np.cumsum(fit.forecast(HORIZON))
    out["series"][sid] = {
        "dates": dates,
        "values": y.tolist(),
        "params": dict(zip(fit.model.param_names, map(float, fit.params))),
        "llf": float(fit.llf),
        "forecast": levels.tolist(),
    }
print(json.dumps(out, indent=1))
