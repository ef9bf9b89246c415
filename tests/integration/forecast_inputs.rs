//! `trendlab forecast`'s inputs: known-in-advance covariates from the data's
//! rows past each series' last target or from `--future FILE`, and bad
//! requests refused with exit code 2 and nothing written.

use crate::common::{files_under, stderr, trendlab, write};
use crate::forecast::{csv, panel, run, spec};

/// Known-in-advance covariates come from the data's rows past each
/// series' last target; one missing is an error naming series, date and
/// column, with exit code 2 and nothing written. So are an unknown model
/// or configuration, no stored backtest and a horizon of 0.
#[test]
fn future_covariates_and_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let series = panel(2, 60);
    let mut text = csv(&series, 60);
    // Three future rows per series (target empty, promo known); s1 lacks the third.
    for (id, promos) in [("s0", ["1", "0", "1"]), ("s1", ["0", "1", ""])] {
        for (j, promo) in promos.iter().enumerate() {
            text.push_str(&format!("2024-03-{:02},{id},,{promo}\n", j + 1));
        }
    }
    // Rows of a series sorted by date: move each series' future rows after its own rows.
    let mut lines: Vec<&str> = text.lines().skip(1).collect();
    lines.sort_by_key(|l| {
        (
            l.split(',').nth(1).unwrap().to_string(),
            l.split(',').next().unwrap().to_string(),
        )
    });
    write(
        dir.path(),
        "data.csv",
        &format!("date,id,y,promo\n{}\n", lines.join("\n")),
    );
    let evaluation = "horizon = 3\nfolds = 2\nstep = 3\nmin_train = 30\nmetrics = [\"mae\"]";
    let models = "[[models]]\nname = \"arimax\"\nfamily = \"arima\"\norder = [1, 0, 0]\nexogenous = true\n";
    let with_future = spec(dir.path(), "spec.toml", "data.csv", evaluation, models)
        .to_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&with_future).unwrap().replace(
        "calendar = [\"day_of_week\"]",
        "calendar = [\"day_of_week\"]\nfuture = [\"promo\"]",
    );
    let spec_path = write(dir.path(), "spec.toml", &text);
    let out = trendlab(dir.path(), &["forecast", "spec.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no backtest of spec.toml is stored"),
        "{}",
        stderr(&out)
    );
    assert!(run(&spec_path, dir.path()).failed.is_empty());
    let before = files_under(dir.path()).len();
    for (args, message) in [
        (
            vec!["forecast", "spec.toml"],
            "series `s1` has no value of the known-in-advance covariate `promo` on 2024-03-03",
        ),
        (
            vec!["forecast", "spec.toml", "--model", "arimx"],
            "did you mean `arimax`?",
        ),
        (
            vec!["forecast", "spec.toml", "--config", "arima"],
            "has no configuration `arima`",
        ),
        (vec!["forecast", "spec.toml", "--horizon", "0"], "--horizon 0"),
    ] {
        let out = trendlab(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(files_under(dir.path()).len(), before, "a refused forecast wrote files");
    // Two periods ahead, both known for every series: it forecasts.
    let out = trendlab(dir.path(), &["forecast", "spec.toml", "--horizon", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = files_under(&dir.path().join("forecasts/fc"));
    let table = written.iter().find(|p| p.ends_with("forecast.csv")).unwrap();
    let rows = std::fs::read_to_string(table).unwrap();
    assert_eq!(rows.lines().count(), 1 + 2 * 2, "{rows}");
    assert!(rows.contains("s1,2024-03-02,2,"), "{rows}");
    // --future FILE gives the missing value (its other rows: past the
    // horizon, or already in the data), and the three periods forecast.
    write(
        dir.path(),
        "future.csv",
        "date,id,y,promo\n2024-03-03,s1,,1\n2024-03-04,s1,,0\n2024-03-01,s0,,1\n",
    );
    let out = trendlab(dir.path(), &["forecast", "spec.toml", "--future", "future.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = std::fs::read_to_string(table).unwrap();
    assert_eq!(rows.lines().count(), 1 + 2 * 3, "{rows}");
    // A promo of 1 instead of 0 on the last date changes s1's ARIMAX forecast there.
    write(dir.path(), "future.csv", "date,id,y,promo\n2024-03-03,s1,,0\n");
    assert_eq!(
        trendlab(dir.path(), &["forecast", "spec.toml", "--future", "future.csv"])
            .status
            .code(),
        Some(0)
    );
    let other = std::fs::read_to_string(table).unwrap();
    let last = |t: &str| t.lines().find(|l| l.starts_with("s1,2024-03-03")).unwrap().to_string();
    assert_ne!(last(&rows), last(&other));
    // A bad --future file is named with its line.
    write(dir.path(), "future.csv", "date,id,y,promo\n2024-03-03,s1,,lots\n");
    let out = trendlab(dir.path(), &["forecast", "spec.toml", "--future", "future.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("future.csv:2: `promo` value `lots` is not a finite number"),
        "{}",
        stderr(&out)
    );
}
