//! The generator on a small project of its own, compiled in memory, that has every load mode,
//! format and column kind, a dimension whose members the profile lists and one it does not:
//! files read back with DuckDB and checked for determinism, unique keys, members and their
//! hierarchy, the profile's weights and volumes, required values, decimal scale, fake personal
//! data, time order and follow-up batches.

use super::*;
use crate::backend::{Backend as _, DuckDb};
use std::collections::BTreeMap;
use tally_compiler::source::MemoryFs;

const PROJECT: &str = r#"
calendar time {
  fiscal_year_start october 1
  week_start monday
  grains day, month, fiscal_year
  timezone "UTC"
}

source ports {
  title "Ports"
  refresh daily
  landing "reference/ports/*.csv" as csv
  load snapshot
  key port_code
  retain forever
  columns {
    port_code         string
    port_name         string not null
    port_mode         enum(air, land, sea) not null
    field_office_code string not null
    field_office_name string not null
  }
}

dimension location {
  title "Location"
  from ports
  level national
  level field_office key field_office_code label field_office_name
  level port key port_code label port_name
  hierarchy national > field_office > port
}

source gates {
  title "Gates"
  refresh daily
  landing "reference/gates/*.csv" as csv
  load snapshot
  key gate_code
  retain forever
  columns {
    gate_code string
    gate_name string not null
    zone_code string not null
  }
}

dimension gate {
  title "Gates"
  from gates
  level zone key zone_code
  level gate key gate_code label gate_name
  hierarchy zone > gate
}

source seizures {
  title "Seizures"
  refresh every 15 minutes
  landing "seizures/items_*.csv" as csv (delimiter = "|", skip = 1)
  load cdc delete_marker is_deleted
  key (seizure_id, line_item)
  retain 6 years by seized_at
  columns {
    seizure_id       string
    line_item        int
    seized_at        timestamp not null
    approved_at      timestamp null
    port_code        string not null -> location.port
    lane             enum(air, land, sea, other) not null
    seizure_type     enum(drug, currency, other) not null
    drug_type        enum(cocaine, marijuana) null
    drug_weight_kg   decimal(12, 3)
    currency_usd     decimal(14, 2)
    subject_name     string pii(name)
    subject_document string pii(document_number)
    subject_address  string pii(address)
    subject_phone    string pii(phone)
    subject_email    string pii(email)
    is_deleted       bool not null default false
  }
}

source arrivals {
  title "Arrivals"
  refresh every 15 minutes
  landing "arrivals/*.jsonl" as jsonl
  load incremental by updated_at
  key (flight_id, passenger_seq)
  retain 6 years by arrived_at
  columns {
    flight_id     string
    passenger_seq int
    port_code     string not null -> location.port
    gate_code     string null -> gate.gate
    terminal      string null
    arrived_at    timestamp not null
    wait_minutes  int
    cleared_at    timestamp null
    updated_at    timestamp not null
    nationality   string pii(nationality)
  }
}

source accounts {
  title "Accounts"
  refresh daily
  landing "accounts/list_*.parquet" as parquet
  load snapshot
  key account_id
  retain 7 years by extracted_on
  columns {
    account_id     string
    extracted_on   date not null
    account_status enum(active, inactive) not null
    validated_on   date null
    account_name   string pii(name)
  }
}

source pay {
  title "Pay"
  refresh daily
  landing "pay/pay_*.csv" as csv
  load snapshot
  key (employee_id, pay_period)
  retain 7 years by period_end
  columns {
    employee_id  string
    pay_period   string
    period_end   date not null
    overtime_usd decimal(10, 2) not null default 0
    ytd_usd      decimal(12, 2) not null default 0
  }
}

source activities {
  title "Activities"
  refresh daily
  landing "activities/act_*.xlsx" as xlsx (sheet = "Activities", skip = 1)
  load append delete_marker withdrawn
  key activity_id
  retain 6 years by opened_at
  columns {
    activity_id string
    account_id  string not null
    opened_at   timestamp not null
    items       int not null
    flagged     bool not null default false
    withdrawn   bool not null default false
  }
}
"#;

const PROFILE: &str = r#"
lists:
  carriers: {XA: 3, XB: 1}
