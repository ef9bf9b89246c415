//! Finds the byte span of a key path (`models[2].grid.alpha[1]`) in the
//! spanned TOML document, so that checks done after deserialisation can still
//! point at the exact place in the file.

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into the spec document, e.g. `["evaluation", "horizon"]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Seg::Key(key.to_string()));
        self
    }
    pub fn index(mut self, i: usize) -> Self {
        self.0.push(Seg::Index(i));
        self
    }
}

/// `KeyPath` from keys: `KeyPath::from(["evaluation", "horizon"])`.
impl<const N: usize> From<[&str; N]> for KeyPath {
    fn from(keys: [&str; N]) -> Self {
        KeyPath(keys.iter().map(|k| Seg::Key(k.to_string())).collect())
    }
}

/// Where a path points: the key itself (for "unknown key") or its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

/// The span of `path` in `doc`; when the path does not exist (a missing
/// key), the span of its deepest existing ancestor.
pub fn span_of(doc: &Spanned<DeTable<'_>>, path: &KeyPath, target: Target) -> Range<usize> {
    let mut best = doc.span();
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    for seg in &path.0 {
        let (value, key_span) = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => match t.iter().find(|(key, _)| key.get_ref() == k) {
                Some((key, value)) => (value, Some(key.span())),
                None => return best,
            },
            (Seg::Index(i), _, Some(a)) => match a.get(*i) {
                Some(value) => (value, None),
                None => return best,
            },
            _ => return best,
        };
        best = match (target, key_span) {
            (Target::Key, Some(span)) => span,
            _ => value.span(),
        };
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(&a[..])),
            _ => (None, None),
        };
    }
    best
}

/// `models[2].grid.alpha`, for messages.
impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
