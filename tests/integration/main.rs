//! trendlab's integration tests: one test binary (as ripgrep does), one
//! module per area. They run the real `trendlab` binary or the library
//! crates on the bundled datasets and on small files written per test.
//!
//! Tests that need what the README's test command installs and starts (an
//! MLflow server, Chromium, Slurm, kubernetes-validate, Taplo, the
//! pretrained MiniLM) are compiled only with the feature `service-tests`,
//! which `scripts/test.sh` turns on: plain `cargo test` runs the rest.

mod aggregation;
mod arima;
mod arima_backtest;
mod arima_convergence;
mod backtest;
mod bad_inputs;
mod bert;
mod bert_fusion;
#[cfg(feature = "service-tests")]
mod bert_minilm;
#[cfg(feature = "service-tests")]
mod browser;
mod categorical;
mod chronos;
mod chronos_family;
mod cli;
#[cfg(feature = "service-tests")]
mod cluster_services;
mod common;
mod data_errors;
mod deepar;
mod deepar_family;
mod dependencies;
#[cfg(feature = "service-tests")]
mod editor_schema;
mod ensemble;
mod extreme_values;
mod fingerprints;
mod forecast;
mod forecast_ensemble;
mod forecast_from;
mod forecast_inputs;
mod lstm;
#[cfg(feature = "service-tests")]
mod mlflow_server;
mod nhits;
mod nhits_family;
mod ops;
mod parquet_input;
mod patchtst;
mod patchtst_family;
mod reconcile;
mod report;
mod report_scale;
mod run_ids;
mod scale;
mod series_shards;
mod significance;
mod spec_errors;
mod statsforecast_families;
mod store;
#[cfg(feature = "service-tests")]
mod tracking;
mod tracking_offline;
mod window_outputs;
