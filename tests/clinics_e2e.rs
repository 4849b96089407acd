//! The second example end to end, as an operator runs it: `examples/clinics` (a regional clinic
//! network that shares nothing with EMIS-EDW) through the real `tally` binary, on DuckDB and on
//! PostgreSQL: `compile`, `gen-data`, `migrate`, `run`, `user add` with the project's own
//! attributes (`region`, `clinic`, `supervisor`), and queries as each user.
//!
//! Security is tried like a feature: a regional manager asks for another region by filter, by
//! breakdown, by drill-down (with and without a filter), by report and by ad hoc SQL, and gets
//! nothing of it; a clinic lead asks for their region and for another clinic; on PostgreSQL the
//! manager also connects as themselves and reads the mart directly, held by the row-level
//! security policy over the declared `region` column. Refused attributes and values give the
//! documented codes (`R0465`, `R0466`, `R0472` is the runtime's own test's).

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;
use tally_runtime::testing::TestDatabase;
use tally_runtime::value::Value;
use tempfile::TempDir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tally() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env("NO_COLOR", "1")
        .env("CI", "true")
        .env_remove("TALLY_DB")
        .env_remove("TALLY_USER_PASSWORD")
        .current_dir(root());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Exit 1 with `code`, and a help line; the stderr.
#[track_caller]
fn refused(output: &Output, code: &str) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{stderr}",
        text(&output.stdout)
    );
    assert!(stderr.contains(&format!("error[{code}]")), "{stderr}");
    assert!(stderr.contains("help:"), "{stderr}");
    stderr
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The rows of a `--format json` answer.
fn rows(answer: &serde_json::Value) -> Vec<serde_json::Map<String, serde_json::Value>> {
    answer["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {answer}"))
        .iter()
        .map(|r| r.as_object().cloned().unwrap_or_default())
        .collect()
}

fn field<'r>(row: &'r serde_json::Map<String, serde_json::Value>, column: &str) -> Option<&'r str> {
    row.get(column).and_then(serde_json::Value::as_str)
}

/// Drops the login roles `tally user add` made on the PostgreSQL server (roles are shared by
/// every database on it), when the test ends, also when it fails.
struct LoginRoles {
    url: Option<String>,
    names: Vec<String>,
}

impl Drop for LoginRoles {
    fn drop(&mut self) {
        let Some(url) = &self.url else { return };
        if let Ok(mut db) = tally_runtime::backend::open(url) {
            for name in &self.names {
                let _ = db.execute(&format!("DROP OWNED BY \"{name}\""));
                let _ = db.execute(&format!("DROP ROLE IF EXISTS \"{name}\""));
            }
        }
    }
}

/// The clinic warehouse built through the CLI: compiled, generated, migrated, loaded.
struct Warehouse {
    dir: TempDir,
    db: String,
    now: String,
    postgres: Option<TestDatabase>,
}

