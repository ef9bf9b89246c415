"""Regenerates arima_convergence_retail_weekly.json: statsmodels' SARIMAX fits of the fixed orders
(0,1,1), (1,1,1), (2,1,2) and (1,0,1) on Online Retail weekly series cut at the quickstart's
backtest cutoffs with step 4 (horizon 8, 3 folds: the last date minus 8, 12 and 16 weeks), the
way trendlab fits them (simple_differencing=True; a constant without differencing, none with it).

The sample holds the series × folds where trendlab's fit once stopped without converging
(85099B, 20717, 82484, 21930, 22728, 20914: ARIMA(0,1,1) with the MA coefficient near -0.9)
and a spread of others, for every order. trendlab must reach at least statsmodels'
log-likelihood (less 1e-6) on each: tests/integration/arima_convergence.rs.

Usage (from this folder): python3 make_arima_convergence.py > arima_convergence_retail_weekly.json
Needs: statsmodels==0.15.0 (numpy, scipy).
"""
import csv, datetime, json, warnings
from collections import defaultdict
import numpy as np
import statsmodels
from statsmodels.tsa.statespace.sarimax import SARIMAX

warnings.simplefilter("ignore")
ORDERS = [(0, 1, 1), (1, 1, 1), (2, 1, 2), (1, 0, 1)]
FORMERLY_FAILING = ["85099B", "20717", "82484", "21930", "22728", "20914"]
OTHERS = ["15056N", "20728", "21034", "21080", "22423", "47566", "84879", "85123A"]
rows = defaultdict(list)
with open("../../datasets/online_retail_weekly.csv", newline="") as f:
    for r in csv.DictReader(f):
        rows[r["stock_code"]].append((r["week_start"], float(r["quantity"])))
last = max(d for values in rows.values() for d, _ in values)
last = datetime.date.fromisoformat(last)
cutoffs = [str(last - datetime.timedelta(weeks=8 + (2 - k) * 4)) for k in range(3)]
out = {
    "model": "statsmodels SARIMAX(order, trend='c' if d == 0 else 'n', simple_differencing=True).fit()",
    "statsmodels": statsmodels.__version__,
    "source": "datasets/online_retail_weekly.csv (stock_code, week_start, quantity)",
    "cutoffs": cutoffs,
    "fits": [],
}
for sid in FORMERLY_FAILING + OTHERS:
    for fold, cutoff in enumerate(cutoffs):
        y = np.array([v for d, v in rows[sid] if d <= cutoff])
        for order in ORDERS:
            trend = "c" if order[1] == 0 else "n"
            fit = SARIMAX(y, order=order, trend=trend, simple_differencing=True).fit(disp=False)
            out["fits"].append(
                {
                    "series": sid,
                    "fold": fold,
                    "order": list(order),
                    "values": y.tolist(),
                    "params": dict(zip(fit.model.param_names, map(float, fit.params))),
                    "llf": float(fit.llf),
                    "converged": bool(fit.mle_retvals.get("converged", True)),
                }
            )
print(json.dumps(out, indent=1))
