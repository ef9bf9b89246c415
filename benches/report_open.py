#!/usr/bin/env python3
"""How heavy and how fast a trendlab report is in a real browser.

For each report given (default: the committed examples under reports/), prints
its size and, over --repeat fresh loads in headless Chromium driven by
chromedriver (Debian's chromium and chromium-driver), the median time from
navigation start to the load event and to the report's own
"trendlab-charts-drawn" mark (every chart drawn). Standard library only.

    benches/report_open.py [--repeat 5] [docs/examples/ensemble-retail/index.html ...]
"""
import argparse, glob, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
import urllib.request

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1280,1000"]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["value"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reports", nargs="*")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    reports = args.reports or sorted(glob.glob(os.path.join(root, "reports/*/index.html")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    driver = subprocess.Popen([shutil.which("chromedriver") or "chromedriver", f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        print(f"{'report':<48} {'size':>9} {'load ms':>8} {'charts ms':>10}")
        for report in reports:
            loads, drawn = [], []
            for _ in range(args.repeat):
                profile = tempfile.mkdtemp()
                session = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": shutil.which("chromium"),
                                           "args": FLAGS + [f"--user-data-dir={profile}"]}}}})["sessionId"]
                try:
                    call(base, "POST", f"/session/{session}/url",
                         {"url": "file://" + os.path.abspath(report)})
                    timing = call(base, "POST", f"/session/{session}/execute/sync", {"args": [], "script": """
                        const nav = performance.getEntriesByType('navigation')[0];
                        const mark = performance.getEntriesByName('trendlab-charts-drawn')[0];
                        return [nav.loadEventEnd, mark ? mark.startTime : null];"""})
                finally:
                    call(base, "DELETE", f"/session/{session}")
                    shutil.rmtree(profile, ignore_errors=True)
                loads.append(timing[0])
                if timing[1] is not None:
                    drawn.append(timing[1])
            size = os.path.getsize(report)
            name = os.path.relpath(report, root)
            charts = f"{statistics.median(drawn):10.0f}" if drawn else f"{'-':>10}"
            print(f"{name:<48} {size / 1e6:7.2f}MB {statistics.median(loads):8.0f} {charts}")
    finally:
        driver.terminate()
        driver.wait()


if __name__ == "__main__":
    sys.exit(main())
