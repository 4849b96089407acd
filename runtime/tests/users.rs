//! Users on both engines (the roles of `tests/fixtures/codegen/everything`): adding checks the
//! role, its scope attribute and the attribute's value against the dimension's members;
//! every change is audited; `authorize` returns the user's roles, scope, grants and
//! thresholds, and refuses unknown, disabled and lapsed (over 90 days unused) accounts, with the
//! refusal audited, until reinstated.
//!
//! On PostgreSQL, a scoped user connecting as themselves (the `postgres` crate and the real
//! `psql`) sees only the mart rows of their field office: not another's, not the national
//! totals, not after `SET tally.field_office`; tables outside their grants (the PII-bearing
//! `cur_seacats`, `policy_role`) are refused; and a disabled user cannot log in.

mod support;

use chrono::{Duration, NaiveDateTime};
use std::collections::BTreeMap;
use support::{at, Engine};
use tally_runtime::error::codes;
use tally_runtime::generated::Generated;
use tally_runtime::plan::Plan;
use tally_runtime::users::{self, Change, NewUser};
use tally_runtime::value::Value;
use tally_runtime::{audit, backend, migrate, Backend};

fn t0() -> NaiveDateTime {
    at(2024, 1, 1)
}

fn change(now: NaiveDateTime) -> Change<'static> {
    Change { actor: "admin", now }
}