dimensions:
  location:
    field_office:
      members:
        - {key: NORTH, label: North Office}
        - {key: SOUTH, label: South Office}
    port:
      members:
        - {key: "0001", label: Big Airport, parent: NORTH, weight: 30, values: {port_mode: air}}
        - {key: "0002", label: Border Crossing, parent: SOUTH, weight: 20, values: {port_mode: land}}
        - {key: "0003", label: Harbour, parent: SOUTH, weight: 2, values: {port_mode: sea}}
        - {key: "0004", label: Small Crossing, parent: NORTH, weight: 1, values: {port_mode: land}}
  gate:
    zone: {count: 2}
sources:
  seizures:
    rows_per_day: 400
    deletes: 0.05
    columns:
      seizure_type: {weights: {drug: 6, currency: 3, other: 1}}
      approved_at: {after: {median_minutes: 360}}
      drug_weight_kg:
        lognormal: {median: 1, sigma: 1}
        median_by: {column: drug_type, medians: {marijuana: 40}}
  arrivals:
    rows_per_day: 600
    group:
      size: {lognormal: {median: 30, sigma: 0.3}, min: 5, max: 60}
      shared: [terminal]
    columns:
      flight_id: {pattern: "{list carriers}{1..999}-{date}"}
      terminal: {weights: {A: 1, B: 1}}
      wait_minutes:
        lognormal: {median: 10, sigma: 0.5}
        clusters: {column: flight_id, factors: [{share: 0.2, factor: 5}]}
      cleared_at: {after: {minutes_from: wait_minutes}}
  pay:
    members: 30
    columns:
      pay_period: {periods: {days: 14}}
      period_end: {period_end_of: pay_period}
      overtime_usd: {lognormal: {median: 500, sigma: 0.5}}
      ytd_usd: {running_total_of: overtime_usd}
"#;

/// The project compiled in memory: its plan and its profile (without one when `profile` is
/// false: the defaults).
fn compiled(profile: bool) -> (Plan, Profile) {
    let mut fs = MemoryFs::new().with("tally.yaml", "name: test\n").with("main.tally", PROJECT);
    if profile {
        fs.insert("gendata.yaml", PROFILE);
    }
    let (checked, artifacts) = tally_compiler::compile(&fs, "", &MemoryFs::new());
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics());
    let artifacts = artifacts.expect("compiles").expect("no errors");
    let plan = Plan::from_json(&artifacts.files["plan.json"]).expect("the plan reads");
    let profile = match artifacts.files.get("gendata.json") {
        Some(text) => tally_contract::gendata::GenData::from_json(text).expect("reads").profile,
        None => Profile::default(),
    };
    (plan, profile)
}

fn options() -> GenOptions {
    GenOptions { scale: 0.05, days: 40, ..GenOptions::default() }
}

struct Generated {
    dir: tempfile::TempDir,
    plan: Plan,
    report: GenReport,
}

impl Generated {
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("landing")
    }

    fn source(&self, name: &str) -> &SourcePlan {
        self.plan.source(name).expect("source")
    }

    fn summary(&self, name: &str) -> &SourceSummary {
        self.report.sources.iter().find(|s| s.source == name).expect("summary")
    }

    /// Every row of a source's files (of one kind of batch), every value as text.
    fn rows(&self, name: &str, batch: Option<&str>) -> Vec<Row> {
        self.summary(name)
            .files
            .iter()
            .filter(|f| batch.is_none_or(|b| f.batch == b))
            .flat_map(|f| read(&self.out(), self.source(name), &f.path))
            .collect()
    }
}

fn generated_with(profile: bool, options: &GenOptions) -> Generated {
    let (plan, profile) = compiled(profile);
    let dir = tempfile::tempdir().expect("tempdir");
    let report = generate(&plan, &profile, options, &dir.path().join("landing"), &mut Quiet)
        .expect("generate");
    Generated { dir, plan, report }
}

fn generated() -> Generated {
    generated_with(true, &options())
}

/// Every file of a directory tree, relative path → bytes, in name order.
fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative =
                    path.strip_prefix(root).expect("prefix").to_string_lossy().into_owned();
                out.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

type Row = BTreeMap<String, Option<String>>;

