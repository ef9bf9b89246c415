//! The HTML report and the CI leaderboards: sections present exactly when
//! their data exists, escaping of data-derived text, `--compare` and the
//! regression gate's exit codes.

use crate::common::{chart_data, forecasts_csv, quickstart_variant, stderr, stdout, trendlab, write};
use serde_json::Value;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = trendlab(dir, args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn sections_appear_when_their_data_exists() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(
        dir.path(),
        &[(
            "alpha = [0.1, 1.0, 10.0]",
            "alpha = [0.1, 1.0, 10.0]\nstrategy = [\"recursive\", \"direct\"]",
        )],
    );
    run_ok(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    let html = read(&dir.path().join("reports/quickstart/index.html"));
    for present in [
        r#"id="leaderboard""#,
        r#"id="folds""#,
        r#"id="explorer""#,
        r#"id="sensitivity""#,
        r#"id="runs""#,
    ] {
        assert!(html.contains(present), "{present} missing");
    }
    // No neural run, no ensemble, no failure, not tracked, not compared.
    for absent in [
        r#"id="training""#,
        r#"id="ensembles-section""#,
        r#"id="failures""#,
        r#"id="mlflow-link""#,
        "Change</th>",
    ] {
        assert!(!html.contains(absent), "{absent} present");
    }
    // Self-contained: no external script, stylesheet or font.
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "{external}");
    }
    assert_eq!(html.matches("<tr class=\"ranked\"").count(), 10);

    let data = chart_data(&html);
    let explorer = &data["explorer"];
    let series = explorer["series"].as_array().unwrap();
    // The total first (the quickstart declares no other level), then every series.
    assert_eq!(series.len(), 1 + 200);
    assert_eq!(
        (&series[0]["id"], &series[0]["level"]),
        (&"total".into(), &"total".into())
    );
    assert!(series[1..].iter().all(|s| s.get("level").is_none()));
    // Each model once, by its best configuration; the leaderboard's order.
    let models: Vec<&str> = explorer["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert_eq!(models.len(), 5, "{models:?}");
    let board: Value = serde_json::from_str(&read(&dir.path().join("reports/quickstart/leaderboard.json"))).unwrap();
    assert_eq!(models[0], board["rows"][0]["label"].as_str().unwrap());
    // A series' forecasts sit on its own dates and match the stored ones.
    let first = &series[1];
    let id = first["id"].as_str().unwrap();
    let forecasts = first["forecasts"].as_array().unwrap();
    assert_eq!(forecasts.len(), 5 * 3, "5 models × 3 folds");
    let top = forecasts.iter().find(|f| f["m"] == 0 && f["f"] == 2).unwrap();
    let run_id = board["rows"][0]["run_ids"][2].as_str().unwrap();
    let csv = forecasts_csv(&dir.path().join("runs/quickstart").join(run_id));
    let stored: Vec<(String, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0] == id)
        .map(|f| (f[3].to_string(), f[6].parse().unwrap()))
        .collect();
    let dates = explorer["dates"].as_array().unwrap();
    let start = top["s"].as_u64().unwrap() as usize;
    for (k, (date, value)) in stored.iter().enumerate() {
        assert_eq!(dates[start + k], date.as_str());
        assert!((top["y"][k].as_f64().unwrap() - value).abs() < 5e-4, "{date}");
    }
    // The total's forecast is the sum of every series' forecast, date by date.
    let total = series[0]["forecasts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["m"] == 0 && f["f"] == 2)
        .unwrap();
    let mut sums: std::collections::BTreeMap<String, f64> = Default::default();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *sums.entry(f[3].to_string()).or_default() += f[6].parse::<f64>().unwrap();
    }
    let start = total["s"].as_u64().unwrap() as usize;
    assert_eq!(total["y"].as_array().unwrap().len(), sums.len());
    for (k, (date, sum)) in sums.iter().enumerate() {
        assert_eq!(dates[start + k], date.as_str());
        assert!(
            (total["y"][k].as_f64().unwrap() - sum).abs() < 5e-4,
            "{date}: {} vs {sum}",
            total["y"][k]
        );
    }
    // Grid sensitivity: alpha with one line per strategy, and strategy.
    let sensitivity = data["sensitivity"].as_array().unwrap();
    assert_eq!(sensitivity.len(), 2);
    let alpha = sensitivity.iter().find(|s| s["parameter"] == "alpha").unwrap();
    assert_eq!(alpha["values"], serde_json::json!(["0.1", "1.0", "10.0"]));
    let lines: Vec<&str> = alpha["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["strategy=\"direct\"", "strategy=\"recursive\""]);
    let row = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "ridge[alpha=10.0,strategy=\"direct\"]")
        .unwrap();
    assert_eq!(alpha["lines"][0]["metric"][2], row["metrics"]["mase"]["mean"]);

    // A finished run whose forecasts.parquet is gone is a damaged store: an
    // error naming the file, not a silently partial chart.
    for entry in std::fs::read_dir(dir.path().join("runs/quickstart")).unwrap() {
        let path = entry.unwrap().path().join("forecasts.parquet");
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    let o = trendlab(dir.path(), &["report", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "a missing forecasts.parquet is an error");
    assert!(stderr(&o).contains("forecasts.parquet"), "{}", stderr(&o));
}

#[test]
fn training_curves_and_failures_appear_for_neural_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &crate::lstm::panel_csv());
    let spec = crate::lstm::SPEC
        .split("[[models]]\nname = \"window_too_long\"")
        .next()
        .unwrap();
    let spec = write(dir.path(), "spec.toml", spec);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "the diverging model fails");
    let html = read(&dir.path().join("reports/lstm-small/index.html"));
    assert!(html.contains(r#"id="training""#) && html.contains(r#"id="failures""#));
    assert!(html.contains("training diverged"));
    let data = chart_data(&html);
    let curves = data["training"].as_array().unwrap();
    assert_eq!(curves.len(), 1, "only the finished LSTM has curves");
    assert_eq!(curves[0]["label"], "lstm");
    let folds = curves[0]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 2);
    let record = crate::common::records(dir.path(), "lstm-small")
        .into_iter()
        .find(|r| r.model == "lstm" && r.fold == 0)
        .unwrap();
    let log = record.training.unwrap();
    let train: Vec<f64> = folds[0]["train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(train, log.epochs.iter().map(|e| e.train).collect::<Vec<_>>());
    assert_eq!(folds[0]["best_epoch"], log.best_epoch);
}

#[test]
fn data_derived_text_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let evil = r#"<script>alert("x")</script> & <!-- "quoted" 'single'"#;
    let mut csv = String::from("week_start,stock_code,quantity,description\n");
    for s in 0..3 {
        for t in 0..30u64 {
            let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(7 * t);
            let text = if s == 0 {
                evil.replace('"', "\"\"")
            } else {
                format!("item {s}")
            };
            csv.push_str(&format!("{date},A{s},{},\"{text}\"\n", 5 + (t * (s + 1)) % 7));
        }
    }
    write(dir.path(), "panel.csv", &csv);
    let spec = write(
        dir.path(),
        "spec.toml",
        &format!(
            r#"
[experiment]
name = "escaping"
description = {evil:?}
[data]
path = "panel.csv"
time = "week_start"
id = "stock_code"
target = "quantity"
frequency = "W-MON"
text = "description"
[evaluation]
horizon = 4
folds = 2
[[models]]
name = "naive"
family = "naive"
"#
        ),
    );
    run_ok(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    let html = read(&dir.path().join("reports/escaping/index.html"));
    // The only script elements are the page's own three.
    assert_eq!(html.matches("<script").count(), 3, "{html}");
    assert!(!html.contains("alert(\"x\")</script>"));
    assert!(!html.contains("<!-- "));
    // The description, HTML-escaped in the header...
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; &amp; &lt;!--"));
    // ...and intact once the page's script parses the chart data.
    let data = chart_data(&html);
    assert_eq!(data["explorer"]["series"][1]["text"], evil);
    assert!(html.contains(r"\u003cscript\u003ealert"));
    let markdown = read(&dir.path().join("reports/escaping/leaderboard.md"));
    assert!(!markdown.contains("<script"), "{markdown}");
    assert!(markdown.contains("&lt;script&gt;"));
}

/// The quickstart run once in `dir` (naive, mean and a ridge grid), with
/// its leaderboard.json kept as `old.json` after `edit`.
fn quickstart_with_old_leaderboard(dir: &Path, edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let spec = quickstart_variant(
        dir,
        &[(
            "[[models]]\nname = \"snaive4\"\nfamily = \"seasonal_naive\"\nseason = 4\n",
            "",
        )],
    );
    run_ok(dir, &["run", spec.to_str().unwrap(), "--quiet"]);
    let mut old: Value = serde_json::from_str(&read(&dir.join("reports/quickstart/leaderboard.json"))).unwrap();
    edit(&mut old);
    std::fs::write(dir.join("old.json"), serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    spec
}

fn mean(board: &Value, label: &str, metric: &str) -> f64 {
    board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("{label}"))["metrics"][metric]["mean"]
        .as_f64()
        .unwrap()
}

fn scale_mean(board: &mut Value, label: &str, metric: &str, factor: f64) {
    let rows = board["rows"].as_array_mut().unwrap();
    let row = rows.iter_mut().find(|r| r["label"] == label).unwrap();
    let value = row["metrics"][metric]["mean"].as_f64().unwrap();
    row["metrics"][metric]["mean"] = Value::from(value * factor);
}

#[test]
fn compare_marks_changes_new_and_removed_models_in_html_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut best = String::new();
    let spec = quickstart_with_old_leaderboard(dir.path(), |old| {
        best = old["rows"][0]["label"].as_str().unwrap().to_string();
        // Before: the best model's MASE was 10% higher (so now it is better)
        // and its MAE 10% lower (now worse); drift did not exist and a
        // model since removed did.
        scale_mean(old, &best, "mase", 1.1);
        scale_mean(old, &best, "mae", 1.0 / 1.1);
        let rows = old["rows"].as_array_mut().unwrap();
        rows.retain(|r| r["label"] != "drift");
        rows[1]["label"] = Value::from("theta[alpha=0.5]");
    });
    let o = run_ok(dir.path(), &["report", spec.to_str().unwrap(), "--compare", "old.json"]);
    assert!(stdout(&o).contains("leaderboard.md"));
    let markdown = read(&dir.path().join("reports/quickstart/leaderboard.md"));
    let line = |label: &str| {
        markdown
            .lines()
            .find(|l| l.contains(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label} in\n{markdown}"))
            .to_string()
    };
    assert!(line(&best).contains("mase ▼9.1% better"), "{}", line(&best));
    assert!(line(&best).contains("mae ▲10.0% worse"), "{}", line(&best));
    assert!(line("drift").ends_with("| new |"), "{}", line("drift"));
    assert!(markdown.contains("Removed: `theta[alpha=0.5]`"), "{markdown}");
    assert!(markdown.contains("| Change |"));
    let html = read(&dir.path().join("reports/quickstart/index.html"));
    assert!(html.contains("Change</th>") && html.contains(r#"<span class="badge">new</span>"#));
    assert!(html.contains(r#"id="removed-models""#) && html.contains("theta[alpha=0.5]"));
    assert!(html.contains(r#"<span class="better""#) && html.contains(r#"<span class="worse""#));
}

/// Multiplies the best configuration's per-series `metric` values of an
/// old leaderboard, series by series, by `factor(k)` (k counts the values).
fn scale_series(board: &mut Value, metric: &str, factor: impl Fn(usize) -> f64) {
    let values = &mut board["significance"]["series_values"];
    let best = values["best"][metric]
        .as_str()
        .expect("a best configuration")
        .to_string();
    let folds = values["values"][&best][metric]
        .as_array_mut()
        .expect("the leaderboard carries the best configuration's per-series values");
    // Each fold is one string of comma-separated values (empty: not scored).
    let mut k = 0;
    for fold in folds.iter_mut() {
        let cells: Vec<String> = fold
            .as_str()
            .unwrap()
            .split(',')
            .map(|cell| match cell.parse::<f64>() {
                Ok(v) => {
                    k += 1;
                    (v * factor(k - 1)).to_string()
                }
                Err(_) => cell.to_string(),
            })
            .collect();
        *fold = Value::from(cells.join(","));
    }
}

#[test]
fn the_regression_gate_exits_1_only_past_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_with_old_leaderboard(dir.path(), |old| {
        // The old best MASE was 4% lower than today's best, series by series.
        let rows = old["rows"].as_array_mut().unwrap();
        for row in rows.iter_mut() {
            let value = row["metrics"]["mase"]["mean"].as_f64().unwrap();
            row["metrics"]["mase"]["mean"] = Value::from(value / 1.04);
        }
        scale_series(old, "mase", |_| 1.0 / 1.04);
    });
    let spec = spec.to_str().unwrap();
    let gate = |threshold: &str| {
        trendlab(
            dir.path(),
            &[
                "report",
                spec,
                "--compare",
                "old.json",
                "--fail-on-regression",
                threshold,
            ],
        )
    };
    let failed = gate("mase:3");
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("+4.00% worse (limit 3%), significant (p < 0.001 on 600 series × fold pairs)"),
        "{}",
        stderr(&failed)
    );
    let markdown = read(&dir.path().join("reports/quickstart/leaderboard.md"));
    assert!(markdown.contains("(worse 4.0%, p < 0.001 on 600 pairs)"), "{markdown}");
    // Beside each row's change, the test of its own series: the best's 4%
    // is real, the others' means moved with no series behind them.
    assert!(markdown.contains("mase ▲4.0% worse (p < 0.001)"), "{markdown}");
    assert!(markdown.contains("mase ▲4.0% worse (p = 1.000)"), "{markdown}");
    // The report was written anyway.
    let board: Value = serde_json::from_str(&read(&dir.path().join("reports/quickstart/leaderboard.json"))).unwrap();
    assert!(mean(&board, board["rows"][0]["label"].as_str().unwrap(), "mase") > 0.0);
    let passed = gate("mase:5");
    assert_eq!(passed.status.code(), Some(0), "{}", stderr(&passed));
    assert!(stdout(&passed).contains("passed"));
    // Improvements never fail, even at 0%: MAE is unchanged.
    assert_eq!(gate("mae:0").status.code(), Some(0));

    // Invalid requests change nothing and exit 2.
    let unknown = gate("wape:5");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("`wape` is not a metric of this experiment (mae, rmse, smape, mase)"));
    // The same 4% on the means, but the series disagree: half of them were
    // worse before, half better (noise, not a regression). The gate passes
    // and says why.
    let old_path = dir.path().join("old.json");
    let mut old: Value = serde_json::from_str(&read(&old_path)).unwrap();
    scale_series(&mut old, "mase", |k| if k % 2 == 0 { 1.04 * 1.3 } else { 1.04 * 0.7 });
    std::fs::write(&old_path, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    let noise = gate("mase:3");
    assert_eq!(noise.status.code(), Some(0), "{}", stderr(&noise));
    assert!(
        stdout(&noise).contains("+4.00% (limit +3%), not significant (p = 0."),
        "{}",
        stdout(&noise)
    );
    // An old leaderboard without per-series values is gated on its means.
    old["significance"] = Value::Null;
    std::fs::write(&old_path, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    let means_only = gate("mase:3");
    assert_eq!(means_only.status.code(), Some(1), "{}", stderr(&means_only));
    assert!(stderr(&means_only).contains("means only"), "{}", stderr(&means_only));

    let malformed = gate("mase");
    assert_eq!(malformed.status.code(), Some(2), "clap refuses it");
    assert!(stderr(&malformed).contains("METRIC:PCT"), "{}", stderr(&malformed));
    write(
        dir.path(),
        "broken.json",
        "{\"experiment\": \"quickstart\",\n  \"rows\": [}",
    );
    let broken = trendlab(dir.path(), &["report", spec, "--compare", "broken.json"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(stderr(&broken).contains("broken.json:2:"), "{}", stderr(&broken));
    let missing = trendlab(dir.path(), &["report", spec, "--compare", "nowhere.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nowhere.json"));
}

/// The committed example pages (docs/examples) carry the stylesheet and
/// scripts of the current templates: regenerate them with
/// scripts/examples.sh after changing one.
#[test]
fn examples_are_rendered_by_the_current_templates() {
    let repo = crate::common::repo();
    let assets = [
        "templates/report.css",
        "templates/report.js",
        "templates/vendor/uplot/uPlot.min.css",
        "templates/vendor/uplot/uPlot.iife.min.js",
    ];
    let mut pages = 0;
    for entry in std::fs::read_dir(repo.join("docs/examples")).unwrap() {
        let page = entry.unwrap().path().join("index.html");
        if !page.is_file() {
            continue;
        }
        pages += 1;
        let html = read(&page);
        for asset in assets {
            assert!(
                html.contains(&read(&repo.join(asset))),
                "{} was not rendered with the current {asset}: run scripts/examples.sh",
                page.display()
            );
        }
        for file in ["leaderboard.md", "leaderboard.csv", "leaderboard.json"] {
            assert!(page.with_file_name(file).is_file(), "{} lacks {file}", page.display());
        }
    }
    assert_eq!(pages, 8, "the eight example reports");
}
