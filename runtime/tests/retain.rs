//! Retention over simulated years, on both engines: the project in
//! `tests/fixtures/retain/` is compiled and migrated, rows are written to its `cur_` tables
//! directly, and `retain` runs at `now` = 1, 6, 7, 8, 40 and 41 years after 2000-01-01.
//! After each step the keys in the current and archive tables, the report and the run log
//! are checked exactly.
//!
//! The sources (see the fixture):
//! - `seizures`: `retain 6 years by seized_at` and the `standard` rule (keep 7 years,
//!   archive 40 years): archived at 6 years of `seized_at` (or of loading when it is NULL),
//!   purged at 40;
//! - `sessions`: `retain 6 years` from loading, no rule: purged as soon as it is archived;
//! - `visits`: only the `standard` rule: archived 7 years after loading, purged at 40;
//! - `ports`: `retain forever`: never moves.
//!
//! Ages are compared strictly (`< now - period`): a row exactly 6 years old stays; a purge
//! time equal to `now` purges.

mod support;

use chrono::NaiveDateTime;
use support::{at, Engine};
use tally_runtime::generated::Generated;
use tally_runtime::retain::{retain, retain_run, RetainReport};
use tally_runtime::value::Value;
use tally_runtime::{migrate, Backend};

const T0: (i32, u32, u32) = (2000, 1, 1);

fn years(n: i32) -> NaiveDateTime {
    at(T0.0 + n, T0.1, T0.2)
}

/// Compiles the fixture and migrates the engine's database; returns the compiled plan.
fn setup(db: &mut dyn Backend) -> (tempfile::TempDir, Generated) {
    let generated = support::compiled("tests/fixtures/retain");
    let loaded = Generated::load(generated.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    migrate::migrate(db, &loaded.migrations, years(0), false).unwrap_or_else(|e| panic!("{e}"));
    (generated, loaded)
}

fn ts(text: Option<&str>) -> String {
    text.map_or("NULL".to_owned(), |t| format!("TIMESTAMP '{t} 00:00:00'"))
}

fn exec(db: &mut dyn Backend, sql: &str) {
    db.execute(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

fn seizure(db: &mut dyn Backend, id: &str, seized_at: Option<&str>, loaded_at: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO cur_seizures (seizure_id, seized_at, weight_kg, _tally_source, _tally_batch, _tally_loaded_at) \
             VALUES ('{id}', {}, 1.500, 'Seizures', 1, {})",
            ts(seized_at),
            ts(Some(loaded_at))
        ),
    );
}

fn session(db: &mut dyn Backend, id: &str, loaded_at: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO cur_sessions (session_id, minutes, _tally_source, _tally_batch, _tally_loaded_at) \
             VALUES ('{id}', 5, 'Sessions', 1, {})",
            ts(Some(loaded_at))
        ),
    );
}

fn visit(db: &mut dyn Backend, id: &str, loaded_at: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO cur_visits (visit_id, port, _tally_source, _tally_batch, _tally_loaded_at) \
             VALUES ('{id}', 'JFK', 'Visits', 1, {})",
            ts(Some(loaded_at))
        ),
    );
}

fn port(db: &mut dyn Backend, code: &str, loaded_at: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO cur_ports (port_code, port_name, _tally_source, _tally_batch, _tally_loaded_at) \
             VALUES ('{code}', 'Port {code}', 'Ports', 1, {})",
            ts(Some(loaded_at))
        ),
    );
}

/// The keys of a source's current table.
fn current(db: &mut dyn Backend, source: &str, key: &str) -> Vec<String> {
    let rows = db
        .query(&format!("SELECT {key} FROM cur_{source} ORDER BY {key}"))
        .unwrap_or_else(|e| panic!("{e}"));
    rows.rows.iter().map(|r| r[0].to_string()).collect()
}

