//! The grid progress bar, with an epoch bar under it while a neural family
//! trains (hidden when stderr is not a terminal or with --quiet).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use trendlab_results::plan::origin_label;
use trendlab_results::{EpochLoss, PlannedRun, Progress, RunRecord, RunStatus};

pub struct GridBar {
    bars: MultiProgress,
    bar: ProgressBar,
    epochs: ProgressBar,
    /// The epoch bar appears with the first epoch.
    epochs_shown: std::sync::Once,
}

impl GridBar {
    pub fn new(quiet: bool) -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        if !quiet && std::io::stderr().is_terminal() {
            bars.set_draw_target(ProgressDrawTarget::stderr());
        }
        let bar = bars.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} runs [{elapsed_precise}<{eta}] {msg}")
                .expect("valid template"),
        );
        let epochs = ProgressBar::new(0);
        epochs.set_style(ProgressStyle::with_template("  {bar:28} {pos}/{len} epochs {msg}").expect("valid template"));
        GridBar {
            bars,
            bar,
            epochs,
            epochs_shown: std::sync::Once::new(),
        }
    }

    pub fn finish(&self) {
        self.epochs.finish_and_clear();
        self.bar.finish_and_clear();
    }
}

impl Progress for GridBar {
    fn start(&self, to_run: &[&PlannedRun], _skipped: usize) {
        self.bar.set_length(to_run.len() as u64);
    }

    fn epoch(&self, run: &PlannedRun, epoch: &EpochLoss, of: usize) {
        self.epochs_shown.call_once(|| {
            self.bars.add(self.epochs.clone());
        });
        self.epochs.set_length(of as u64);
        self.epochs.set_position(epoch.epoch as u64);
        let validation = epoch
            .validation
            .map_or(String::new(), |v| format!(", validation {v:.4}"));
        self.epochs.set_message(format!(
            "run {} {}: loss {:.4}{validation}",
            &run.id[..8],
            run.origin_label(),
            epoch.train
        ));
    }

    fn run_done(&self, record: &RunRecord) {
        self.bar.inc(1);
        let status = if record.status == RunStatus::Failed {
            " FAILED"
        } else {
            ""
        };
        self.bar.set_message(format!(
            "{} {}{status}",
            record.model,
            origin_label(record.role, record.fold)
        ));
        if record.status == RunStatus::Failed {
            self.bars.suspend(|| {
                eprintln!(
                    "run {} ({} {}) failed: {}",
                    record.run_id,
                    record.model,
                    origin_label(record.role, record.fold),
                    record.error.as_deref().unwrap_or("")
                )
            });
        }
    }
}
