//! `classroom`: grades a whole class of ChatLab chat servers in one command,
//! and generates the Gradescope and GitHub Classroom setups that grade
//! beyond one machine.
//!
//! # Layout
//!
//! - [`manifest`]: `chatlab.toml`, and the fallbacks when there is none.
//! - [`submission`]: content hashes and the private copy a student's program runs in.
//! - [`limits`]: the limits, what the machine can enforce, and the record of it.
//! - [`sandbox`]: the hidden `classroom sandbox` the grader starts: `prlimit`,
//!   a user per submission (`setpriv`), the output cap, the final sweep.
//! - [`grade`]: one submission: setup, the conformance grader as a child
//!   process (in a network namespace of its own when possible), wall time.
//! - [`batch`]: the parallel scheduler and the files it writes.
//! - [`result`], [`rubric`], [`report`]: scores, hidden tests, CSV, text,
//!   JSON, HTML and Gradescope outputs.
//! - [`platform`]: the Gradescope bundle and the GitHub Actions workflow.
//! - [`bench`](mod@bench): grades a generated class and reports throughput.
//!
//! `RUST_LOG=classroom=debug` shows what the batch does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

mod batch;
mod bench;
mod grade;
mod limits;
mod manifest;
mod platform;
mod report;
mod result;
mod rubric;
mod sandbox;
mod submission;

use grade::Batch;
use limits::{Capabilities, Limits};
use rubric::Rubric;
use sandbox::Placeholders;

/// Grades a class of ChatLab servers with the conformance grader.
#[derive(Debug, Parser)]
#[command(name = "classroom", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Grade every submission folder of SUBMISSIONS_DIR (one folder per student)
    Grade {
        /// The folder holding one folder per student (the folder name is the student id)
        submissions: PathBuf,
        /// Where to write the grades [default: SUBMISSIONS_DIR/../grades]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Submissions graded in parallel [default: twice the number of CPUs]
        #[arg(long)]
        jobs: Option<usize>,
        #[command(flatten)]
        opts: GradeOpts,
    },
    /// Write a Gradescope autograder bundle (setup.sh, run_autograder, binaries, zip)
    GradescopeBundle {
        /// The folder to write the bundle into
        out: PathBuf,
        #[command(flatten)]
        opts: GradeOpts,
    },
    /// Write a GitHub Actions workflow for GitHub Classroom assignments
    GithubWorkflow {
        /// The workflow file to write, e.g. .github/workflows/chatlab.yml
        out: PathBuf,
        /// The repository holding the ChatLab kit (owner/name)
        #[arg(long, default_value = "chatlab/chatlab")]
        kit_repo: String,
        /// The kit's branch or tag to build the grader from
        #[arg(long, default_value = "main")]
        kit_ref: String,
        /// Highest level graded
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=6))]
        level: u8,
        /// Seed of every random choice
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Generate a class of N submissions from the fixture servers, grade it, report throughput
    BenchClass {
        /// Submissions in the generated class
        #[arg(long, default_value_t = 50)]
        count: usize,
        /// Submissions graded in parallel [default: twice the number of CPUs]
        #[arg(long)]
        jobs: Option<usize>,
        /// The fixture submissions to copy from
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/submissions"))]
        fixtures: PathBuf,
        /// Keep the generated class and its grades in this folder
        #[arg(long)]
        keep: Option<PathBuf>,
        #[command(flatten)]
        opts: GradeOpts,
    },
    /// Run one student command under the limits (used by the grader; not for people)
    #[command(hide = true)]
    Sandbox {
        /// The spec written by the batch grader
        #[arg(long)]
        spec: PathBuf,
        #[arg(long, default_value = "")]
        port: String,
        #[arg(long, default_value = "")]
        photo_port: String,
        #[arg(long, default_value = "")]
        file_port: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Forward standard input up to a byte limit, then stop a process group
    /// (used by `classroom sandbox`; not for people)
    #[command(hide = true)]
    CapOutput {
        /// Bytes to forward
        #[arg(long)]
        bytes: u64,
        /// The process (and process group) to kill at the limit
        #[arg(long)]
        pid: u32,
    },
}

/// Options shared by every command that grades.
#[derive(Debug, Clone, Args)]
struct GradeOpts {
    /// Highest level graded (a manifest's `level` can only lower it)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=6))]
    level: u8,
    /// Seed of every random choice: the same seed gives the same verdict
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rubric: points and hidden tests (TOML), or a conformance rubric (JSON)
    #[arg(long)]
    rubric: Option<PathBuf>,
    /// The instructor's conformance binary [default: next to this program]
    #[arg(long)]
    conformance: Option<PathBuf>,
    /// Wall time per submission, seconds (setup and all tests)
    #[arg(long, default_value_t = Limits::default().wall_time_secs)]
    wall_time: u64,
    /// CPU time per server process, seconds
    #[arg(long, default_value_t = Limits::default().cpu_secs)]
    cpu_time: u64,
    /// Written memory per server process, megabytes
    #[arg(long, default_value_t = Limits::default().memory_mb)]
    memory: u64,
    /// Processes and threads of one submission
    #[arg(long, default_value_t = Limits::default().max_procs)]
    max_procs: u32,
    /// Output (stdout + stderr) per server start, kilobytes
    #[arg(long, default_value_t = Limits::default().max_output_kb)]
    max_output: u64,
    /// Largest file a server may write, megabytes
    #[arg(long, default_value_t = Limits::default().max_file_mb)]
    max_file: u64,
    /// Multiply the grader's timeouts (e.g. 2 on a slow machine)
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Tests the grader runs in parallel within one submission
    #[arg(long, default_value_t = 2)]
    harness_jobs: usize,
    /// Apply no OS limits (no prlimit, setpriv or unshare): for debugging only
    #[arg(long)]
    no_sandbox: bool,
}