/// The rows of one generated file, every value as text, read by DuckDB.
fn read(out: &Path, source: &SourcePlan, file: &str) -> Vec<Row> {
    let path = out.join(file).to_string_lossy().replace('\'', "''");
    let columns: Vec<String> =
        source.columns.iter().map(|c| format!("'{}': 'VARCHAR'", c.name)).collect();
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let from = match source.landing.format {
        crate::plan::LandingFormat::Xlsx => {
            let bytes = std::fs::read(out.join(file)).expect("the workbook");
            let options =
                source.landing.xlsx.clone().unwrap_or(crate::plan::Xlsx { sheet: None, skip: 0 });
            let names: Vec<(&str, bool)> = source
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.ty == crate::plan::ColumnType::Timestamp))
                .collect();
            let sheet =
                crate::etl::xlsx::sheet_csv(&bytes, &options, &names, file).expect("its sheet");
            let csv = scratch.path().join("sheet.csv");
            std::fs::write(&csv, sheet.csv).expect("the sheet as CSV");
            format!(
                "(SELECT * EXCLUDE (_tally_row) FROM read_csv('{}', header = true, quote = '\"', escape = '\"', nullstr = '', auto_detect = false, columns = {{'_tally_row': 'VARCHAR', {}}}))",
                csv.to_string_lossy().replace('\'', "''"),
                columns.join(", ")
            )
        }
        crate::plan::LandingFormat::Jsonl => format!(
            "read_json('{path}', format = 'newline_delimited', columns = {{{}}})",
            columns.join(", ")
        ),
        crate::plan::LandingFormat::Parquet => format!("read_parquet('{path}')"),
        crate::plan::LandingFormat::Csv => {
            let csv = source.landing.csv.as_ref().expect("csv options");
            format!(
                "read_csv('{path}', header = true, delim = '{}', quote = '\"', escape = '\"', nullstr = '', skip = {}, auto_detect = false, columns = {{{}}})",
                csv.delimiter,
                csv.skip,
                columns.join(", ")
            )
        }
    };
    let mut db = DuckDb::in_memory().expect("duckdb");
    let rows = db.query(&format!("SELECT * FROM {from}")).expect("read the file back");
    rows.rows
        .iter()
        .map(|r| {
            rows.columns
                .iter()
                .zip(r)
                .map(|(c, v)| (c.clone(), (!v.is_null()).then(|| v.to_string())))
                .collect()
        })
        .collect()
}

fn value<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|v| v.as_deref())
}

fn values(rows: &[Row], column: &str) -> BTreeSet<String> {
    rows.iter().filter_map(|r| value(r, column).map(str::to_owned)).collect()
}

#[test]
fn the_same_plan_profile_and_options_give_the_same_bytes() {
    let a = generated();
    // More than a second apart: nothing reads the clock (a workbook's creation time included).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = generated();
    let files_a = contents(&a.out());
    assert!(files_a.len() >= 10, "{:?}", files_a.keys());
    assert_eq!(files_a, contents(&b.out()));
    assert_eq!(a.report.to_string(), b.report.to_string());
    let c = generated_with(true, &GenOptions { seed: 7, ..options() });
    assert_ne!(files_a, contents(&c.out()), "another seed, other data");
    let d = generated_with(false, &options());
    assert_ne!(files_a, contents(&d.out()), "without the profile, other data");
}

#[test]
fn files_are_named_by_the_pattern_in_load_order() {
    let g = generated();
    let names: Vec<&str> = g.summary("seizures").files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "files sort in the order they are to be loaded");
    assert!(
        names.iter().all(|n| n.starts_with("seizures/items_") && n.ends_with(".csv")),
        "{names:?}"
    );
    let batches: Vec<&str> = g.summary("seizures").files.iter().map(|f| f.batch).collect();
    assert_eq!(batches.last(), Some(&"deletions"));
    assert!(batches.contains(&"follow-up"));
    assert_eq!(g.summary("ports").files.len(), 1);
    // Every source has rows; the period is fiscal year 2025's first 40 days.
    assert!(g.report.sources.iter().all(|s| s.rows > 0), "{}", g.report);
    assert_eq!(g.report.start, "2024-10-01");
    assert_eq!(g.report.end, "2024-11-10 00:00");
}

