"""LightGBM's side of benches/gbdt_vs_lightgbm.sh: fits LightGBM on the feature matrices
benches/gbdt_matrix.rs wrote (one per fold and horizon step, trendlab's own features), with the
objective and parameters of trendlab's `gbdt` configuration mapped to LightGBM's names, forecasts
the same rows, and scores both libraries' forecasts by MASE (per series and fold, the mean over
series, then over folds; forecasts clipped at zero, as trendlab does for non-negative data).

Usage: python3 lightgbm_matrix.py DIR     (prints JSON)
Needs: lightgbm, numpy, pandas.
"""
import glob, json, os, sys, time
import lightgbm as lgb
import numpy as np
import pandas as pd

d = sys.argv[1]
meta = json.load(open(os.path.join(d, "meta.json")))
p = meta["params"]
objective = {"squared_error": "regression", "absolute": "regression_l1", "poisson": "poisson",
             "tweedie": "tweedie", "quantile": "quantile"}[p["objective"]]
params = {
    "objective": objective,
    "alpha": p["quantile"],
    "tweedie_variance_power": p["tweedie_power"],
    "learning_rate": p["learning_rate"],
    "num_leaves": p["max_leaves"],
    "max_depth": -1,
    "min_sum_hessian_in_leaf": p["min_child_weight"],
    "min_data_in_leaf": 1,
    "lambda_l2": p["lambda"],
    "bagging_fraction": p["subsample"],
    "bagging_freq": 1 if p["subsample"] < 1 else 0,
    "feature_fraction": p["colsample"],
    "max_bin": 255,
    "seed": meta["seed"],
    "deterministic": True,
    "num_threads": 1,
    "verbose": -1,
}
fit_seconds = 0.0
scores = {"trendlab": [], "lightgbm": []}
for fold in range(meta["folds"]):
    per_series = {"trendlab": {}, "lightgbm": {}}
    for step in range(1, meta["horizon"] + 1):
        train = pd.read_csv(os.path.join(d, f"f{fold}_k{step}_train.csv"))
        test = pd.read_csv(os.path.join(d, f"f{fold}_k{step}_test.csv"))
        start = time.perf_counter()
        model = lgb.train(params, lgb.Dataset(train.drop(columns="y").to_numpy(), train.y.to_numpy()),
                          num_boost_round=p["rounds"])
        fit_seconds += time.perf_counter() - start
        x = test[meta["features"]].to_numpy()
        ours = np.maximum(test.trendlab.to_numpy(), 0)
        theirs = np.maximum(model.predict(x) * test.scale.to_numpy() + test["shift"].to_numpy(), 0)
        for name, forecast in [("trendlab", ours), ("lightgbm", theirs)]:
            for sid, actual, scale, f in zip(test.series, test.actual, test.mase_scale, forecast):
                if scale > 0:
                    per_series[name].setdefault(sid, []).append(abs(actual - f) / scale)
    for name in scores:
        scores[name].append(np.mean([np.mean(v) for v in per_series[name].values()]))
result = {
    "lightgbm": lgb.__version__,
    "config": meta["config"],
    "mase": {name: round(float(np.mean(v)), 5) for name, v in scores.items()},
    "mase_per_fold": {name: [round(float(s), 5) for s in v] for name, v in scores.items()},
    "fit_seconds": {"trendlab": round(meta["trendlab_fit_seconds"], 3), "lightgbm": round(fit_seconds, 3)},
}
result["mase_difference_percent"] = round(100 * (result["mase"]["trendlab"] / result["mase"]["lightgbm"] - 1), 3)
print(json.dumps(result))
