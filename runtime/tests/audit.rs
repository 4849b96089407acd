//! The audit trail on both engines: records chain, an untampered trail verifies clean, and each
//! tampering (an edited, deleted, reordered or truncated record) is caught and named by seq;
//! an append inside a transaction that rolls back leaves no trace; on PostgreSQL two
//! connections appending at once still make one gapless chain; the anchor file catches a
//! truncation that took the anchor table with it.

mod support;

use support::{at, Engine};
use tally_runtime::audit::{self, Entry, Outcome, ProblemKind, Verification};
use tally_runtime::error::codes;
use tally_runtime::generated::Generated;
use tally_runtime::{migrate, Backend};

/// A migrated warehouse (the small retention fixture: the audit tables are the same in every
/// project) with `records` audit records.
fn setup(db: &mut dyn Backend, records: i64) -> tempfile::TempDir {
    let generated = support::compiled("tests/fixtures/retain");
    let loaded = Generated::load(generated.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    migrate::migrate(db, &loaded.migrations, at(2024, 1, 1), false)
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 1..=records {
        append_one(db, i);
    }
    generated
}

fn entry(i: i64) -> Entry {
    let when = at(2024, 3, 1) + chrono::Duration::minutes(i) + chrono::Duration::microseconds(250);
    Entry::new("ana", "user.add", when)
        .object(format!("user{i}"))
        .parameters(serde_json::json!({"roles": ["port_director"], "n": i, "note": "it's"}))
}

fn append_one(db: &mut dyn Backend, i: i64) {
    let head = audit::record(db, &entry(i)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.seq, i);
}

fn exec(db: &mut dyn Backend, sql: &str) {
    db.execute(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

fn verify(db: &mut dyn Backend) -> Verification {
    audit::verify(db, None).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems as (seq, kind), in the order found.
fn found(v: &Verification) -> Vec<(Option<i64>, ProblemKind)> {
    v.problems.iter().map(|p| (p.seq, p.kind)).collect()
}

fn untampered_trail_verifies_clean(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    let v = verify(db.as_mut());
    assert!(v.is_clean(), "{:#?}", v.problems);
    assert_eq!(v.records, 5);
    assert_eq!(v.anchor.as_ref().map(|h| h.seq), Some(5));
    let records =
        audit::list(db.as_mut(), &audit::Filter::default()).unwrap_or_else(|e| panic!("{e}"));
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(records[0].prev_hash, None);
    for pair in records.windows(2) {
        assert_eq!(pair[1].prev_hash.as_deref(), Some(pair[0].hash.as_str()));
    }
    // Stored as documented: sorted keys, fractions of a second kept.
    assert_eq!(
        records[1].parameters.as_deref(),
        Some(r#"{"n":2,"note":"it's","roles":["port_director"]}"#)
    );
    assert_eq!(records[1].occurred_at, "2024-03-01 00:02:00.000250");
    assert_eq!(records[1].outcome, "ok");
    let shown = audit::show(db.as_mut(), 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown.object.as_deref(), Some("user3"));
    let last = audit::list(db.as_mut(), &audit::Filter { limit: Some(2), ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(last.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4, 5]);
    let missing = audit::show(db.as_mut(), 9).expect_err("no record 9");
    assert_eq!(missing.code, codes::NO_SUCH_AUDIT_RECORD);
}

fn an_edited_record_is_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    exec(db.as_mut(), "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
    let v = verify(db.as_mut());
    assert_eq!(found(&v), vec![(Some(3), ProblemKind::Edited)], "{:#?}", v.problems);
    assert!(v.problems[0].message.contains("mallory"), "{}", v.problems[0]);
    assert!(v.problems[0].to_string().starts_with("seq 3: edited: "), "{}", v.problems[0]);
}

fn an_edited_record_with_its_hash_recomputed_is_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    // The forger recomputes record 3's hash; record 4 still points at the old one.
    exec(db.as_mut(), "UPDATE audit_log SET outcome = 'refused' WHERE seq = 3");
    let forged = audit::verify(db.as_mut(), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found(&forged), vec![(Some(3), ProblemKind::Edited)]);
    let record = audit::show(db.as_mut(), 3).unwrap_or_else(|e| panic!("{e}"));
    let text = serde_json::json!([
        "tally-audit-1",
        3,
        record.occurred_at,
        record.actor,
        record.action,
        record.object,
        record.outcome,
        record.parameters,
        record.origin,
        record.prev_hash
    ])
    .to_string();
    let rehash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    };
    exec(db.as_mut(), &format!("UPDATE audit_log SET hash = '{rehash}' WHERE seq = 3"));
    let v = verify(db.as_mut());
    assert_eq!(found(&v), vec![(Some(3), ProblemKind::Edited)], "{:#?}", v.problems);
    assert!(
        v.problems[0].message.contains("seq 4 was chained to another record"),
        "{}",
        v.problems[0]
    );
}

fn a_deleted_record_is_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    exec(db.as_mut(), "DELETE FROM audit_log WHERE seq = 3");
    let v = verify(db.as_mut());
    assert_eq!(found(&v), vec![(Some(3), ProblemKind::Deleted)], "{:#?}", v.problems);
    assert!(v.problems[0].message.contains("record 3 is missing"), "{}", v.problems[0]);
}

fn a_deleted_and_renumbered_record_is_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    exec(db.as_mut(), "DELETE FROM audit_log WHERE seq = 3");
    exec(db.as_mut(), "UPDATE audit_log SET seq = seq - 1 WHERE seq > 3");
    exec(db.as_mut(), "UPDATE audit_anchor SET seq = 4");
    let v = verify(db.as_mut());
    let kinds = found(&v);
    assert_eq!(kinds[0], (Some(3), ProblemKind::Reordered), "{:#?}", v.problems);
    assert!(v.problems[0].message.contains("written as seq 4"), "{}", v.problems[0]);
}

fn reordered_records_are_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    exec(db.as_mut(), "UPDATE audit_log SET seq = 100 WHERE seq = 2");
    exec(db.as_mut(), "UPDATE audit_log SET seq = 2 WHERE seq = 3");
    exec(db.as_mut(), "UPDATE audit_log SET seq = 3 WHERE seq = 100");
    let v = verify(db.as_mut());
    assert_eq!(
        found(&v),
        vec![(Some(2), ProblemKind::Reordered), (Some(3), ProblemKind::Reordered)],
        "{:#?}",
        v.problems
    );
    assert!(v.problems[0].message.contains("written as seq 3"), "{}", v.problems[0]);
    assert!(v.problems[1].message.contains("written as seq 2"), "{}", v.problems[1]);
}

fn a_truncated_trail_is_caught(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 5);
    exec(db.as_mut(), "DELETE FROM audit_log WHERE seq > 3");
    let v = verify(db.as_mut());
    assert_eq!(found(&v), vec![(Some(4), ProblemKind::Truncated)], "{:#?}", v.problems);
    assert!(
        v.problems[0].message.contains("records 4 to 5 are missing from the end"),
        "{}",
        v.problems[0]
    );
    // Emptied altogether.
    exec(db.as_mut(), "DELETE FROM audit_log");
    let v = verify(db.as_mut());
    assert_eq!(found(&v), vec![(Some(1), ProblemKind::Truncated)], "{:#?}", v.problems);
}