#[test]
fn keys_are_unique_within_the_initial_batch_and_for_new_rows() {
    let g = generated();
    for (name, key) in [
        ("seizures", vec!["seizure_id", "line_item"]),
        ("arrivals", vec!["flight_id", "passenger_seq"]),
        ("activities", vec!["activity_id"]),
    ] {
        let key_of = |r: &Row| -> Vec<String> {
            key.iter().map(|c| value(r, c).unwrap_or("").to_owned()).collect()
        };
        let mut seen = BTreeSet::new();
        let rows = g.rows(name, Some("initial"));
        assert!(rows.len() > 10, "{name}: {}", rows.len());
        for row in &rows {
            assert!(seen.insert(key_of(row)), "{name}: key {:?} twice", key_of(row));
        }
        // Rows of the follow-up that are not updates have new keys; an append source's update
        // is two lines (the deletion, then the corrected row).
        let follow = g.rows(name, Some("follow-up"));
        let new = follow.iter().filter(|r| !seen.contains(&key_of(r))).count() as u64;
        let per_update = if name == "activities" { 2 } else { 1 };
        assert_eq!(new + per_update * g.summary(name).updates, follow.len() as u64, "{name}");
    }
    // Snapshot lists: each snapshot lists a key once.
    for name in ["accounts", "pay"] {
        for file in &g.summary(name).files {
            let rows = read(&g.out(), g.source(name), &file.path);
            let keys: BTreeSet<(Option<&str>, Option<&str>)> = rows
                .iter()
                .map(|r| {
                    (value(r, "account_id").or(value(r, "employee_id")), value(r, "pay_period"))
                })
                .collect();
            assert_eq!(keys.len(), rows.len(), "{}", file.path);
        }
    }
}

#[test]
fn references_draw_the_members_the_profile_lists_by_their_weights() {
    let g = generated_with(true, &GenOptions { scale: 0.3, ..options() });
    let ports = g.rows("ports", None);
    let listed: BTreeSet<String> = ["0001", "0002", "0003", "0004"].map(String::from).into();
    assert_eq!(values(&ports, "port_code"), listed);
    // The hierarchy: each port under the field office the profile names, with its label.
    let office: BTreeMap<&str, (&str, &str)> = ports
        .iter()
        .map(|r| {
            (
                value(r, "port_code").expect("code"),
                (
                    value(r, "field_office_code").expect("office"),
                    value(r, "field_office_name").expect("name"),
                ),
            )
        })
        .collect();
    assert_eq!(office["0002"], ("SOUTH", "South Office"));
    assert_eq!(office["0004"], ("NORTH", "North Office"));
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in ["seizures", "arrivals"] {
        for row in g.rows(name, None) {
            let code = value(&row, "port_code").expect("port_code is required");
            assert!(listed.contains(code), "{name}: port {code} is not a member");
            if name == "seizures" {
                *counts.entry(code.to_owned()).or_default() += 1;
            }
        }
    }
    // Weighted: the busiest port (30) has many times the rows of the quietest (1).
    assert!(counts["0001"] > 5 * counts.get("0004").copied().unwrap_or(0), "{counts:?}");
    // A column agreeing with a member's attribute: the seizure lane is the port's mode.
    for row in g.rows("seizures", None) {
        let lane = value(&row, "lane").expect("lane");
        let expected = match value(&row, "port_code") {
            Some("0001") => "air",
            Some("0003") => "sea",
            _ => "land",
        };
        assert_eq!(lane, expected, "{row:?}");
    }
    // Links: an activity's account is an account of the accounts list.
    let accounts = values(&g.rows("accounts", None), "account_id");
    for row in g.rows("activities", None) {
        assert!(accounts.contains(value(&row, "account_id").expect("account_id")));
    }
}

