//! trendlab-stats against SciPy, scikit-posthocs and statsmodels on the
//! inputs of tests/goldens/significance.json (make_significance.py).

use serde_json::Value;
use trendlab_stats::{friedman, holm, nemenyi, wilcoxon};

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/goldens/significance.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("golden JSON")
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 + 1e-7 * expected.abs();
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual} vs {expected}");
}

#[test]
fn wilcoxon_equals_scipy_in_every_branch() {
    let g = golden();
    let cases = g["wilcoxon"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let w = wilcoxon(&numbers(&case["d"]));
        close(
            w.statistic,
            case["statistic"].as_f64().unwrap(),
            &format!("{name}: statistic"),
        );
        close(w.p_value, case["p_value"].as_f64().unwrap(), &format!("{name}: p"));
    }
}

#[test]
fn friedman_and_nemenyi_equal_scipy_and_scikit_posthocs() {
    let g = golden();
    for case in g["friedman"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let blocks: Vec<Vec<f64>> = case["blocks"].as_array().unwrap().iter().map(numbers).collect();
        let f = friedman(&blocks).unwrap();
        close(f.statistic, case["statistic"].as_f64().unwrap(), &format!("{name}: χ²"));
        close(f.p_value, case["p_value"].as_f64().unwrap(), &format!("{name}: p"));
        for (r, e) in f.mean_ranks.iter().zip(numbers(&case["mean_ranks"])) {
            close(*r, e, &format!("{name}: mean rank"));
        }
        let alpha = case["alpha"].as_f64().unwrap();
        let n = nemenyi(&f.mean_ranks, f.blocks, alpha);
        let cd = case["critical_difference"].as_f64().unwrap();
        assert!(
            (n.critical_difference - cd).abs() < 1e-6,
            "{name}: CD {} vs {cd}",
            n.critical_difference
        );
        for (row, expected) in n.p_values.iter().zip(case["nemenyi_p"].as_array().unwrap()) {
            for (p, e) in row.iter().zip(numbers(expected)) {
                assert!((p - e).abs() < 1e-7, "{name}: Nemenyi p {p} vs {e}");
            }
        }
    }
}

#[test]
fn holm_equals_statsmodels() {
    let g = golden();
    let adjusted = holm(&numbers(&g["holm"]["p"]));
    for (a, e) in adjusted.iter().zip(numbers(&g["holm"]["adjusted"])) {
        close(*a, e, "Holm");
    }
}
