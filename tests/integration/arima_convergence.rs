//! Fixed-order ARIMA converges wherever statsmodels does: on Online Retail
//! weekly series cut at the quickstart's cutoffs (step 4), for (0,1,1),
//! (1,1,1), (2,1,2) and (1,0,1), every fit converges, and reaches at least
//! statsmodels' log-likelihood less 1e-6 (tests/goldens/
//! make_arima_convergence.py) but for the ARIMA(2,1,2) fits listed in
//! [`SHORT_OF_STATSMODELS`], where both optimisers stop at local optima and
//! statsmodels' is the higher. The sample holds the six series whose
//! ARIMA(0,1,1) fit once stopped without converging (MA near -0.9).

use crate::common::repo;
use serde_json::Value;
use trendlab_models::arima::{Orders, fit};
use trendlab_spec::ArimaTrend;

/// Fits (series, fold, order) whose optimum is below statsmodels', with
/// the gap measured when this list was written: the test fails when one
/// falls further behind, and when one catches up (drop it from the list).
const SHORT_OF_STATSMODELS: &[(&str, u64, [usize; 3], f64)] = &[
    ("20914", 2, [2, 1, 2], 1.4e-6),
    ("15056N", 1, [2, 1, 2], 0.294),
    ("47566", 0, [2, 1, 2], 0.026),
    ("47566", 1, [2, 1, 2], 0.241),
];

#[test]
fn fixed_orders_reach_statsmodels_likelihood_on_every_sampled_series() {
    let golden: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/goldens/arima_convergence_retail_weekly.json")).unwrap(),
    )
    .unwrap();
    let fits = golden["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 168, "14 series x 3 folds x 4 orders");
    for reference in fits {
        let series = reference["series"].as_str().unwrap();
        let fold = reference["fold"].as_u64().unwrap();
        let order: Vec<usize> = serde_json::from_value(reference["order"].clone()).unwrap();
        let order = [order[0], order[1], order[2]];
        let y: Vec<f64> = serde_json::from_value(reference["values"].clone()).unwrap();
        let orders = Orders {
            order,
            seasonal_order: [0, 0, 0, 0],
            trend: ArimaTrend::default_for(order[1]),
        };
        let what = format!("{series} fold {fold} ARIMA{order:?}");
        let model = fit(&y, &[], &orders, series).unwrap_or_else(|e| panic!("{what}: {e}"));
        let theirs = reference["llf"].as_f64().unwrap();
        let gap = theirs - model.loglik;
        match SHORT_OF_STATSMODELS
            .iter()
            .find(|(s, f, o, _)| *s == series && *f == fold && *o == order)
        {
            None => assert!(
                gap <= 1e-6,
                "{what}: log-likelihood {} below statsmodels' {theirs}",
                model.loglik
            ),
            Some((.., known)) => {
                assert!(
                    gap > 1e-6,
                    "{what} reaches statsmodels' optimum now: drop it from the list"
                );
                assert!(gap <= known * 1.01, "{what}: {gap} below statsmodels', was {known}");
            }
        }
    }
}
