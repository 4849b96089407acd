//! Inputs at and past the language's limits (`syntax::limits`): expressions with thousands
//! of operators compile, nesting past the limit is a `T0007` diagnostic from `check`, `fmt`
//! and `compile` alike, very long names are diagnosed or accepted, and nothing panics,
//! overflows the stack or reaches `T9999` (an internal error).
//!
//! Each case runs on a thread with a 2 MiB stack, the size a test or a small worker thread
//! gets, so that a pass that recursed per level or per operator would fail here.

use tally_compiler::diagnostic::{codes, render, Code, Diagnostic};
use tally_compiler::source::MemoryFs;
use tally_compiler::span::FileId;
use tally_compiler::syntax::limits::{MAX_DEPTH, MAX_OPERATORS};

const SOURCE: &str = "\
source s {
  title \"Facts\"
  refresh daily
  landing \"s/*.csv\" as csv
  load append
  key id
  retain forever
  columns {
    id int
    a  int
    t  timestamp
  }
}
";

fn project(metrics: &str) -> MemoryFs {
    MemoryFs::new()
        .with("tally.yaml", "name: limits\ndialect: duckdb\npaths: [.]\n")
        .with("sources.tally", SOURCE)
        .with("metrics.tally", metrics)
}

/// Runs `f` on a thread with a 2 MiB stack and returns what it returns; a panic or a stack
/// overflow fails the test.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("a thread starts")
        .join()
        .unwrap_or_else(|_| panic!("the compiler panicked"))
}

/// What `check`, `fmt` and `compile` say about `metrics`: the codes `check` reports, whether
/// `fmt` formatted the file (or the codes it refused with), and whether `compile` produced the
/// artifacts (or the codes it reported). Every diagnostic is also rendered for people.
#[derive(Debug)]
struct Outcome {
    check: Vec<Code>,
    fmt: Result<(), Vec<Code>>,
    compile: Result<(), Vec<Code>>,
}

fn run(metrics: String) -> Outcome {
    small_stack(move || {
        let fs = project(&metrics);
        let checked = tally_compiler::check(&fs, "");
        let rendered = render::human(checked.diagnostics(), &checked.project.sources, false);
        assert!(rendered.len() < 64 * 1024, "{} bytes of diagnostics", rendered.len());
        let codes = |d: &[Diagnostic]| d.iter().map(|d| d.code).collect::<Vec<_>>();
        let fmt =
            tally_compiler::format::format(FileId(0), &metrics).map(|_| ()).map_err(|d| codes(&d));
        let (checked, artifacts) = tally_compiler::compile(&fs, "", &MemoryFs::new());
        let compile = match artifacts {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(codes(checked.diagnostics())),
            Err(d) => Err(codes(&d)),
        };
        Outcome { check: codes(checked.diagnostics()), fmt, compile }
    })
}

fn assert_clean(outcome: &Outcome) {
    assert!(outcome.check.is_empty(), "{outcome:?}");
    assert_eq!(outcome.fmt, Ok(()), "{outcome:?}");
    assert_eq!(outcome.compile, Ok(()), "{outcome:?}");
}

/// `check` and `compile` report `T0007` (and nothing internal), `fmt` refuses with it.
fn assert_too_deep(outcome: &Outcome) {
    assert!(outcome.check.contains(&codes::TOO_DEEP), "{outcome:?}");
    assert!(!outcome.check.contains(&codes::INTERNAL), "{outcome:?}");
    assert!(matches!(&outcome.fmt, Err(c) if c.contains(&codes::TOO_DEEP)), "{outcome:?}");
    assert!(matches!(&outcome.compile, Err(c) if c.contains(&codes::TOO_DEEP)), "{outcome:?}");
}

fn chain(term: &str, op: &str, terms: usize) -> String {
    vec![term; terms].join(op)
}

#[test]
fn sums_of_thousands_of_terms_compile() {
    for terms in [60, 2_000] {
        let measure =
            format!("metric total {{\n  measure sum({})\n}}\n", chain("s.a", " + ", terms));
        assert_clean(&run(measure));
    }
}

#[test]
fn the_longest_expressions_allowed_compile() {
    // Each exact division casts the quotient so far: SQL nested one level per operator.
    let divisions = chain("sum(s.a)", " / ", MAX_OPERATORS + 1);
    assert_clean(&run(format!("metric ratio {{\n  measure {divisions}\n}}\n")));
    let conditions = chain("s.a > 1", " and ", MAX_OPERATORS / 2);
    assert_clean(&run(format!("metric kept {{\n  measure count(*) where {conditions}\n}}\n")));
}

#[test]
fn more_operators_than_allowed_is_a_diagnostic() {
    let sum = chain("s.a", " + ", MAX_OPERATORS + 2);
    assert_too_deep(&run(format!("metric total {{\n  measure sum({sum})\n}}\n")));
    // About 1 MiB on one line.
    let sum = chain("s.a", "+", 260_000);
    assert_too_deep(&run(format!("metric total = {sum}\n")));
}

