//! What DeepAR's LSTM reads at each step, in neuralforecast's order and
//! alignment: the window's scaled value, then (with covariates) the
//! known-in-advance covariates of the period the step forecasts (step `t`
//! of a window reads those of its period `t + 1`, the recurrent shift of
//! neuralforecast's windows) and the series' static columns.

use crate::window::data::{Batch, CovariateWidths};

/// The step inputs of a batch's windows of `steps` periods.
#[derive(Debug, Clone, Copy)]
pub struct StepInputs<'a> {
    pub batch: &'a Batch,
    pub steps: usize,
    pub widths: CovariateWidths,
}

impl<'a> StepInputs<'a> {
    /// Inputs of the windows of `batch` (its rows' `x` of `steps` periods).
    pub fn of(batch: &'a Batch, widths: CovariateWidths) -> StepInputs<'a> {
        StepInputs {
            batch,
            steps: batch.x.len() / batch.rows.max(1),
            widths,
        }
    }

    /// Inputs per step: the value, the known-in-advance covariates, the
    /// static columns.
    pub fn width(&self) -> usize {
        1 + self.widths.futr + self.widths.stat
    }

    /// Row `row`'s input at window period `t` reading `value` (the
    /// window's own for `t < steps`, a path's draw after it) into `out`
    /// (`width` values).
    pub fn write(&self, row: usize, t: usize, value: f32, out: &mut [f32]) {
        let (f, s) = (self.widths.futr, self.widths.stat);
        out[0] = value;
        if f > 0 {
            let at = (row * self.batch.futr_periods + t + 1) * f;
            out[1..1 + f].copy_from_slice(&self.batch.futr[at..at + f]);
        }
        if s > 0 {
            out[1 + f..1 + f + s].copy_from_slice(&self.batch.stat[row * s..(row + 1) * s]);
        }
    }

    /// Row `row`'s input at window period `t < steps`, its own value.
    pub fn write_own(&self, row: usize, t: usize, out: &mut [f32]) {
        self.write(row, t, self.batch.x[row * self.steps + t], out);
    }

    /// Rows `rows`' inputs, row-major `[rows, steps, width]`.
    pub fn row_major(&self, rows: std::ops::Range<usize>) -> Vec<f32> {
        let w = self.width();
        let mut x = vec![0.0; rows.len() * self.steps * w];
        for (b, r) in rows.enumerate() {
            for t in 0..self.steps {
                let at = (b * self.steps + t) * w;
                self.write_own(r, t, &mut x[at..at + w]);
            }
        }
        x
    }

    /// Rows `rows`' inputs, time-major `[steps, rows, width]` (as the
    /// kernel's training pass and the burn module read them), into `x`.
    pub fn time_major(&self, rows: std::ops::Range<usize>, x: &mut Vec<f32>) {
        let (w, n) = (self.width(), rows.len());
        x.clear();
        x.resize(self.steps * n * w, 0.0);
        for (b, r) in rows.enumerate() {
            for t in 0..self.steps {
                let at = (t * n + b) * w;
                self.write_own(r, t, &mut x[at..at + w]);
            }
        }
    }
}
