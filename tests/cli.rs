//! The real `tally` binary, run as a user would run it.

mod common;

use common::cli::{copy_tree, mask, stderr, stdout, tally, temp_project};
use common::root;
use tempfile::TempDir;

#[test]
fn check_passes_on_the_quickstart() {
    let output = tally().args(["check", "examples/quickstart"]).output().expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("no problems"), "{}", stderr(&output));
}

/// A project directory holding `tally.yaml` and the given error fixture's `main.tally`.
fn error_fixture_project(fixture: &str) -> TempDir {
    let main = root().join("tests/fixtures/errors").join(fixture).join("main.tally");
    temp_project(&[("main.tally", &std::fs::read_to_string(main).expect("fixture"))])
}

#[test]
fn check_reports_every_error_with_code_and_location() {
    let dir = error_fixture_project("T0002_unclosed_block");
    let output = tally().arg("check").arg(dir.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let err = mask(&stderr(&output), dir.path());
    assert!(err.contains("T0002"), "{err}");
    assert!(err.contains("[TMP]/main.tally:2:16"), "{err}");
    assert!(err.contains("help:"), "{err}");
    assert!(!err.contains('\u{1b}'), "NO_COLOR output has escape codes: {err}");
}

#[test]
fn check_json_is_machine_readable() {
    let dir = error_fixture_project("T0004_unknown_property");
    let output =
        tally().arg("check").arg(dir.path()).args(["--format", "json"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let first = &value[0];
    assert_eq!(first["code"], "T0004");
    assert_eq!(first["line"], 3);
    assert_eq!(first["column"], 3);
    assert!(first["file"].as_str().is_some_and(|f| f.ends_with("main.tally")));
    assert!(first["help"].as_str().is_some_and(|h| h.contains("archive")));
}

#[test]
fn check_github_prints_annotations() {
    let dir = error_fixture_project("T0004_unknown_property");
    let output =
        tally().arg("check").arg(dir.path()).args(["--format", "github"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(out.starts_with("::error file="), "{out}");
    assert!(out.contains("line=3,col=3"), "{out}");
    assert!(out.contains("T0004"), "{out}");
}

#[test]
fn check_refuses_a_missing_directory_with_usage_error() {
    let output = tally().args(["check", "no/such/dir"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not a directory"));
}

#[test]
fn parse_prints_the_tree_as_json() {
    let output =
        tally().args(["parse", "examples/quickstart/sources.tally"]).output().expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert!(value["declarations"].as_array().is_some_and(|d| !d.is_empty()));
}

const UNFORMATTED: &str =
    "retention standard {\nkeep   7 years\n\n\n   archive 40 years // then purge\n}\n";

#[test]
fn fmt_check_shows_a_diff_and_fails_without_writing() {
    let dir = temp_project(&[("main.tally", UNFORMATTED)]);
    let file = dir.path().join("main.tally");
    let output = tally().args(["fmt", "--check"]).arg(&file).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(out.contains("-keep   7 years") && out.contains("+  keep 7 years"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), UNFORMATTED);
}

#[test]
fn fmt_rewrites_files_and_keeps_comments() {
    let dir = temp_project(&[("main.tally", UNFORMATTED)]);
    let file = dir.path().join("main.tally");
    let output = tally().arg("fmt").arg(&file).output().expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let formatted = std::fs::read_to_string(&file).expect("read");
    assert!(formatted.contains("  keep 7 years\n"), "{formatted}");
    assert!(formatted.contains("// then purge"), "{formatted}");
    let again = tally().args(["fmt", "--check"]).arg(&file).output().expect("runs");
    assert!(again.status.success(), "not idempotent: {}", stdout(&again));
}

#[test]
fn fmt_refuses_files_with_syntax_errors() {
    let broken = "retention standard {\n  keep 7 years\n";
    let dir = temp_project(&[("main.tally", broken)]);
    let file = dir.path().join("main.tally");
    let output = tally().arg("fmt").arg(&file).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("T0002"), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), broken);
}

#[test]
fn the_repository_is_formatted() {
    // Syntax fixtures are left out on purpose: they exercise layouts the formatter rewrites.
    for dir in ["examples", "metrics-dsl"] {
        let has_files = std::fs::read_dir(root().join(dir))
            .map(|entries| entries.flatten().next().is_some())
            .unwrap_or(false);
        if has_files {
            let output = tally().args(["fmt", "--check", dir]).output().expect("runs");
            assert!(output.status.success(), "{dir}: {}", stdout(&output));
        }
    }
}

#[test]
fn fmt_formats_standard_input_for_editors() {
    let output = tally().args(["fmt", "-"]).write_stdin(UNFORMATTED).output().expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "retention standard {\n  keep 7 years\n\n  archive 40 years // then purge\n}\n"
    );
}
#[test]
fn compile_writes_generated_files_and_check_detects_a_one_byte_change() {
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("project");
    copy_tree(&root().join("examples/quickstart"), &project);
    let out = work.path().join("generated");
    let output =
        tally().arg("compile").arg(&project).arg("--out").arg(&out).output().expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    for file in ["plan.json", "duckdb/schema.lock.json", "postgres/schema.lock.json"] {
        assert!(out.join(file).is_file(), "missing {file}: {}", stderr(&output));
    }
    let migrations = std::fs::read_dir(out.join("duckdb/migrations")).expect("migrations dir");
    assert!(migrations.flatten().any(|e| e.file_name().to_string_lossy().starts_with("0001_")));

    let check = tally().arg("compile").arg(&project).arg("--out").arg(&out).arg("--check").output();
    let check = check.expect("runs");
    assert!(check.status.success(), "fresh output reported stale: {}", stdout(&check));

    // One byte of DSL changes: --check fails, names the stale files and the fix.
    let metrics = project.join("metrics.tally");
    let text = std::fs::read_to_string(&metrics).expect("read");
    std::fs::write(
        &metrics,
        text.replacen("Total Drug Seizures by Weight", "Total Drug Seizures by weight", 1),
    )
    .expect("write");
    let stale = tally().arg("compile").arg(&project).arg("--out").arg(&out).arg("--check").output();
    let stale = stale.expect("runs");
    assert_eq!(stale.status.code(), Some(1));
    assert!(stdout(&stale).contains("plan.json"), "{}", stdout(&stale));
    assert!(stderr(&stale).contains("run `tally compile"), "{}", stderr(&stale));
}

#[test]
fn graph_prints_dot_mermaid_and_json() {
    for (format, marker) in [("dot", "digraph"), ("mermaid", "flowchart"), ("json", "\"nodes\"")] {
        let output = tally()
            .args(["graph", "examples/quickstart", "--format", format])
            .output()
            .expect("runs");
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        assert!(stdout(&output).contains(marker), "{format}: {}", stdout(&output));
        assert!(stdout(&output).contains("drug_seizure_weight"), "{format}");
    }
}

#[test]
fn lineage_names_columns_and_personal_data() {
    let output = tally()
        .args(["lineage", "kg_per_drug_seizure", "examples/quickstart", "--format", "json"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let columns = value["columns"].as_array().expect("columns");
    assert!(columns.iter().any(|c| c["column"] == "drug_weight_kg"), "{value:#}");
    assert!(value["metrics"].as_array().is_some_and(|m| m.len() >= 3), "{value:#}");

    let unknown = tally().args(["lineage", "kg_per_drug_seizur", "examples/quickstart"]).output();
    let unknown = unknown.expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("did you mean `kg_per_drug_seizure`"),
        "{}",
        stderr(&unknown)
    );
}

/// `tally gen-project` writes a project `tally check` accepts, and refuses what it cannot do
/// with a code.
#[test]
fn gen_project_writes_a_checked_project_and_refuses_bad_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("project");
    let written = tally()
        .arg("gen-project")
        .args(["--metrics", "40", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(stdout(&written).contains("40 metrics over 4 sources"), "{}", stdout(&written));
    let checked = tally().arg("check").arg(&out).output().expect("runs");
    assert!(stderr(&checked).contains("no problems"), "{}", stderr(&checked));
    // The directory is not empty now; too few metrics; no dimension at all.
    for args in [&["--metrics", "40"][..], &["--metrics", "5"], &["--dimensions", "0"]] {
        let refused =
            tally().arg("gen-project").args(args).arg("--out").arg(&out).output().expect("runs");
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert!(stderr(&refused).starts_with("error[R0301]"), "{args:?}: {}", stderr(&refused));
    }
}