/// The keys of a source's archive with the year (after 2000) each was archived in; every
/// archive row must say `past_retention`.
fn archive(db: &mut dyn Backend, source: &str, key: &str) -> Vec<(String, i32)> {
    let rows = db
        .query(&format!(
            "SELECT {key}, _tally_archived_at, _tally_archive_reason FROM arc_{source} ORDER BY {key}"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    rows.rows
        .iter()
        .map(|r| {
            assert_eq!(r[2], Value::Text("past_retention".into()), "{source}: {r:?}");
            let archived_at = r[1].to_string();
            let year = (0..=41)
                .find(|n| archived_at == tally_runtime::value::timestamp_text(years(*n)))
                .unwrap_or_else(|| panic!("{source}: archived at {archived_at}, not a step"));
            (r[0].to_string(), year)
        })
        .collect()
}

/// What one source should look like after a step.
struct Expect {
    source: &'static str,
    key: &'static str,
    archived: u64,
    purged: u64,
    current: &'static [&'static str],
    archive: &'static [(&'static str, i32)],
}

fn check(db: &mut dyn Backend, step: i32, report: &RetainReport, expected: &[Expect]) {
    let names: Vec<&str> = report.sources.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(names, ["ports", "seizures", "sessions", "visits"], "year {step}");
    for e in expected {
        let counts = report.source(e.source).expect("reported");
        assert_eq!(
            (counts.archived, counts.purged),
            (e.archived, e.purged),
            "year {step}, {}: (archived, purged)",
            e.source
        );
        assert_eq!(current(db, e.source, e.key), e.current, "year {step}: cur_{}", e.source);
        let archive_keys = archive(db, e.source, e.key);
        let expected_archive: Vec<(String, i32)> =
            e.archive.iter().map(|(k, y)| (k.to_string(), *y)).collect();
        assert_eq!(archive_keys, expected_archive, "year {step}: arc_{}", e.source);
    }
    // One run-log row per source, with the counts: rows_in archived, rows_out purged.
    let log = db
        .query(&format!(
            "SELECT source, step, batch, started_at, rows_in, rows_out, rows_rejected, status, error \
             FROM etl_run_log WHERE run_id = '{}' ORDER BY source",
            report.run_id
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log.rows.len(), 4, "year {step}: run log {log:?}");
    for row in &log.rows {
        let source = row[0].to_string();
        let counts = report.source(&source).expect("a reported source");
        assert_eq!(row[1], Value::Text("retain".into()));
        assert!(row[2].is_null(), "{row:?}");
        assert_eq!(row[3].to_string(), tally_runtime::value::timestamp_text(years(step)));
        assert_eq!(
            (row[4].as_i64(), row[5].as_i64(), row[6].as_i64()),
            (Some(counts.archived as i64), Some(counts.purged as i64), Some(0)),
            "year {step}: run log of {source}"
        );
        assert_eq!(row[7], Value::Text("ok".into()));
        assert!(row[8].is_null(), "{row:?}");
    }
}

fn step(db: &mut dyn Backend, generated: &Generated, n: i32, expected: &[Expect]) {
    let report = retain(db, &generated.plan, years(n)).unwrap_or_else(|e| panic!("{e}"));
    check(db, n, &report, expected);
}

const PORTS: Expect = Expect {
    source: "ports",
    key: "port_code",
    archived: 0,
    purged: 0,
    current: &["JFK"],
    archive: &[],
};

fn retention_over_forty_years(engine: &Engine) {
    let mut db = engine.open();
    let db = db.as_mut();
    let (_dir, generated) = setup(db);

    seizure(db, "a", Some("1994-06-01"), "2000-01-01");
    seizure(db, "b", Some("1999-12-31"), "2000-01-01");
    seizure(db, "c", Some("2000-01-01"), "2000-01-01");
    seizure(db, "d", Some("2000-06-01"), "2000-01-01");
    seizure(db, "e", None, "2000-01-01");
    session(db, "s1", "2000-01-01");
    visit(db, "v1", "2000-01-01");
    visit(db, "v2", "2000-06-01");
    port(db, "JFK", "2000-01-01");

    step(
        db,
        &generated,
        1,
        &[
            Expect {
                source: "seizures",
                key: "seizure_id",
                archived: 1,
                purged: 0,
                current: &["b", "c", "d", "e"],
                archive: &[("a", 1)],
            },
            Expect {
                source: "sessions",
                key: "session_id",
                archived: 0,
                purged: 0,
                current: &["s1"],
                archive: &[],
            },
            Expect {
                source: "visits",
                key: "visit_id",
                archived: 0,
                purged: 0,
                current: &["v1", "v2"],
                archive: &[],
            },
            PORTS,
        ],
    );

    // Rows keep arriving.
    seizure(db, "f", Some("2001-06-01"), "2001-07-01");
    session(db, "s2", "2001-01-01");

    // Exactly six years old is not past six years: c, e (by loading) and s1 stay.
    step(
        db,
        &generated,
        6,
        &[
            Expect {
                source: "seizures",
                key: "seizure_id",
                archived: 1,
                purged: 0,
                current: &["c", "d", "e", "f"],
                archive: &[("a", 1), ("b", 6)],
            },
            Expect {
                source: "sessions",
                key: "session_id",
                archived: 0,
                purged: 0,
                current: &["s1", "s2"],
                archive: &[],
            },
            Expect {
                source: "visits",
                key: "visit_id",
                archived: 0,
                purged: 0,
                current: &["v1", "v2"],
                archive: &[],
            },
            PORTS,
        ],
    );

    // Without an archive period, what leaves the live table is purged at once.
    let year_7 = [
        Expect {
            source: "seizures",
            key: "seizure_id",
            archived: 3,
            purged: 0,
            current: &["f"],
            archive: &[("a", 1), ("b", 6), ("c", 7), ("d", 7), ("e", 7)],
        },
        Expect {
            source: "sessions",
            key: "session_id",
            archived: 1,
            purged: 1,
            current: &["s2"],
            archive: &[],
        },
        Expect {
            source: "visits",
            key: "visit_id",
            archived: 0,
            purged: 0,
            current: &["v1", "v2"],
            archive: &[],
        },
        PORTS,
    ];
    step(db, &generated, 7, &year_7);

    // Retention is idempotent: again at the same time, nothing moves.
    let again =
        retain_run(db, &generated.plan, years(7), "again").unwrap_or_else(|e| panic!("{e}"));
    let unchanged: Vec<Expect> =
        year_7.into_iter().map(|e| Expect { archived: 0, purged: 0, ..e }).collect();
    check(db, 7, &again, &unchanged);

    step(
        db,
        &generated,
        8,
        &[
            Expect {
                source: "seizures",
                key: "seizure_id",
                archived: 1,
                purged: 0,
                current: &[],
                archive: &[("a", 1), ("b", 6), ("c", 7), ("d", 7), ("e", 7), ("f", 8)],
            },
            Expect {
                source: "sessions",
                key: "session_id",
                archived: 1,
                purged: 1,
                current: &[],
                archive: &[],
            },
            Expect {
                source: "visits",
                key: "visit_id",
                archived: 2,
                purged: 0,
                current: &[],
                archive: &[("v1", 8), ("v2", 8)],
            },
            PORTS,
        ],
    );

    // Purged at 40 years of the age's start; a purge time equal to now purges (c, e, v1).
    step(
        db,
        &generated,
        40,
        &[
            Expect {
                source: "seizures",
                key: "seizure_id",
                archived: 0,
                purged: 4,
                current: &[],
                archive: &[("d", 7), ("f", 8)],
            },
            Expect {
                source: "sessions",
                key: "session_id",
                archived: 0,
                purged: 0,
                current: &[],
                archive: &[],
            },
            Expect {
                source: "visits",
                key: "visit_id",
                archived: 0,
                purged: 1,
                current: &[],
                archive: &[("v2", 8)],
            },
            PORTS,
        ],
    );

    step(
        db,
        &generated,
        41,
        &[
            Expect {
                source: "seizures",
                key: "seizure_id",
                archived: 0,
                purged: 1,
                current: &[],
                archive: &[("f", 8)],
            },
            Expect {
                source: "sessions",
                key: "session_id",
                archived: 0,
                purged: 0,
                current: &[],
                archive: &[],
            },
            Expect {
                source: "visits",
                key: "visit_id",
                archived: 0,
                purged: 1,
                current: &[],
                archive: &[],
            },
            PORTS,
        ],
    );

    // The archived rows kept their values and their purge times.
    let kept = db
        .query(
            "SELECT seized_at, weight_kg, _tally_loaded_at, _tally_purge_after FROM arc_seizures",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        kept.rows,
        [vec![
            Value::Timestamp("2001-06-01 00:00:00".into()),
            Value::Decimal("1.500".into()),
            Value::Timestamp("2001-07-01 00:00:00".into()),
            Value::Timestamp("2041-06-01 00:00:00".into()),
        ]]
    );
}

/// A source whose retention fails is rolled back whole and logged as failed; the sources
/// before it stay retained, the ones after it are not touched.
fn a_failing_source_is_rolled_back_and_logged(engine: &Engine) {
    let mut db = engine.open();
    let db = db.as_mut();
    let (_dir, generated) = setup(db);
    let mut plan = generated.plan.clone();
    let dialect = db.dialect();
    let seizures = plan.sources.iter_mut().find(|s| s.name == "seizures").expect("seizures");
    let sql = seizures.sql.get_mut(&dialect).expect("statements");
    assert!(sql.retention.len() >= 2, "{:?}", sql.retention);
    sql.retention.push(tally_runtime::plan::Statement::new(
        tally_runtime::plan::Role::Purge,
        "DELETE FROM no_such_table WHERE _tally_purge_after <= {now}",
    ));

    seizure(db, "a", Some("1994-06-01"), "2000-01-01");
    session(db, "s1", "2000-01-01");

    let error = retain(db, &plan, years(10)).expect_err("the bad statement fails");
    assert_eq!(error.code, "R0003", "{error}");
    assert!(error.message.contains("`seizures`"), "{error}");
    assert!(error.message.contains("no_such_table"), "{error}");
    assert!(error.message.contains("rolled back"), "{error}");

    // Nothing of seizures' retention stayed; sessions, after it, did not run.
    assert_eq!(current(db, "seizures", "seizure_id"), ["a"]);
    assert!(archive(db, "seizures", "seizure_id").is_empty());
    assert_eq!(current(db, "sessions", "session_id"), ["s1"]);
    let log = db
        .query(
            "SELECT source, status, error FROM etl_run_log WHERE step = 'retain' ORDER BY source",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(String, String)> =
        log.rows.iter().map(|r| (r[0].to_string(), r[1].to_string())).collect();
    assert_eq!(
        summary,
        [("ports".to_owned(), "ok".to_owned()), ("seizures".to_owned(), "failed".to_owned())]
    );
    assert!(log.rows[1][2].to_string().contains("no_such_table"), "{log:?}");
}

/// Before `tally migrate` there is nothing to retain: a clear error, not a missing table.
fn retention_needs_a_migrated_database(engine: &Engine) {
    let mut db = engine.open();
    let generated = support::compiled("tests/fixtures/retain");
    let loaded = Generated::load(generated.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    let error = retain(db.as_mut(), &loaded.plan, years(1)).expect_err("no schema");
    assert_eq!(error.code, "R0203", "{error}");
    assert!(error.help.as_deref().unwrap_or("").contains("tally migrate"), "{error}");
}

/// The report an operator reads.
fn the_report_reads_as_a_table(engine: &Engine) {
    let mut db = engine.open();
    let db = db.as_mut();
    let (_dir, generated) = setup(db);
    seizure(db, "a", Some("1994-06-01"), "2000-01-01");
    let report = retain(db, &generated.plan, years(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.to_string(),
        "retention at 2001-01-01 00:00:00\n\
         \x20 source      archived      purged\n\
         \x20 ports              0           0\n\
         \x20 seizures           1           0\n\
         \x20 sessions           0           0\n\
         \x20 visits             0           0\n\
         \x20 total              1           0"
    );
}

on_both_engines!(
    retention_over_forty_years,
    a_failing_source_is_rolled_back_and_logged,
    retention_needs_a_migrated_database,
    the_report_reads_as_a_table,
);