#[test]
fn members_nobody_listed_are_made_up_from_the_dimension() {
    let g = generated();
    let gates = g.rows("gates", None);
    // Two zones (the profile's count), three gates each, keyed and labelled by level.
    assert_eq!(values(&gates, "zone_code"), ["ZONE01", "ZONE02"].map(String::from).into());
    assert_eq!(gates.len(), 6);
    assert!(gates.iter().all(|r| value(r, "gate_code").is_some_and(|c| c.starts_with("GATE"))));
    assert!(gates.iter().all(|r| value(r, "gate_name").is_some_and(|c| c.starts_with("Gate "))));
    let codes = values(&gates, "gate_code");
    for row in g.rows("arrivals", None) {
        if let Some(gate) = value(&row, "gate_code") {
            assert!(codes.contains(gate), "gate {gate}");
        }
    }
    // Without a profile, the ports are made up too: field offices, ports under them.
    let d = generated_with(false, &options());
    let ports = d.rows("ports", None);
    assert_eq!(values(&ports, "field_office_code").len(), 4);
    assert_eq!(ports.len(), 12);
    assert!(ports.iter().all(|r| value(r, "port_code").is_some_and(|c| c.starts_with("PORT"))));
}

#[test]
fn the_profile_shapes_values_and_volumes() {
    let g = generated();
    let with_profile = g.summary("seizures").rows;
    let without = generated_with(false, &options());
    // 400 rows a day at scale 0.05 against the default 2,000 (a source refreshed every 15 minutes).
    assert!(with_profile * 3 < without.summary("seizures").rows, "{with_profile}");
    let seizures = g.rows("seizures", Some("initial"));
    let drugs = seizures.iter().filter(|r| value(r, "seizure_type") == Some("drug")).count();
    let other = seizures.iter().filter(|r| value(r, "seizure_type") == Some("other")).count();
    assert!(drugs > 3 * other, "drug {drugs}, other {other}");
    // Flights: a carrier of the list, a number, the day; passengers share the terminal.
    let arrivals = g.rows("arrivals", Some("initial"));
    let mut terminals: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &arrivals {
        let flight = value(row, "flight_id").expect("flight");
        assert!(flight.starts_with("XA") || flight.starts_with("XB"), "{flight}");
        if let Some(t) = value(row, "terminal") {
            terminals.entry(flight).or_default().insert(t);
        }
    }
    assert!(terminals.values().all(|t| t.len() == 1), "{terminals:?}");
    // Group sizes within the profile's bounds.
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &arrivals {
        *sizes.entry(value(row, "flight_id").expect("flight")).or_default() += 1;
    }
    assert!(sizes.values().all(|n| (5..=60).contains(n)), "{sizes:?}");
    // Pay periods: one row per employee and biweekly period, the period's end, a running total.
    let pay = read(&g.out(), g.source("pay"), &g.summary("pay").files[0].path);
    let first_employee = value(&pay[0], "employee_id").expect("employee");
    let own: Vec<&Row> =
        pay.iter().filter(|r| value(r, "employee_id") == Some(first_employee)).collect();
    assert_eq!(own.len(), 2, "two biweekly periods end before the 39th day");
    assert_eq!(value(own[0], "pay_period"), Some("2025-01"));
    assert_eq!(value(own[0], "period_end"), Some("2024-10-14"));
    let amount =
        |r: &Row, c: &str| value(r, c).and_then(|v| v.parse::<f64>().ok()).expect("number");
    let total = amount(own[0], "overtime_usd") + amount(own[1], "overtime_usd");
    assert!((amount(own[1], "ytd_usd") - total).abs() < 0.011, "{own:?}");
}

