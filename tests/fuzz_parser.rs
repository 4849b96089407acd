//! The parser never panics, whatever it is fed.
//!
//! A deterministic mutation fuzzer: it starts from every `.tally` file in the repository and
//! applies random edits (deleting, duplicating, swapping and splicing pieces, inserting tokens
//! the grammar cares about and arbitrary characters). For each input it checks that
//! parsing does not panic, that every diagnostic span lies inside the text on character
//! boundaries, and that inputs which parse cleanly format idempotently to the same tree.
//!
//! `TALLY_FUZZ_INPUTS` sets the number of inputs (default 100,000) and `TALLY_FUZZ_SEED` the
//! seed, so a failure is reproduced by rerunning with the seed it prints.
//!
//! A second run feeds the whole compiler (`check`, `fmt`, `compile`, the renderers) inputs of
//! up to 1 MiB built to hit the language's limits: nesting hundreds of thousands of levels
//! deep (parentheses, calls, `-` and `not` chains, braces), chains of operators, very long
//! names, strings and lines, spliced into valid files. None may panic, overflow the stack or
//! produce an internal error (`T9999`). `TALLY_FUZZ_LARGE_INPUTS` sets how many (default 150).

mod common;

use common::{all_tally_files, without_spans};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tally_compiler::diagnostic::{codes, render};
use tally_compiler::source::MemoryFs;
use tally_compiler::span::FileId;
use tally_compiler::{diagnostic, format, syntax};

/// xorshift64*: small, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "->",
    ">",
    "<",
    "!=",
    "%",
    "*",
    "/",
    "-",
    "+",
    "\"",
    "'",
    "\\",
    "\n",
    "\n\n",
    "\t",
    " ",
    "//",
    "///",
    "////",
    "\r\n",
    "source ",
    "metric ",
    "mart ",
    "role ",
    "report ",
    "dimension ",
    "calendar ",
    "retention ",
    "title ",
    "measure ",
    "where ",
    "and ",
    "or ",
    "not ",
    "null",
    "is ",
    "in ",
    "between ",
    "like ",
    "distinct ",
    "count(*)",
    "sum(",
    "columns {",
    "pii(",
    "enum(",
    "decimal(12, 3)",
    "refresh ",
    "every ",
    "15 minutes",
    "24 hours",
    "3%",
    "06:00",
    "99999999999999999999999",
    "0",
    "1.5",
    "é",
    "🦀",
    "\u{0}",
    "\u{feff}",
    "x",
    "a.b.c",
    "true",
    "level ",
    "hierarchy a > b",
    "per ",
    "having ",
    "buckets x [1, 2]",
    "top 10 by ",
    "scope ",
    "user.port",
    "users {",
    "attributes {",
    "region string -> g.region",
    "load cdc delete_marker x",
];

fn mutate(rng: &mut Rng, corpus: &[String], input: &str) -> String {
    let mut text = input.to_string();
    for _ in 0..=rng.below(4) {
        let boundaries: Vec<usize> =
            (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let pick = |rng: &mut Rng| boundaries[rng.below(boundaries.len())];
        let (mut a, mut b) = (pick(rng), pick(rng));
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        match rng.below(8) {
            0 => {
                let limit = a + 1 + rng.below(40);
                let end = boundaries.iter().copied().rfind(|&x| x >= a && x <= limit);
                text.replace_range(a..end.unwrap_or(a), "");
            }
            1 | 2 => text.insert_str(a, TOKENS[rng.below(TOKENS.len())]),
            3 => {
                let piece = text[a..b].to_string();
                text.insert_str(b, &piece);
            }
            4 => text.truncate(a),
            5 => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = (0..=other.len())
                    .filter(|&i| other.is_char_boundary(i))
                    .nth(rng.below(other.len() + 1));
                text.insert_str(a, &other[cut.unwrap_or(0)..]);
            }
            6 => {
                let c = char::from_u32(rng.below(0x3000) as u32).unwrap_or('?');
                text.insert(a, c);
            }
            _ => {
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                if lines.len() > 1 {
                    let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(i, j);
                }
                text = lines.concat();
            }
        }
    }
    text
}

fn check_one(text: &str) -> Result<bool, String> {
    let (module, diagnostics) = syntax::parse(FileId(0), text);
    for d in &diagnostics {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            let (s, e) = (span.start as usize, span.end as usize);
            if s > e || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                return Err(format!("span {s}..{e} is not a valid range of the text: {d:?}"));
            }
        }
    }
    if diagnostic::has_errors(&diagnostics) {
        return Ok(false);
    }
    let once =
        format::format(FileId(0), text).map_err(|d| format!("clean input not formatted: {d:?}"))?;
    let twice = format::format(FileId(0), &once)
        .map_err(|d| format!("formatted output does not parse: {d:?}\n{once}"))?;
    if once != twice {
        return Err(format!("formatting is not idempotent:\n{once}\n---\n{twice}"));
    }
    let (again, _) = syntax::parse(FileId(0), &once);
    let before = without_spans(serde_json::to_value(&module).map_err(|e| e.to_string())?);
    let after = without_spans(serde_json::to_value(&again).map_err(|e| e.to_string())?);
    if before != after {
        return Err(format!("formatting changed the tree:\n{once}"));
    }
    Ok(true)
}