impl Warehouse {
    fn build(postgres: bool) -> Warehouse {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = postgres.then(|| TestDatabase::create("clinics_e2e"));
        let db = match &pg {
            Some(p) => p.url.clone(),
            None => dir.path().join("clinics.duckdb").display().to_string(),
        };
        let generated = dir.path().join("generated");
        succeeded(
            &tally()
                .args(["compile", "examples/clinics", "--out"])
                .arg(&generated)
                .output()
                .expect("runs"),
        );
        let plan = json(&std::fs::read_to_string(generated.join("plan.json")).expect("plan.json"));
        let attributes: Vec<&str> = plan["user_attributes"]
            .as_array()
            .expect("user attributes")
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert_eq!(attributes, ["region", "clinic", "supervisor"]);
        let report = json(&succeeded(
            &tally()
                .args(["gen-data", "--format", "json", "--generated"])
                .arg(&generated)
                .arg("--out")
                .arg(dir.path().join("landing"))
                .output()
                .expect("runs"),
        ));
        let now = report["end"].as_str().expect("the end of the period").to_owned();
        for source in ["regions", "clinics", "patients", "visits", "prescriptions"] {
            let summary = report["sources"]
                .as_array()
                .and_then(|all| all.iter().find(|s| s["source"] == source))
                .unwrap_or_else(|| panic!("gen-data wrote no {source}: {report}"));
            assert!(summary["rows"].as_u64().unwrap_or(0) > 0, "{source}: {summary}");
        }
        let w = Warehouse { dir, db, now, postgres: pg };
        succeeded(&w.tally(&["migrate"]));
        let run = w.tally(&["run", "--landing", &w.path("landing"), "--now", &w.now]);
        succeeded(&run);
        w
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `tally ARGS --db DB --generated DIR`.
    fn tally(&self, args: &[&str]) -> Output {
        tally()
            .args(args)
            .args(["--db", &self.db, "--generated", &self.path("generated")])
            .output()
            .expect("runs")
    }

    fn query(&self, user: &str, args: &[&str]) -> Output {
        let mut all = vec!["query", "--as", user, "--now", &self.now, "--format", "json"];
        all.extend_from_slice(args);
        self.tally(&all)
    }

    /// `(clinic, region)` of every clinic loaded.
    fn clinics(&self) -> Vec<(String, String)> {
        let mut db = tally_runtime::backend::open(&self.db).unwrap_or_else(|e| panic!("{e}"));
        let rows = db
            .query("SELECT clinic_code, region_code FROM cur_clinics ORDER BY clinic_code")
            .unwrap_or_else(|e| panic!("{e}"));
        rows.rows.iter().map(|r| (r[0].to_string(), r[1].to_string())).collect()
    }

    /// Visits per region in `cur_visits`, the largest first.
    fn visits_by_region(&self) -> Vec<(String, i64)> {
        let mut db = tally_runtime::backend::open(&self.db).unwrap_or_else(|e| panic!("{e}"));
        let rows = db
            .query(
                "SELECT c.region_code, count(*) AS visits FROM cur_visits AS v \
                 JOIN cur_clinics AS c ON c.clinic_code = v.clinic_code \
                 GROUP BY c.region_code ORDER BY visits DESC, c.region_code",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        rows.rows.iter().map(|r| (r[0].to_string(), r[1].as_i64().unwrap_or(0))).collect()
    }
}

fn clinics_end_to_end(postgres: bool) {
    let w = Warehouse::build(postgres);
    let clinics = w.clinics();
    let by_region = w.visits_by_region();
    assert!(by_region.len() >= 2, "visits in at least two regions: {by_region:?}");
    let (mine, theirs) = (by_region[0].0.clone(), by_region[1].0.clone());
    let in_region = |region: &str| -> BTreeSet<String> {
        clinics.iter().filter(|(_, r)| r == region).map(|(c, _)| c.clone()).collect()
    };
    let (my_clinics, their_clinics) = (in_region(&mine), in_region(&theirs));
    let my_clinic = my_clinics.iter().next().expect("a clinic in my region").clone();
    let their_clinic = their_clinics.iter().next().expect("a clinic in their region").clone();

    // Users with the project's own attributes. Ids are unique per process: PostgreSQL login
    // roles are shared by every database on the server.
    let id = |name: &str| format!("{name}_{}", std::process::id());
    let (nat, rm, lead) = (id("nat"), id("rm"), id("lead"));
    let _roles = LoginRoles {
        url: w.postgres.as_ref().map(|p| p.url.clone()),
        names: vec![nat.clone(), rm.clone(), lead.clone()],
    };
    let now = w.now.clone();
    let add = |user: &str, role: &str, attributes: &[&str], extra: &[&str]| {
        let mut args = vec!["user", "add", user, "--role", role, "--now", &now];
        for a in attributes {
            args.extend(["--attr", a]);
        }
        args.extend_from_slice(extra);
        w.tally(&args)
    };

    // Refused attributes and values, each with its code and the nearest valid name.
    let region_attr = format!("region={mine}");
    let stderr = refused(&add(&rm, "regional_manager", &[&format!("regoin={mine}")], &[]), "R0465");
    assert!(stderr.contains("`regoin` is not a user attribute"), "{stderr}");
    assert!(stderr.contains("did you mean `region`?"), "{stderr}");
    let stderr = refused(&add(&rm, "regional_manager", &[], &[]), "R0465");
    assert!(stderr.contains("give it: --attr region=<REGION>"), "{stderr}");
    let typo = format!("{}x", mine);
    let stderr = refused(&add(&rm, "regional_manager", &[&format!("region={typo}")], &[]), "R0466");
    assert!(stderr.contains(&format!("`{typo}` is not a region of geography")), "{stderr}");
    assert!(stderr.contains(&format!("did you mean `{mine}`?")), "{stderr}");
    let stderr = refused(&add(&lead, "clinic_lead", &[&format!("clinic={mine}")], &[]), "R0466");
    assert!(stderr.contains("is not a clinic of geography"), "a region is not a clinic: {stderr}");
    let usage = add(&rm, "regional_manager", &["region"], &[]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
    assert!(text(&usage.stderr).contains("is not KEY=VALUE"), "{}", text(&usage.stderr));
    let stderr = refused(
        &add(&rm, "regional_manager", &[&region_attr, &format!("region={theirs}")], &[]),
        "R0301",
    );
    assert!(stderr.contains("given twice"), "{stderr}");

    succeeded(&add(&nat, "national_analyst", &["supervisor=head_office"], &[]));
    succeeded(&add(
        &rm,
        "regional_manager",
        &[&region_attr, &format!("supervisor={nat}")],
        &["--password", "rm-pw"],
    ));
    succeeded(&add(&lead, "clinic_lead", &[&format!("clinic={my_clinic}")], &[]));
    let listed = json(&succeeded(&w.tally(&["user", "list", "--format", "json", "--now", &now])));
    let manager = listed
        .as_array()
        .and_then(|all| all.iter().find(|u| u["user_id"] == rm.as_str()))
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(manager["attributes"]["region"], mine.as_str());
    assert_eq!(manager["attributes"]["supervisor"], nat.as_str());

    // The national analyst sees every region; the manager's region reads the same there.
    let national = json(&succeeded(
        &w.query(&nat, &["visit_count", "--by", "geography.region", "--grain", "fiscal_year"]),
    ));
    let national_rows = rows(&national);
    let regions: BTreeSet<&str> = national_rows.iter().filter_map(|r| field(r, "region")).collect();
    assert!(regions.contains(mine.as_str()) && regions.contains(theirs.as_str()), "{national}");

    // The regional manager: their region only, whatever they ask.
    let only_mine = |answer: &serde_json::Value| {
        let rows = rows(answer);
        assert!(!rows.is_empty(), "their own region has visits: {answer}");
        for row in &rows {
            assert_eq!(field(row, "region"), Some(mine.as_str()), "{answer}");
            if let Some(clinic) = field(row, "clinic") {
                assert!(my_clinics.contains(clinic), "{clinic} is not in {mine}: {answer}");
            }
        }
        rows
    };
    let mut asked = 0;
    for by in ["geography.region", "geography.clinic"] {
        let answer =
            json(&succeeded(&w.query(&rm, &["visit_count", "--by", by, "--grain", "fiscal_year"])));
        assert_eq!(answer["scope"], format!("geography.region = '{mine}'"), "{answer}");
        only_mine(&answer);
        asked += 1;
    }
    let answer = json(&succeeded(
        &w.query(&rm, &["visit_count", "--by", "geography.region", "--grain", "fiscal_year"]),
    ));
    let theirs_total: Vec<_> = national_rows
        .iter()
        .filter(|r| field(r, "region") == Some(mine.as_str()))
        .map(|r| (r.get("period_start").cloned(), r.get("value").cloned()))
        .collect();
    let mine_total: Vec<_> = only_mine(&answer)
        .iter()
        .map(|r| (r.get("period_start").cloned(), r.get("value").cloned()))
        .collect();
    assert_eq!(mine_total, theirs_total, "the same numbers for the same region");

    // Asking for the other region by filter, directly or through its clinic, gives nothing of it.
    for filter in [format!("geography.region={theirs}"), format!("geography.clinic={their_clinic}")]
    {
        for by in ["geography.region", "geography.clinic"] {
            let output = w.query(&rm, &["visit_count", "--by", by, "--where", &filter]);
            let stdout = text(&output.stdout);
            assert!(!stdout.contains(&format!("\"{theirs}\"")), "{filter} by {by}: {stdout}");
            assert!(!stdout.contains(&format!("\"{their_clinic}\"")), "{filter} by {by}: {stdout}");
            if output.status.success() {
                assert!(rows(&json(&stdout))
                    .iter()
                    .all(|r| field(r, "region") != Some(theirs.as_str())));
            } else {
                refused(&output, "R0408");
            }
            asked += 1;
        }
    }

    // Drill-down: the visit rows of their region's clinics only, without personal data.
    let drill = json(&succeeded(&w.query(&rm, &["visit_count", "--drill", "--limit", "100000"])));
    let drilled = rows(&drill);
    assert!(!drilled.is_empty(), "{drill}");
    for row in &drilled {
        let clinic = field(row, "clinic_code").unwrap_or_default();
        assert!(my_clinics.contains(clinic), "drilled into {clinic}: {row:?}");
        // Only the columns the mart's `drill` declares: the region places a row, unshown.
        assert!(!row.contains_key("region"), "{row:?}");
        assert!(!row.contains_key("reason"), "free text is personal data: {row:?}");
    }
    let output =
        w.query(&rm, &["visit_count", "--drill", "--where", &format!("geography.region={theirs}")]);
    let stdout = text(&output.stdout);
    assert!(!stdout.contains(&format!("\"{theirs}\"")), "{stdout}");
    for clinic in &their_clinics {
        assert!(!stdout.contains(&format!("\"{clinic}\"")), "{stdout}");
    }
    if output.status.success() {
        assert!(rows(&json(&stdout)).is_empty(), "{stdout}");
    } else {
        refused(&output, "R0408");
    }

    // The report, by region and month: theirs only.
    let report = json(&succeeded(&w.query(&rm, &["--report", "monthly_visits_by_region"])));
    for row in rows(&report) {
        assert_eq!(field(&row, "region"), Some(mine.as_str()), "{report}");
    }
    // No ad hoc SQL for the role, so no way around the scope there either.
    refused(
        &w.query(&rm, &["--sql", &format!("SELECT * FROM mart_care WHERE region = '{theirs}'")]),
        "R0420",
    );
    assert!(asked >= 6);

    // The clinic lead: their clinic only; a region is above their scope, another clinic is not
    // theirs.
    let answer = json(&succeeded(&w.query(&lead, &["visit_count", "--by", "geography.clinic"])));
    let lead_rows = rows(&answer);
    assert!(!lead_rows.is_empty(), "{answer}");
    assert!(lead_rows.iter().all(|r| field(r, "clinic") == Some(my_clinic.as_str())), "{answer}");
    let output =
        w.query(&lead, &["visit_count", "--where", &format!("geography.clinic={their_clinic}")]);
    let stdout = text(&output.stdout);
    assert!(!stdout.contains(&format!("\"{their_clinic}\"")), "{stdout}");
    if output.status.success() {
        assert!(rows(&json(&stdout))
            .iter()
            .all(|r| field(r, "clinic") != Some(their_clinic.as_str())));
    } else {
        refused(&output, "R0408");
    }
    let output = w.query(&lead, &["--report", "monthly_visits_by_region"]);
    refused(&output, "R0404");

    // PostgreSQL: the manager connected as themselves reads only their region's rows of the
    // mart, through the policy over `policy_user.region` (the declared column).
    if let Some(pg) = &w.postgres {
        let scheme_end = pg.url.find("://").map_or(0, |i| i + 3);
        let host_start = pg.url.rfind('@').map_or(scheme_end, |i| i + 1);
        let url = format!("{}{rm}:rm-pw@{}", &pg.url[..scheme_end], &pg.url[host_start..]);
        let mut session = tally_runtime::backend::open(&url).unwrap_or_else(|e| panic!("{e}"));
        let seen = session
            .query("SELECT DISTINCT region FROM mart_care ORDER BY 1")
            .unwrap_or_else(|e| panic!("{e}"));
        let seen: Vec<String> = seen.rows.iter().map(|r| r[0].to_string()).collect();
        assert_eq!(seen, vec![mine.clone()]);
        let e = session.query("SELECT full_name FROM cur_patients").expect_err("personal data");
        assert!(e.message.contains("permission denied"), "{e}");
        let own = session
            .query("SELECT user_id, region FROM policy_user")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(own.rows.len(), 1);
        assert_eq!(own.rows[0][1], Value::Text(mine.clone()));
    }

    // Everything above, refusals included, is in an intact audit trail.
    succeeded(&w.tally(&["audit", "verify"]));
}

#[test]
fn clinics_end_to_end_on_duckdb() {
    clinics_end_to_end(false);
}

#[test]
fn clinics_end_to_end_on_postgres() {
    clinics_end_to_end(true);
}