#[test]
fn required_values_decimals_and_times_follow_the_plan() {
    let g = generated();
    let (period_start, period_end) = ("2024-10-01 00:00:00", "2024-11-10 00:00:00");
    for source in &g.plan.sources {
        for row in g.rows(&source.name, None) {
            for c in &source.columns {
                let v = value(&row, &c.name);
                if !c.nullable {
                    assert!(v.is_some(), "{}.{} is required", source.name, c.name);
                }
                let Some(v) = v else { continue };
                match &c.ty {
                    ColumnType::Decimal { precision, scale } => {
                        let (p, s) = (usize::from(*precision), usize::from(*scale));
                        let (int, frac) =
                            v.trim_start_matches('-').split_once('.').unwrap_or((v, ""));
                        assert!(
                            int.len() <= p - s && frac.len() == s,
                            "{}.{}: {v}",
                            source.name,
                            c.name
                        );
                    }
                    ColumnType::Enum { values } => {
                        assert!(values.iter().any(|x| x == v), "{v}");
                    }
                    ColumnType::Timestamp => assert!(
                        (period_start..period_end).contains(&v),
                        "{}.{}: {v} outside the period",
                        source.name,
                        c.name
                    ),
                    _ => {}
                }
            }
        }
    }
    let mut approved = 0;
    for row in g.rows("seizures", None) {
        let seized = value(&row, "seized_at").expect("seized_at");
        if let Some(at) = value(&row, "approved_at") {
            assert!(at > seized, "approved {at} before seized {seized}");
            approved += 1;
        }
        // Drug columns only on drug seizures.
        if value(&row, "seizure_type") != Some("drug") {
            assert_eq!(value(&row, "drug_type"), None);
            assert_eq!(value(&row, "drug_weight_kg"), None);
        }
    }
    assert!(approved > 0);
    for row in g.rows("arrivals", None) {
        let arrived = value(&row, "arrived_at").expect("arrived_at");
        assert!(value(&row, "updated_at").expect("updated_at") >= arrived);
        if let (Some(cleared), Some(wait)) =
            (value(&row, "cleared_at"), value(&row, "wait_minutes"))
        {
            let at = NaiveDateTime::parse_from_str(arrived, "%Y-%m-%d %H:%M:%S").expect("time");
            let minutes: i64 = wait.parse().expect("int");
            let want = (at + Duration::minutes(minutes)).format("%Y-%m-%d %H:%M:%S").to_string();
            assert_eq!(cleared, want, "cleared is arrival plus the wait");
        }
    }
}

#[test]
fn personal_data_is_fake() {
    let g = generated();
    let rows = g.rows("seizures", None);
    let mut checked = 0;
    for row in &rows {
        if let Some(name) = value(row, "subject_name") {
            let (given, family) = name.split_once(' ').expect("given and family name");
            assert!(
                fake::GIVEN_NAMES.contains(&given) && fake::FAMILY_NAMES.contains(&family),
                "{name}"
            );
            checked += 1;
        }
        if let Some(doc) = value(row, "subject_document") {
            assert!(doc.starts_with("FAKE-"), "{doc}");
        }
        if let Some(address) = value(row, "subject_address") {
            assert!(
                fake::STREETS.iter().any(|s| address.contains(s)) && address.contains(", ZZ 00"),
                "{address}"
            );
        }
        if let Some(phone) = value(row, "subject_phone") {
            assert!(phone.contains("-555-01"), "{phone}");
        }
        if let Some(email) = value(row, "subject_email") {
            assert!(email.ends_with("@example.invalid"), "{email}");
        }
    }
    assert!(checked > rows.len() / 2);
}

