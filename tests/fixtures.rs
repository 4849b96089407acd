//! Data-driven fixture tests: one snapshot per fixture directory.
//!
//! - `tests/fixtures/syntax/<case>/main.tally` parses without diagnostics; the snapshot is its
//!   syntax tree.
//! - `tests/fixtures/errors/<CODE>_<slug>/` is checked as a project; the snapshot is the rendered
//!   diagnostics. The code in the directory name must be among them. A first line
//!   `// expect: T0101 T0203 ...` pins the exact list of codes reported, in order.
//! - Every `.tally` file that parses cleanly formats idempotently, and formatting keeps the tree.

mod common;

use common::*;
use std::path::Path;
use tally_compiler::diagnostic::render;
use tally_compiler::span::FileId;
use tally_compiler::syntax;

#[test]
fn syntax_fixtures() {
    insta::glob!("fixtures/syntax/*/main.tally", |path| {
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let (module, diagnostics) = syntax::parse(FileId(0), &text);
        assert!(diagnostics.is_empty(), "{}: {diagnostics:#?}", path.display());
        insta::with_settings!({ description => text, omit_expression => true }, {
            insta::assert_yaml_snapshot!(module);
        });
    });
}

#[test]
fn error_fixtures() {
    insta::glob!("fixtures/errors/*/main.tally", |path| {
        let dir = path.parent().expect("fixture directory");
        let checked = tally_compiler::check(&fixture_project(dir), "");
        let diagnostics = checked.diagnostics();
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
        let name = dir_name(dir);
        let code = name.split('_').next().unwrap_or_default();
        assert!(codes.contains(&code), "{name}: expected {code} among {codes:?}");
        let main = std::fs::read_to_string(path).expect("fixture is readable");
        if let Some(expected) = main.lines().next().and_then(|l| l.strip_prefix("// expect:")) {
            let expected: Vec<&str> = expected.split_whitespace().collect();
            assert_eq!(codes, expected, "{name}: codes reported");
        }
        let rendered = render::human(diagnostics, &checked.project.sources, false);
        insta::with_settings!({ description => describe_inputs(dir), omit_expression => true }, {
            insta::assert_snapshot!(rendered);
        });
    });
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[test]
fn formatting_is_idempotent_and_keeps_the_tree() {
    let mut formatted_files = 0;
    for (path, text) in all_tally_files() {
        let (before, diagnostics) = syntax::parse(FileId(0), &text);
        if tally_compiler::diagnostic::has_errors(&diagnostics) {
            assert!(
                tally_compiler::format::format(FileId(0), &text).is_err(),
                "{}: a file with syntax errors must not be formatted",
                path.display()
            );
            continue;
        }
        let once = tally_compiler::format::format(FileId(0), &text)
            .unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
        let twice = tally_compiler::format::format(FileId(0), &once).unwrap_or_else(|d| {
            panic!("{}: formatted output does not parse: {d:#?}", path.display())
        });
        assert_eq!(once, twice, "{}: formatting is not idempotent", path.display());
        let (after, _) = syntax::parse(FileId(0), &once);
        assert_eq!(
            without_spans(serde_json::to_value(&before).expect("ast serializes")),
            without_spans(serde_json::to_value(&after).expect("ast serializes")),
            "{}: formatting changed the syntax tree",
            path.display()
        );
        formatted_files += 1;
    }
    assert!(formatted_files >= 10, "only {formatted_files} files were formatted");
}
