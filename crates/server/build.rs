//! Builds the web UI (`ui/`, a Vite app) into `ui/dist`, which `src/ui.rs` embeds.
//!
//! npm runs only when `ui/dist` is missing or older than the UI sources, so ordinary
//! `cargo build`s do not touch npm. Set `TRACEHOUSE_SKIP_UI_BUILD=1` to build without
//! Node.js: the binary then serves a page explaining how to get the UI.

#![allow(
    clippy::expect_used,
    reason = "a build script reports failure by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Inputs of the UI build, relative to `ui/`.
const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

/// Marker in the placeholder page written when the build is skipped.
const PLACEHOLDER_MARK: &str = "<!-- tracehouse-ui-placeholder -->";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ui = manifest.join("../../ui");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=TRACEHOUSE_SKIP_UI_BUILD");
    // Also rerun when the built UI disappears. Its mtime is pinned to the newest input's
    // (see `pin_mtime`), so writing it here does not make every later build rerun this script.
    println!(
        "cargo:rerun-if-changed={}",
        ui.join("dist/index.html").display()
    );

    let dist = ui.join("dist");
    let index = dist.join("index.html");
    let skip =
        std::env::var_os("TRACEHOUSE_SKIP_UI_BUILD").is_some_and(|v| !v.is_empty() && v != "0");
    let placeholder = std::fs::read_to_string(&index)
        .map(|s| s.contains(PLACEHOLDER_MARK))
        .unwrap_or(false);

    if skip {
        if !index.exists() {
            write_placeholder(&dist);
            pin_mtime(&index, Some(SystemTime::UNIX_EPOCH));
        }
        return;
    }
    let built = mtime(&index);
    let newest_input = INPUTS
        .iter()
        .filter_map(|i| newest_mtime(&ui.join(i)))
        .max();
    let fresh = !placeholder && matches!((built, newest_input), (Some(b), Some(i)) if b >= i);
    if fresh {
        return;
    }

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        panic!(
            "\n\ntracehouse embeds its web UI from ui/dist, which is {} and must be built with npm, \
             but `npm` was not found on PATH.\nInstall Node.js 20+ with npm (e.g. `apt-get install nodejs npm`) \
             and build again, or set TRACEHOUSE_SKIP_UI_BUILD=1 to build a binary without the UI.\n",
            if index.exists() {
                "older than ui/src"
            } else {
                "missing"
            }
        );
    }
    let lock = ui.join("package-lock.json");
    let installed = ui.join("node_modules/.package-lock.json");
    if !installed.exists() || mtime(&lock) > mtime(&installed) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&ui),
            "npm ci",
        );
    }
    run(
        Command::new(npm).args(["run", "bundle"]).current_dir(&ui),
        "npm run bundle",
    );
    if !index.exists() {
        panic!(
            "`npm run bundle` succeeded but {} is missing",
            index.display()
        );
    }
    pin_mtime(&index, newest_input);
}

/// Sets the built page's mtime to the newest input's, so it is "as new as its sources":
/// fresh for the check above, and older than this script's run for cargo's own check.
fn pin_mtime(index: &Path, newest_input: Option<SystemTime>) {
    if let Some(t) = newest_input
        && let Ok(f) = std::fs::File::options().write(true).open(index)
    {
        let _ = f.set_modified(t);
    }
}

fn run(cmd: &mut Command, what: &str) {
    eprintln!("running {what} in ui/");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if !out.status.success() {
        panic!(
            "\n\n{what} failed in ui/ ({}):\n{}\n{}\n",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn write_placeholder(dist: &Path) {
    std::fs::create_dir_all(dist).expect("create ui/dist");
    std::fs::write(
        dist.join("index.html"),
        format!(
            "<!doctype html>{PLACEHOLDER_MARK}<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tracehouse</title></head>\
             <body><h1>tracehouse</h1><p>This binary was built without its web UI (TRACEHOUSE_SKIP_UI_BUILD). \
             Install Node.js 20+ with npm and rebuild to get it. The JSON API is under <code>/api/v1</code>.</p></body></html>\n"
        ),
    )
    .expect("write placeholder ui/dist/index.html");
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of anything under a directory.
fn newest_mtime(p: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() {
        return own;
    }
    let mut newest = own;
    for entry in std::fs::read_dir(p).ok()?.flatten() {
        newest = newest.max(newest_mtime(&entry.path()));
    }
    newest
}