fn the_anchor_file_catches_a_truncation_that_took_the_anchor_table(engine: &Engine) {
    let mut db = engine.open();
    let generated = setup(db.as_mut(), 4);
    let file = generated.path().join("audit-anchor.json");
    let head = audit::write_anchor_file(db.as_mut(), &file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.seq, 4);
    let clean = audit::verify(db.as_mut(), Some(&file)).unwrap_or_else(|e| panic!("{e}"));
    assert!(clean.is_clean(), "{:#?}", clean.problems);
    assert_eq!(clean.anchor_file.as_ref().map(|h| h.seq), Some(4));
    // Both tables cut back to seq 2, consistently: only the file knows.
    exec(db.as_mut(), "DELETE FROM audit_log WHERE seq > 2");
    let two = audit::list(db.as_mut(), &audit::Filter::default()).unwrap_or_else(|e| panic!("{e}"));
    exec(db.as_mut(), &format!("UPDATE audit_anchor SET seq = 2, hash = '{}'", two[1].hash));
    assert!(verify(db.as_mut()).is_clean());
    let v = audit::verify(db.as_mut(), Some(&file)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found(&v), vec![(Some(3), ProblemKind::Truncated)], "{:#?}", v.problems);
    assert!(v.problems[0].message.contains("the anchor file"), "{}", v.problems[0]);
    // The file is not moved backwards over the evidence.
    let refused = audit::write_anchor_file(db.as_mut(), &file).expect_err("head went back");
    assert_eq!(refused.code, codes::AUDIT_TAMPERED);
    let bad = generated.path().join("not-an-anchor.json");
    std::fs::write(&bad, "{}").expect("write");
    assert_eq!(
        audit::verify(db.as_mut(), Some(&bad)).expect_err("bad file").code,
        codes::AUDIT_ANCHOR_FILE
    );
}

