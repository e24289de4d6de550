//! Builds the web UI (`ui/`, a Vite app) into `ui/dist`, which `src/ui.rs` embeds, and the
//! browser SDK's self-contained bundle (`sdk-js/dist/tracehouse-replay.min.js`), which
//! `src/sdk_bundle.rs` serves.
//!
//! npm runs only when a package's output is missing or older than its sources, so ordinary
//! `cargo build`s do not touch npm. Set `TRACEHOUSE_SKIP_UI_BUILD=1` to build without
//! Node.js: the binary then serves a page explaining how to get the UI, and an SDK module that
//! says it is missing.

#![allow(
    clippy::expect_used,
    reason = "a build script reports failure by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Marker in the placeholder page written when the build is skipped.
const PLACEHOLDER_MARK: &str = "tracehouse-build-placeholder";

/// A Node.js package built into a file the server embeds.
struct Package {
    /// Directory, relative to the repository.
    dir: &'static str,
    /// Inputs of the build, relative to `dir`.
    inputs: &'static [&'static str],
    /// The output checked for freshness, relative to `dir`.
    output: &'static str,
    /// The npm script that builds it.
    script: &'static str,
    /// What a build without Node.js embeds instead (must contain [`PLACEHOLDER_MARK`]).
    placeholder: &'static str,
}

const PACKAGES: [Package; 2] = [
    Package {
        dir: "ui",
        inputs: &[
            "src",
            "public",
            "index.html",
            "package.json",
            "package-lock.json",
            "vite.config.ts",
            "tsconfig.json",
        ],
        output: "dist/index.html",
        script: "bundle",
        placeholder: "<!doctype html><!-- tracehouse-build-placeholder --><html lang=\"en\"><head>\
            <meta charset=\"utf-8\"><title>tracehouse</title></head><body><h1>tracehouse</h1><p>This \
            binary was built without its web UI (TRACEHOUSE_SKIP_UI_BUILD). Install Node.js 20+ with \
            npm and rebuild to get it. The JSON API is under <code>/api/v1</code>.</p></body></html>\n",
    },
    Package {
        dir: "sdk-js",
        inputs: &[
            "src",
            "package.json",
            "package-lock.json",
            "build.mjs",
            "tsconfig.json",
        ],
        output: "dist/tracehouse-replay.min.js",
        script: "build",
        placeholder: "// tracehouse-build-placeholder\nthrow new Error('this tracehouse binary was \
            built without the browser SDK (TRACEHOUSE_SKIP_UI_BUILD)');\n",
    },
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-env-changed=TRACEHOUSE_SKIP_UI_BUILD");
    let skip =
        std::env::var_os("TRACEHOUSE_SKIP_UI_BUILD").is_some_and(|v| !v.is_empty() && v != "0");
    for package in &PACKAGES {
        build(&manifest.join("../..").join(package.dir), package, skip);
    }
}

fn build(dir: &Path, package: &Package, skip: bool) {
    for input in package.inputs {
        println!("cargo:rerun-if-changed={}", dir.join(input).display());
    }
    // Also rerun when the output disappears. Its mtime is pinned to the newest input's (see
    // `pin_mtime`), so writing it here does not make every later build rerun this script.
    let output = dir.join(package.output);
    println!("cargo:rerun-if-changed={}", output.display());
    let placeholder = std::fs::read_to_string(&output)
        .map(|s| s.contains(PLACEHOLDER_MARK))
        .unwrap_or(false);

    if skip {
        if !output.exists() {
            write_placeholder(&output, package.placeholder);
            pin_mtime(&output, Some(SystemTime::UNIX_EPOCH));
        }
        return;
    }
    let built = mtime(&output);
    let newest_input = package
        .inputs
        .iter()
        .filter_map(|i| newest_mtime(&dir.join(i)))
        .max();
    let fresh = !placeholder && matches!((built, newest_input), (Some(b), Some(i)) if b >= i);
    if fresh {
        return;
    }

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        panic!(
            "\n\ntracehouse embeds {}/{}, which is {} and must be built with npm, \
             but `npm` was not found on PATH.\nInstall Node.js 20+ with npm (e.g. `apt-get install nodejs npm`) \
             and build again, or set TRACEHOUSE_SKIP_UI_BUILD=1 to build a binary without the UI.\n",
            package.dir,
            package.output,
            if output.exists() {
                "older than its sources"
            } else {
                "missing"
            }
        );
    }
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    if !installed.exists() || mtime(&lock) > mtime(&installed) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(dir),
            "npm ci",
            package.dir,
        );
    }
    run(
        Command::new(npm)
            .args(["run", package.script])
            .current_dir(dir),
        &format!("npm run {}", package.script),
        package.dir,
    );
    if !output.exists() {
        panic!(
            "`npm run {}` succeeded but {} is missing",
            package.script,
            output.display()
        );
    }
    pin_mtime(&output, newest_input);
}

/// Sets the built page's mtime to the newest input's, so it is "as new as its sources":
/// fresh for the check above, and older than this script's run for cargo's own check.
fn pin_mtime(output: &Path, newest_input: Option<SystemTime>) {
    if let Some(t) = newest_input
        && let Ok(f) = std::fs::File::options().write(true).open(output)
    {
        let _ = f.set_modified(t);
    }
}

fn run(cmd: &mut Command, what: &str, dir: &str) {
    eprintln!("running {what} in {dir}/");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if !out.status.success() {
        panic!(
            "\n\n{what} failed in {dir}/ ({}):\n{}\n{}\n",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn write_placeholder(output: &Path, content: &str) {
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent).expect("create the output's directory");
    }
    std::fs::write(output, content).expect("write the placeholder");
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
