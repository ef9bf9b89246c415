//! The experiment report: `reports/<experiment>/index.html`, one
//! self-contained page (its CSS, scripts and chart library inlined; it opens
//! offline from `file://`), and `leaderboard.md` for pull requests and CI
//! logs, both rendered from the Tera templates in the repository's
//! `templates/` folder, compiled into the binary.
//!
//! This crate gathers what the templates show; the templates decide how.
//! Sections whose data does not exist (no neural run, no ensemble, no grid,
//! no stored forecasts when rebuilding from MLflow) are left out.
//! Data-derived text is escaped by Tera's HTML autoescaping; the charts' data
//! travels as JSON in a `<script type="application/json">` block, escaped so
//! that no string in it can close the block (see [`assets::script_json`]).

pub mod aggregates;
pub mod assets;
pub mod explorer;
pub mod held;
pub mod runs;
pub mod sensitivity;
pub mod significance;
mod templates;

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_results::compare::Comparison;
use trendlab_results::forecasts::ForecastFile;
use trendlab_results::store::{StoreError, write_atomic};
use trendlab_results::{Leaderboard, Plan, Prepared, RunStore};
use trendlab_spec::Score;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("rendering the report failed: {0}")]
    Template(#[from] tera::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Facts about the experiment shown in the report header.
#[derive(Debug, Clone, Serialize)]
pub struct ReportHeader {
    pub spec_hash: String,
    pub data_fingerprint: String,
    pub trendlab_version: String,
    pub generated_at: String,
    pub series: usize,
    pub skipped_series: Vec<(String, String)>,
    pub folds: Vec<trendlab_results::folds::Fold>,
    /// The MLflow parent run of this invocation, when tracked.
    pub mlflow_run: Option<String>,
}

impl ReportHeader {
    /// The header of a report on `plan`, generated now.
    pub fn new(prepared: &Prepared, plan: &Plan, mlflow_run: Option<String>) -> Self {
        ReportHeader {
            spec_hash: prepared.experiment.spec_hash.clone(),
            data_fingerprint: prepared.panel.fingerprint.clone(),
            trendlab_version: trendlab_results::TRENDLAB_VERSION.to_string(),
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            series: prepared.backtest.series.len(),
            skipped_series: prepared.backtest.skipped.clone(),
            folds: plan.folds.clone(),
            mlflow_run,
        }
    }
}

/// Everything a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub prepared: &'a Prepared,
    pub plan: &'a Plan,
    /// The local run store: forecasts, training logs and run details come
    /// from it (sections are left out for runs it does not hold).
    pub store: &'a RunStore,
    pub board: &'a Leaderboard,
    pub header: &'a ReportHeader,
    /// The changes since an earlier leaderboard (`--compare`).
    pub comparison: Option<&'a Comparison>,
    /// The forecast past the data (`trendlab forecast`), when one is stored
    /// for this data.
    pub forecast: Option<&'a ForecastFile>,
}

impl ReportInput<'_> {
    /// The plan's index of a leaderboard row's configuration.
    fn config_of(&self, row: &trendlab_results::LeaderboardRow) -> Option<usize> {
        (0..self.plan.configs.len()).find(|&c| self.plan.config_id(c) == row.config_id)
    }
}

/// What the templates receive.
#[derive(Debug, Serialize)]
struct Page<'a> {
    board: &'a Leaderboard,
    header: &'a ReportHeader,
    /// The best mean of each metric over the rows.
    best: BTreeMap<String, f64>,
    changes: Option<&'a Comparison>,
    forecast: Option<ForecastSection<'a>>,
    /// The critical-difference diagram, when the ranks were tested.
    cd: Option<significance::CdDiagram>,
    segments: Vec<significance::SegmentTable>,
    explorer: Option<explorer::ExplorerSummary>,
    sensitivity: Vec<sensitivity::Sensitivity>,
    training: Vec<runs::TrainingCurves>,
    importance: Vec<runs::Importance>,
    runs: Vec<runs::ConfigRuns>,
    /// The charts' data, escaped for a `<script type="application/json">`.
    chart_data: String,
    assets: assets::Assets,
}

/// The charts' data, one JSON object read by the page's script.
#[derive(Debug, Serialize)]
struct ChartData<'a> {
    explorer: Option<&'a explorer::Explorer>,
    forecast_totals: Option<ForecastTotals>,
    sensitivity: &'a [sensitivity::Sensitivity],
    training: &'a [runs::TrainingCurves],
}

/// The best mean of each metric over the leaderboard's rows.
pub fn best_per_metric(board: &Leaderboard, scores: &[Score]) -> BTreeMap<String, f64> {
    scores
        .iter()
        .filter_map(|score| {
            let name = score.name();
            board
                .rows
                .iter()
                .filter_map(|r| r.metrics.get(&name)?.mean)
                .min_by(|a, b| score.rank_key(*a).total_cmp(&score.rank_key(*b)))
                .map(|best| (name, best))
        })
        .collect()
}