fn an_append_rolls_back_with_its_transaction(engine: &Engine) {
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 2);
    db.begin().unwrap_or_else(|e| panic!("{e}"));
    let head = audit::append(db.as_mut(), &entry(3)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.seq, 3);
    db.rollback().unwrap_or_else(|e| panic!("{e}"));
    let v = verify(db.as_mut());
    assert!(v.is_clean(), "{:#?}", v.problems);
    assert_eq!((v.records, v.anchor.map(|h| h.seq)), (2, Some(2)));
    // And commits with it.
    db.begin().unwrap_or_else(|e| panic!("{e}"));
    audit::append(db.as_mut(), &entry(3).outcome(Outcome::Refused))
        .unwrap_or_else(|e| panic!("{e}"));
    db.commit().unwrap_or_else(|e| panic!("{e}"));
    let v = verify(db.as_mut());
    assert!(v.is_clean(), "{:#?}", v.problems);
    assert_eq!(v.records, 3);
    assert_eq!(audit::show(db.as_mut(), 3).map(|r| r.outcome).ok().as_deref(), Some("refused"));
}

fn a_database_without_the_schema_has_no_trail(engine: &Engine) {
    let mut db = engine.open();
    let error = audit::record(db.as_mut(), &entry(1)).expect_err("no tables");
    assert_eq!(error.code, codes::NO_AUDIT_TRAIL);
    assert!(error.help.as_deref().is_some_and(|h| h.contains("tally migrate")));
    assert_eq!(
        audit::verify(db.as_mut(), None).expect_err("no tables").code,
        codes::NO_AUDIT_TRAIL
    );
}

on_both_engines!(
    untampered_trail_verifies_clean,
    an_edited_record_is_caught,
    an_edited_record_with_its_hash_recomputed_is_caught,
    a_deleted_record_is_caught,
    a_deleted_and_renumbered_record_is_caught,
    reordered_records_are_caught,
    a_truncated_trail_is_caught,
    the_anchor_file_catches_a_truncation_that_took_the_anchor_table,
    an_append_rolls_back_with_its_transaction,
    a_database_without_the_schema_has_no_trail,
);

/// Two connections appending at once on one server: one gapless chain, every record once.
#[test]
fn concurrent_appenders_on_postgres_make_one_chain() {
    let engine = Engine::postgres("audit_concurrent");
    let mut db = engine.open();
    let _generated = setup(db.as_mut(), 0);
    let target = engine.target();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut db =
                    tally_runtime::backend::open(&target).unwrap_or_else(|e| panic!("{e}"));
                for i in 0..25 {
                    // Half inside a transaction doing other work, half on their own.
                    let e = Entry::new(&format!("worker{w}"), "run", at(2024, 3, 1))
                        .parameters(serde_json::json!({"i": i}));
                    if i % 2 == 0 {
                        audit::record(db.as_mut(), &e).unwrap_or_else(|e| panic!("{e}"));
                    } else {
                        db.begin().unwrap_or_else(|e| panic!("{e}"));
                        db.execute("SELECT pg_sleep(0.002)").unwrap_or_else(|e| panic!("{e}"));
                        audit::append(db.as_mut(), &e).unwrap_or_else(|e| panic!("{e}"));
                        db.commit().unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker finished");
    }
    let v = verify(db.as_mut());
    assert!(v.is_clean(), "{:#?}", v.problems);
    assert_eq!((v.records, v.anchor.map(|h| h.seq)), (50, Some(50)));
    let per_actor = db
        .query("SELECT actor, count(*) AS n FROM audit_log GROUP BY actor ORDER BY actor")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(per_actor.rows.len(), 2);
    assert!(per_actor.rows.iter().all(|r| r[1].as_i64() == Some(25)));
}
