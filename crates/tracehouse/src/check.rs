//! `tracehouse check`: verifies a data directory offline and, with `--repair`, sets damage
//! aside so the server can start again.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tracehouse_engine::check::{CheckReport, check};

/// Options of `tracehouse check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The data directory of a stopped server.
    #[arg(default_value = "data")]
    pub data_dir: PathBuf,
    /// Repair what is found: quarantine damaged parts, keep the readable records of damaged
    /// WAL segments, rebuild a lost or damaged manifest. Damaged files are moved to
    /// quarantine/ under the table's directory, never deleted.
    #[arg(long)]
    pub repair: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the check and prints its report; fails when problems remain.
pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} checking {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let report = check(&args.data_dir, args.repair, &mut |step| {
        bar.set_message(step.to_string());
        bar.tick();
    })
    .with_context(|| format!("cannot check {}", args.data_dir.display()))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    match report.unrepaired() {
        0 => Ok(()),
        n => anyhow::bail!(
            "{n} problems found in {}; run `tracehouse check --repair {}` to set them aside",
            args.data_dir.display(),
            args.data_dir.display()
        ),
    }
}

fn print_report(report: &CheckReport) {
    for t in &report.tables {
        println!(
            "{:<7} {} parts ok ({} rows), {} WAL segments ok",
            t.table, t.parts_ok, t.rows_ok, t.wal_segments_ok
        );
        for note in &t.notes {
            println!("        note: {note}");
        }
        for f in &t.findings {
            let done = if f.repaired { "repaired" } else { "would" };
            println!("        DAMAGED {}: {}", f.what, f.problem);
            println!("          {done}: {}", f.action);
        }
    }
    match (report.problems(), report.unrepaired()) {
        (0, _) => println!("no damage found"),
        (n, 0) => println!("{n} problems repaired; the server can start"),
        (n, _) => println!("{n} problems found"),
    }
}
