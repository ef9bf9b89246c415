"""Seasonal strength of AirPassengers (and its logs, and its first 60 values)
as statsforecast 2.1.1 computes it for auto_arima's seasonal-difference test
(seas_heuristic: statsmodels STL through statsforecast's mstl).

Usage: python3 make_seasonal_strength.py > seasonal_strength_airpassengers.json
Needs: statsforecast==2.1.1 (and its numpy, statsmodels)."""
import json
import numpy as np
import statsforecast
import statsmodels
from statsforecast.arima import seas_heuristic

golden = json.load(open(__file__.replace("make_seasonal_strength.py", "arima_airpassengers.json")))
y = np.asarray(golden["data"]["values"], dtype=float)
cases = {
    "values_s12": (y, 12),
    "log_values_s12": (np.log(y), 12),
    "first60_s4": (y[:60], 4),
}
print(json.dumps({
    "versions": {"statsforecast": statsforecast.__version__, "statsmodels": statsmodels.__version__},
    "source": "tests/goldens/arima_airpassengers.json data.values",
    "strength": {name: float(seas_heuristic(x, s)) for name, (x, s) in cases.items()},
}, indent=2))
