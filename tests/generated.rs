//! `generated/` is the compile of `metrics-dsl/`, checked in; this test fails when it is stale
//! and says how to refresh it.

mod common;

use tally_compiler::codegen::compile::stale;
use tally_compiler::source::MemoryFs;

fn directory(path: &std::path::Path) -> MemoryFs {
    let mut fs = MemoryFs::new();
    for (name, text) in common::files_below(path) {
        fs.insert(&name, &text);
    }
    fs
}

#[test]
fn generated_is_the_compile_of_metrics_dsl() {
    let root = common::root();
    let project = directory(&root.join("metrics-dsl"));
    let previous = directory(&root.join("generated"));
    let (checked, result) = tally_compiler::compile(&project, "metrics-dsl", &previous);
    assert!(!checked.has_errors(), "metrics-dsl has errors: {:#?}", checked.diagnostics());
    let artifacts = result
        .unwrap_or_else(|d| panic!("compile refused: {d:#?}"))
        .expect("an error-free project compiles");
    let stale = stale(&artifacts, &previous);
    assert!(
        stale.is_empty(),
        "generated/ is stale ({stale:?}); run `cargo run -- compile metrics-dsl --out generated` and commit it"
    );
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    let root = common::root();
    let project = directory(&root.join("metrics-dsl"));
    let previous = directory(&root.join("generated"));
    let first = tally_compiler::compile(&project, "metrics-dsl", &previous).1;
    let second = tally_compiler::compile(&project, "metrics-dsl", &previous).1;
    let first = first.expect("compiles").expect("no errors");
    let second = second.expect("compiles").expect("no errors");
    assert_eq!(first.files, second.files);
}

/// Every project in the repository compiles to a plan that matches the generated JSON Schema
/// (`docs/plan.schema.json`) and reads back whole through the runtime's reader.
#[test]
fn every_plan_matches_the_schema_and_reads_back() {
    let root = common::root();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/plan.schema.json")).expect("schema exists"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut projects: Vec<std::path::PathBuf> = Vec::new();
    for parent in ["examples", "tests/fixtures/codegen"] {
        for entry in std::fs::read_dir(root.join(parent)).expect("directory exists").flatten() {
            projects.push(entry.path());
        }
    }
    projects.extend(
        ["metrics-dsl", "tests/fixtures/runtime/project", "tests/fixtures/query/project"]
            .map(|p| root.join(p)),
    );
    projects.push(root.join("tests/fixtures/retain"));
    let mut checked_plans = 0;
    for dir in projects.iter().filter(|d| d.join("tally.yaml").exists()) {
        let (checked, result) =
            tally_compiler::compile(&directory(dir), "project", &MemoryFs::new());
        assert!(!checked.has_errors(), "{}: {:#?}", dir.display(), checked.diagnostics());
        let artifacts = result.unwrap_or_else(|d| panic!("{}: {d:#?}", dir.display()));
        let artifacts = artifacts.expect("an error-free project compiles");
        let text = &artifacts.files["plan.json"];
        let value: serde_json::Value = serde_json::from_str(text).expect("plan is JSON");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());
        let plan = tally_runtime::plan::parse(text, "plan.json")
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(&plan.to_json(), text, "{}: the plan does not read back whole", dir.display());
        checked_plans += 1;
    }
    assert!(checked_plans >= 5, "only {checked_plans} projects found");
}

#[test]
fn a_plan_of_another_version_is_refused_with_one_code() {
    let root = common::root();
    let text = std::fs::read_to_string(root.join("generated/plan.json")).expect("plan exists");
    let current = format!("\"version\": {}", tally_runtime::plan::PLAN_VERSION);
    assert!(text.contains(&current), "generated/plan.json is not of the current version");
    let older = text.replacen(&current, "\"version\": 1", 1);
    let error = tally_runtime::plan::parse(&older, "plan.json").expect_err("refused");
    assert_eq!(error.code.as_str(), "R0101", "{error}");
    assert!(error.to_string().contains("version 1"), "{error}");
    let broken = text.replacen("\"sources\"", "\"sourcez\"", 1);
    let error = tally_runtime::plan::parse(&broken, "plan.json").expect_err("refused");
    assert_eq!(error.code.as_str(), "R0101", "{error}");
}
