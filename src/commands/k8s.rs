//! `trendlab k8s manifest SPEC`.

use std::path::PathBuf;
use trendlab_ops::{ExitStatus, Outcome};

/// Kubernetes Indexed Jobs over the work units.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print Indexed Jobs (one per unit group) running `trendlab work`, and write their work manifest.
    #[command(
        after_help = "The pods mount a PersistentVolumeClaim holding this folder (the repository and the run store) at --mount.\n\
                      Example: trendlab k8s manifest experiments/quickstart.toml --image registry/trendlab:0.1 > job.yaml && kubectl apply -f job.yaml"
    )]
    Manifest {
        /// Experiment spec file (TOML), relative to this folder.
        spec: PathBuf,
        #[command(flatten)]
        job: JobSettings,
        /// Write the YAML here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Folder holding `runs/`, relative to this folder.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// What the Kubernetes Jobs run on.
#[derive(clap::Args)]
pub struct JobSettings {
    /// Container image with `trendlab` on its PATH.
    #[arg(long, default_value = "trendlab:latest")]
    image: String,
    /// PersistentVolumeClaim holding this folder.
    #[arg(long, default_value = "trendlab")]
    claim: String,
    /// Where the claim is mounted in the pods.
    #[arg(long, default_value = "/workspace")]
    mount: String,
    /// Pods at once per Job.
    #[arg(long, default_value_t = 4)]
    parallelism: u32,
    /// Retries of each index after a pod failure (a failed run is not retried).
    #[arg(long, default_value_t = 2)]
    backoff_limit_per_index: u32,
    /// CPUs per pod.
    #[arg(long, default_value_t = 1)]
    cpus: u32,
    /// Memory per pod, e.g. 2Gi.
    #[arg(long, default_value = "2Gi")]
    memory: String,
    /// GPUs per pod of the neural units.
    #[arg(long, default_value_t = 0)]
    gpus: u32,
}

impl JobSettings {
    fn options(self) -> trendlab_cluster::k8s::JobOptions {
        trendlab_cluster::k8s::JobOptions {
            image: self.image,
            claim: self.claim,
            mount: self.mount,
            parallelism: self.parallelism,
            backoff_limit_per_index: self.backoff_limit_per_index,
            cpus: self.cpus,
            memory: self.memory,
            gpus: self.gpus,
            ..Default::default()
        }
    }
}

pub fn exec(command: Command) -> anyhow::Result<ExitStatus> {
    let Command::Manifest { spec, job, output, out } = command;
    let workspace = trendlab_ops::Workspace::open(&spec, &out)?;
    let outcome = trendlab_ops::scale_out::k8s_manifest(&workspace, &job.options())?;
    match output {
        Some(path) => {
            trendlab_results::store::write_atomic(&path, outcome.yaml.as_bytes())?;
            eprintln!(
                "{}: {} Indexed Jobs over {} work units ({}); apply with kubectl apply -f {}",
                path.display(),
                outcome.jobs,
                outcome.units,
                outcome.manifest_path.display(),
                path.display()
            );
        }
        None => out!("{}", outcome.yaml.trim_end()),
    }
    Ok(outcome.exit_status())
}
