//! Checks of `[evaluation]`'s significance settings: `alpha`, `bootstrap`,
//! `segments` and `new_product_periods`.

use super::Checker;
use crate::locate::KeyPath;
use crate::schema::SpecDocument;

impl Checker<'_> {
    pub(super) fn significance(&mut self, doc: &SpecDocument) {
        let e = &doc.evaluation;
        if doc.data.aggregate.is_some() && !e.segments.is_empty() {
            self.at(
                ["evaluation", "segments"],
                "segments read static columns of a long-format file; with [data.aggregate] there are none",
            );
        }
        if !(e.alpha > 0.0 && e.alpha < 0.5) {
            self.at(
                ["evaluation", "alpha"],
                format!(
                    "alpha {} is not a significance level strictly between 0 and 0.5 (e.g. 0.05)",
                    e.alpha
                ),
            );
        }
        if e.bootstrap == 1 {
            self.at(
                ["evaluation", "bootstrap"],
                "bootstrap needs at least 2 resamples (0 turns the intervals off; 1000 is the default)",
            );
        }
        if e.new_product_periods == Some(0) {
            self.at(
                ["evaluation", "new_product_periods"],
                "new_product_periods must be at least 1",
            );
        }
        for (i, segment) in e.segments.iter().enumerate() {
            let path = KeyPath::from(["evaluation", "segments"]).index(i);
            if segment.split('+').any(|c| c.trim().is_empty()) {
                self.at(path, format!("segment `{segment}` names an empty column"));
            } else if e.segments[..i].contains(segment) {
                self.at(path, format!("segment `{segment}` is listed twice"));
            }
        }
    }
}
