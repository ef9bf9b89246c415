"""Regenerates arima_airpassengers_sarima_tight.json: statsmodels' SARIMAX(1,1,1)(0,1,1,12)
on log AirPassengers, maximised to a tight tolerance.

statsmodels' default fit (in arima_airpassengers.json) stops early in a flat direction of the
likelihood (ar.L1 has a standard error of 0.2): its own log-likelihood is higher at a better
converged point. This file records that point, found by statsmodels itself.

Usage: python3 make_sarima_tight.py > arima_airpassengers_sarima_tight.json
Needs: statsmodels==0.15.0 (numpy, scipy, pandas).
"""
import json, warnings
import numpy as np
import statsmodels
from statsmodels.tsa.statespace.sarimax import SARIMAX

warnings.simplefilter("ignore")
golden = json.load(open("arima_airpassengers.json"))
y = np.log(np.array(golden["data"]["values"]))
model = SARIMAX(y, order=(1, 1, 1), seasonal_order=(0, 1, 1, 12))
fit = model.fit(disp=False, method="lbfgs", maxiter=5000, pgtol=1e-12, factr=1)
print(json.dumps({
    "model": "statsmodels SARIMAX(order=(1,1,1), seasonal_order=(0,1,1,12)).fit(method='lbfgs', maxiter=5000, pgtol=1e-12, factr=1)",
    "statsmodels": statsmodels.__version__,
    "series": "natural log of AirPassengers (arima_airpassengers.json)",
    "params": dict(zip(model.param_names, map(float, fit.params))),
    "llf": float(fit.llf),
    "llf_default_fit": golden["statsmodels_sarimax_111_011_12_log"]["llf"],
}, indent=1))
