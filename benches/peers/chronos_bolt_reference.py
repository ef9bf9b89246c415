"""Forecasting throughput of a Chronos-Bolt model with the reference package
(chronos-forecasting 2.3, torch, float32), the peer of `cargo bench --bench
chronos`. Builds a model of a published configuration (tiny, mini, small or
base: `make_chronos_bolt.py`'s PUBLISHED) with seeded random weights, saves
it with `save_pretrained` into --checkpoint (so trendlab reads the same
weights), then times `ChronosBoltPipeline.predict` on every series of a
bundled data set, whole histories as contexts (the pipeline cuts them to
the model's 2048), in batches of 256 series: one warm-up pass, then the
median of 3. Prints one JSON line: series per second and peak memory.

Usage: python benches/peers/chronos_bolt_reference.py --size small --data retail|m5 --checkpoint DIR [--threads 2]
"""

import argparse
import csv
import gzip
import json
import pathlib
import resource
import statistics
import sys
import time
from collections import defaultdict

import torch
from chronos.chronos_bolt import ChronosBoltModelForForecasting, ChronosBoltPipeline

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "goldens"))
from make_chronos_bolt import PUBLISHED, config  # noqa: E402

DATA = {
    "retail": ("datasets/online_retail_weekly.csv", "stock_code", "quantity", 8),
    "m5": ("datasets/m5_sample50_daily.csv.gz", "series_id", "value", 28),
}


def series(name):
    path, key, target, _ = DATA[name]
    opener = gzip.open if path.endswith(".gz") else open
    out = defaultdict(list)
    with opener(path, "rt") as f:
        for row in csv.DictReader(f):
            out[row[key]].append(float(row[target]))
    return [torch.tensor(out[k], dtype=torch.float32) for k in sorted(out)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=sorted(PUBLISHED))
    parser.add_argument("--data", default="retail", choices=sorted(DATA))
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkpoint = pathlib.Path(args.checkpoint)
    if not (checkpoint / "model.safetensors").exists():
        torch.manual_seed(0)
        model = ChronosBoltModelForForecasting(
            config(**PUBLISHED[args.size], context=2048, prediction=64, initializer_factor=0.05)
        )
        model.save_pretrained(checkpoint)
    pipeline = ChronosBoltPipeline.from_pretrained(checkpoint)
    pipeline.model.eval()
    contexts = series(args.data)
    horizon = DATA[args.data][3]

    def forecast():
        with torch.no_grad():
            return [pipeline.predict(contexts[i : i + 256], prediction_length=horizon) for i in range(0, len(contexts), 256)]

    forecast()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        forecast()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(
        json.dumps(
            {
                "implementation": "chronos-forecasting 2.3 (torch %s)" % torch.__version__.split("+")[0],
                "size": args.size,
                "data": args.data,
                "series": len(contexts),
                "seconds": round(seconds, 4),
                "series_per_s": round(len(contexts) / seconds, 2),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
