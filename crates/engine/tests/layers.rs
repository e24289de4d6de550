//! The engine's folders import one way (see the crate docs): every `crate::…` path in the
//! code of a top-level module names a module of a lower layer, or of its own. Comments and
//! doc links are not imports and are skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Top-level modules by layer; a module may use its own layer's `config`/`error` and any
/// lower layer, but not a module of its own layer other than itself.
const LAYERS: &[&[&str]] = &[
    &["config", "error"],
    &["storage"],
    &["write"],
    &["table_engine"],
    &["read", "maintenance"],
    &["engine"],
    &["lib"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

/// The top-level module a source file belongs to (`read/scan.rs` → `read`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.chars().all(|c| !c.is_ascii_uppercase()) {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn folders_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let from = module_of(&src, file);
        let code = fs::read_to_string(file).expect("read source");
        for to in imports(&code) {
            let upward = layer_of(&to) > layer_of(&from);
            let sideways = to != from && layer_of(&to) == layer_of(&from) && layer_of(&to) > 0;
            if upward || sideways {
                wrong.push(format!("{} uses crate::{to}", file.display()));
            }
        }
    }
    assert!(
        files.len() > 20,
        "found only {} source files under {}",
        files.len(),
        src.display()
    );
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{wrong:#?}"
    );
}

#[test]
fn the_check_sees_imports_and_skips_comments() {
    let code = "use crate::read::query::Snapshot;\n// see crate::engine\n    x = crate::write::wal::Wal::open();\n";
    let found: Vec<String> = imports(code).into_iter().collect();
    assert_eq!(found, ["read", "write"]);
}