#[test]
fn follow_ups_update_and_delete() {
    let g = generated();
    // cdc: the last file marks earlier keys deleted.
    let key = |r: &Row| {
        (
            value(r, "seizure_id").unwrap_or("").to_owned(),
            value(r, "line_item").unwrap_or("").to_owned(),
        )
    };
    let initial: BTreeSet<(String, String)> =
        g.rows("seizures", Some("initial")).iter().map(key).collect();
    let deletions = g.rows("seizures", Some("deletions"));
    assert!(!deletions.is_empty());
    for row in &deletions {
        assert_eq!(value(row, "is_deleted"), Some("true"));
        assert!(initial.contains(&key(row)), "deletes a loaded key");
    }
    // incremental: updates carry a watermark above every initial one.
    let highest = g
        .rows("arrivals", Some("initial"))
        .iter()
        .filter_map(|r| value(r, "updated_at").map(str::to_owned))
        .max()
        .expect("initial rows");
    let follow = g.rows("arrivals", Some("follow-up"));
    assert!(follow.iter().all(|r| value(r, "updated_at").is_some_and(|u| u >= highest.as_str())));
    assert!(g.summary("arrivals").updates > 0);
    // snapshot: the second snapshot misses some keys of the first and has a later extract date.
    let files = &g.summary("accounts").files;
    assert_eq!(files.len(), 2);
    let first = read(&g.out(), g.source("accounts"), &files[0].path);
    let second = read(&g.out(), g.source("accounts"), &files[1].path);
    let second_keys = values(&second, "account_id");
    let missing = first
        .iter()
        .filter(|r| !second_keys.contains(value(r, "account_id").unwrap_or("")))
        .count();
    assert_eq!(missing as u64, g.summary("accounts").deletions);
    assert!(value(&second[0], "extracted_on") > value(&first[0], "extracted_on"));
    // append with a delete marker: a correction is the deletion of the row just before the
    // corrected row; then a file of deletions of earlier keys.
    let initial = values(&g.rows("activities", Some("initial")), "activity_id");
    let follow = g.rows("activities", Some("follow-up"));
    let mut corrections = 0;
    for pair in follow.windows(2) {
        if value(&pair[0], "withdrawn") == Some("true") {
            assert_eq!(value(&pair[1], "withdrawn"), Some("false"), "{pair:?}");
            assert_eq!(value(&pair[0], "activity_id"), value(&pair[1], "activity_id"));
            assert!(initial.contains(value(&pair[0], "activity_id").unwrap_or("")));
            corrections += 1;
        }
    }
    assert_eq!(corrections as u64, g.summary("activities").updates);
    assert!(corrections > 0, "some activities are corrected");
    let deleted = g.rows("activities", Some("deletions"));
    assert!(!deleted.is_empty());
    assert!(deleted.iter().all(|r| value(r, "withdrawn") == Some("true")
        && initial.contains(value(r, "activity_id").unwrap_or(""))));
}

#[test]
fn bad_rows_hold_one_bad_value_each() {
    let g = generated_with(true, &GenOptions { bad_rows: 4, ..options() });
    assert_eq!(g.report.sources.iter().map(|s| s.bad_rows).sum::<u64>(), 4);
    let mut bad = 0;
    for s in &g.report.sources {
        for row in g.rows(&s.source, None) {
            bad += row
                .values()
                .flatten()
                .filter(|v| *v == "12x" || v.starts_with("2025-02-30"))
                .count();
        }
    }
    assert_eq!(bad, 4);
    // Member lists of dimensions load whole; other snapshot lists take bad rows as new keys
    // of their last snapshot.
    assert_eq!(g.summary("ports").bad_rows, 0);
    assert_eq!(g.summary("gates").bad_rows, 0);
    let accounts = g.summary("accounts");
    assert_eq!(accounts.bad_rows, 1, "round robin by name: accounts comes first");
    {
        let last = read(&g.out(), g.source("accounts"), &accounts.files[1].path);
        let first = read(&g.out(), g.source("accounts"), &accounts.files[0].path);
        let first_keys = values(&first, "account_id");
        let malformed: Vec<_> = last
            .iter()
            .filter(|r| r.values().flatten().any(|v| *v == "12x" || v.starts_with("2025-02-30")))
            .collect();
        assert_eq!(malformed.len() as u64, accounts.bad_rows);
        assert!(malformed
            .iter()
            .all(|r| !first_keys.contains(value(r, "account_id").unwrap_or(""))));
    }
}

