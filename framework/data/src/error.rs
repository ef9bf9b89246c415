//! Data errors, each naming the file and, where one is to blame, the line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Line { path: PathBuf, line: u64, message: String },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

impl DataError {
    pub(crate) fn line(path: &std::path::Path, line: u64, message: impl Into<String>) -> Self {
        DataError::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
    pub(crate) fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
