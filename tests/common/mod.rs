//! Helpers shared by the end-to-end tests; `cli` runs the real binary.
#![allow(dead_code)] // each test crate uses a different subset

pub mod cli;
pub mod http;

use serde_json::Value;
use std::path::{Path, PathBuf};
use tally_compiler::source::MemoryFs;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file below `dir` (recursively), sorted, as (path relative to `dir`, text).
pub fn files_below(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out);
    out.sort();
    out
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let relative = path.strip_prefix(base).unwrap_or(&path);
            out.push((relative.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

/// A fixture directory as an in-memory project; a default `tally.yaml` is supplied when the
/// fixture has none, so most fixtures are a single `.tally` file.
pub fn fixture_project(dir: &Path) -> MemoryFs {
    let mut fs = MemoryFs::new();
    let files = files_below(dir);
    if !files.iter().any(|(p, _)| p == "tally.yaml") && !dir.join("NO_CONFIG").exists() {
        fs.insert("tally.yaml", "name: fixture\n");
    }
    for (path, text) in &files {
        if path != "NO_CONFIG" {
            fs.insert(path, text);
        }
    }
    fs
}

/// The inputs of a fixture, for the header of its snapshot: the snapshot reads on its own.
pub fn describe_inputs(dir: &Path) -> String {
    files_below(dir)
        .iter()
        .filter(|(p, _)| p != "NO_CONFIG")
        .map(|(p, t)| format!("--- {p}\n{t}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The AST as JSON without positions: what "the same tree" means across formatting.
pub fn without_spans(mut value: Value) -> Value {
    strip(&mut value);
    value
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| key != "span" && key != "keyword");
            map.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Every `.tally` file the repository holds as an example of valid or invalid input.
pub fn all_tally_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures", "examples", "metrics-dsl"] {
        let base = root().join(dir);
        for (path, text) in files_below(&base) {
            if path.ends_with(".tally") {
                out.push((base.join(path), text));
            }
        }
    }
    out
}
