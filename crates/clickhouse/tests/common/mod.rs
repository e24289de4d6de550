//! How the ClickHouse tests get a real ClickHouse engine.
//!
//! * `TRACEHOUSE_TEST_CLICKHOUSE_URL=http://host:8123` (+ optional
//!   `TRACEHOUSE_TEST_CLICKHOUSE_USER` / `_PASSWORD`): the tests run against that server.
//! * Otherwise each test binary starts one `chdb_front.py` (the ClickHouse engine
//!   in-process through chDB, behind a small HTTP front) on a free port, and stops it by
//!   PID when the binary exits (the front also exits when its stdin closes).
//!
//! Tests are isolated by database name. When chDB is not installed the tests are
//! skipped with a message — except with `CI=true`, where that is a failure.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};

/// A running chDB front.
pub struct Front {
    child: Child,
    _stdin: ChildStdin,
    /// Its port.
    pub port: u16,
}

impl Front {
    /// Starts a front on `port` (0: any) over the chDB data in `data`; `None` when chDB
    /// is missing outside CI.
    pub fn start(port: u16, data: &Path) -> Option<Front> {
        Front::start_with_config(port, data, None)
    }

    /// Like [`Front::start`], with a ClickHouse server configuration file for the
    /// engine (e.g. `remote_servers` and `macros`).
    pub fn start_with_config(port: u16, data: &Path, config: Option<&Path>) -> Option<Front> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chdb_front.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--path")
            .arg(data)
            .arg("--exit-with-stdin");
        if let Some(c) = config {
            cmd.arg("--config-file").arg(c);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("front stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the front's first line");
        if line.starts_with("CHDB_MISSING") || line.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            let msg = format!(
                "chDB is not installed ({}): pip install --no-deps chdb==4.4.0 chdb-core==26.9.0",
                line.trim()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}");
            }
            eprintln!("SKIPPING ClickHouse tests: {msg}");
            return None;
        }
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the front: {line:?}"));
        let stdin = child.stdin.take().expect("front stdin");
        let front = Front {
            child,
            _stdin: stdin,
            port,
        };
        front.wait_ready();
        Some(front)
    }

    /// The front's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.contains("Ok.") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the chDB front did not answer /ping");
    }

    /// Stops the front (SIGKILL by PID) and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the tests' ClickHouse is.
pub struct Target {
    /// Server URL.
    pub url: String,
    user: Option<String>,
    password: Option<String>,
}

struct Shared {
    target: Option<Target>,
    _front: Option<Front>,
    _dir: Option<tempfile::TempDir>,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

fn shared() -> &'static Mutex<Shared> {
    SHARED.get_or_init(|| {
        if let Ok(url) = std::env::var("TRACEHOUSE_TEST_CLICKHOUSE_URL") {
            return Mutex::new(Shared {
                target: Some(Target {
                    url,
                    user: std::env::var("TRACEHOUSE_TEST_CLICKHOUSE_USER").ok(),
                    password: std::env::var("TRACEHOUSE_TEST_CLICKHOUSE_PASSWORD").ok(),
                }),
                _front: None,
                _dir: None,
            });
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let front = Front::start(0, &dir.path().join("chdb"));
        Mutex::new(Shared {
            target: front.as_ref().map(|f| Target {
                url: f.url(),
                user: None,
                password: None,
            }),
            _front: front,
            _dir: Some(dir),
        })
    })
}

/// The URL of the tests' ClickHouse; `None` when tests must be skipped.
pub fn url() -> Option<String> {
    shared()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .target
        .as_ref()
        .map(|t| t.url.clone())
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A database name unique to this test and run.
pub fn database(test: &str) -> String {
    format!(
        "th_test_{}_{}_{}",
        test,
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store configuration for `url` and a fresh database for `test`.
pub fn config(url: &str, test: &str) -> ClickHouseConfig {
    let mut c = ClickHouseConfig::new(url);
    c.database = database(test);
    c.retention = None;
    let guard = shared().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = &guard.target {
        c.user = t.user.clone();
        c.password = t.password.clone();
    }
    c
}

/// Whether the tests run on the chDB front (which has the test hooks of
/// `chdb_front.py`), not on a server given by `TRACEHOUSE_TEST_CLICKHOUSE_URL`.
pub fn on_front() -> bool {
    std::env::var("TRACEHOUSE_TEST_CLICKHOUSE_URL").is_err()
}

/// A store on a fresh database; `None` when tests must be skipped.
pub async fn store(test: &str) -> Option<Arc<ClickHouseStore>> {
    let url = url()?;
    Some(
        ClickHouseStore::open(config(&url, test))
            .await
            .unwrap_or_else(|e| panic!("open the ClickHouse store at {url}: {e}")),
    )
}
