//! `tally serve` in process: the real server on a loopback port, over a real DuckDB file and a
//! real PostgreSQL database, spoken to over HTTP. One scenario per engine, in steps: enrolment
//! and sign-in, what a missing, forged, expired or revoked session gets, CSRF, the throttle,
//! what a port-level user gets when asking beyond their grants and scope, that answers equal
//! `tally query`'s, and that the audit trail holds every event and verifies.
//!
//! `generated/` comes from `tally compile tests/fixtures/query/project`, the data from
//! `tests/fixtures/query/landing` through `tally migrate` and `tally run`; users are added
//! through the runtime (`users::add_enrolled`), as `tally user add` adds them.

mod common;

use chrono::{Duration, NaiveDateTime};
use common::cli::{compile, copy_tree, succeeded, tally, Engine, Warehouse};
use common::http::{Auth, Client};
use common::root;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tally_runtime::serve::{self, auth::Lifetimes, throttle::Limits, Config, Running};
use tally_runtime::users::{self, Change, NewUser};
use tempfile::TempDir;

const PASSWORD: &str = "correct horse battery staple";

/// A loaded warehouse and a server over it, with a clock the test moves.
struct Site {
    _dir: TempDir,
    warehouse: Warehouse,
    generated: PathBuf,
    /// The server's clock: the real time at set-up plus this many seconds.
    offset: Arc<AtomicI64>,
    start: NaiveDateTime,
    server: Option<Running>,
    client: Client,
}

