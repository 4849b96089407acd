//! Every stage of the compiler on every fixture project, snapshotted: the resolved model
//! (`tally check`), the dependency graph (`tally graph --format json`), the initial migration
//! per dialect and the ETL plan (`tally compile`).
//!
//! Projects: each directory of `tests/fixtures/codegen/` and `examples/`. Snapshots are named
//! `<area>_<project>_<stage>` and live in `tests/snapshots/`; the model snapshot carries the
//! project's files, so it reads on its own. Each stage is computed twice and must give the
//! same bytes.
//!
//! Spans are left out of the model snapshot: they are byte offsets, which every edit of a
//! comment would change, and the stage's meaning does not depend on them.

mod common;

use std::path::PathBuf;
use tally_compiler::source::MemoryFs;

/// `(snapshot prefix, directory)` for every project, in name order.
fn projects() -> Vec<(String, PathBuf)> {
    let root = common::root();
    let mut out = Vec::new();
    for (prefix, area) in [("codegen", "tests/fixtures/codegen"), ("examples", "examples")] {
        let entries = std::fs::read_dir(root.join(area)).expect("fixture area is readable");
        for entry in entries.flatten() {
            if entry.path().join("tally.yaml").is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                out.push((format!("{prefix}_{name}"), entry.path()));
            }
        }
    }
    out.sort();
    out
}

/// One stage's output: its name in the snapshot's and what it is.
struct Stage {
    name: &'static str,
    what: &'static str,
    text: String,
}

fn stages(fs: &MemoryFs) -> Vec<Stage> {
    let checked = tally_compiler::check(fs, "");
    assert!(!checked.has_errors(), "the project does not check: {:#?}", checked.diagnostics());
    let model = serde_json::to_value(&checked.model).expect("the model serializes");
    let model =
        serde_json::to_string_pretty(&common::without_spans(model)).expect("the model serializes");
    let (graph, diagnostics) = tally_compiler::graph::build(&checked.model);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");

    let (_, artifacts) = tally_compiler::compile(fs, "", &MemoryFs::new());
    let artifacts = artifacts
        .unwrap_or_else(|d| panic!("compile refused: {d:#?}"))
        .expect("an error-free project compiles");
    let file = |path: &str| {
        artifacts.files.get(path).cloned().unwrap_or_else(|| panic!("no {path} was generated"))
    };
    vec![
        Stage { name: "model", what: "the resolved model, without spans", text: model },
        Stage {
            name: "graph",
            what: "the DAG, as `tally graph --format json`",
            text: graph.to_json(),
        },
        Stage {
            name: "sql_duckdb",
            what: "duckdb/migrations/0001_initial.sql",
            text: file("duckdb/migrations/0001_initial.sql"),
        },
        Stage {
            name: "sql_postgres",
            what: "postgres/migrations/0001_initial.sql",
            text: file("postgres/migrations/0001_initial.sql"),
        },
        Stage { name: "plan", what: "plan.json", text: file("plan.json") },
    ]
}

#[test]
fn every_stage_of_every_fixture_project() {
    let projects = projects();
    assert!(projects.len() >= 2, "no fixture projects found: {projects:?}");
    for (prefix, dir) in projects {
        let fs = common::fixture_project(&dir);
        let first = stages(&fs);
        let second = stages(&fs);
        for (a, b) in first.iter().zip(&second) {
            assert!(a.text == b.text, "{prefix}: {} differs between two runs", a.name);
        }
        let inputs: Vec<String> = common::files_below(&dir)
            .into_iter()
            .filter(|(path, _)| path.ends_with(".tally") || path == "tally.yaml")
            .map(|(path, text)| format!("--- {path}\n{text}"))
            .collect();
        let inputs = inputs.join("\n");
        let input_file = dir.join("tally.yaml");
        for stage in first {
            let description = match stage.name {
                "model" => format!("{}; the project:\n{inputs}", stage.what),
                _ => format!("{} (the project is in the `{prefix}_model` snapshot)", stage.what),
            };
            insta::with_settings!({
                description => description,
                omit_expression => true,
                input_file => &input_file,
            }, {
                insta::assert_snapshot!(format!("{prefix}_{}", stage.name), stage.text);
            });
        }
    }
}
