//! The `trendlab` command line: a thin layer over the framework crates.
//! Exit codes: 0 success, 1 some runs failed (or another error), 2 invalid
//! spec or data (nothing was run).

/// `println!` that ends the program quietly when stdout is closed (e.g.
/// piped into `head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::print_line(format_args!($($arg)*)) };
}

mod cluster;
mod commands;
mod compare;
mod progress;
mod table;
mod tracking;
mod work;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trendlab_engine::{Budget, RunOptions};

#[derive(Parser)]
#[command(
    name = "trendlab",
    version,
    about = "Declarative forecasting experiments on retail sales"
)]
#[command(after_help = "Examples:
  trendlab validate experiments/*.toml
  trendlab plan experiments/quickstart.toml
  trendlab run experiments/quickstart.toml --jobs 2
  trendlab slurm submit experiments/quickstart.toml --throttle 8
  trendlab report experiments/quickstart.toml
  trendlab schema > trendlab.schema.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Output {
    /// Folder holding `runs/` and `reports/`.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// MLflow tracking server (overrides MLFLOW_TRACKING_URI and the spec's [tracking] mlflow).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

/// Comparison with an earlier leaderboard, for CI.
#[derive(clap::Args, Clone)]
struct Compare {
    /// An earlier leaderboard.json: the report and leaderboard.md get a change column (▲/▼ per metric, new and removed models).
    #[arg(long, value_name = "LEADERBOARD_JSON")]
    compare: Option<PathBuf>,
    /// With --compare: exit 1 when the best mean of METRIC is more than PCT percent worse than before (e.g. mase:5).
    #[arg(long, value_name = "METRIC:PCT", requires = "compare")]
    fail_on_regression: Option<trendlab_report::RegressionGate>,
}

impl Compare {
    fn with(&self) -> compare::CompareWith<'_> {
        compare::CompareWith {
            leaderboard: self.compare.as_deref(),
            gate: self.fail_on_regression.as_ref(),
        }
    }
}

impl Output {
    fn target(&self) -> commands::Target<'_> {
        commands::Target {
            out: &self.out,
            tracking_uri: self.tracking_uri.as_deref(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and their data without running anything.
    #[command(after_help = "Errors are printed as path:line:col: message; exit code 2 if any spec is invalid.")]
    Validate {
        /// Experiment spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
    },
    /// Show the runs a spec expands to (grid x folds).
    Plan {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Write the work units (for `trendlab work`, job arrays) to this file instead.
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        manifest: Option<PathBuf>,
    },
    /// Run every planned run not already finished, then write the leaderboard and report.
    #[command(after_help = "Example: trendlab run experiments/quickstart.toml --jobs 2")]
    Run {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Re-run finished runs too.
        #[arg(long)]
        force: bool,
        /// Worker threads: runs, and the series within a run, are spread over them.
        #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
        /// At most this many neural runs at once on each GPU.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        gpu_slots: u16,
        /// Memory for runs at once, in GB, against the models' declared `memory_gb` (default: this machine's memory).
        #[arg(long, value_name = "GB")]
        memory_gb: Option<f64>,
        /// Train neural families here: "cpu" or "cuda:N" (overrides the spec; run ids stay the same).
        #[arg(long)]
        device: Option<trendlab_spec::ComputeDevice>,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        compare: Compare,
    },
    /// Execute work units of a manifest (`plan --manifest`) into the run store: one worker of a job array.
    #[command(
        after_help = "The unit is --index I (plus --offset), or every N-th unit with --shard I/N, or the array task's\n\
                      index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (plus --offset). Finished runs are skipped.\n\
                      Exit codes: 0 every run finished; 3 a run failed (its reason stored); 2 bad manifest or spec; 1 other errors."
    )]
    Work {
        /// The manifest written by `trendlab plan SPEC --manifest FILE`.
        manifest: PathBuf,
        /// The unit to run.
        #[arg(long, conflicts_with = "shard")]
        index: Option<usize>,
        /// Every N-th unit starting at I (I/N, 0 <= I < N).
        #[arg(long, value_name = "I/N")]
        shard: Option<work::Shard>,
        /// Added to the index (the first unit of an array's group).
        #[arg(long, default_value_t = 0, conflicts_with = "shard")]
        offset: usize,
        /// Worker threads.
        #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
        /// Train neural families here: "cpu" or "cuda:N".
        #[arg(long)]
        device: Option<trendlab_spec::ComputeDevice>,
        /// Wait up to this many seconds for the runs the units read (an ensemble's members) to be stored.
        #[arg(long, value_name = "SECONDS")]
        wait_for_reads: Option<u64>,
        /// Folder holding `runs/`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run the work units as Slurm job arrays (submit, status, resubmit).
    #[command(subcommand)]
    Slurm(SlurmCommand),
    /// Kubernetes Indexed Jobs over the work units.
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Rebuild the leaderboard and HTML report from the run store (or from MLflow).
    #[command(
        after_help = "Example (CI): trendlab report experiments/quickstart.toml --compare old/leaderboard.json --fail-on-regression mase:5\n\
                      Exit code 1 when the gate fails; the report is written either way."
    )]
    Report {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Read the runs from the MLflow server instead of the local store.
        #[arg(long)]
        from_mlflow: bool,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        compare: Compare,
    },
    /// Mirror every stored run that the MLflow server lacks (after an outage).
    #[command(
        after_help = "Example: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 trendlab sync experiments/quickstart.toml"
    )]
    Sync {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Print the JSON Schema of experiment specs (for editor completion).
    Schema,
    /// Embed texts with a BERT encoder directory and print the pooled vectors as JSON.
    #[command(
        group(clap::ArgGroup::new("input").required(true).multiple(true).args(["text", "file"])),
        after_help = "Example: trendlab embed --encoder models/all-MiniLM-L6-v2 --text \"JUMBO BAG RED RETROSPOT\"\n\
                      Prints {\"texts\": [...], \"input_ids\": [...], \"embeddings\": [[...]]}."
    )]
    Embed {
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
        pooling: trendlab_neural::bert::Pooling,
        /// Scale each vector to unit length (as sentence-transformers' Normalize).
        #[arg(long)]
        normalize: bool,
        /// Where to run the encoder: "cpu" or "cuda:N".
        #[arg(long, default_value = "cpu")]
        device: trendlab_spec::ComputeDevice,
    },
}

#[derive(Subcommand)]
enum SlurmCommand {
    /// Write the manifest and one sbatch array script per unit group, and submit them without waiting.
    #[command(
        after_help = "Files go to <out>/runs/<experiment>/slurm/ (plan.json, <group>.sbatch, logs/, submissions.json).\n\
                      Example: trendlab slurm submit experiments/quickstart.toml --partition cpu --cpus-per-task 4 --throttle 16"
    )]
    Submit {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        #[command(flatten)]
        array: ArraySettings,
        /// Write the scripts and print the sbatch commands without submitting.
        #[arg(long)]
        dry_run: bool,
        /// Folder holding `runs/` (shared by the nodes).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Done, failed, running and pending units, from the run store and squeue/sacct.
    #[command(after_help = "Exit code 1 when a unit failed.")]
    Status {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Wait until no unit is pending or running.
        #[arg(long)]
        wait: bool,
        /// Folder holding `runs/`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Submit again only the units that failed (a stored failure, or a task that ended without results).
    Resubmit {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Resubmit the failed units.
        #[arg(long, required = true)]
        failed: bool,
        /// At most K tasks of each array at once.
        #[arg(long, value_name = "K")]
        throttle: Option<u32>,
        /// Submit held: tasks wait for `scontrol release JOB`.
        #[arg(long)]
        hold: bool,
        /// Folder holding `runs/`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// Resources of the Slurm arrays.
#[derive(clap::Args)]
struct ArraySettings {
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// CPUs per task (the worker's threads).
    #[arg(long, default_value_t = 1)]
    cpus_per_task: u32,
    /// GPUs per task of the neural units (0: they run on CPUs).
    #[arg(long, default_value_t = 0)]
    gpus_per_task: u32,
    /// At most K tasks of each array at once.
    #[arg(long, value_name = "K")]
    throttle: Option<u32>,
    /// Wall-clock limit per task (sbatch --time), e.g. 1:00:00.
    #[arg(long)]
    time: Option<String>,
    /// Memory per task (sbatch --mem), e.g. 4G.
    #[arg(long)]
    mem: Option<String>,
    /// Submit held: tasks wait for `scontrol release JOB`.
    #[arg(long)]
    hold: bool,
}

impl ArraySettings {
    fn options(self) -> trendlab_cluster::slurm::ArrayOptions {
        trendlab_cluster::slurm::ArrayOptions {
            partition: self.partition,
            cpus_per_task: self.cpus_per_task,
            gpus_per_task: self.gpus_per_task,
            throttle: self.throttle,
            time: self.time,
            mem: self.mem,
            hold: self.hold,
        }
    }
}

/// What the Kubernetes Jobs run on.
#[derive(clap::Args)]
struct JobSettings {
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

#[derive(Subcommand)]
enum K8sCommand {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { specs } => commands::validate(&specs),
        Command::Plan {
            spec,
            manifest: Some(manifest),
            ..
        } => work::write_manifest(&spec, &manifest),
        Command::Plan { spec, json, .. } => commands::plan(&spec, json),
        Command::Run {
            spec,
            force,
            jobs,
            gpu_slots,
            memory_gb,
            device,
            output,
            compare,
        } => commands::run(
            &spec,
            RunOptions {
                force,
                budget: Budget {
                    jobs: jobs.into(),
                    gpu_slots: gpu_slots.into(),
                    memory_gb: memory_gb.or_else(commands::machine_memory_gb),
                },
            },
            device,
            &output.target(),
            output.quiet,
            compare.with(),
        ),
        Command::Report {
            spec,
            from_mlflow,
            output,
            compare,
        } => commands::report(&spec, &output.target(), from_mlflow, compare.with()),
        Command::Work {
            manifest,
            index,
            shard,
            offset,
            jobs,
            device,
            wait_for_reads,
            out,
            quiet,
        } => work::work(
            &manifest,
            work::Selection { index, shard, offset },
            &work::WorkOptions {
                jobs: jobs.into(),
                device,
                out: &out,
                quiet,
                wait_for_reads,
            },
        ),
        Command::Slurm(SlurmCommand::Submit {
            spec,
            array,
            dry_run,
            out,
        }) => cluster::submit(&spec, &out, &array.options(), dry_run),
        Command::Slurm(SlurmCommand::Status { spec, json, wait, out }) => cluster::status(&spec, &out, json, wait),
        Command::Slurm(SlurmCommand::Resubmit {
            spec,
            failed: _,
            throttle,
            hold,
            out,
        }) => cluster::resubmit(&spec, &out, throttle, hold),
        Command::K8s(K8sCommand::Manifest { spec, job, output, out }) => {
            cluster::k8s_manifest(&spec, &out, &job.options(), output.as_deref())
        }
        Command::Sync { spec, output } => commands::sync(&spec, &output.target()),
        Command::Schema => commands::schema(),
        Command::Embed {
            encoder,
            text,
            file,
            pooling,
            normalize,
            device,
        } => commands::embed(&encoder, text, file.as_deref(), (pooling, normalize), device),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}