impl GradeOpts {
    fn limits(&self) -> Limits {
        Limits {
            wall_time_secs: self.wall_time,
            cpu_secs: self.cpu_time,
            memory_mb: self.memory,
            max_procs: self.max_procs,
            max_output_kb: self.max_output,
            max_file_mb: self.max_file,
            max_open_files: Limits::default().max_open_files,
        }
    }

    /// The batch settings: probes the machine and identifies the grader.
    fn batch(&self) -> anyhow::Result<Batch> {
        let classroom = std::env::current_exe().context("cannot find this executable")?;
        let conformance = match &self.conformance {
            Some(p) => p.clone(),
            None => classroom.with_file_name("conformance"),
        };
        if !conformance.is_file() {
            anyhow::bail!(
                "no conformance grader at {}: build it with `cargo build --release -p conformance`, or pass --conformance PATH",
                conformance.display()
            );
        }
        let conformance = conformance.canonicalize()?;
        let (harness_version, harness_sha256) = Batch::harness_identity(&conformance)?;
        let (rubric, rubric_sha256) = match &self.rubric {
            Some(p) => (Rubric::load(p)?, Some(submission::file_hash(p)?)),
            None => (Rubric::default(), None),
        };
        let caps = if self.no_sandbox {
            Capabilities::none()
        } else {
            Capabilities::probe()
        };
        log::info!("sandbox capabilities: {caps:?}");
        Ok(Batch {
            conformance,
            classroom,
            level: self.level,
            seed: self.seed,
            limits: self.limits(),
            caps,
            rubric,
            rubric_path: self.rubric.clone(),
            rubric_sha256,
            harness_version,
            harness_sha256,
            harness_jobs: self.harness_jobs.max(1),
            time_scale: self.time_scale,
            // Users of their own, far above any real account, and distinct
            // for concurrent batches (one range of 10,000 per process id).
            uid_base: 10_000_000 + (std::process::id() % 100_000) * 10_000,
        })
    }
}

fn main() -> ExitCode {
    env_logger::init();
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("classroom: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Grade {
            submissions,
            out,
            jobs,
            opts,
        } => {
            let out = out.unwrap_or_else(|| default_out(&submissions));
            let batch = opts.batch()?;
            let summary = batch::run(
                &batch,
                &submissions,
                &out,
                jobs.unwrap_or_else(default_jobs),
            )?;
            print_summary(&summary, &batch, &out);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::GradescopeBundle { out, opts } => {
            let batch = opts.batch()?;
            platform::gradescope_bundle(&batch, &opts_args(&opts), &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::GithubWorkflow {
            out,
            kit_repo,
            kit_ref,
            level,
            seed,
        } => {
            platform::github_workflow(&out, &kit_repo, &kit_ref, level, seed)?;
            println!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::BenchClass {
            count,
            jobs,
            fixtures,
            keep,
            opts,
        } => {
            let batch = opts.batch()?;
            bench::run(
                &batch,
                &fixtures,
                count,
                jobs.unwrap_or_else(default_jobs),
                keep.as_deref(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sandbox {
            spec,
            port,
            photo_port,
            file_port,
            data_dir,
        } => {
            let spec = sandbox::load_spec(&spec)?;
            let placeholders = Placeholders {
                port,
                photo_port,
                file_port,
                data_dir,
            };
            match sandbox::run(&spec, &placeholders)? {}
        }
        Cmd::CapOutput { bytes, pid } => {
            sandbox::cap_output(bytes, pid)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `SUBMISSIONS_DIR/../grades`.
fn default_out(submissions: &Path) -> PathBuf {
    let abs = submissions
        .canonicalize()
        .unwrap_or_else(|_| submissions.to_path_buf());
    abs.parent().unwrap_or(Path::new(".")).join("grades")
}

/// Twice the CPUs: grading one submission mostly waits (on replies, on
/// timeouts, on servers starting), so two per core keep the cores busy;
/// measured on 2 cores, 4 jobs grade a Level 6 class in about half the time
/// of 2 with the same verdicts.
fn default_jobs() -> usize {
    2 * std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// The grading flags to repeat inside a bundle, so that it grades as the
/// instructor configured it (the rubric is copied by the bundle itself).
fn opts_args(o: &GradeOpts) -> Vec<String> {
    vec![
        format!("--level={}", o.level),
        format!("--seed={}", o.seed),
        format!("--wall-time={}", o.wall_time),
        format!("--cpu-time={}", o.cpu_time),
        format!("--memory={}", o.memory),
        format!("--max-procs={}", o.max_procs),
        format!("--max-output={}", o.max_output),
        format!("--max-file={}", o.max_file),
        format!("--time-scale={}", o.time_scale),
        format!("--harness-jobs={}", o.harness_jobs),
    ]
}

fn print_summary(summary: &batch::Summary, batch: &Batch, out: &Path) {
    let graded = summary
        .results
        .iter()
        .filter(|r| r.status == result::Status::Graded)
        .count();
    let e = batch.caps.enforced();
    println!(
        "{} submissions in {:.1} s: {} graded, {} not gradable",
        summary.results.len(),
        summary.seconds,
        graded,
        summary.results.len() - graded
    );
    println!(
        "enforced: cpu={} memory={} procs={} output={} files={} network={} separate_user={}",
        e.cpu, e.memory, e.procs, e.output, e.files, e.network, e.separate_user
    );
    println!(
        "grades in {}: class.csv, overview.html, students/, gradescope/",
        out.display()
    );
}
