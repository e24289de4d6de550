//! The ClickHouse engine, chDB, in two roles: behind the HTTP front of the ClickHouse
//! backend's tests (the engine of `--compare clickhouse-backend`), and running
//! `chdb_bench.py`, which loads the rows into chDB and runs the equivalent SQL
//! (`--compare clickhouse`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::BenchArgs;
use crate::data::DataSet;
use crate::measure::proc_status_mb;

/// The Python side of `--compare clickhouse` (`crates/bench/chdb_bench.py`), embedded so that
/// the binary works from any directory.
const CHDB_SCRIPT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/chdb_bench.py"));
/// The HTTP front of the ClickHouse backend's tests (`crates/clickhouse/tests/chdb_front.py`,
/// the one copy: the tests run it from there), embedded at build time so that the binary works
/// from any directory.
const CHDB_FRONT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../clickhouse/tests/chdb_front.py"
));
/// The pinned chDB release the tests and `chdb_bench.py` install.
const CHDB_PACKAGES: [&str; 2] = ["chdb==4.4.0", "chdb-core==26.9.0"];
/// The ClickHouse backend's database in the front's chDB data.
pub(crate) const BACKEND_DATABASE: &str = "tracehouse_bench";

/// A running `chdb_front.py`: the ClickHouse engine (chDB) behind the part of ClickHouse's
/// HTTP interface the backend's client uses. Stopped by PID when dropped.
pub(crate) struct ChdbFront {
    child: std::process::Child,
    /// Held open: the front exits when its stdin closes (`--exit-with-stdin`), so it never
    /// outlives this process, however that ends.
    _stdin: std::process::ChildStdin,
    port: u16,
}

impl ChdbFront {
    /// Starts a front on a free port over the chDB data in `data` (installing chDB with pip
    /// once when the front reports it missing) and waits until it answers `/ping`.
    pub(crate) async fn start(python: &str, work: &Path, data: &Path) -> anyhow::Result<ChdbFront> {
        let script = work.join("chdb_front.py");
        std::fs::write(&script, CHDB_FRONT)?;
        let mut installed = false;
        loop {
            let spawn = {
                let (python, script, data) =
                    (python.to_string(), script.clone(), data.to_path_buf());
                tokio::task::spawn_blocking(move || ChdbFront::spawn(&python, &script, &data))
            };
            match spawn.await?? {
                Some(front) => {
                    front.wait_ready().await?;
                    return Ok(front);
                }
                None if !installed => {
                    eprintln!("installing {} with pip…", CHDB_PACKAGES.join(" "));
                    let status = std::process::Command::new(python)
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                        ])
                        .arg("--no-deps")
                        .args(CHDB_PACKAGES)
                        .stdout(std::process::Stdio::null())
                        .status()
                        .with_context(|| format!("cannot run {python:?} -m pip"))?;
                    if !status.success() {
                        bail!(
                            "pip could not install {} ({status})",
                            CHDB_PACKAGES.join(" ")
                        );
                    }
                    installed = true;
                }
                None => bail!("chDB is still missing after pip installed it"),
            }
        }
    }

    /// Spawns the front and reads the port it prints; `None` when chDB is missing.
    fn spawn(python: &str, script: &Path, data: &Path) -> anyhow::Result<Option<ChdbFront>> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(python)
            .arg(script)
            .args(["--port", "0", "--exit-with-stdin", "--path"])
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!("cannot run {python:?} for the ClickHouse front: install Python 3 or pass --python")
            })?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            if line.starts_with("CHDB_MISSING") {
                return Ok(None);
            }
            bail!("the ClickHouse front did not start (it printed {line:?})");
        };
        let stdin = child.stdin.take().context("the front's stdin")?;
        Ok(Some(ChdbFront {
            child,
            _stdin: stdin,
            port,
        }))
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let ping = format!("{}/ping", self.url());
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(resp) = http.get(&ping).send().await
                && resp.text().await.is_ok_and(|t| t.contains("Ok."))
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("the ClickHouse front did not answer /ping within a minute")
    }

    /// Peak RSS of the front's process (the ClickHouse engine), MB.
    pub(crate) fn peak_rss_mb(&self) -> Option<f64> {
        proc_status_mb(Some(self.child.id()), "VmHWM:")
    }
}

impl Drop for ChdbFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the ClickHouse side; returns its JSON report.
pub(crate) fn measure_clickhouse(
    args: &BenchArgs,
    set: &DataSet,
    work: &Path,
    rows_path: &Path,
) -> anyhow::Result<Value> {
    let script = work.join("chdb_bench.py");
    std::fs::write(&script, CHDB_SCRIPT)?;
    let params = json!({
        "rows": rows_path,
        "db": work.join("chdb"),
        "runs": args.runs,
        "start_ns": set.start_ns,
        "end_ns": set.end_ns,
        "trace_ids": set.lookup_ids.iter().map(hex::encode).collect::<Vec<_>>(),
        "service": "checkout",
        "min_duration_ns": 10_000_000,
        "user_id": set.user_id,
        "name_substring": "cart",
        "buckets": 60,
        "expected_rows": set.spans,
    });
    let params_path = work.join("chdb_params.json");
    std::fs::write(&params_path, serde_json::to_vec_pretty(&params)?)?;
    eprintln!("ClickHouse (chDB): load, OPTIMIZE FINAL, queries…");
    let output = std::process::Command::new(&args.python)
        .arg(&script)
        .arg(&params_path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| {
            format!(
                "cannot run {:?} for the ClickHouse side: install Python 3 or pass --python",
                args.python
            )
        })?;
    if !output.status.success() {
        bail!(
            "the ClickHouse side failed ({}); see its messages above",
            output.status
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(last).with_context(|| format!("unreadable ClickHouse report: {text}"))
}
