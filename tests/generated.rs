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
