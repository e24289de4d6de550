//! The README's five-minute tour, walked as a new user would from a fresh clone: the shell
//! blocks of the tour are read from README.md, run with bash in a copy of the files the
//! tour names (nothing from outside the repository), against the real binary, and what each
//! command prints is checked. `tracehouse demo` (step 0) is checked too: coherent data, a
//! plain banner, and its temporary store removed when it stops or fails to start.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::TestServer;
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's tour: from its heading to the next section.
fn tour_text() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let start = readme.find("## Five-minute tour").expect("a tour section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The tour's ```sh blocks, each split into its commands (a line ending in `\` or `|`
/// continues on the next).
fn sh_blocks(tour: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut lines = tour.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```sh" {
            continue;
        }
        let mut commands: Vec<String> = Vec::new();
        let mut current = String::new();
        for line in lines.by_ref() {
            let line = line.trim();
            if line == "```" {
                break;
            }
            current.push_str(line);
            current.push('\n');
            if !(line.ends_with('\\') || line.ends_with('|')) {
                commands.push(std::mem::take(&mut current));
            }
        }
        blocks.push(commands);
    }
    blocks
}

/// Runs a block's commands in one bash (so variables carry over) in `dir`, against `server`:
/// `cargo run --release --` is the built binary and the default addresses are the server's.
/// Returns what each command printed.
fn run_block(commands: &[String], dir: &Path, server: &TestServer) -> Vec<String> {
    const MARK: &str = "--- next command ---";
    let script: Vec<String> = commands
        .iter()
        .map(|c| {
            c.replace("cargo run --release --", "\"$TRACEHOUSE\"")
                .replace("http://127.0.0.1:8080", &server.api)
                .replace("http://127.0.0.1:4318", &server.http)
        })
        .collect();
    let script = format!(
        "set -euo pipefail\n{}",
        script.join(&format!("echo\necho '{MARK}'\n"))
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("TRACEHOUSE", env!("CARGO_BIN_EXE_tracehouse"))
        .env("TRACEHOUSE_API", &server.api)
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the tour's commands failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.split(MARK).map(|s| s.trim().to_string()).collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn the_readme_tour_works_from_a_fresh_clone() {
    let tour = tour_text();
    assert!(
        !tour.contains("../shared"),
        "the tour must not need files outside the repository"
    );
    // A fresh clone: only the files the tour reads, copied from the repository.
    let clone = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(clone.path().join("docs/tour")).expect("mkdir");
    for file in ["trace.json", "logs.json"] {
        std::fs::copy(
            repo_root().join("docs/tour").join(file),
            clone.path().join("docs/tour").join(file),
        )
        .expect("copy a tour payload");
    }
    let blocks = sh_blocks(&tour);
    assert_eq!(
        blocks.len(),
        3,
        "steps 2, 4 and 5 have commands: {blocks:?}"
    );

    let server = TestServer::start(&[]);

    // Step 2: both payloads are accepted whole.
    let sent = run_block(&blocks[0], clone.path(), &server);
    assert_eq!(sent.len(), 3, "{sent:?}");
    for answer in &sent[1..] {
        assert_eq!(
            json(answer),
            serde_json::json!({"partialSuccess": null}),
            "what the README says each answers"
        );
        assert!(
            tour.contains(&format!("`{answer}`")),
            "the README quotes {answer}"
        );
    }

    // Step 4: every command prints what the README says.
    let out = run_block(&blocks[1], clone.path(), &server);
    assert_eq!(out.len(), 4, "{out:?}");
    let mut table = out[0].lines();
    assert!(
        table.next().is_some_and(|h| h.starts_with("TIME")),
        "{}",
        out[0]
    );
    let rows: Vec<&str> = table.collect();
    assert_eq!(rows.len(), 1, "one payment server span: {}", out[0]);
    assert!(
        rows[0].contains("payment") && rows[0].contains("Charge"),
        "{}",
        out[0]
    );
    let structural = json(&out[1]);
    let names: Vec<&str> = structural
        .as_array()
        .expect("--json prints an array")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"INSERT payments"), "{names:?}");
    let trace = json(&out[2]);
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(4), "{trace}");
    let search = json(&out[3]);
    let mut slow: Vec<&str> = search["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    slow.sort();
    assert_eq!(slow, ["Charge", "POST /checkout"], "{search}");

    // Step 5: the logs, the error group and the session the tour's data made.
    let out = run_block(&blocks[2], clone.path(), &server);
    assert_eq!(out.len(), 3, "{out:?}");
    let logs = json(&out[0]);
    let bodies: Vec<&str> = logs["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Charge failed: card declined by issuer (code 51)"],
        "{logs}"
    );
    let groups = json(&out[1]);
    let group = &groups["groups"][0];
    assert_eq!(group["type"], "PaymentDeclined", "{groups}");
    assert_eq!(
        group["services"],
        serde_json::json!(["payment"]),
        "{groups}"
    );
    let sessions = json(&out[2]);
    let session = &sessions["sessions"][0];
    assert_eq!(session["session_id"], "tour-session-1", "{sessions}");
    assert!(session["error_count"].as_u64() >= Some(1), "{sessions}");

    // The README's answers to mistakes: a broken query is explained, and an empty --json
    // result is an empty array.
    let none = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args([
            "query",
            "service:nothing-here",
            "--json",
            "--api",
            &server.api,
        ])
        .output()
        .expect("query");
    assert!(none.status.success());
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    let broken = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-G"])
        .arg(format!("{}/api/v1/spans/search", server.api))
        .args(["--data-urlencode", "query=duration>"])
        .output()
        .expect("curl");
    assert!(!broken.status.success(), "a broken query fails");
    let body = json(&String::from_utf8_lossy(&broken.stdout));
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[test]
fn the_banner_says_where_the_data_is_and_logs_are_plain_when_redirected() {
    let tour = tour_text();
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args(["serve", "--data-dir", "data"])
        .args(["--listen", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0"])
        .args(["--otlp-http", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a banner")
        .expect("text");
    let _ = child.kill();
    let _ = child.wait();
    let abs = std::fs::canonicalize(dir.path())
        .expect("canonical")
        .join("data");
    assert!(
        first.contains(&format!("data stored in data ({})", abs.display())),
        "{first}"
    );
    let readme_banner = tour
        .lines()
        .find(|l| l.trim_start().starts_with("tracehouse 0.1.0 serving"))
        .expect("the README shows the banner");
    let prefix = first.split(" (/").next().unwrap_or(&first);
    assert!(
        readme_banner.trim().starts_with(prefix),
        "README banner {readme_banner:?} vs {first:?}"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("INFO"), "the server logged: {text}");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI colours in a file: {text:?}"
    );
}

/// `tracehouse demo` with its temporary store under `tmp` (TMPDIR).
fn demo(tmp: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tracehouse"));
    c.arg("demo")
        .args(["--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"])
        // The tour works without a browser; `demo_browser.rs` drives the shop with one.
        .args(["--shop", "127.0.0.1:0", "--no-browser"])
        .args(extra)
        .env("TMPDIR", tmp);
    c
}

#[test]
fn a_failed_demo_start_removes_its_temporary_store() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = demo(tmp.path(), &["--listen", &addr])
        .output()
        .expect("run demo");
    assert!(!out.status.success(), "the API address is taken");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--listen"), "says what to do: {stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read temp")
        .map(|e| e.map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "temporary store left behind: {left:?}");
}

#[tokio::test]
async fn demo_data_is_coherent_and_its_store_goes_at_exit() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = demo(
        tmp.path(),
        &["--listen", "127.0.0.1:0", "--backfill", "15m"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let banner = lines.next().expect("a banner");
    assert!(
        banner.contains("data stored in") && banner.contains("removed at exit"),
        "{banner}"
    );
    let api = lines
        .find_map(|l| l.trim().strip_prefix("open").map(|u| u.trim().to_string()))
        .expect("the URL to open");
    let api = api.trim_end_matches('/').to_string();
    let get = |path: &str| {
        let url = format!("{api}{path}");
        async move {
            let r = reqwest::get(&url).await.expect("GET");
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.json::<Value>().await.expect("JSON")
        }
    };

    let sessions = get("/api/v1/sessions?limit=500").await;
    let sessions = sessions["sessions"].as_array().expect("sessions").clone();
    assert!(!sessions.is_empty());
    let several = sessions
        .iter()
        .filter(|s| s["trace_count"].as_u64() >= Some(3))
        .count();
    assert!(
        several * 2 > sessions.len(),
        "most sessions have several traces: {several} of {}",
        sessions.len()
    );
    assert!(
        sessions.iter().any(|s| s["error_count"].as_u64() > Some(0)),
        "some sessions meet errors"
    );

    let groups = get("/api/v1/errors/groups").await;
    let groups = groups["groups"].as_array().expect("groups").clone();
    let services_of = |kind: &str| {
        groups
            .iter()
            .filter(|g| g["type"] == kind)
            .flat_map(|g| g["services"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(services_of("PaymentDeclined"), ["payment"], "{groups:?}");
    let timeouts = services_of("TimeoutError");
    assert!(
        !timeouts.is_empty() && timeouts.iter().all(|s| s != "postgres" && s != "redis"),
        "the caller times out: {timeouts:?}"
    );
    let failed =
        get("/api/v1/spans/search?query=event.exception.type:TimeoutError&limit=100").await;
    for span in failed["spans"].as_array().expect("spans") {
        assert!(
            span["duration_nanos"].as_i64() >= Some(250_000_000),
            "a 250 ms timeout lasted {}",
            span["duration_nanos"]
        );
    }

    common::stop_demo(child, tmp.path());
}
