//! `trendlab schema`.

use trendlab_ops::ExitStatus;

/// Print the JSON Schema of experiment specs (for editor completion).
#[derive(clap::Args)]
pub struct Args {}

pub fn exec(_: Args) -> anyhow::Result<ExitStatus> {
    out!("{}", serde_json::to_string_pretty(&trendlab_spec::json_schema())?);
    Ok(ExitStatus::Success)
}
