//! `tracehouse bench`: the benchmark harness is a binary of its own (`tracehouse-bench`, from
//! `crates/bench`), so that the product carries none of it; this command runs it from beside
//! the current executable with the same arguments and exits with its status.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::Args;

/// The harness's binary name.
const HARNESS: &str = "tracehouse-bench";

/// Options of `tracehouse bench`: everything is the harness's (`tracehouse bench --help` shows
/// them).
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The harness's options.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<OsString>,
}

/// Where the harness is expected: beside the current executable.
fn harness_path() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the tracehouse executable")?;
    Ok(exe.with_file_name(format!("{HARNESS}{}", std::env::consts::EXE_SUFFIX)))
}

/// Runs `tracehouse-bench ARGS` and returns its exit status.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let harness = harness_path()?;
    if !harness.is_file() {
        // The profile this executable was built with, which the harness beside it shares.
        let release = if cfg!(debug_assertions) {
            ""
        } else {
            " --release"
        };
        anyhow::bail!(
            "`tracehouse bench` runs the benchmark harness {}, which is not built: build it with \
             `cargo build{release} -p {HARNESS}` (or run it directly with \
             `cargo run{release} -p {HARNESS} -- ARGS`)",
            harness.display()
        );
    }
    let status = Command::new(&harness)
        .args(&args.args)
        .status()
        .with_context(|| format!("cannot run {}", harness.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // Ended by a signal.
        None => ExitCode::FAILURE,
    })
}