/// The HTML page.
pub fn render_index(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let scores = input.prepared.experiment.scores();
    let explorer = explorer::Explorer::build(input)?;
    let sensitivity = sensitivity::Sensitivity::of_plan(input.plan, input.board);
    let runs::Gathered {
        training,
        importance,
        runs,
    } = runs::gather(input)?;
    let chart_data = assets::script_json(&ChartData {
        explorer: explorer.as_ref(),
        forecast_totals: input.forecast.map(|f| ForecastTotals::of(f, input.prepared)),
        sensitivity: &sensitivity,
        training: &training,
    });
    let page = Page {
        board: input.board,
        header: input.header,
        best: best_per_metric(input.board, &scores),
        changes: input.comparison,
        forecast: input.forecast.map(ForecastSection::of),
        cd: input
            .board
            .significance
            .as_ref()
            .and_then(|s| s.ranks.as_ref())
            .map(significance::CdDiagram::of),
        segments: significance::segment_tables(input.board),
        explorer: explorer.as_ref().map(explorer::Explorer::summary),
        sensitivity,
        training,
        importance,
        runs,
        chart_data,
        assets: assets::Assets::inlined(),
    };
    templates::render("index.html", &page)
}

/// The Forecast section: the refit configuration, its intervals and the
/// forecast totals per period (what a planner reads first).
#[derive(Debug, Serialize)]
struct ForecastSection<'a> {
    file: &'a ForecastFile,
    /// `forecast.csv`, relative to the report's folder.
    csv: String,
    /// The widest level drawn in the explorer.
    level: Option<f64>,
}

impl ForecastSection<'_> {
    fn of(file: &ForecastFile) -> ForecastSection<'_> {
        ForecastSection {
            csv: forecast_csv_link(file),
            level: file.levels.iter().copied().reduce(f64::max),
            file,
        }
    }
}

/// The Forecast section's chart: the total over the forecast's series of
/// their last periods of history, then of the forecast.
#[derive(Debug, Serialize)]
struct ForecastTotals {
    /// ISO dates: the history's, then the forecast's.
    dates: Vec<String>,
    /// `None` over the forecast's dates.
    history: Vec<Option<f64>>,
    /// `None` over the history's dates but its last (the lines join).
    forecast: Vec<Option<f64>>,
}

impl ForecastTotals {
    /// History shown: four horizons, at least eight periods.
    fn of(file: &ForecastFile, prepared: &Prepared) -> ForecastTotals {
        let panel = &prepared.panel;
        let ids: std::collections::HashSet<&str> = file.forecasts.iter().map(|(id, _, _)| id.as_str()).collect();
        let shown = (4 * file.horizon).max(8);
        let mut totals: BTreeMap<chrono::NaiveDate, f64> = BTreeMap::new();
        for s in panel.series.iter().filter(|s| ids.contains(s.id.as_str())) {
            let start = s.len().saturating_sub(shown);
            for (date, value) in s.dates[start..].iter().zip(&s.target[start..]) {
                *totals.entry(*date).or_default() += value;
            }
        }
        let history: Vec<(chrono::NaiveDate, f64)> = totals.into_iter().rev().take(shown).rev().collect();
        let n = history.len();
        let mut dates: Vec<String> = history.iter().map(|(d, _)| d.to_string()).collect();
        dates.extend(file.totals.iter().map(|t| t.date.to_string()));
        let mut past: Vec<Option<f64>> = history.iter().map(|(_, v)| Some(*v)).collect();
        past.extend(std::iter::repeat_n(None, file.totals.len()));
        let mut future: Vec<Option<f64>> = vec![None; n];
        if let Some(last) = future.last_mut() {
            *last = history.last().map(|(_, v)| *v);
        }
        future.extend(file.totals.iter().map(|t| Some(t.forecast)));
        ForecastTotals {
            dates,
            history: past,
            forecast: future,
        }
    }
}

/// `forecast.csv` of `file`, relative to `reports/<experiment>/`.
fn forecast_csv_link(file: &ForecastFile) -> String {
    format!(
        "../../forecasts/{}/{}/forecast.csv",
        file.experiment, file.data_fingerprint
    )
}

/// `leaderboard.md`: a GitHub-flavoured table, with the changes when
/// compared, and a pointer to the forecast when one exists.
pub fn render_markdown(
    board: &Leaderboard,
    comparison: Option<&Comparison>,
    forecast: Option<&ForecastFile>,
) -> Result<String, ReportError> {
    #[derive(Serialize)]
    struct Markdown<'a> {
        board: &'a Leaderboard,
        changes: Option<&'a Comparison>,
        forecast: Option<ForecastSection<'a>>,
        segments: Vec<significance::SegmentTable>,
    }
    templates::render(
        "leaderboard.md",
        &Markdown {
            board,
            changes: comparison,
            forecast: forecast.map(ForecastSection::of),
            segments: significance::segment_tables(board),
        },
    )
}

/// Writes `leaderboard.{csv,json,md}` and `index.html` into `dir`.
pub fn write(dir: &Path, input: &ReportInput<'_>) -> Result<(), ReportError> {
    let html = render_index(input)?;
    let markdown = render_markdown(input.board, input.comparison, input.forecast)?;
    input.board.write(dir)?;
    write_atomic(&dir.join("leaderboard.md"), markdown.as_bytes())?;
    write_atomic(&dir.join("index.html"), html.as_bytes())?;
    Ok(())
}
