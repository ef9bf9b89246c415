//! How an operation ends: a typed outcome with its exit status, or an
//! [`Error`] that knows its own; and the [`Shell`] an operation tells
//! warnings to while it works.

/// The process exit status of an operation, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything asked for was done.
    Success,
    /// 1: a run failed, a regression gate failed, or another error.
    Failed,
    /// 2: an invalid spec, data, manifest or request; nothing was run.
    Invalid,
    /// 3: a worker's run failed with a stored reason (a retry would fail the same way).
    RunFailed,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Invalid => 2,
            ExitStatus::RunFailed => trendlab_cluster::k8s::RUN_FAILED_EXIT,
        }
    }

    /// `Success` when `ok`, else `failed`.
    pub fn success_if(ok: bool, failed: ExitStatus) -> ExitStatus {
        if ok { ExitStatus::Success } else { failed }
    }
}

/// The outcome of an operation that completed (possibly with failed runs).
pub trait Outcome {
    fn exit_status(&self) -> ExitStatus;
}

/// Why an operation could not complete, with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec or its data is invalid: nothing ran (exit 2). The spec's
    /// errors are located (`path:line:col: message`); a data error names
    /// its file and line, and the spec it was read for.
    #[error("{error}{}", data_of(.error, .spec))]
    Spec {
        error: trendlab_results::PrepareError,
        spec: std::path::PathBuf,
    },
    /// A manifest or the request is invalid: nothing ran (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// I/O, a server, the run store (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Spec { .. } | Error::Invalid(_) => ExitStatus::Invalid,
            Error::Failed(_) => ExitStatus::Failed,
        }
    }

    /// An error of anything displayable, with what was being done.
    pub(crate) fn failed(doing: impl std::fmt::Display, error: impl std::fmt::Display) -> Error {
        Error::Failed(format!("{doing}: {error}"))
    }
}

/// "(data of spec ...)" under a data error.
fn data_of(error: &trendlab_results::PrepareError, spec: &std::path::Path) -> String {
    match error {
        trendlab_results::PrepareError::Data(_) => format!("\n  (data of spec {})", spec.display()),
        trendlab_results::PrepareError::Spec(_) => String::new(),
    }
}

macro_rules! failed_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::Failed(e.to_string())
            }
        }
    )*};
}
failed_from!(
    trendlab_results::StoreError,
    trendlab_tracking::TrackingError,
    trendlab_cluster::ClusterError,
    trendlab_report::ReportError,
    trendlab_tracking::mirror::ReadBackError,
    std::io::Error
);

impl From<trendlab_results::ManifestError> for Error {
    fn from(e: trendlab_results::ManifestError) -> Error {
        Error::Invalid(e.to_string())
    }
}

/// Where an operation tells what the user should know while it works
/// (warnings, hints); the binary prints them on stderr.
pub trait Shell: Sync {
    fn warn(&self, message: &str);
}

/// Keeps every message (for tests and callers that print later).
impl Shell for std::sync::Mutex<Vec<String>> {
    fn warn(&self, message: &str) {
        self.lock().unwrap_or_else(|e| e.into_inner()).push(message.to_string());
    }
}