#[test]
fn nesting_up_to_the_limit_compiles() {
    // `sum(` is the first level.
    let inner = MAX_DEPTH - 1;
    let parens = format!("{}s.a{}", "(".repeat(inner), ")".repeat(inner));
    assert_clean(&run(format!("metric m {{\n  measure sum({parens})\n}}\n")));
    let negations = format!("{}s.a", "-".repeat(inner));
    assert_clean(&run(format!("metric m {{\n  measure sum({negations})\n}}\n")));
    let calls = format!("{}s.a{}", "abs(".repeat(inner), ")".repeat(inner));
    assert_clean(&run(format!("metric m {{\n  measure sum({calls})\n}}\n")));
    let nots = "not ".repeat(MAX_DEPTH);
    assert_clean(&run(format!("metric m {{\n  measure count(*) where {nots}s.a > 1\n}}\n")));
    let divisions = (0..inner).fold("s.a".to_string(), |e, _| format!("(s.a / {e})"));
    assert_clean(&run(format!("metric m {{\n  measure sum({divisions})\n}}\n")));
}

#[test]
fn nesting_past_the_limit_is_a_diagnostic_whatever_its_depth() {
    for levels in [MAX_DEPTH, 600, 100_000] {
        let parens = format!("{}s.a{}", "(".repeat(levels), ")".repeat(levels));
        assert_too_deep(&run(format!("metric m {{\n  measure sum({parens})\n}}\n")));
        let calls = format!("{}s.a{}", "abs(".repeat(levels), ")".repeat(levels));
        assert_too_deep(&run(format!("metric m {{\n  measure sum({calls})\n}}\n")));
        let negations = format!("{}s.a", "- ".repeat(levels));
        assert_too_deep(&run(format!("metric m {{\n  measure sum({negations})\n}}\n")));
        let nots = "not ".repeat(levels + 1);
        assert_too_deep(&run(format!("metric m {{\n  measure count(*) where {nots}s.a > 1\n}}\n")));
        let braces = "{".repeat(levels + 1);
        assert_too_deep(&run(format!("metric m {braces}\n")));
    }
}

#[test]
fn a_declaration_too_deep_to_read_still_declares_its_name() {
    let parens = format!("{}s.a{}", "(".repeat(600), ")".repeat(600));
    let metrics =
        format!("metric deep {{\n  measure sum({parens})\n}}\n\nmetric twice = deep * 2\n");
    let outcome = run(metrics);
    // One mistake, one diagnostic: not also "unknown metric `deep`" nor "no `measure`".
    assert_eq!(outcome.check, vec![codes::TOO_DEEP], "{outcome:?}");
}

#[test]
fn long_names_are_diagnosed_or_accepted_without_panicking() {
    for length in [10_000, 500_000] {
        let name = "n".repeat(length);
        // An unknown name that long: reported, and rendered in a few lines.
        let unknown = format!("metric m {{\n  measure count(*) where {name}.a > 1\n}}\n");
        let outcome = run(unknown);
        assert_eq!(outcome.check, vec![codes::UNKNOWN_NAME], "{outcome:?}");
        // A metric of that name is valid.
        let valid = format!("metric {name} {{\n  measure count(*) where s.a > 1\n}}\n");
        assert_clean(&run(valid));
        // Past column 65,535 of a line (miette cannot draw a label there itself).
        let far = format!("metric m {{\n  measure count(*) where s.a > 1 and {name} > x.y\n}}\n");
        let outcome = run(far);
        assert!(!outcome.check.is_empty() && !outcome.check.contains(&codes::INTERNAL));
    }
}

#[test]
fn a_long_line_is_shown_in_pieces_around_its_labels() {
    let padding = "x".repeat(100_000);
    let metrics =
        format!("metric m {{\n  measure count(*) where '{padding}' = 'y' and s.nope > 1\n}}\n");
    let checked = tally_compiler::check(&project(&metrics), "");
    assert_eq!(checked.diagnostics().len(), 1, "{:#?}", checked.diagnostics());
    let rendered = render::human(checked.diagnostics(), &checked.project.sources, false);
    assert!(rendered.contains(" │ …xxxxxxxx"), "{rendered}");
    assert!(rendered.contains("xxxxxxxx' = 'y' and s.nope > 1"), "{rendered}");
    // The position is the file's, not the excerpt's.
    assert!(rendered.contains("[metrics.tally:2:100041]"), "{rendered}");
    assert!(rendered.contains("unknown column"), "{rendered}");
    assert!(rendered.lines().all(|l| l.chars().count() < 200), "{rendered}");
}

#[test]
fn a_mistake_on_every_line_of_a_large_file_is_reported_in_full_and_shown_in_part() {
    // About 1 MiB: 40,000 metrics reading a source that does not exist.
    let metrics: String = (0..40_000).map(|i| format!("metric m{i} = count(x.a)\n")).collect();
    let checked = small_stack(move || {
        let checked = tally_compiler::check(&project(&metrics), "");
        let rendered = render::human(checked.diagnostics(), &checked.project.sources, false);
        (checked.diagnostics().len(), rendered)
    });
    let (count, rendered) = checked;
    assert!(count >= 40_000, "{count} diagnostics");
    assert!(rendered.contains(&format!("... and {} more", count - 200)), "{rendered}");
}
