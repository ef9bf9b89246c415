//! Average ranks (ties share the mean of the ranks they span), as SciPy's
//! `rankdata(method="average")`, and the sizes of the tie groups.

/// 1-based average ranks of `values` (ascending) and the size of every
/// group of equal values (ones included). NaN must not occur.
pub fn average_ranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut groups = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        groups.push(end - start);
        start = end;
    }
    (ranks, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_mean_rank() {
        let (ranks, groups) = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0, -0.0, 0.0]);
        // -0 and 0 are equal (ranks 1, 2 → 1.5); 1 → 3, 2 → 4; the 3s share 5, 6, 7 → 6.
        assert_eq!(ranks, [6.0, 3.0, 6.0, 4.0, 6.0, 1.5, 1.5]);
        assert_eq!(groups, [2, 1, 1, 3]);
    }
}