#[test]
fn parser_survives_mutated_inputs() {
    let inputs: usize =
        std::env::var("TALLY_FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let seed: u64 =
        std::env::var("TALLY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x7A11_7A11);
    let corpus: Vec<String> = all_tally_files().into_iter().map(|(_, t)| t).collect();
    assert!(corpus.len() >= 10, "the corpus is too small: {} files", corpus.len());
    let mut rng = Rng(seed | 1);
    let (mut ran, mut clean) = (0usize, 0usize);
    while ran < inputs {
        let base = &corpus[rng.below(corpus.len())];
        let text = if rng.below(20) == 0 {
            // Pure noise now and then, not only mutations of valid files.
            (0..rng.below(200))
                .map(|_| char::from_u32(rng.below(0x80) as u32).unwrap_or(' '))
                .collect()
        } else {
            mutate(&mut rng, &corpus, base)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| check_one(&text)));
        match outcome {
            Ok(Ok(parsed_clean)) => clean += usize::from(parsed_clean),
            Ok(Err(problem)) => {
                panic!("input #{ran} (seed {seed}): {problem}\n--- input:\n{text:?}")
            }
            Err(_) => panic!("input #{ran} (seed {seed}) panicked\n--- input:\n{text:?}"),
        }
        ran += 1;
    }
    eprintln!("fuzzed {ran} inputs ({clean} parsed cleanly and round-tripped through fmt)");
    assert_eq!(ran, inputs);
    assert!(clean > 0, "no mutated input parsed cleanly: the mutations are too destructive");
}

/// The largest input the large-input run builds.
const MIB: usize = 1 << 20;

/// A piece of text that stresses a limit, `size` bytes or so.
fn stress(rng: &mut Rng, size: usize) -> String {
    let repeat = |unit: &str, share: usize| unit.repeat((size / share / unit.len()).max(1));
    match rng.below(12) {
        0 => format!("{}x.a{}", repeat("(", 2), repeat(")", 2)),
        1 => repeat("(", 1),
        2 => format!("{}x.a", repeat("- ", 1)),
        3 => format!("{}x.a", repeat("-", 1)),
        4 => format!("{}x.flag", repeat("not ", 1)),
        5 => format!("{}x.a{}", repeat("abs(", 2), repeat(")", 8)),
        6 => repeat("{", 1),
        7 => repeat("x.a + ", 1) + "x.a",
        8 => repeat("x.a/", 1) + "x.a",
        9 => repeat("a", 1),
        10 => format!("'{}'", repeat("x", 1)),
        _ => {
            // Grammar tokens in a row, on one line.
            let mut out = String::new();
            while out.len() < size {
                let token = TOKENS[rng.below(TOKENS.len())];
                if !token.contains('\n') {
                    out.push_str(token);
                }
            }
            out
        }
    }
}

/// Where a stress piece goes: alone, as a whole measure, or spliced into a valid file.
fn large_input(rng: &mut Rng, corpus: &[String]) -> String {
    // Mostly small pieces (just past the limits), sometimes up to 1 MiB.
    let size = match rng.below(10) {
        0 => MIB - 64,
        1..=3 => 1 + rng.below(MIB / 8),
        _ => 60 + rng.below(2_000),
    };
    let piece = stress(rng, size);
    match rng.below(4) {
        0 => piece,
        1 => format!("metric m {{\n  measure sum({piece})\n}}\n"),
        2 => format!("metric m = {piece}\n"),
        _ => {
            let base = &corpus[rng.below(corpus.len())];
            let at =
                (0..=base.len()).filter(|&i| base.is_char_boundary(i)).nth(rng.below(base.len()));
            let at = at.unwrap_or(0);
            format!("{}{piece}{}", &base[..at], &base[at..])
        }
    }
}

/// `check`, `fmt` and `compile` of a project made of `text`, with every diagnostic rendered:
/// nothing may be an internal error.
fn compile_one(text: &str) -> Result<(), String> {
    let fs = MemoryFs::new().with("tally.yaml", "name: fuzz\ndialect: duckdb\npaths: [.]\n");
    let fs = fs.with("main.tally", text);
    check_one(text)?;
    let (checked, artifacts) = tally_compiler::compile(&fs, "", &MemoryFs::new());
    render::human(checked.diagnostics(), &checked.project.sources, false);
    render::json(checked.diagnostics(), &checked.project.sources);
    let mut all = checked.diagnostics().to_vec();
    if let Err(more) = artifacts {
        all.extend(more);
    }
    match all.iter().find(|d| d.code == codes::INTERNAL) {
        Some(d) => Err(format!("internal error: {}", d.message)),
        None => Ok(()),
    }
}

#[test]
fn the_compiler_survives_deep_and_long_inputs() {
    let inputs: usize =
        std::env::var("TALLY_FUZZ_LARGE_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let seed: u64 =
        std::env::var("TALLY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x7A11_7A11);
    let corpus: Vec<String> = all_tally_files().into_iter().map(|(_, t)| t).collect();
    let mut rng = Rng(seed | 1);
    let mut largest = 0;
    for ran in 0..inputs {
        let text = large_input(&mut rng, &corpus);
        largest = largest.max(text.len());
        // A stack overflow would abort the whole test binary; a panic is caught and shown.
        let outcome = catch_unwind(AssertUnwindSafe(|| compile_one(&text)));
        let head: String = text.chars().take(300).collect();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => panic!(
                "large input #{ran} (seed {seed}, {} bytes): {problem}\n--- input starts:\n{head:?}",
                text.len()
            ),
            Err(_) => panic!(
                "large input #{ran} (seed {seed}, {} bytes) panicked\n--- input starts:\n{head:?}",
                text.len()
            ),
        }
    }
    eprintln!("fed {inputs} large inputs to the compiler, the largest {largest} bytes");
    assert!(inputs == 0 || largest > MIB / 2, "no input came near 1 MiB");
}
