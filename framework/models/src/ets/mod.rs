//! Exponential smoothing state-space models (ETS): error A/M, trend N/A/Ad
//! (M with `allow_multiplicative_trend`), season N/A/M, fitted by maximum
//! likelihood; a `Z` letter of the model code searches that component
//! and keeps the form with the lowest AICc, as R's `forecast::ets` and
//! statsforecast's `AutoETS`. Prediction intervals are analytic for the
//! linear forms (Hyndman et al. 2008, classes 1 and 2) and from seeded
//! simulated paths for the others.

mod family;
pub mod fit;
pub mod init;
mod intervals;
pub mod statespace;

pub use fit::{EtsFit, fit_form};
use statespace::{Form, Kind};

/// The components to try, from a model code such as "ZZZ" or "MAN".
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub errors: Vec<Kind>,
    pub trends: Vec<Kind>,
    pub seasons: Vec<Kind>,
    /// Damped trend: `None` tries both.
    pub damped: Option<bool>,
    pub period: usize,
}

fn kinds(letter: char, any: &[Kind]) -> Vec<Kind> {
    match letter {
        'N' => vec![Kind::None],
        'A' => vec![Kind::Additive],
        'M' => vec![Kind::Multiplicative],
        _ => any.to_vec(),
    }
}

impl Search {
    /// The search a validated model code stands for.
    pub fn new(model: &str, damped: Option<bool>, period: usize, multiplicative_trend: bool) -> Search {
        let letters: Vec<char> = model.chars().collect();
        let trends: &[Kind] = if multiplicative_trend {
            &[Kind::None, Kind::Additive, Kind::Multiplicative]
        } else {
            &[Kind::None, Kind::Additive]
        };
        Search {
            errors: kinds(letters[0], &[Kind::Additive, Kind::Multiplicative]),
            trends: kinds(letters[1], trends),
            seasons: kinds(letters[2], &[Kind::None, Kind::Additive, Kind::Multiplicative]),
            damped,
            period,
        }
    }

    /// The forms to fit to `y`, in the reference's order, leaving out the
    /// unstable combinations (additive error with a multiplicative part,
    /// M,M,A), multiplicative parts on data that is not all positive, and a
    /// season on a series no longer than one period.
    fn forms(&self, y: &[f64]) -> Vec<Form> {
        let positive = y.iter().all(|v| *v > 0.0);
        let seasonal = self.period > 1 && y.len() > self.period;
        let mut forms = Vec::new();
        for &error in &self.errors {
            for &trend in &self.trends {
                for &season in &self.seasons {
                    for damped in self.damped.map_or(vec![true, false], |d| vec![d]) {
                        let multiplicative = error == Kind::Multiplicative || season == Kind::Multiplicative;
                        let skip = (trend == Kind::None && damped)
                            || (error == Kind::Additive
                                && (trend == Kind::Multiplicative || season == Kind::Multiplicative))
                            || (error == Kind::Multiplicative
                                && trend == Kind::Multiplicative
                                && season == Kind::Additive)
                            || (!positive && (multiplicative || trend == Kind::Multiplicative))
                            || (season != Kind::None && !seasonal);
                        if !skip {
                            forms.push(Form {
                                error,
                                trend,
                                season,
                                damped,
                                period: if season == Kind::None { 1 } else { self.period },
                            });
                        }
                    }
                }
            }
        }
        forms
    }
}

/// Why no ETS model could be fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum NoFit {
    /// Fewer values than the smallest candidate needs.
    TooShort { need: usize },
    /// No candidate the code allows suits the data (a multiplicative part on
    /// values that are not all positive, a season on a short series).
    NoCandidate,
    /// Every candidate failed numerically.
    Failed,
}

/// Fits every form of `search` and keeps the lowest AICc. A constant
/// series gets simple exponential smoothing with α = 0.9999.
pub fn auto_ets(y: &[f64], search: &Search) -> Result<EtsFit, NoFit> {
    let smallest = 2
        + [
            search.trends.iter().all(|t| *t != Kind::None),
            search.seasons.iter().all(|s| *s != Kind::None),
        ]
        .iter()
        .filter(|b| **b)
        .count()
            * 2
        + usize::from(search.damped == Some(true));
    if y.len() <= smallest + 4 {
        return Err(NoFit::TooShort { need: smallest + 5 });
    }
    if y.iter().all(|v| *v == y[0]) {
        return fit_form(y, Form::SIMPLE, Some(0.9999)).ok_or(NoFit::Failed);
    }
    let forms = search.forms(y);
    if forms.is_empty() {
        return Err(NoFit::NoCandidate);
    }
    forms
        .into_iter()
        .filter_map(|form| fit_form(y, form, None))
        .filter(|fit| fit.aicc.is_finite())
        .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
        .ok_or(NoFit::Failed)
}

impl EtsFit {
    /// Point forecasts `horizon` steps past the data.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let mut out = vec![0.0; horizon];
        self.form.forecast(&self.last, self.smoothing.phi, &mut out);
        out
    }
}