#[test]
fn options_out_of_range_and_a_used_directory_are_refused() {
    let (plan, profile) = compiled(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let error =
        generate(&plan, &profile, &GenOptions { scale: 0.0, ..options() }, dir.path(), &mut Quiet)
            .expect_err("scale 0");
    assert_eq!(error.code, codes::GEN_DATA_OPTIONS);
    std::fs::write(dir.path().join("left.csv"), "x").expect("write");
    let error =
        generate(&plan, &profile, &options(), dir.path(), &mut Quiet).expect_err("not empty");
    assert_eq!(error.code, codes::GEN_DATA_OUTPUT);
    assert!(error.help.is_some());
}

#[test]
fn periods_are_cut_within_the_fiscal_year_of_the_calendar() {
    let (plan, _) = compiled(false);
    let period = Period::new(&plan, &GenOptions { days: 365, ..GenOptions::default() });
    let periods = planner::periods(&period, 14);
    assert_eq!(periods.len(), 26);
    assert_eq!(
        periods[0],
        ("2025-01".to_owned(), NaiveDate::from_ymd_opt(2024, 10, 14).expect("date"))
    );
    assert!(periods.windows(2).all(|w| w[1].1 - w[0].1 == Duration::days(14)));
    let mut calendar = plan.calendar.clone();
    calendar.fiscal_year_start = crate::plan::MonthDay { month: 1, day: 1 };
    assert_eq!(
        fiscal_year_start(&calendar, 2025),
        NaiveDate::from_ymd_opt(2025, 1, 1).expect("date")
    );
}

#[test]
fn a_yaml_profile_is_checked_against_the_plan() {
    let (plan, _) = compiled(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("profile.yaml");
    std::fs::write(&path, PROFILE).expect("write");
    let profile = profile::read_yaml(&path, &plan).expect("the test profile fits");
    assert_eq!(profile.source("arrivals").and_then(|s| s.rows_per_day), Some(600.0));
    std::fs::write(&path, "sources:\n  arivals:\n    rows_per_day: 3\n  pay:\n    columns:\n      overtime_usd: {true_share: 0.5}\n")
        .expect("write");
    let error = profile::read_yaml(&path, &plan).expect_err("does not fit");
    assert_eq!(error.code, codes::GEN_DATA_PROFILE);
    assert!(error.message.contains("2 problem(s)"), "{error}");
    assert!(error.message.contains("profile.yaml:2: Unknown source `arivals`"), "{error}");
    assert!(error.message.contains("did you mean `arrivals`?"), "{error}");
    assert!(error.message.contains("profile.yaml:6: `true_share` does not apply"), "{error}");
    std::fs::write(&path, "sources: [1, 2\n").expect("write");
    let error = profile::read_yaml(&path, &plan).expect_err("not YAML");
    assert_eq!(error.code, codes::GEN_DATA_PROFILE);
}

#[test]
fn a_level_keyed_by_another_dimension_takes_that_dimension_s_members() {
    let project = r#"
source regions {
  title "Regions"
  refresh daily
  landing "regions/*.csv" as csv
  load snapshot
  key region_code
  retain forever
  columns {
    region_code string
    region_name string not null
  }
}

dimension geography {
  title "Geography"
  from regions
  level region key region_code label region_name
}

source clinics {
  title "Clinics"
  refresh daily
  landing "clinics/*.csv" as csv
  load snapshot
  key clinic_code
  retain forever
  columns {
    clinic_code string
    clinic_name string not null
    region_code string not null -> geography.region
  }
}

dimension clinic {
  title "Clinics"
  from clinics
  level region key region_code
  level clinic key clinic_code label clinic_name
  hierarchy region > clinic
}

source visits {
  title "Visits"
  refresh every 30 minutes
  landing "visits/*.csv" as csv
  load append
  key visit_id
  retain 6 years by visited_at
  columns {
    visit_id     string
    visited_at   timestamp not null
    clinic_code  string not null -> clinic.clinic
    patient_name string pii(name)
  }
}
"#;
    let fs = MemoryFs::new()
        .with("tally.yaml", "name: clinics\n")
        .with("main.tally", project)
        .with("gendata.yaml", "dimensions:\n  geography:\n    region:\n      members: [{key: N, label: North}, {key: S, label: South}]\n");
    let (checked, artifacts) = tally_compiler::compile(&fs, "", &MemoryFs::new());
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics());
    let artifacts = artifacts.expect("compiles").expect("no errors");
    let plan = Plan::from_json(&artifacts.files["plan.json"]).expect("plan");
    let profile = tally_contract::gendata::GenData::from_json(&artifacts.files["gendata.json"])
        .expect("profile")
        .profile;
    let dir = tempfile::tempdir().expect("tempdir");
    let report = generate(&plan, &profile, &options(), &dir.path().join("landing"), &mut Quiet)
        .expect("generate");
    let g = Generated { dir, plan, report };
    let clinics = g.rows("clinics", None);
    assert_eq!(values(&clinics, "region_code"), ["N", "S"].map(String::from).into());
    assert_eq!(clinics.len(), 6, "three clinics per region");
    let codes = values(&clinics, "clinic_code");
    assert!(g
        .rows("visits", None)
        .iter()
        .all(|r| codes.contains(value(r, "clinic_code").expect("clinic"))));
}
