//! TEMPORARY: checks fixtures, docs blocks and the quickstart parse. Delete before commit.

use tally_compiler::diagnostic::render;
use tally_compiler::source::SourceMap;
use tally_compiler::syntax;

fn check(name: &str, text: &str, failures: &mut Vec<String>) {
    let mut map = SourceMap::new();
    let id = map.add(name, text);
    let (module, diags) = syntax::parse(id, text);
    if std::env::var("DUMP").is_ok_and(|d| name.contains(&d)) {
        println!("{name}:\n{}", serde_json::to_string_pretty(&module).unwrap());
    }
    if !diags.is_empty() {
        failures.push(format!("{name}:\n{}", render::human(&diags, &map, false)));
    }
    if module.declarations.is_empty() {
        failures.push(format!("{name}: no declarations"));
    }
}

#[test]
fn everything_parses() {
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir("../tests/fixtures/syntax").unwrap() {
        let path = entry.unwrap().path().join("main.tally");
        let text = std::fs::read_to_string(&path).unwrap();
        check(&path.display().to_string(), &text, &mut failures);
        n += 1;
    }
    for entry in std::fs::read_dir("../examples/quickstart").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tally") {
            let text = std::fs::read_to_string(&path).unwrap();
            check(&path.display().to_string(), &text, &mut failures);
            n += 1;
        }
    }
    let doc = std::fs::read_to_string("../docs/language.md").unwrap_or_default();
    let mut block: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut block {
            None if line.trim_end() == "```tally" => block = Some((i + 1, String::new())),
            Some((start, text)) if line.trim_end() == "```" => {
                check(&format!("language.md:{start}"), text, &mut failures);
                n += 1;
                block = None;
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    println!("checked {n} inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
