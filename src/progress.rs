//! The grid progress bar (hidden when stderr is not a terminal or with --quiet).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use trendlab_engine::{PlannedRun, Progress, RunRecord, RunStatus};

pub struct GridBar {
    bar: ProgressBar,
}

impl GridBar {
    pub fn new(quiet: bool) -> Self {
        let bar = ProgressBar::hidden();
        if !quiet && std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} runs [{elapsed_precise}<{eta}] {msg}")
                .expect("valid template"),
        );
        GridBar { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for GridBar {
    fn start(&self, to_run: &[&PlannedRun], _skipped: usize) {
        self.bar.set_length(to_run.len() as u64);
    }

    fn run_done(&self, record: &RunRecord) {
        self.bar.inc(1);
        let status = if record.status == RunStatus::Failed {
            " FAILED"
        } else {
            ""
        };
        self.bar
            .set_message(format!("{} fold {}{status}", record.model, record.fold));
        if record.status == RunStatus::Failed {
            self.bar.suspend(|| {
                eprintln!(
                    "run {} ({} fold {}) failed: {}",
                    record.run_id,
                    record.model,
                    record.fold,
                    record.error.as_deref().unwrap_or("")
                )
            });
        }
    }
}
