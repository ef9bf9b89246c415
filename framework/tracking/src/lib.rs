//! Experiment tracking: a typed MLflow REST client ([`client`]) and the
//! mirror of trendlab's run store into MLflow ([`mirror`]): parent and child
//! runs, idempotent re-runs, survival of outages, `sync`, and reading the
//! leaderboard back (with its significance section, [`significance`]); and
//! the forecast past the data ([`forecast`]).

pub mod client;
pub mod forecast;
pub mod mirror;
pub mod significance;

pub use client::{Credentials, MlflowClient, TrackingError};
pub use mirror::{LiveMirror, Mirror, MirrorReport, read_back_from_mlflow, sync};
