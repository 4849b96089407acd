//! `tally user` and `tally audit` through the real binary, on both engines: the operator's
//! commands (migrate, run, retain, user changes) leave audit records with the operator as
//! actor, the anchor file follows the head, `tally audit verify` exits 0 on the untouched trail
//! and 1 naming the seq after a record is edited, and the 90-day rule shows in `user list`.

mod common;

use common::cli::{compile, stderr, stdout, tally, Engine, Warehouse};
use std::path::Path;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `tally ARGS --db DB` in `dir`, as the OS user `opsuser`.
fn run(dir: &Path, db: &str, args: &[&str]) -> Run {
    let output = tally()
        .current_dir(dir)
        .args(args)
        .args(["--db", db])
        .env("USER", "opsuser")
        .output()
        .expect("tally runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: stdout(&output),
        stderr: stderr(&output),
    }
}

fn ok(dir: &Path, db: &str, args: &[&str]) -> Run {
    let r = run(dir, db, args);
    assert_eq!(r.code, 0, "tally {args:?} failed:\n{}{}", r.stdout, r.stderr);
    r
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn scenario(db: &str, unique: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    compile("tests/fixtures/codegen/everything", d);
    std::fs::create_dir_all(d.join("landing")).expect("landing");
    let anchor = d.join("anchor.json");
    let anchor = anchor.to_str().expect("UTF-8 path");

    let migrated = ok(d, db, &["migrate", "--actor", "release-bot", "--audit-anchor", anchor]);
    assert!(migrated.stdout.contains("applied 0001_initial.sql"), "{}", migrated.stdout);
    let user = format!("ana_{unique}");
    ok(
        d,
        db,
        &[
            "user",
            "add",
            &user,
            "--role",
            "field_office_director",
            "--attr",
            "field_office=NYC",
            "--now",
            "2024-01-01",
            "--audit-anchor",
            anchor,
        ],
    );
    let refused = run(
        d,
        db,
        &["user", "add", "lee", "--role", "field_office_director", "--now", "2024-01-01"],
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("error[R0465]")
            && refused.stderr.contains("help: give it: --attr field_office=<FIELD_OFFICE>"),
        "{}",
        refused.stderr
    );
    ok(d, db, &["run", "--landing", "landing", "--now", "2024-01-02"]);
    ok(d, db, &["retain", "--now", "2024-01-02", "--actor", "retention-cron"]);

    let listed =
        json(&ok(d, db, &["user", "list", "--format", "json", "--now", "2024-05-01"]).stdout);
    assert_eq!(listed[0]["user_id"], serde_json::json!(user));
    assert_eq!(listed[0]["state"], "lapsed (121 days unused)");
    let shown = ok(d, db, &["user", "show", &user, "--now", "2024-01-05"]).stdout;
    assert!(shown.contains("field_office=NYC") && shown.contains("active"), "{shown}");

    let records = json(&ok(d, db, &["audit", "list", "--format", "json"]).stdout);
    let seen: Vec<(String, String, String)> = records
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (s("actor"), s("action"), s("outcome"))
        })
        .collect();
    let t = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    let applied = seen.iter().filter(|r| r.1 == "migrate.apply").count();
    assert!(applied >= 1, "{seen:?}");
    assert!(
        seen[..applied].iter().all(|r| r == &t("release-bot", "migrate.apply", "ok")),
        "{seen:?}"
    );
    assert_eq!(
        seen[applied..].to_vec(),
        vec![
            t("opsuser", "user.add", "ok"),
            t("opsuser", "user.add", "refused"),
            t("opsuser", "run", "ok"),
            t("retention-cron", "retain", "ok"),
        ]
    );
    let table = ok(d, db, &["audit", "list", "--action", "user.add"]).stdout;
    assert!(table.starts_with("seq  occurred_at"), "{table}");
    let shown = ok(d, db, &["audit", "show", "1"]).stdout;
    assert!(shown.contains("prev_hash    -") && shown.contains("origin       host "), "{shown}");

    // The anchor file was written by the commands given it: the head after `user add`.
    let file = json(&std::fs::read_to_string(anchor).expect("anchor file"));
    assert_eq!(file["seq"].as_i64(), Some(applied as i64 + 1));
    let clean = ok(d, db, &["audit", "verify", "--audit-anchor", anchor]);
    assert!(clean.stderr.contains("audit trail intact"), "{}", clean.stderr);

    let mut conn = tally_runtime::backend::open(db).unwrap_or_else(|e| panic!("{e}"));
    conn.execute(
        "UPDATE audit_log SET outcome = 'ok' WHERE action = 'user.add' AND outcome = 'refused'",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let caught = run(d, db, &["audit", "verify"]);
    assert_eq!(caught.code, 1, "{}{}", caught.stdout, caught.stderr);
    let seq = applied + 2;
    assert!(caught.stdout.starts_with(&format!("seq {seq}: edited: ")), "{}", caught.stdout);
    assert!(caught.stderr.contains("error[R0452]"), "{}", caught.stderr);
    let as_json = json(&run(d, db, &["audit", "verify", "--format", "json"]).stdout);
    assert_eq!(as_json["problems"][0]["kind"], "edited");
    assert_eq!(as_json["problems"][0]["seq"].as_u64(), Some(seq as u64));
}

#[test]
fn operators_commands_are_audited_and_verified_on_duckdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    scenario(&Warehouse::new(Engine::DuckDb, dir.path(), "audit_cli").target, "duck");
}

#[test]
fn operators_commands_are_audited_and_verified_on_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::new(Engine::Postgres, dir.path(), "audit_cli");
    let unique = format!("pg{}", std::process::id());
    scenario(&warehouse.target, &unique);
    // The login role the scenario made belongs to the whole server.
    if let Ok(mut admin) = tally_runtime::backend::open(&warehouse.target) {
        let role = format!("\"ana_{unique}\"");
        let _ = admin.execute(&format!("DROP OWNED BY {role}"));
        let _ = admin.execute(&format!("DROP ROLE IF EXISTS {role}"));
    }
}
