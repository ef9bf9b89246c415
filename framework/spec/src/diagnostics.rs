//! Errors located in a spec file: `path:line:col: message`, a source excerpt
//! with a caret, and "did you mean" suggestions for misspelt names.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One problem found in a spec, located at a line and column of its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The offending source line, shown under the message.
    pub source_line: String,
    pub span_len: usize,
}

impl Diagnostic {
    /// Builds a diagnostic from a byte span of `text`.
    pub fn at(file: &std::path::Path, text: &str, span: Range<usize>, message: String) -> Self {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let col = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end].trim_end_matches('\r').to_string();
        let span_len = text[start..span.end.clamp(start, line_end)].chars().count().max(1);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message,
            source_line,
            span_len,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            let pad: String = self
                .source_line
                .chars()
                .take(self.col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}{}",
                "",
                self.line,
                self.source_line,
                "",
                pad,
                "^".repeat(self.span_len)
            )?;
        }
        Ok(())
    }
}

/// All problems found in one spec; never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Why a spec could not be turned into an experiment.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = name.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&name.to_lowercase(), &c.to_lowercase());
            (distance, c.chars().count().abs_diff(length), c)
        })
        .filter(|(d, _, _)| *d <= limit)
        .min_by_key(|(d, len_diff, _)| (*d, *len_diff))
        .map(|(_, _, c)| c)
}

/// `"; did you mean `x`?"` when a close candidate exists, else empty.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates).map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

/// Extends serde's standard "unknown field/variant `x`, expected one of `a`,
/// `b`" messages with a "did you mean" when one of the expected names is close.
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message.to_string();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", did_you_mean(unknown, names))
}

/// The name in backticks of a serde "unknown field `x`" message.
pub fn unknown_field_name(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split_once('`').map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_byte_span() {
        let text = "[a]\nkey = 1\n  bad = 2\n";
        let d = Diagnostic::at(std::path::Path::new("x.toml"), text, 14..17, "m".into());
        assert_eq!((d.line, d.col, d.span_len), (3, 3, 3));
        assert_eq!(d.source_line, "  bad = 2");
        assert!(d.to_string().starts_with("x.toml:3:3: m\n"));
    }

    #[test]
    fn suggestion_from_serde_message() {
        let m = "unknown field `horizn`, expected one of `horizon`, `folds`";
        assert_eq!(with_suggestion(m), format!("{m}; did you mean `horizon`?"));
        assert_eq!(
            with_suggestion("unknown field `zzz`, expected `a`"),
            "unknown field `zzz`, expected `a`"
        );
        assert_eq!(unknown_field_name(m), Some("horizn"));
    }

    #[test]
    fn closest_ignores_far_names() {
        assert_eq!(closest("quantty", ["quantity", "revenue"]), Some("quantity"));
        assert_eq!(closest("price", ["quantity", "revenue"]), None);
        // Equal edit distance: the candidate of the same length wins.
        assert_eq!(closest("msae", ["mae", "mase"]), Some("mase"));
        assert_eq!(closest("rmse", ["mae", "mase"]), None);
    }
}
