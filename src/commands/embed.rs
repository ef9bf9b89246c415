//! `trendlab embed --encoder DIR (--text T... | --file F)`.

use std::path::PathBuf;
use trendlab_ops::embed::EmbedRequest;
use trendlab_ops::{ExitStatus, Outcome};

/// Embed texts with a BERT encoder directory and print the pooled vectors as JSON.
#[derive(clap::Args)]
#[command(
    group(clap::ArgGroup::new("input").required(true).multiple(true).args(["text", "file"])),
    after_help = "Example: trendlab embed --encoder models/all-MiniLM-L6-v2 --text \"JUMBO BAG RED RETROSPOT\"\n\
                  Prints {\"texts\": [...], \"input_ids\": [...], \"embeddings\": [[...]]}."
)]
pub struct Args {
    /// A Hugging Face BERT directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    encoder: PathBuf,
    /// A text to embed (repeat for several).
    #[arg(long)]
    text: Vec<String>,
    /// A file with one text per line (blank lines are skipped).
    #[arg(long)]
    file: Option<PathBuf>,
    /// How token states become one vector: mean (as sentence-transformers) or cls.
    #[arg(long, default_value = "mean")]
    pooling: trendlab_spec::Pooling,
    /// Scale each vector to unit length (as sentence-transformers' Normalize).
    #[arg(long)]
    normalize: bool,
    /// Where to run the encoder: "cpu" or "cuda:N".
    #[arg(long, default_value = "cpu")]
    device: trendlab_spec::ComputeDevice,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let outcome = trendlab_ops::embed::embed(EmbedRequest {
        encoder: &args.encoder,
        texts: args.text,
        file: args.file.as_deref(),
        pooling: args.pooling,
        normalize: args.normalize,
        device: args.device,
    })?;
    out!("{}", serde_json::to_string(&outcome)?);
    Ok(outcome.exit_status())
}
