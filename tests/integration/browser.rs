//! The quickstart report in a real browser: Debian's headless Chromium,
//! driven over WebDriver by chromedriver (both installed by
//! `scripts/test.sh`, which names them in `TRENDLAB_CHROMIUM` and
//! `TRENDLAB_CHROMEDRIVER`). The page is opened from `file://`, as a
//! reader opens a downloaded report, with the network closed to it.

use crate::common::chart_data;
use crate::common::{free_port, required_env};
use crate::common::{on_quickstart, stderr};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver process and one browser session in it.
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>` of chromedriver.
    base: String,
    /// The session's id, once created.
    session: String,
    profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let chromium = required_env("TRENDLAB_CHROMIUM");
        let chromedriver = required_env("TRENDLAB_CHROMEDRIVER");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{chromedriver}: {e}"));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut browser = Browser {
            driver,
            agent,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            profile: tempfile::tempdir().unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.request("GET", "/status", None).is_none() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,2000",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", browser.profile.path().display())])
        .collect::<Vec<_>>();
        let created = browser.command(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
                "goog:loggingPrefs": {"browser": "ALL"},
            }}}),
        );
        browser.session = created["sessionId"].as_str().expect("a session id").to_string();
        browser
    }

    /// The response's JSON, or `None` when the driver is not answering.
    fn request(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        // `/status` and `/session` are the driver's; the rest the session's.
        let url = if self.session.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.ok()?;
        let ok = response.status().is_success();
        let value: Value = response.body_mut().read_json().ok()?;
        assert!(ok, "{method} {path}: {value}");
        Some(value["value"].clone())
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        self.request(method, path, Some(body))
            .unwrap_or_else(|| panic!("chromedriver did not answer {method} {path}"))
    }

    fn run(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", json!({"script": script, "args": []}))
    }

    fn element(&self, css: &str) -> String {
        let found = self.command("POST", "/element", json!({"using": "css selector", "value": css}));
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/value"), json!({"text": text}));
    }

    /// What the page wrote to the console (and uncaught errors).
    fn console(&self) -> Vec<Value> {
        let log = self.command("POST", "/se/log", json!({"type": "browser"}));
        log.as_array().cloned().unwrap_or_default()
    }

    fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self.command("GET", "/screenshot", json!({}));
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 PNG"))
            .expect("a base64 screenshot")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.request("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn the_quickstart_report_works_in_headless_chromium() {
    let out = tempfile::tempdir().unwrap();
    let o = on_quickstart("run", out.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = out.path().join("reports/quickstart/index.html");
    let html = std::fs::read_to_string(&report).unwrap();
    let board: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("reports/quickstart/leaderboard.json")).unwrap())
            .unwrap();

    let browser = Browser::start();
    browser.command("POST", "/url", json!({"url": format!("file://{}", report.display())}));
    assert_eq!(browser.run("return document.readyState"), "complete");

    // The leaderboard's rows, in the rendered DOM, in rank order.
    let labels = browser.run(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.children[1].textContent.trim())",
    );
    let expected: Vec<Value> = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].clone())
        .collect();
    assert_eq!(labels, Value::Array(expected));
    // Sorting by a column reorders them.
    browser.click("#leaderboard th:nth-child(4)");
    let maes = browser.run(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => parseFloat(r.children[3].dataset.v))",
    );
    let maes: Vec<f64> = maes.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(maes.windows(2).all(|w| w[0] <= w[1]), "sorted by MAE: {maes:?}");

    // The explorer: a drawn chart for the first series...
    let chart = "const c = document.querySelector('#explorer-chart'); \
                 return [c.dataset.series, c.querySelector('canvas').toDataURL()]";
    let before = browser.run(chart);
    let series = chart_data(&html)["explorer"]["series"].as_array().unwrap().clone();
    assert_eq!(before[0], series[0]["id"]);
    // ...then another, found by a word of its product description.
    let target = series
        .iter()
        .skip(1)
        .find(|s| s["text"].as_str().is_some_and(|t| t.contains("DOORMAT")))
        .expect("a doormat among the products");
    browser.type_into("#series-search", "doormat");
    let options =
        browser.run("return Array.from(document.querySelectorAll('#series-select option')).map(o => o.textContent)");
    let options: Vec<&str> = options
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(
        !options.is_empty() && options.iter().all(|o| o.to_lowercase().contains("doormat")),
        "{options:?}"
    );
    let id = target["id"].as_str().unwrap();
    let position = options.iter().position(|o| o.starts_with(&format!("{id} — "))).unwrap();
    browser.click(&format!("#series-select option:nth-child({})", position + 1));
    let after = browser.run(chart);
    assert_eq!(after[0], id, "the chart follows the selection");
    assert_ne!(after[1], before[1], "the chart was redrawn with other data");
    let title = browser.run("return document.getElementById('explorer-title').textContent");
    assert!(title.as_str().unwrap().starts_with(id), "{title}");
    // Hiding a model redraws the chart too.
    browser.click("#explorer-models input[data-model='0']");
    assert_ne!(browser.run(chart)[1], after[1]);
    browser.click("#explorer-models input[data-model='0']");

    // Grid sensitivity drew the ridge's alpha.
    assert_eq!(
        browser.run("return document.querySelectorAll('.sensitivity-chart canvas').length"),
        1
    );

    let errors: Vec<Value> = browser
        .console()
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    // The channel is live: an error written now is read back.
    browser.run("console.error('probe from the test')");
    let probe = browser.console();
    assert!(
        probe.iter().any(|e| e["level"] == "SEVERE" && e["message"].as_str().is_some_and(|m| m.contains("probe from the test"))),
        "{probe:?}"
    );

    let png = browser.screenshot();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("quickstart-report.png"), png).unwrap();
}
