//! Drives the demo shop with headless Chromium, when one is installed: each visit is a fresh
//! browser profile (so a new session) opening the shop with `?tour=1`, whose script clicks
//! through it and reports when its telemetry is flushed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

/// Browser executables looked for on `PATH`, in order.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Longest a visit may take before its browser is stopped anyway.
const VISIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Visits started by this process (names their directories).
static VISITS: AtomicU64 = AtomicU64::new(0);

/// The first Chromium-like browser on `PATH`.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// One scripted visit of the shop at `shop` in headless `browser`: returns once the page said
/// it is done (a message on `done`), after [`VISIT_TIMEOUT`], or when `stop` changes — each
/// time with the browser stopped and the visit's directory removed.
pub async fn visit(
    browser: &Path,
    shop: &str,
    done: &mut mpsc::Receiver<()>,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // The visit's directory: the browser's profile and its temporary files (a killed browser
    // leaves them). Short: the browser's socket path under it must stay within 108 bytes.
    let dir = std::env::temp_dir().join(format!(
        "tracehouse-visit-{}-{}",
        std::process::id(),
        VISITS.fetch_add(1, Ordering::Relaxed)
    ));
    // Declared before the browser, so removed after it is killed if the visit is dropped.
    let _dir = super::RemoveOnDrop(dir.clone());
    let tmp = dir.join("t");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut child = tokio::process::Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("{shop}/?tour=1"))
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", browser.display()))?;
    let outcome = tokio::select! {
        _ = stop.changed() => Ok(()),
        finished = tokio::time::timeout(VISIT_TIMEOUT, done.recv()) => match finished {
            Ok(Some(())) => Ok(()),
            Ok(None) => Err(anyhow::anyhow!("the shop stopped during the visit")),
            Err(_) => Err(anyhow::anyhow!("the visit did not finish within {VISIT_TIMEOUT:?}")),
        },
    };
    let _ = child.kill().await;
    remove_when_quiet(&dir).await;
    outcome
}

/// Removes a visit's directory once it stays gone: the browser's helper processes outlive
/// the killed browser for a moment and may still be writing into it.
async fn remove_when_quiet(dir: &Path) {
    for _ in 0..30 {
        let _ = std::fs::remove_dir_all(dir);
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !dir.exists() {
            return;
        }
    }
}
