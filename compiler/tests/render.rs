//! Snapshots of the diagnostic renderers (human, JSON, GitHub) on one set of diagnostics that
//! covers the awkward cases: labels in two files, help and notes, warnings, an empty span at the
//! end of a file and a span that runs past it.

use tally_compiler::diagnostic::codes;
use tally_compiler::diagnostic::render::{self, Format};
use tally_compiler::diagnostic::{Code, Diagnostic};
use tally_compiler::source::SourceMap;
use tally_compiler::span::{FileId, Span};

const METRICS: &str = "\
metric arrivals {
  measure count(*)
  from crossings
  by location.prot
}
";

const SOURCES: &str = "\
source crossings {
  key id
  column id int
}";

/// The byte span of the first `needle` in `text`, so the fixtures read as text, not offsets.
fn find(file: FileId, text: &str, needle: &str) -> Span {
    let start = text.find(needle).unwrap_or_else(|| panic!("`{needle}` is not in the fixture"));
    Span::new(file, start, start + needle.len())
}

fn fixture() -> (SourceMap, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let metrics = sources.add("metrics/arrivals.tally", METRICS);
    let crossings = sources.add("sources/crossings.tally", SOURCES);

    let diagnostics = vec![
        // Primary and secondary label in the same file, with help and a note.
        Diagnostic::error(
            codes::UNKNOWN_LEVEL,
            "Dimension `location` has no level `prot`",
            find(metrics, METRICS, "prot"),
        )
        .label("no such level")
        .secondary(find(metrics, METRICS, "location"), "this dimension")
        .help("did you mean `port`?")
        .note("levels of `location`: `port`, `region`"),
        // A secondary label in another file: shown as a note by the human renderer.
        Diagnostic::error(
            codes::UNKNOWN_COLUMN,
            "Source `crossings` has no column `arrived_at`",
            find(metrics, METRICS, "count(*)"),
        )
        .label("counted here")
        .secondary(find(crossings, SOURCES, "crossings"), "declared here")
        .secondary(find(crossings, SOURCES, "column id int"), ""),
        // A warning whose help and message need escaping in GitHub commands.
        Diagnostic::warning(
            codes::INVALID_NUMBER,
            "Count is 100% of rows, a: b",
            find(metrics, METRICS, "from crossings"),
        )
        .help("first line\nsecond line"),
        // Zero-width span at the very end of a file without a trailing newline, empty label.
        Diagnostic::error(
            codes::UNCLOSED_BLOCK,
            "Block is not closed",
            Span::new(crossings, SOURCES.len(), SOURCES.len()),
        )
        .secondary(find(crossings, SOURCES, "{"), "opened here"),
        // A span that runs past the end of the text (a bug upstream): clamped, no panic.
        Diagnostic::error(
            codes::INTERNAL,
            "Span past the end",
            Span::new(metrics, METRICS.len() - 2, METRICS.len() + 40),
        )
        .label("clamped"),
        // A code the registry does not know, and a file the map does not hold.
        Diagnostic::error(Code("T4242"), "Unregistered code", Span::new(FileId(7), 3, 5))
            .label("nowhere"),
    ];
    (sources, diagnostics)
}

#[test]
fn human_without_color() {
    let (sources, diagnostics) = fixture();
    let out = render::human(&diagnostics, &sources, false);
    assert!(!out.contains('\u{1b}'), "colourless output contains an escape");
    snapshot("human", &out);
}

#[test]
fn human_with_color_differs_only_by_escapes() {
    let (sources, diagnostics) = fixture();
    let colored = render::human(&diagnostics, &sources, true);
    assert!(colored.contains('\u{1b}'), "coloured output has no escape");
    assert_eq!(strip_ansi(&colored), render::human(&diagnostics, &sources, false));
}

#[test]
fn json() {
    let (sources, diagnostics) = fixture();
    let out = render::json(&diagnostics, &sources);
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("renderer emits valid JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(diagnostics.len()));
    snapshot("json", &out);
}

#[test]
fn github() {
    let (sources, diagnostics) = fixture();
    let out = render::github(&diagnostics, &sources);
    assert_eq!(out.lines().count(), diagnostics.len(), "one command per diagnostic");
    snapshot("github", &out);
}

#[test]
fn github_escapes_properties_and_data() {
    let mut sources = SourceMap::new();
    let file = sources.add("odd, name: 100%.tally", "x\r\n");
    let diagnostics = [Diagnostic::error(codes::SYNTAX, "a\r\nb: 5%, c", Span::new(file, 0, 1))];
    assert_eq!(
        render::github(&diagnostics, &sources),
        "::error file=odd%2C name%3A 100%25.tally,line=1,col=1,endLine=1,endColumn=2,\
         title=T0001 syntax-error::a%0D%0Ab: 5%25, c\n"
    );
}

#[test]
fn empty_input() {
    let sources = SourceMap::new();
    assert_eq!(render::human(&[], &sources, false), "");
    assert_eq!(render::github(&[], &sources), "");
    assert_eq!(render::json(&[], &sources), "[]\n");
    assert_eq!(render::summary(&[]), "no problems");
}

#[test]
fn summary_counts() {
    let (_, diagnostics) = fixture();
    assert_eq!(render::summary(&diagnostics), "5 errors, 1 warning");
    assert_eq!(render::summary(&diagnostics[..1]), "1 error");
    assert_eq!(render::summary(&diagnostics[2..3]), "1 warning");
    assert_eq!(render::summary(&diagnostics[..3]), "2 errors, 1 warning");
}

#[test]
fn render_dispatches_on_format() {
    let (sources, diagnostics) = fixture();
    assert_eq!(
        render::render(Format::Json, &diagnostics, &sources, true),
        render::json(&diagnostics, &sources)
    );
    assert_eq!(
        render::render(Format::Github, &diagnostics, &sources, true),
        render::github(&diagnostics, &sources)
    );
    assert_eq!(
        render::render(Format::Human, &diagnostics, &sources, false),
        render::human(&diagnostics, &sources, false)
    );
}

#[test]
fn format_parses_its_names() {
    for format in Format::ALL {
        assert_eq!(format.to_string().parse::<Format>(), Ok(format));
    }
    assert_eq!(
        "xml".parse::<Format>(),
        Err("unknown diagnostic format `xml`: expected one of `human`, `json`, `github`"
            .to_string())
    );
}

/// Snapshots `out` as `render__{name}.snap`, after the fixture's files, so the snapshot reads
/// on its own.
fn snapshot(name: &str, out: &str) {
    let snapshot = format!(
        "----- metrics/arrivals.tally\n{METRICS}\
         ----- sources/crossings.tally (no final line break)\n{SOURCES}\n\
         ----- {name}\n{out}"
    );
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!(name, snapshot);
    });
}

/// Removes SGR escape sequences (`ESC [ ... m`), the only kind the coloured theme emits.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every internal error reads alike, whichever stage found the bug: what broke, and that it is
/// a bug in Tally to report.
#[test]
fn an_internal_error_says_it_is_a_bug_to_report() {
    let mut sources = SourceMap::new();
    let file = sources.add("sources/crossings.tally", SOURCES);
    let bug = Diagnostic::internal("the graph has a cycle: a, b", find(file, SOURCES, "crossings"));
    assert_eq!(bug.code, codes::INTERNAL);
    let text = render::human(&[bug], &sources, false);
    assert!(text.contains("T9999"), "{text}");
    assert!(text.contains("Internal error: the graph has a cycle: a, b"), "{text}");
    assert!(
        text.contains("help: this is a bug in Tally, not in the project; please report"),
        "{text}"
    );
}
