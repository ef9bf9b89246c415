//! Categorical columns as numbers a model reads: `[data] events` (known in
//! advance, period by period: an event's name, a flag) and `[data] static`
//! (constant within a series: store, department, category). A column whose
//! values are all numbers (a 0/1 flag) stays one numeric column; any other
//! becomes one 0/1 column per distinct value, named `column=value`, in
//! sorted order. Empty cells are "none": 0 in a numeric column, 0 in every
//! one-hot column.

use std::collections::HashMap;

/// The most distinct values a column is one-hot encoded with. Each value
/// becomes a column over every period of every series (dense), so a column
/// of product ids (10^5 values) would ask for terabytes; such a column is
/// refused, naming it and its count.
pub(crate) const MAX_LEVELS: usize = 1000;

/// The distinct values of one column, as read: code 0 is the empty cell.
#[derive(Debug, Clone)]
pub(crate) struct Interner {
    codes: HashMap<Vec<u8>, u32>,
    values: Vec<String>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            codes: HashMap::from([(Vec::new(), 0)]),
            values: vec![String::new()],
        }
    }
}

impl Interner {
    /// The code of `cell` (trimmed), as an f64 to sit among covariates.
    pub(crate) fn code(&mut self, cell: &[u8]) -> f64 {
        let cell = cell.trim_ascii();
        if let Some(&code) = self.codes.get(cell) {
            return f64::from(code);
        }
        let code = self.values.len() as u32;
        self.codes.insert(cell.to_vec(), code);
        self.values.push(String::from_utf8_lossy(cell).into_owned());
        f64::from(code)
    }

    /// How a column of these codes becomes model columns: their names, and
    /// for each code its value in each of them; `Err(count)` when it would
    /// take more than [`MAX_LEVELS`] one-hot columns.
    pub(crate) fn encoding(&self, column: &str) -> Result<Encoding, usize> {
        let numbers: Option<Vec<f64>> = self.values[1..].iter().map(|v| v.parse::<f64>().ok()).collect();
        match numbers.filter(|n| n.iter().all(|v| v.is_finite())) {
            Some(numbers) => Ok(Encoding {
                names: vec![column.to_string()],
                rows: std::iter::once(vec![0.0])
                    .chain(numbers.into_iter().map(|v| vec![v]))
                    .collect(),
            }),
            None if self.values.len() - 1 > MAX_LEVELS => Err(self.values.len() - 1),
            None => {
                let mut order: Vec<usize> = (1..self.values.len()).collect();
                order.sort_by(|&a, &b| self.values[a].cmp(&self.values[b]));
                let mut rows = vec![vec![0.0; order.len()]; self.values.len()];
                for (column_index, &code) in order.iter().enumerate() {
                    rows[code][column_index] = 1.0;
                }
                Ok(Encoding {
                    names: order.iter().map(|&c| format!("{column}={}", self.values[c])).collect(),
                    rows,
                })
            }
        }
    }
}

/// Model columns of one categorical column: `rows[code]` holds the values
/// of a cell with that code in each column of `names`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Encoding {
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<Vec<f64>>,
}

impl Encoding {
    /// The columns for a sequence of codes.
    pub(crate) fn expand(&self, codes: &[f64]) -> Vec<Vec<f64>> {
        (0..self.names.len())
            .map(|j| codes.iter().map(|c| self.rows[*c as usize][j]).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stay_numbers_and_names_become_one_hot_columns() {
        let mut snap = Interner::default();
        let codes: Vec<f64> = [&b"0"[..], b"1", b"", b"1"].iter().map(|c| snap.code(c)).collect();
        let e = snap.encoding("snap").unwrap();
        assert_eq!(e.names, vec!["snap"]);
        assert_eq!(e.expand(&codes), vec![vec![0.0, 1.0, 0.0, 1.0]]);
        let mut event = Interner::default();
        let codes: Vec<f64> = [&b"SuperBowl"[..], b"", b" Easter ", b"SuperBowl"]
            .iter()
            .map(|c| event.code(c))
            .collect();
        let e = event.encoding("event_name_1").unwrap();
        assert_eq!(e.names, vec!["event_name_1=Easter", "event_name_1=SuperBowl"]);
        assert_eq!(
            e.expand(&codes),
            vec![vec![0.0, 0.0, 1.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]]
        );
    }
}