fn exec(db: &mut dyn Backend, sql: &str) {
    db.execute(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// The codegen fixture compiled and migrated, with two field offices' ports loaded, and its
/// plan (which declares the user attributes).
fn setup(db: &mut dyn Backend) -> (tempfile::TempDir, Plan) {
    let generated = support::compiled("tests/fixtures/codegen/everything");
    let plan = tally_runtime::plan::load(generated.path()).unwrap_or_else(|e| panic!("{e}"));
    let loaded = Generated::load(generated.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    migrate::migrate(db, &loaded.migrations, t0(), false).unwrap_or_else(|e| panic!("{e}"));
    for (port, office) in [("JFK", "NYC"), ("EWR", "NYC"), ("LAX", "LAO")] {
        exec(
            db,
            &format!(
                "INSERT INTO cur_ports (port_code, port_name, field_office_code, field_office_name, mode, _tally_source, _tally_batch, _tally_loaded_at) \
                 VALUES ('{port}', 'Port {port}', '{office}', 'Office {office}', 'air', 'Ports', 1, TIMESTAMP '2024-01-01 00:00:00')"
            ),
        );
    }
    (generated, plan)
}

/// Unique per process and test: PostgreSQL roles are shared by every database on the server.
fn unique(name: &str) -> String {
    format!("{name}_{}", std::process::id())
}

fn new_user(id: &str, roles: &[&str], attributes: &[(&str, &str)]) -> NewUser {
    NewUser {
        user_id: id.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        password: None,
    }
}

/// Drops the login roles a test made, when it ends (also when it fails).
struct LoginRoles {
    url: Option<String>,
    names: Vec<String>,
}

impl Drop for LoginRoles {
    fn drop(&mut self) {
        let Some(url) = &self.url else { return };
        if let Ok(mut db) = backend::open(url) {
            for name in &self.names {
                let _ = db.execute(&format!("DROP OWNED BY \"{name}\""));
                let _ = db.execute(&format!("DROP ROLE IF EXISTS \"{name}\""));
            }
        }
    }
}

fn login_roles(engine: &Engine, names: &[&str]) -> LoginRoles {
    LoginRoles {
        url: matches!(engine, Engine::Postgres(_)).then(|| engine.target()),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    }
}

fn adding_checks_roles_scopes_and_members(engine: &Engine) {
    let mut db = engine.open();
    let (_generated, plan) = setup(db.as_mut());
    let ana = unique("ana");
    let _cleanup = login_roles(engine, &[&ana]);
    let c = change(t0());
    let refused =
        |db: &mut dyn Backend, user: NewUser| users::add(db, &plan, &user, c).expect_err("refused");

    let e = refused(db.as_mut(), new_user(&ana, &["field_office_directr"], &[]));
    assert_eq!(e.code, codes::NO_SUCH_ROLE);
    assert!(e.help.as_deref().is_some_and(|h| h.contains("field_office_director")), "{e}");
    let e = refused(db.as_mut(), new_user(&ana, &["field_office_director"], &[]));
    assert_eq!(e.code.as_str(), "R0465");
    assert!(e.help.as_deref() == Some("give it: --attr field_office=<FIELD_OFFICE>"), "{e}");
    let e = refused(
        db.as_mut(),
        new_user(&ana, &["field_office_director"], &[("field_office", "NYX")]),
    );
    assert_eq!(e.code, codes::NOT_A_MEMBER);
    assert!(e.message.contains("`NYX` is not a field_office of location"), "{e}");
    assert!(e.help.as_deref().is_some_and(|h| h.contains("NYC")), "{e}");
    let e = refused(db.as_mut(), new_user("Bad Name", &["hq_analyst"], &[]));
    assert_eq!(e.code, codes::INVALID_USER_ID);
    let e = refused(db.as_mut(), new_user("tally_x", &["hq_analyst"], &[]));
    assert_eq!(e.code, codes::INVALID_USER_ID);

    let user = users::add(
        db.as_mut(),
        &plan,
        &new_user(&ana, &["field_office_director"], &[("field_office", "NYC")]),
        c,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.roles, vec!["field_office_director"]);
    assert_eq!(user.attributes.get("field_office").map(String::as_str), Some("NYC"));
    assert_eq!(user.created_at, "2024-01-01 00:00:00");
    assert_eq!(user.last_active_at, None);
    let e = refused(db.as_mut(), new_user(&ana, &["hq_analyst"], &[]));
    assert_eq!(e.code, codes::USER_EXISTS);

    let later = change(t0() + Duration::days(1));
    let user = users::grant(db.as_mut(), &plan, &ana, "hq_analyst", &BTreeMap::new(), later)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.roles, vec!["field_office_director", "hq_analyst"]);
    let e = users::grant(db.as_mut(), &plan, &ana, "hq_analyst", &BTreeMap::new(), later)
        .expect_err("held");
    assert_eq!(e.code.as_str(), "R0468");
    let e = users::grant(db.as_mut(), &plan, &ana, "sector_chief", &BTreeMap::new(), later)
        .expect_err("no sector");
    assert_eq!(e.code, codes::SCOPE_ATTRIBUTE);
    let user = users::revoke(db.as_mut(), &plan, &ana, "hq_analyst", later)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.roles, vec!["field_office_director"]);
    assert_eq!(
        users::revoke(db.as_mut(), &plan, &ana, "hq_analyst", later)
            .expect_err("not held")
            .code
            .as_str(),
        "R0468"
    );
    assert_eq!(
        users::show(db.as_mut(), &plan, "nobody").expect_err("no user").code.as_str(),
        "R0464"
    );
    let all = users::list(db.as_mut(), &plan).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), vec![ana.as_str()]);

    // Every change and every refusal is in the trail, by the operator, about the user.
    let records = audit::list(
        db.as_mut(),
        &audit::Filter { object: Some(ana.clone()), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<(String, String)> =
        records.iter().map(|r| (r.action.clone(), r.outcome.clone())).collect();
    let expect = |a: &str, o: &str| (a.to_owned(), o.to_owned());
    assert_eq!(
        seen,
        vec![
            expect("user.add", "refused"),
            expect("user.add", "refused"),
            expect("user.add", "refused"),
            expect("user.add", "ok"),
            expect("user.add", "refused"),
            expect("user.grant", "ok"),
            expect("user.grant", "refused"),
            expect("user.grant", "refused"),
            expect("user.revoke", "ok"),
            expect("user.revoke", "refused"),
        ]
    );
    assert!(records.iter().all(|r| r.actor == "admin"));
    let added = &records[3];
    assert_eq!(
        added.parameters.as_deref(),
        Some(
            r#"{"attributes":{"field_office":"NYC"},"password":false,"roles":["field_office_director"]}"#
        )
    );
    assert!(records[0]
        .parameters
        .as_deref()
        .is_some_and(|p| p.contains("\"error_code\":\"R0463\"")));
    let v = audit::verify(db.as_mut(), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(v.is_clean(), "{:#?}", v.problems);
}

fn authorize_gives_scope_grants_and_thresholds(engine: &Engine) {
    let mut db = engine.open();
    let (_generated, plan) = setup(db.as_mut());
    let (fod, hq) = (unique("fod"), unique("hq"));
    let _cleanup = login_roles(engine, &[&fod, &hq]);
    users::add(
        db.as_mut(),
        &plan,
        &new_user(&fod, &["field_office_director"], &[("field_office", "NYC")]),
        change(t0()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    users::add(
        db.as_mut(),
        &plan,
        &new_user(&hq, &["hq_analyst", "sector_chief"], &[("sector", "SDC")]),
        change(t0()),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let ctx = users::authorize(db.as_mut(), &plan, &fod, t0() + Duration::days(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctx.roles.len(), 1);
    let role = &ctx.roles[0];
    assert_eq!(role.role.role, "field_office_director");
    let scope = role.role.scope.as_ref().expect("a bound scope");
    assert_eq!(
        (scope.dimension.as_str(), scope.level.as_str(), scope.attribute.as_str()),
        ("location", "field_office", "field_office")
    );
    assert_eq!(scope.members, Some(("cur_ports".to_owned(), "field_office_code".to_owned())));
    assert_eq!(role.value.as_deref(), Some("NYC"));
    assert_eq!((ctx.min_cell_size, ctx.drill_down, ctx.ad_hoc), (5, true, false));
    let granted: Vec<(&str, &str)> =
        ctx.grants.iter().map(|g| (g.object_kind.as_str(), g.object.as_str())).collect();
    assert_eq!(granted, vec![("mart", "borderstat"), ("metric", "hit_rate")]);

    // Several roles: the strictest threshold, any privilege.
    let ctx = users::authorize(db.as_mut(), &plan, &hq, t0()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((ctx.min_cell_size, ctx.drill_down, ctx.ad_hoc), (20, true, true));
    assert_eq!(
        ctx.roles.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        vec![None, Some("SDC".to_owned())]
    );

    let e = users::authorize(db.as_mut(), &plan, "nobody", t0()).expect_err("unknown");
    assert_eq!(e.code.as_str(), "R0464");
}

fn unused_accounts_lapse_after_90_days_until_reinstated(engine: &Engine) {
    let mut db = engine.open();
    let (_generated, plan) = setup(db.as_mut());
    let pat = unique("pat");
    let _cleanup = login_roles(engine, &[&pat]);
    users::add(db.as_mut(), &plan, &new_user(&pat, &["hq_analyst"], &[]), change(t0()))
        .unwrap_or_else(|e| panic!("{e}"));

    // Never used: counted from creation. Exactly 90 days is still fine; a minute more is not.
    let day90 = t0() + Duration::days(90);
    users::authorize(db.as_mut(), &plan, &pat, day90).unwrap_or_else(|e| panic!("{e}"));
    let e = users::authorize(db.as_mut(), &plan, &pat, day90 + Duration::minutes(1))
        .expect_err("lapsed");
    assert_eq!(e.code.as_str(), "R0470");
    assert!(e.message.starts_with(&format!(
        "account unused for 90 days; ask an administrator to reinstate it: tally user reinstate {pat}"
    )), "{e}");
    let e =
        users::authorize(db.as_mut(), &plan, &pat, t0() + Duration::days(120)).expect_err("lapsed");
    assert!(e.message.starts_with("account unused for 120 days"), "{e}");

    // Use resets the count.
    let reinstated = users::reinstate(db.as_mut(), &plan, &pat, change(t0() + Duration::days(120)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reinstated.last_active_at.as_deref(), Some("2024-04-30 00:00:00"));
    users::authorize(db.as_mut(), &plan, &pat, t0() + Duration::days(200))
        .unwrap_or_else(|e| panic!("{e}"));
    users::touch(db.as_mut(), &pat, t0() + Duration::days(200)).unwrap_or_else(|e| panic!("{e}"));
    users::authorize(db.as_mut(), &plan, &pat, t0() + Duration::days(289))
        .unwrap_or_else(|e| panic!("{e}"));
    // A touch never moves the last use backwards.
    users::touch(db.as_mut(), &pat, t0()).unwrap_or_else(|e| panic!("{e}"));
    let shown = users::show(db.as_mut(), &plan, &pat).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown.last_active_at.as_deref(), Some("2024-07-19 00:00:00"));
    assert!(!shown.lapsed(t0() + Duration::days(290)) && shown.lapsed(t0() + Duration::days(291)));

    // Disabled: refused whatever the dates.
    users::disable(db.as_mut(), &plan, &pat, change(t0() + Duration::days(201)))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = users::authorize(db.as_mut(), &plan, &pat, t0() + Duration::days(202))
        .expect_err("disabled");
    assert_eq!(e.code.as_str(), "R0469");
    assert!(e.help.as_deref().is_some_and(|h| h.contains(&format!("tally user reinstate {pat}"))));
    users::reinstate(db.as_mut(), &plan, &pat, change(t0() + Duration::days(203)))
        .unwrap_or_else(|e| panic!("{e}"));
    users::authorize(db.as_mut(), &plan, &pat, t0() + Duration::days(204))
        .unwrap_or_else(|e| panic!("{e}"));

    // Each refusal is audited, the user as actor and object.
    let refusals = audit::list(
        db.as_mut(),
        &audit::Filter { action: Some("user.authorize".to_owned()), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let codes: Vec<String> = refusals
        .iter()
        .map(|r| {
            assert_eq!(
                (r.actor.as_str(), r.object.as_deref(), r.outcome.as_str()),
                (pat.as_str(), Some(pat.as_str()), "refused")
            );
            let p: serde_json::Value =
                serde_json::from_str(r.parameters.as_deref().unwrap_or("null")).expect("JSON");
            p["error_code"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    let expected = [codes::ACCOUNT_LAPSED, codes::ACCOUNT_LAPSED, codes::ACCOUNT_DISABLED];
    assert_eq!(codes, expected.map(|c| c.as_str().to_owned()));
    let actions: Vec<String> = audit::list(
        db.as_mut(),
        &audit::Filter { object: Some(pat.clone()), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .filter(|r| r.outcome == "ok")
    .map(|r| r.action)
    .collect();
    assert_eq!(actions, vec!["user.add", "user.reinstate", "user.disable", "user.reinstate"]);
}

/// Attributes are the plan's declared ones: an unknown name is refused with the nearest one,
/// a value must be of the declared type and, for an attribute of a level whose members are
/// loaded, one of them; an attribute no scope binds (a supervisor) is stored as given.
fn attributes_follow_the_declaration(engine: &Engine) {
    let mut db = engine.open();
    let (_generated, plan) = setup(db.as_mut());
    let declared: Vec<&str> = plan.user_attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(declared, ["field_office", "port", "sector", "supervisor", "grade"]);
    let kim = unique("kim");
    let _cleanup = login_roles(engine, &[&kim]);
    let c = change(t0());
    let add = |db: &mut dyn Backend, attributes: &[(&str, &str)]| {
        users::add(db, &plan, &new_user(&kim, &["hq_analyst"], attributes), c)
    };

    let e = add(db.as_mut(), &[("feild_office", "NYC")]).expect_err("unknown attribute");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("R0465", "`feild_office` is not a user attribute")
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `field_office`?"));
    let e = add(db.as_mut(), &[("station", "X")]).expect_err("not declared here");
    assert_eq!(e.code.as_str(), "R0465");
    assert!(e.help.as_deref().is_some_and(|h| h.contains("`supervisor`")), "{e}");
    let e = add(db.as_mut(), &[("grade", "senior")]).expect_err("not an int");
    assert_eq!(e.code.as_str(), "R0472");
    assert!(e.message.contains("is not a whole number, as user attribute `grade`"), "{e}");
    let e = add(db.as_mut(), &[("port", "JKF")]).expect_err("not a port");
    assert_eq!(e.code.as_str(), "R0466");
    assert_eq!(e.help.as_deref(), Some("did you mean `JFK`?"));
    // Nothing was written by the refusals.
    assert_eq!(users::list(db.as_mut(), &plan).unwrap_or_else(|e| panic!("{e}")), vec![]);

    let user = add(db.as_mut(), &[("port", "JFK"), ("supervisor", "Dr. O'Neil"), ("grade", "7")])
        .unwrap_or_else(|e| panic!("{e}"));
    let expected: BTreeMap<String, String> =
        [("grade", "7"), ("port", "JFK"), ("supervisor", "Dr. O'Neil")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(user.attributes, expected);
    // A grant sets the attributes given and keeps the others.
    let given: BTreeMap<String, String> =
        [("field_office".to_owned(), "LAO".to_owned())].into_iter().collect();
    let user = users::grant(db.as_mut(), &plan, &kim, "field_office_director", &given, c)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.attributes.get("field_office").map(String::as_str), Some("LAO"));
    assert_eq!(user.attributes.get("supervisor").map(String::as_str), Some("Dr. O'Neil"));
    let wrong: BTreeMap<String, String> =
        [("field_office".to_owned(), "NYX".to_owned())].into_iter().collect();
    let e = users::grant(db.as_mut(), &plan, &kim, "port_director", &wrong, c)
        .expect_err("not a field office");
    assert_eq!(e.code.as_str(), "R0466");
    let shown = users::show(db.as_mut(), &plan, &kim).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown.attributes.get("field_office").map(String::as_str), Some("LAO"));
}

on_both_engines!(
    attributes_follow_the_declaration,
    adding_checks_roles_scopes_and_members,
    authorize_gives_scope_grants_and_thresholds,
    unused_accounts_lapse_after_90_days_until_reinstated,
);

// ------------------------------------------------------------------ PostgreSQL sessions

/// `url` with `user:password` as its credentials.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let host_start = url.rfind('@').map_or(scheme_end, |i| i + 1);
    format!("{}{user}:{password}@{}", &url[..scheme_end], &url[host_start..])
}

fn column(rows: &tally_runtime::value::Rows) -> Vec<String> {
    rows.rows.iter().map(|r| r.first().map_or_else(String::new, Value::to_string)).collect()
}

/// The psql binary: on the PATH, else the newest under /usr/lib/postgresql.
fn psql() -> std::path::PathBuf {
    let on_path = std::process::Command::new("psql").arg("--version").output().is_ok();
    if on_path {
        return "psql".into();
    }
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin/psql")))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().expect("psql is installed (Debian: apt-get install postgresql-client)")
}

fn mart_row(
    db: &mut dyn Backend,
    levels: &str,
    office: Option<&str>,
    port: Option<&str>,
    value: i64,
) {
    let text = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
    exec(
        db,
        &format!(
            "INSERT INTO mart_borderstat (metric, grain, period_start, levels, field_office, mode, port, bucket, member, value, previous_value, cell_rows) \
             VALUES ('drug_seizure_lines', 'month', TIMESTAMP '2024-01-01 00:00:00', '{levels}', {}, NULL, {}, NULL, NULL, {value}, NULL, 50)",
            text(office),
            text(port)
        ),
    );
}

#[test]
fn a_scoped_postgres_user_sees_only_their_field_office() {
    let engine = Engine::postgres("users_rls");
    let mut db = engine.open();
    let (_generated, plan) = setup(db.as_mut());
    let (fod, hq) = (unique("rls_fod"), unique("rls_hq"));
    let _cleanup = login_roles(&engine, &[&fod, &hq]);
    mart_row(db.as_mut(), "national", None, None, 30);
    mart_row(db.as_mut(), "field_office", Some("NYC"), None, 20);
    mart_row(db.as_mut(), "field_office", Some("LAO"), None, 10);
    mart_row(db.as_mut(), "field_office,port", Some("NYC"), Some("JFK"), 12);
    mart_row(db.as_mut(), "field_office,port", Some("LAO"), Some("LAX"), 10);
    exec(
        db.as_mut(),
        "INSERT INTO cur_seacats (seizure_id, line_item, seizure_date, seized_at, port_code, seizure_type, subject_name, _tally_source, _tally_batch, _tally_loaded_at) \
         VALUES ('S1', 1, DATE '2024-01-02', TIMESTAMP '2024-01-02 10:00:00', 'JFK', 'drug', 'John Q Public', 'SEACATS', 1, TIMESTAMP '2024-01-02 11:00:00')",
    );
    let mut user = new_user(&fod, &["field_office_director"], &[("field_office", "NYC")]);
    user.password = Some("s3cret'pw".to_owned());
    users::add(db.as_mut(), &plan, &user, change(t0())).unwrap_or_else(|e| panic!("{e}"));
    let mut national = new_user(&hq, &["hq_analyst"], &[]);
    national.password = Some("hq-pw".to_owned());
    users::add(db.as_mut(), &plan, &national, change(t0())).unwrap_or_else(|e| panic!("{e}"));

    let url = as_user(&engine.target(), &fod, "s3cret%27pw");
    let mut session = backend::open(&url).unwrap_or_else(|e| panic!("{e}"));
    let offices = |s: &mut dyn Backend| {
        column(
            &s.query("SELECT DISTINCT field_office FROM mart_borderstat ORDER BY 1")
                .unwrap_or_else(|e| panic!("{e}")),
        )
    };
    assert_eq!(offices(session.as_mut()), vec!["NYC"]);
    let totals = session
        .query("SELECT count(*) FROM mart_borderstat WHERE field_office IS NULL OR levels = 'national'")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(totals.scalar().and_then(Value::as_i64), Some(0), "national totals are not theirs");
    // The old, forgeable setting widens nothing.
    session.execute("SET tally.field_office = 'LAO'").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(offices(session.as_mut()), vec!["NYC"]);
    // Other tables: refused; their own policy row only, and not writable.
    for table in ["cur_seacats", "policy_role", "audit_log", "mart_usbp_enforcement"] {
        let e = session.query(&format!("SELECT * FROM {table}")).expect_err("not granted");
        assert!(e.message.contains("permission denied"), "{table}: {e}");
    }
    let own = session
        .query("SELECT user_id, field_office FROM policy_user")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(column(&own), vec![fod.clone()]);
    let e = session
        .execute(&format!("UPDATE policy_user SET field_office = 'LAO' WHERE user_id = '{fod}'"))
        .expect_err("read only");
    assert!(e.message.contains("permission denied"), "{e}");
    // The national role sees every row, totals included.
    let mut hq_session =
        backend::open(&as_user(&engine.target(), &hq, "hq-pw")).unwrap_or_else(|e| panic!("{e}"));
    let all =
        hq_session.query("SELECT count(*) FROM mart_borderstat").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.scalar().and_then(Value::as_i64), Some(5));

    // The real psql, as the user.
    let base = engine.target();
    let host_start = base.rfind('@').map_or(0, |i| i + 1);
    let psql_url = format!("postgres://{fod}@{}", &base[host_start..]);
    let output = std::process::Command::new(psql())
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &psql_url])
        .args([
            "-c",
            "SET tally.field_office = 'LAO'",
            "-c",
            "SELECT DISTINCT coalesce(field_office, '<total>') FROM mart_borderstat ORDER BY 1",
        ])
        .env("PGPASSWORD", "s3cret'pw")
        .output()
        .expect("psql runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().filter(|l| *l != "SET").collect::<Vec<_>>(), vec!["NYC"]);
    let output = std::process::Command::new(psql())
        .args(["-X", "-A", "-t", "-d", &psql_url, "-c", "SELECT subject_name FROM cur_seacats"])
        .env("PGPASSWORD", "s3cret'pw")
        .output()
        .expect("psql runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("permission denied"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("John"));

    // Revoked: nothing granted any more. Disabled: no login at all.
    drop(session);
    users::revoke(db.as_mut(), &plan, &fod, "field_office_director", change(t0()))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut session = backend::open(&url).unwrap_or_else(|e| panic!("{e}"));
    let e = session.query("SELECT * FROM mart_borderstat").expect_err("revoked");
    assert!(e.message.contains("permission denied"), "{e}");
    drop(session);
    users::grant(db.as_mut(), &plan, &fod, "field_office_director", &BTreeMap::new(), change(t0()))
        .unwrap_or_else(|e| panic!("{e}"));
    users::disable(db.as_mut(), &plan, &fod, change(t0())).unwrap_or_else(|e| panic!("{e}"));
    let e = backend::open(&url).expect_err("disabled");
    assert!(e.message.contains("not permitted to log in"), "{e}");
    users::reinstate(db.as_mut(), &plan, &fod, change(t0())).unwrap_or_else(|e| panic!("{e}"));
    let mut session = backend::open(&url).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(offices(session.as_mut()), vec!["NYC"]);
    drop(session);
    drop(hq_session);

    // The runtime acting for the user (`SET ROLE`) is held by the same policies.
    exec(db.as_mut(), &format!("SET ROLE \"{fod}\""));
    assert_eq!(offices(db.as_mut()), vec!["NYC"]);
    exec(db.as_mut(), "RESET ROLE");
}
