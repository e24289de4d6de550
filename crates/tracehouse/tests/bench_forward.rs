//! `tracehouse bench` runs the `tracehouse-bench` binary beside it with the same arguments and
//! exits with its status; without one it says how to build it. Run on a copy of the real
//! binary in a directory of its own, beside a stand-in harness.

use std::path::Path;
use std::process::{Command, Output};

fn bench_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(dir.join(format!("tracehouse{}", std::env::consts::EXE_SUFFIX)))
        .arg("bench")
        .args(args)
        .output()
        .expect("run tracehouse")
}

#[test]
fn bench_runs_the_harness_beside_it() {
    // Beside the target directory, so the binary (half a gigabyte in a debug build) is
    // hard-linked rather than copied.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let binary = env!("CARGO_BIN_EXE_tracehouse");
    let beside = dir
        .path()
        .join(format!("tracehouse{}", std::env::consts::EXE_SUFFIX));
    std::fs::hard_link(binary, &beside)
        .or_else(|_| std::fs::copy(binary, &beside).map(drop))
        .expect("link or copy the binary");

    let out = bench_in(dir.path(), &["--spans", "10"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cargo build -p tracehouse-bench"),
        "says how to build the harness: {stderr}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let harness = dir.path().join("tracehouse-bench");
        std::fs::write(&harness, "#!/bin/sh\necho \"harness got: $*\"\nexit 3\n")
            .expect("write the stand-in harness");
        std::fs::set_permissions(&harness, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
        let out = bench_in(dir.path(), &["--spans", "10", "--help"]);
        assert_eq!(out.status.code(), Some(3), "the harness's exit status");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "harness got: --spans 10 --help"
        );
    }
}