impl Site {
    fn new(engine: Engine, label: &str) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let warehouse = Warehouse::new(engine, dir.path(), label);
        let db = warehouse.target.clone();
        let generated = compile("tests/fixtures/query/project", dir.path());
        let landing = dir.path().join("landing");
        copy_tree(&root().join("tests/fixtures/query/landing"), &landing);
        for args in [
            vec!["migrate", "--db", &db],
            vec!["run", "--db", &db, "--now", "2024-04-01 06:00", "--landing"],
        ] {
            let mut command = tally();
            command.args(&args);
            if args[0] == "run" {
                command.arg(&landing);
            }
            succeeded(&command.arg("--generated").arg(&generated).output().expect("runs"));
        }
        let start = chrono::Utc::now().naive_utc();
        let offset = Arc::new(AtomicI64::new(0));
        let mut site = Site {
            _dir: dir,
            warehouse,
            generated,
            offset,
            start,
            server: None,
            client: Client::new("http://127.0.0.1:1"),
        };
        site.start_server();
        site
    }

    fn now(&self) -> NaiveDateTime {
        self.start + Duration::seconds(self.offset.load(Ordering::SeqCst))
    }

    fn advance(&self, by: Duration) {
        self.offset.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }

    fn start_server(&mut self) {
        let mut config = Config::new("127.0.0.1:0".parse().expect("an address"));
        config.connections = 4;
        config.lifetimes = Lifetimes {
            idle: Duration::minutes(30),
            absolute: Duration::minutes(60),
            enrolment: Duration::hours(72),
        };
        config.throttle = Limits { per_account: 3, per_address: 50, window: Duration::minutes(15) };
        let (offset, start) = (self.offset.clone(), self.start);
        let clock: serve::Clock =
            Arc::new(move || start + Duration::seconds(offset.load(Ordering::SeqCst)));
        let server = serve::bind(&self.warehouse.target, &self.generated, config, clock)
            .unwrap_or_else(|e| panic!("{e}"));
        let running = server.spawn().unwrap_or_else(|e| panic!("{e}"));
        self.client = Client::new(&format!("http://{}", running.addr));
        self.server = Some(running);
    }

    /// Stops the server (DuckDB: so that another process may open the file).
    fn stop_server(&mut self) {
        if let Some(running) = self.server.take() {
            running.stop().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Runs `work` on a connection of the running server (DuckDB allows one process, and this
    /// one holds it), or of its own when stopped.
    fn with_db<T>(&self, work: impl FnOnce(&mut dyn tally_runtime::Backend) -> T + Send) -> T
    where
        T: Send,
    {
        match &self.server {
            Some(running) => running.with_db(work),
            None => {
                let mut db = tally_runtime::backend::open(&self.warehouse.target)
                    .unwrap_or_else(|e| panic!("{e}"));
                work(db.as_mut())
            }
        }
    }

    fn plan(&self) -> tally_runtime::plan::Plan {
        tally_runtime::plan::load(&self.generated).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds `user` with `role` (and `attribute`) at `at`, with an enrolment token valid for
    /// `ttl`; the token.
    fn add(
        &self,
        user: &str,
        role: &str,
        attribute: Option<(&str, &str)>,
        at: NaiveDateTime,
        ttl: Duration,
    ) -> String {
        let plan = self.plan();
        let new = NewUser {
            user_id: user.to_owned(),
            roles: vec![role.to_owned()],
            attributes: attribute
                .map(|(k, v)| BTreeMap::from([(k.to_owned(), v.to_owned())]))
                .unwrap_or_default(),
            password: None,
        };
        let (_, enrolment) = self
            .with_db(|db| {
                users::add_enrolled(db, &plan, &new, ttl, Change { actor: "test-admin", now: at })
            })
            .unwrap_or_else(|e| panic!("{e}"));
        enrolment.expect("the database has the sign-on tables").token
    }

    /// Adds `user` and enrols them with [`PASSWORD`].
    fn enrolled(&self, user: &str, role: &str, attribute: Option<(&str, &str)>) -> String {
        let token = self.add(user, role, attribute, self.now(), Duration::hours(1));
        let answer = self.client.post(
            "/api/v1/enrol",
            &Auth::default(),
            &json!({"token": token, "password": PASSWORD}),
        );
        assert_eq!(answer.status, 204, "{answer:?}");
        token
    }

    fn sign_in(&self, user: &str) -> Auth {
        self.client.sign_in(user, PASSWORD).unwrap_or_else(|a| panic!("{user}: {a:?}"))
    }

    fn query(&self, auth: &Auth, body: Value) -> common::http::Answer {
        self.client.post("/api/v1/query", auth, &body)
    }
}

fn rows(answer: &Value) -> Vec<Value> {
    answer["rows"].as_array().cloned().unwrap_or_default()
}

fn scenario(engine: Engine, label: &str) {
    let mut site = Site::new(engine, label);
    let c = site.client.clone();
    let none = Auth::default();

    // ---- no session: 401 on every route that needs one, with the runtime's code
    for answer in [
        c.get("/api/v1/me", &none),
        c.get("/api/v1/catalog", &none),
        site.query(&none, json!({"metric": "seizure_lines"})),
        c.post("/api/v1/sign-out", &none, &json!({})),
    ] {
        assert_eq!((answer.status, answer.code()), (401, "R0480"), "{answer:?}");
    }
    let unknown = c.get("/api/v1/nowhere", &none);
    assert_eq!((unknown.status, unknown.code()), (404, "R0486"), "{unknown:?}");
    let method = c.get("/api/v1/query", &none);
    assert_eq!((method.status, method.code()), (405, "R0486"), "{method:?}");

    // ---- enrolment: a one-time token, a password of the user's own
    let token =
        site.add("pd", "port_director", Some(("port", "P11")), site.now(), Duration::hours(1));
    let bad =
        c.post("/api/v1/enrol", &none, &json!({"token": "0".repeat(64), "password": PASSWORD}));
    assert_eq!((bad.status, bad.code()), (400, "R0484"), "{bad:?}");
    let short = c.post("/api/v1/enrol", &none, &json!({"token": token, "password": "short"}));
    assert_eq!((short.status, short.code()), (400, "R0485"), "{short:?}");
    let form = c.post_raw("/api/v1/enrol", &none, "application/x-www-form-urlencoded", "token=x");
    assert_eq!((form.status, form.code()), (400, "R0486"), "{form:?}");
    let enrolled = c.post("/api/v1/enrol", &none, &json!({"token": token, "password": PASSWORD}));
    assert_eq!(enrolled.status, 204, "{enrolled:?}");
    let again = c.post("/api/v1/enrol", &none, &json!({"token": token, "password": PASSWORD}));
    assert_eq!((again.status, again.code()), (400, "R0484"), "the token works once: {again:?}");
    // An expired token.
    let stale =
        site.add("late", "port_director", Some(("port", "P11")), site.now(), Duration::minutes(5));
    site.advance(Duration::minutes(6));
    let expired = c.post("/api/v1/enrol", &none, &json!({"token": stale, "password": PASSWORD}));
    assert_eq!((expired.status, expired.code()), (400, "R0484"), "{expired:?}");

    // ---- sign-in
    let wrong = c.sign_in("pd", "not the password at all").expect_err("refused");
    assert_eq!((wrong.status, wrong.code()), (401, "R0481"), "{wrong:?}");
    let nobody = c.sign_in("nobody", PASSWORD).expect_err("refused");
    assert_eq!((nobody.status, nobody.code()), (401, "R0481"), "{nobody:?}");
    assert_eq!(nobody.body["message"], wrong.body["message"], "no hint which users exist");
    let signed = c.post("/api/v1/sign-in", &none, &json!({"user": "pd", "password": PASSWORD}));
    assert_eq!(signed.status, 200, "{signed:?}");
    let cookie = signed.set_cookie.clone().unwrap_or_default();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "no TLS here, so no Secure: {cookie}");
    let pd =
        Auth { cookie: signed.session(), csrf: signed.body["csrf"].as_str().map(str::to_owned) };

    let me = c.get("/api/v1/me", &pd);
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["user"], "pd");
    assert_eq!(me.body["roles"][0]["role"], "port_director");
    assert_eq!(me.body["roles"][0]["scope"], "location.port = 'P11'");
    assert_eq!(me.body["csrf"], json!(pd.csrf), "{me:?}");

    let catalog = c.get("/api/v1/catalog", &pd);
    assert_eq!(catalog.status, 200, "{catalog:?}");
    let names = |key: &str| -> Vec<String> {
        catalog.body[key]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    assert_eq!(names("marts"), ["borderstat"], "{catalog:?}");
    assert_eq!(names("reports"), ["seizures_by_port"], "{catalog:?}");
    let metrics = names("metrics");
    assert!(metrics.contains(&"seizure_lines".to_owned()), "{metrics:?}");
    assert!(!metrics.contains(&"apprehension_count".to_owned()), "not granted: {metrics:?}");
    assert!(!metrics.contains(&"currency_lines".to_owned()), "not granted: {metrics:?}");
    assert_eq!(
        catalog.body["metrics"][0]["sources"].as_array().map(Vec::len),
        Some(1),
        "{catalog:?}"
    );
    let sources = catalog.body["sources"].as_array().cloned().unwrap_or_default();
    assert!(
        !sources.is_empty() && sources.iter().all(|s| s["last_load"].is_string()),
        "{catalog:?}"
    );

    // ---- forged and CSRF
    let forged = Auth { cookie: Some("ab".repeat(32)), csrf: pd.csrf.clone() };
    let answer = c.get("/api/v1/me", &forged);
    assert_eq!((answer.status, answer.code()), (401, "R0480"), "{answer:?}");
    let garbage = Auth { cookie: Some("'; DROP TABLE auth_session; --".to_owned()), csrf: None };
    assert_eq!(c.get("/api/v1/me", &garbage).status, 401);
    let no_csrf = Auth { cookie: pd.cookie.clone(), csrf: None };
    let answer = site.query(&no_csrf, json!({"metric": "seizure_lines"}));
    assert_eq!((answer.status, answer.code()), (403, "R0483"), "{answer:?}");
    let wrong_csrf = Auth { cookie: pd.cookie.clone(), csrf: Some("0".repeat(64)) };
    let answer = site.query(&wrong_csrf, json!({"metric": "seizure_lines"}));
    assert_eq!((answer.status, answer.code()), (403, "R0483"), "{answer:?}");
    let answer = c.post("/api/v1/sign-out", &no_csrf, &json!({}));
    assert_eq!((answer.status, answer.code()), (403, "R0483"), "{answer:?}");

    // ---- a port-level user asking beyond their grants and scope gets nothing of it
    let own = site.query(&pd, json!({"metric": "seizure_lines", "by": ["location.port"]}));
    assert_eq!(own.status, 200, "{own:?}");
    assert!(!rows(&own.body).is_empty(), "{own:?}");
    assert!(rows(&own.body).iter().all(|r| r["port"] == "P11"), "{own:?}");
    let other =
        site.query(&pd, json!({"metric": "seizure_lines", "where": {"location.port": "P12"}}));
    match other.status {
        200 => assert!(
            rows(&other.body).iter().all(|r| r["port"] != "P12" && r["seizure_lines"].is_null()),
            "{other:?}"
        ),
        status => {
            assert!((400..500).contains(&status) && other.body.get("rows").is_none(), "{other:?}")
        }
    }
    let sql = site.query(&pd, json!({"sql": "SELECT * FROM mart_borderstat"}));
    assert_eq!((sql.status, sql.code()), (403, "R0420"), "no ad hoc for the role: {sql:?}");
    let huge = site.query(&pd, json!({"metric": "seizure_lines", "by": ["x".repeat(70_000)]}));
    assert_eq!((huge.status, huge.code()), (413, "R0486"), "{huge:?}");
    let as_other = site.query(&pd, json!({"metric": "seizure_lines", "user": "hq"}));
    assert_eq!(
        (as_other.status, as_other.code()),
        (400, "R0486"),
        "no user parameter: {as_other:?}"
    );
    let not_granted = site.query(&pd, json!({"metric": "currency_lines"}));
    assert_eq!((not_granted.status, not_granted.code()), (403, "R0404"), "{not_granted:?}");
    let drill = site.query(&pd, json!({"metric": "seizure_lines", "drill": true}));
    assert_eq!((drill.status, drill.code()), (403, "R0410"), "{drill:?}");
    let personal =
        site.query(&pd, json!({"metric": "seizure_lines", "by": ["seizures.subject_name"]}));
    assert!(
        [(400, "R0406"), (403, "R0412")].contains(&(personal.status, personal.code())),
        "{personal:?}"
    );
    assert!(personal.body.get("rows").is_none(), "{personal:?}");

    // A report the role does not grant; a personal-data column of a mart the role reads.
    site.enrolled("pov", "port_overview", Some(("port", "P11")));
    let pov = site.sign_in("pov");
    let report = site.query(&pov, json!({"report": "seizures_by_port"}));
    assert_eq!((report.status, report.code()), (403, "R0404"), "{report:?}");
    site.enrolled("ov", "overview_analyst", None);
    let ov = site.sign_in("ov");
    for body in [
        json!({"metric": "apprehension_count", "by": ["apprehensions.subject_name"]}),
        json!({"metric": "apprehension_count", "where": {"apprehensions.subject_name": "Jonah Abernathy"}}),
    ] {
        let answer = site.query(&ov, body);
        assert_eq!((answer.status, answer.code()), (403, "R0412"), "{answer:?}");
    }

    // ---- many users at once (12 clients, 48 queries): every answer in its asker's scope
    let askers =
        [(&pd, "location.port = 'P11'"), (&pov, "location.port = 'P11'"), (&ov, "national")];
    std::thread::scope(|scope| {
        for i in 0..12 {
            let (auth, expected) = askers[i % askers.len()];
            let c = c.clone();
            scope.spawn(move || {
                for _ in 0..4 {
                    let body = json!({"metric": "seizure_lines", "by": ["location.port"]});
                    let answer = c.post("/api/v1/query", auth, &body);
                    assert_eq!(answer.status, 200, "{answer:?}");
                    assert_eq!(answer.body["scope"], expected, "{answer:?}");
                    if expected != "national" {
                        assert!(
                            rows(&answer.body).iter().all(|r| r["port"] == "P11"),
                            "{answer:?}"
                        );
                    }
                }
            });
        }
    });

    // The API's answers, kept to compare with `tally query`'s below.
    let report = site.query(&pd, json!({"report": "seizures_by_port"}));
    assert_eq!(report.status, 200, "{report:?}");
    let by_kind = site
        .query(&pd, json!({"metric": "seizure_lines", "by": ["seizures.kind"], "grain": "month"}));
    assert_eq!(by_kind.status, 200, "{by_kind:?}");

    // ---- sign-out revokes
    let answer = c.post("/api/v1/sign-out", &pd, &json!({}));
    assert_eq!(answer.status, 204, "{answer:?}");
    assert!(answer.set_cookie.as_deref().is_some_and(|c| c.contains("Max-Age=0")), "{answer:?}");
    let answer = c.get("/api/v1/me", &pd);
    assert_eq!((answer.status, answer.code()), (401, "R0480"), "{answer:?}");

    // ---- idle and absolute expiry (30 minutes idle, 60 absolute)
    let pd = site.sign_in("pd");
    site.advance(Duration::minutes(25));
    assert_eq!(c.get("/api/v1/me", &pd).status, 200);
    site.advance(Duration::minutes(25));
    assert_eq!(c.get("/api/v1/me", &pd).status, 200, "used within the idle time");
    site.advance(Duration::minutes(15));
    let answer = c.get("/api/v1/me", &pd);
    assert_eq!(
        (answer.status, answer.code()),
        (401, "R0480"),
        "past the absolute expiry: {answer:?}"
    );
    let pd = site.sign_in("pd");
    site.advance(Duration::minutes(31));
    let answer = c.get("/api/v1/me", &pd);
    assert_eq!((answer.status, answer.code()), (401, "R0480"), "idle too long: {answer:?}");

    // ---- disable and role changes revoke sessions
    let plan = site.plan();
    site.enrolled("fo1", "field_office_director", Some(("field_office", "F1")));
    let fo1 = site.sign_in("fo1");
    assert_eq!(c.get("/api/v1/me", &fo1).status, 200);
    let admin = Change { actor: "test-admin", now: site.now() };
    site.with_db(|db| users::disable(db, &plan, "fo1", admin)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("/api/v1/me", &fo1).status, 401, "disabled");
    let refused = c.sign_in("fo1", PASSWORD).expect_err("disabled");
    assert_eq!((refused.status, refused.code()), (403, "R0469"), "{refused:?}");

    site.enrolled("hq", "hq_analyst", None);
    let hq = site.sign_in("hq");
    site.with_db(|db| users::grant(db, &plan, "hq", "ad_hoc_analyst", &BTreeMap::new(), admin))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("/api/v1/me", &hq).status, 401, "a role granted");
    let hq = site.sign_in("hq");
    site.with_db(|db| users::revoke(db, &plan, "hq", "ad_hoc_analyst", admin))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("/api/v1/me", &hq).status, 401, "a role revoked");
    let hq = site.sign_in("hq");
    let reset = site
        .with_db(|db| users::reset(db, &plan, "hq", Duration::hours(1), admin))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("/api/v1/me", &hq).status, 401, "a reset");
    assert_eq!(c.sign_in("hq", PASSWORD).expect_err("forgotten").code(), "R0481");
    let answer =
        c.post("/api/v1/enrol", &none, &json!({"token": reset.token, "password": PASSWORD}));
    assert_eq!(answer.status, 204, "{answer:?}");
    let hq = site.sign_in("hq");
    // Drill-down where a role grants it: the mart's declared columns, no personal data.
    let drill = site.query(&hq, json!({"metric": "seizure_lines", "drill": true, "limit": 5}));
    assert_eq!(drill.status, 200, "{drill:?}");
    assert_eq!(
        drill.body["columns"],
        json!(["seizure_id", "line_item", "seized_on", "port_code", "kind"]),
        "{drill:?}"
    );
    assert!(rows(&drill.body).iter().all(|r| r.get("subject_name").is_none()), "{drill:?}");

    // ---- the 90-day rule at sign-on
    let old = site.add(
        "old",
        "port_director",
        Some(("port", "P11")),
        site.now() - Duration::days(100),
        Duration::days(200),
    );
    let answer = c.post("/api/v1/enrol", &none, &json!({"token": old, "password": PASSWORD}));
    assert_eq!(answer.status, 204, "{answer:?}");
    let lapsed = c.sign_in("old", PASSWORD).expect_err("lapsed");
    assert_eq!((lapsed.status, lapsed.code()), (403, "R0470"), "{lapsed:?}");

    // ---- the throttle: three failures close the account, the right password too
    site.enrolled("thr", "port_director", Some(("port", "P11")));
    for _ in 0..3 {
        let answer = c.sign_in("thr", "wrong wrong wrong").expect_err("wrong");
        assert_eq!(answer.code(), "R0481");
    }
    let held = c.sign_in("thr", PASSWORD).expect_err("throttled");
    assert_eq!((held.status, held.code()), (429, "R0482"), "{held:?}");
    site.advance(Duration::minutes(16));
    site.sign_in("thr");

    // ---- answers equal `tally query`'s for the same user, and the trail has it all
    site.stop_server();
    for (args, api) in [
        (vec!["--report", "seizures_by_port"], &report.body),
        (vec!["seizure_lines", "--by", "seizures.kind", "--grain", "month"], &by_kind.body),
    ] {
        let output = tally()
            .arg("query")
            .args(&args)
            .args(["--as", "pd", "--format", "json", "--db", &site.warehouse.target, "--generated"])
            .arg(&site.generated)
            .output()
            .expect("runs");
        let cli: Value = serde_json::from_str(&succeeded(&output)).expect("JSON");
        assert_eq!(&cli, api, "{args:?}");
    }
    let mut db =
        tally_runtime::backend::open(&site.warehouse.target).unwrap_or_else(|e| panic!("{e}"));
    let verification =
        tally_runtime::audit::verify(db.as_mut(), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(verification.is_clean(), "{verification:?}");
    let trail = db
        .query("SELECT actor, action, outcome FROM audit_log ORDER BY seq")
        .unwrap_or_else(|e| panic!("{e}"));
    let has = |actor: &str, action: &str, outcome: &str| {
        trail.rows.iter().any(|r| {
            r[0].to_string() == actor && r[1].to_string() == action && r[2].to_string() == outcome
        })
    };
    for (actor, action, outcome) in [
        ("test-admin", "user.add", "ok"),
        ("pd", "serve.enrol", "ok"),
        ("pd", "serve.enrol", "refused"),
        ("anonymous", "serve.enrol", "refused"),
        ("pd", "serve.sign_in", "ok"),
        ("pd", "serve.sign_in", "refused"),
        ("nobody", "serve.sign_in", "refused"),
        ("pd", "serve.sign_out", "ok"),
        ("pd", "query.report", "ok"),
        ("pd", "query.metric", "ok"),
        ("pd", "query.metric", "refused"),
        ("pd", "query.drill", "refused"),
        ("fo1", "serve.sign_in", "refused"),
        ("old", "user.authorize", "refused"),
        ("thr", "serve.sign_in", "refused"),
        ("test-admin", "user.reset", "ok"),
    ] {
        assert!(has(actor, action, outcome), "no {actor} {action} {outcome} in the trail");
    }
    // No token or password is in the trail.
    let parameters = db.query("SELECT parameters FROM audit_log").unwrap_or_else(|e| panic!("{e}"));
    let text: String = parameters.rows.iter().map(|r| r[0].to_string()).collect();
    assert!(!text.contains(PASSWORD) && !text.contains(&token), "a secret in the trail");
}

#[test]
fn serve_on_duckdb() {
    scenario(Engine::DuckDb, "serve");
}

#[test]
fn serve_on_postgres() {
    scenario(Engine::Postgres, "serve");
}
