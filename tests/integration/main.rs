//! trendlab's integration tests: one test binary (as ripgrep does), one
//! module per area. They run the real `trendlab` binary or the library
//! crates on the bundled datasets and on small files written per test.

mod aggregation;
mod arima;
mod arima_backtest;
mod backtest;
mod bert;
mod bert_fusion;
mod browser;
mod cli;
mod common;
mod data_errors;
mod ensemble;
mod lstm;
mod mlflow_server;
mod report;
mod scale;
mod spec_errors;
mod store;
mod tracking;
