//! The generator on a small plan of its own that has every load mode, format and column kind:
//! files read back with DuckDB and checked for determinism, unique keys, valid references,
//! required values, decimal scale, fake personal data, time order and follow-up batches.

use super::*;
use crate::backend::{Backend as _, DuckDb};
use std::collections::BTreeMap;

const PLAN: &str = r#"{
  "version": 1,
  "marts": [{"name": "borderstat"}],
  "reports": [],
  "sources": [
    {"name": "ports", "landing": {"pattern": "reference/ports/*.csv", "format": "csv",
       "csv": {"delimiter": ",", "header": true, "quote": "\"", "null": "", "skip": 0}},
     "load": {"mode": "snapshot"}, "key": ["port_code"],
     "columns": [
       {"name": "port_code", "type": "string", "nullable": false, "pii": []},
       {"name": "port_name", "type": "string", "nullable": false, "pii": []},
       {"name": "port_mode", "type": "enum", "values": ["air", "land", "sea"], "nullable": false, "pii": []},
       {"name": "field_office_code", "type": "string", "nullable": false, "pii": []},
       {"name": "field_office_name", "type": "string", "nullable": false, "pii": []}]},
    {"name": "gates", "landing": {"pattern": "reference/gates/*.csv", "format": "csv",
       "csv": {"delimiter": ",", "header": true, "quote": "\"", "null": "", "skip": 0}},
     "load": {"mode": "snapshot"}, "key": ["gate_code"],
     "columns": [
       {"name": "gate_code", "type": "string", "nullable": false, "pii": []},
       {"name": "gate_name", "type": "string", "nullable": false, "pii": []}]},
    {"name": "seizures", "landing": {"pattern": "seizures/items_*.csv", "format": "csv",
       "csv": {"delimiter": "|", "header": true, "quote": "\"", "null": "", "skip": 1}},
     "load": {"mode": "cdc", "delete_marker": "is_deleted"}, "key": ["seizure_id", "line_item"],
     "retention": {"by": "seized_at"},
     "columns": [
       {"name": "seizure_id", "type": "string", "nullable": false, "pii": []},
       {"name": "line_item", "type": "int", "nullable": false, "pii": []},
       {"name": "seized_at", "type": "timestamp", "nullable": false, "pii": []},
       {"name": "approved_at", "type": "timestamp", "nullable": true, "pii": []},
       {"name": "port_code", "type": "string", "nullable": false, "references": {"dimension": "location", "level": "port"}, "pii": []},
       {"name": "seizure_type", "type": "enum", "values": ["drug", "currency", "other"], "nullable": false, "pii": []},
       {"name": "drug_type", "type": "enum", "values": ["cocaine", "marijuana"], "nullable": true, "pii": []},
       {"name": "drug_weight_kg", "type": "decimal", "precision": 12, "scale": 3, "nullable": true, "pii": []},
       {"name": "currency_usd", "type": "decimal", "precision": 14, "scale": 2, "nullable": true, "pii": []},
       {"name": "subject_name", "type": "string", "nullable": true, "pii": ["name"]},
       {"name": "subject_document", "type": "string", "nullable": true, "pii": ["document_number"]},
       {"name": "subject_address", "type": "string", "nullable": true, "pii": ["address"]},
       {"name": "subject_phone", "type": "string", "nullable": true, "pii": ["phone"]},
       {"name": "subject_email", "type": "string", "nullable": true, "pii": ["email"]},
       {"name": "is_deleted", "type": "bool", "nullable": false, "default": false, "pii": []}]},
    {"name": "arrivals", "landing": {"pattern": "arrivals/*.jsonl", "format": "jsonl", "csv": null},
     "load": {"mode": "incremental", "column": "updated_at"}, "key": ["flight_id", "passenger_seq"],
     "retention": {"by": "arrived_at"}, "freshness": {"expected_every_minutes": 15},
     "columns": [
       {"name": "flight_id", "type": "string", "nullable": false, "pii": []},
       {"name": "passenger_seq", "type": "int", "nullable": false, "pii": []},
       {"name": "port_code", "type": "string", "nullable": false, "references": {"dimension": "location", "level": "port"}, "pii": []},
       {"name": "gate_code", "type": "string", "nullable": true, "references": {"dimension": "gate", "level": "gate"}, "pii": []},
       {"name": "arrived_at", "type": "timestamp", "nullable": false, "pii": []},
       {"name": "wait_minutes", "type": "int", "nullable": true, "pii": []},
       {"name": "cleared_at", "type": "timestamp", "nullable": true, "pii": []},
       {"name": "updated_at", "type": "timestamp", "nullable": false, "pii": []},
       {"name": "nationality", "type": "string", "nullable": true, "pii": ["nationality"]}]},
    {"name": "accounts", "landing": {"pattern": "accounts/list_*.parquet", "format": "parquet", "csv": null},
     "load": {"mode": "snapshot"}, "key": ["account_id"], "retention": {"by": "extracted_on"},
     "columns": [
       {"name": "account_id", "type": "string", "nullable": false, "pii": []},
       {"name": "extracted_on", "type": "date", "nullable": false, "pii": []},
       {"name": "account_status", "type": "enum", "values": ["active", "inactive"], "nullable": false, "pii": []},
       {"name": "validated_on", "type": "date", "nullable": true, "pii": []},
       {"name": "account_name", "type": "string", "nullable": true, "pii": ["name"]}]},
    {"name": "activities", "landing": {"pattern": "activities/act_*.csv", "format": "csv",
       "csv": {"delimiter": ",", "header": true, "quote": "\"", "null": "", "skip": 0}},
     "load": {"mode": "append"}, "key": ["activity_id"], "retention": {"by": "opened_at"},
     "columns": [
       {"name": "activity_id", "type": "string", "nullable": false, "pii": []},
       {"name": "account_id", "type": "string", "nullable": false, "pii": []},
       {"name": "opened_at", "type": "timestamp", "nullable": false, "pii": []},
       {"name": "items", "type": "int", "nullable": false, "pii": []},
       {"name": "flagged", "type": "bool", "nullable": false, "default": false, "pii": []}]}
  ]
}"#;

fn spec() -> Spec {
    serde_json::from_str::<Spec>(PLAN).expect("the test plan parses")
}

fn options() -> GenOptions {
    GenOptions { scale: 0.05, days: 40, ..GenOptions::default() }
}

fn generated(options: &GenOptions) -> (tempfile::TempDir, GenReport) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("landing");
    let report = generate(&spec(), options, &out, &mut Quiet).expect("generate");
    (dir, report)
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
fn read(out: &Path, source: &SourceSpec, file: &str) -> Vec<Row> {
    let path = out.join(file).to_string_lossy().replace('\'', "''");
    let columns: Vec<String> =
        source.columns.iter().map(|c| format!("'{}': 'VARCHAR'", c.name)).collect();
    let from = match source.landing.format.as_str() {
        "jsonl" => format!(
            "read_json('{path}', format = 'newline_delimited', columns = {{{}}})",
            columns.join(", ")
        ),
        "parquet" => format!("read_parquet('{path}')"),
        _ => {
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

fn all_rows(out: &Path, report: &GenReport, name: &str, batch: Option<&str>) -> Vec<Row> {
    let spec = spec();
    let source = spec.sources.iter().find(|s| s.name == name).expect("source").clone();
    let summary = report.sources.iter().find(|s| s.source == name).expect("summary");
    summary
        .files
        .iter()
        .filter(|f| batch.is_none_or(|b| f.batch == b))
        .flat_map(|f| read(out, &source, &f.path))
        .collect()
}

fn value<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|v| v.as_deref())
}

#[test]
fn the_same_options_give_the_same_bytes() {
    let (a, report_a) = generated(&options());
    let (b, report_b) = generated(&options());
    let files_a = contents(&a.path().join("landing"));
    assert!(files_a.len() >= 10, "{:?}", files_a.keys());
    assert_eq!(files_a, contents(&b.path().join("landing")));
    assert_eq!(report_a.to_string(), report_b.to_string());
    let (c, _) = generated(&GenOptions { seed: 7, ..options() });
    assert_ne!(files_a, contents(&c.path().join("landing")), "another seed, other data");
}

#[test]
fn files_are_named_by_the_pattern_in_load_order() {
    let (_dir, report) = generated(&options());
    let seizures = report.sources.iter().find(|s| s.source == "seizures").expect("seizures");
    let names: Vec<&str> = seizures.files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "files sort in the order they are to be loaded");
    assert!(
        names.iter().all(|n| n.starts_with("seizures/items_") && n.ends_with(".csv")),
        "{names:?}"
    );
    let batches: Vec<&str> = seizures.files.iter().map(|f| f.batch).collect();
    assert_eq!(batches.last(), Some(&"deletions"));
    assert!(batches.contains(&"follow-up"));
    assert_eq!(report.sources.iter().find(|s| s.source == "ports").map(|s| s.files.len()), Some(1));
    // Every source has rows, the period ends where the report says.
    assert!(report.sources.iter().all(|s| s.rows > 0), "{report}");
    assert_eq!(report.end, "2024-11-10 00:00");
}

#[test]
fn keys_are_unique_within_the_initial_batch_and_for_new_rows() {
    let (dir, report) = generated(&options());
    let out = dir.path().join("landing");
    for (name, key) in [
        ("seizures", vec!["seizure_id", "line_item"]),
        ("arrivals", vec!["flight_id", "passenger_seq"]),
        ("activities", vec!["activity_id"]),
    ] {
        let mut seen = BTreeSet::new();
        let rows = all_rows(&out, &report, name, Some("initial"));
        assert!(rows.len() > 10, "{name}: {}", rows.len());
        for row in &rows {
            let k: Vec<String> =
                key.iter().map(|c| value(row, c).unwrap_or("").to_owned()).collect();
            assert!(seen.insert(k.clone()), "{name}: key {k:?} twice");
        }
        // Rows of the follow-up that are not updates have new keys.
        let follow = all_rows(&out, &report, name, Some("follow-up"));
        let summary = report.sources.iter().find(|s| s.source == name).expect("summary");
        let new = follow
            .iter()
            .filter(|r| {
                !seen.contains(
                    &key.iter().map(|c| value(r, c).unwrap_or("").to_owned()).collect::<Vec<_>>(),
                )
            })
            .count() as u64;
        assert_eq!(new + summary.updates, follow.len() as u64, "{name}");
    }
    // A snapshot list: each snapshot lists a key once.
    for file in &report.sources.iter().find(|s| s.source == "accounts").expect("accounts").files {
        let spec = spec();
        let source = spec.sources.iter().find(|s| s.name == "accounts").expect("accounts");
        let rows = read(&out, source, &file.path);
        let keys: BTreeSet<&str> = rows.iter().filter_map(|r| value(r, "account_id")).collect();
        assert_eq!(keys.len(), rows.len(), "{}", file.path);
    }
}

#[test]
fn references_take_the_members_of_the_supplying_source() {
    let spec = spec();
    let suppliers = resolve_references(&spec).expect("resolve");
    let port = Reference { dimension: "location".to_owned(), level: "port".to_owned() };
    assert_eq!(
        suppliers.get(&port),
        Some(&Supplier { source: "ports".to_owned(), column: "port_code".to_owned() })
    );
    let (dir, report) = generated(&GenOptions { scale: 0.3, ..options() });
    let out = dir.path().join("landing");
    let ports: BTreeSet<String> = all_rows(&out, &report, "ports", None)
        .iter()
        .filter_map(|r| value(r, "port_code").map(str::to_owned))
        .collect();
    assert_eq!(ports.len(), profiles::PORTS.rows.len());
    let gates: BTreeSet<String> = all_rows(&out, &report, "gates", None)
        .iter()
        .filter_map(|r| value(r, "gate_code").map(str::to_owned))
        .collect();
    assert!(!gates.is_empty());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in ["seizures", "arrivals"] {
        for row in all_rows(&out, &report, name, None) {
            let code = value(&row, "port_code").expect("port_code is required");
            assert!(ports.contains(code), "{name}: port {code} is not in ports");
            if name == "seizures" {
                *counts.entry(code.to_owned()).or_default() += 1;
            }
            if let Some(gate) = value(&row, "gate_code") {
                assert!(gates.contains(gate), "{name}: gate {gate}");
            }
        }
    }
    // Skewed: the busiest port has several times the rows of the median one.
    let mut sorted: Vec<usize> = counts.values().copied().collect();
    sorted.sort_unstable();
    assert!(sorted[sorted.len() - 1] > 3 * sorted[sorted.len() / 2], "{counts:?}");
    // Links: an activity's account is an account of the accounts list.
    let accounts: BTreeSet<String> = all_rows(&out, &report, "accounts", None)
        .iter()
        .filter_map(|r| value(r, "account_id").map(str::to_owned))
        .collect();
    for row in all_rows(&out, &report, "activities", None) {
        assert!(accounts.contains(value(&row, "account_id").expect("account_id")));
    }
}

#[test]
fn an_unsupplied_reference_is_an_error_naming_it() {
    let plan = PLAN.replace(
        r#"{"name": "gate_code", "type": "string", "nullable": true, "references": {"dimension": "gate", "level": "gate"}"#,
        r#"{"name": "pier_code", "type": "string", "nullable": true, "references": {"dimension": "pier", "level": "pier"}"#,
    );
    assert_ne!(plan, PLAN);
    let spec = serde_json::from_str::<Spec>(&plan).expect("parses");
    let error = resolve_references(&spec).expect_err("no source supplies pier.pier");
    assert_eq!(error.code, codes::GEN_DATA_NO_SUPPLIER);
    assert!(
        error.message.contains("`pier.pier`") && error.message.contains("arrivals.pier_code"),
        "{error}"
    );
}

#[test]
fn required_values_decimals_and_times_follow_the_plan() {
    let (dir, report) = generated(&options());
    let out = dir.path().join("landing");
    let spec = spec();
    let period_start = "2024-10-01 00:00:00";
    let period_end = "2024-11-10 00:00:00";
    for source in &spec.sources {
        for row in all_rows(&out, &report, &source.name, None) {
            for c in &source.columns {
                let v = value(&row, &c.name);
                if !c.nullable {
                    assert!(v.is_some(), "{}.{} is required", source.name, c.name);
                }
                let Some(v) = v else { continue };
                match c.ty.as_str() {
                    "decimal" => {
                        let (p, s) = (
                            usize::from(c.precision.unwrap_or(18)),
                            usize::from(c.scale.unwrap_or(0)),
                        );
                        let (int, frac) =
                            v.trim_start_matches('-').split_once('.').unwrap_or((v, ""));
                        assert!(
                            int.len() <= p - s && frac.len() == s,
                            "{}.{}: {v}",
                            source.name,
                            c.name
                        );
                    }
                    "enum" => assert!(
                        c.values.as_ref().is_some_and(|vs| vs.iter().any(|x| x == v)),
                        "{v}"
                    ),
                    "timestamp" => assert!(
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
    for row in all_rows(&out, &report, "seizures", None) {
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
    for row in all_rows(&out, &report, "arrivals", None) {
        let arrived = value(&row, "arrived_at").expect("arrived_at");
        assert!(value(&row, "updated_at").expect("updated_at") >= arrived);
        if let Some(cleared) = value(&row, "cleared_at") {
            assert!(cleared >= arrived);
        }
    }
}

#[test]
fn personal_data_is_fake() {
    let (dir, report) = generated(&options());
    let out = dir.path().join("landing");
    let rows = all_rows(&out, &report, "seizures", None);
    let mut checked = 0;
    for row in &rows {
        if let Some(name) = value(row, "subject_name") {
            let (given, family) = name.split_once(' ').expect("given and family name");
            assert!(
                profiles::GIVEN_NAMES.contains(&given) && profiles::FAMILY_NAMES.contains(&family),
                "{name}"
            );
            checked += 1;
        }
        if let Some(doc) = value(row, "subject_document") {
            assert!(doc.starts_with("FAKE-"), "{doc}");
        }
        if let Some(address) = value(row, "subject_address") {
            assert!(
                profiles::STREETS.iter().any(|s| address.contains(s))
                    && address.contains(", ZZ 00"),
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
    let (dir, report) = generated(&options());
    let out = dir.path().join("landing");
    // cdc: the last file marks earlier keys deleted.
    let initial: BTreeSet<(String, String)> = all_rows(&out, &report, "seizures", Some("initial"))
        .iter()
        .map(|r| {
            (
                value(r, "seizure_id").unwrap_or("").to_owned(),
                value(r, "line_item").unwrap_or("").to_owned(),
            )
        })
        .collect();
    let deletions = all_rows(&out, &report, "seizures", Some("deletions"));
    assert!(!deletions.is_empty());
    for row in &deletions {
        assert_eq!(value(row, "is_deleted"), Some("true"));
        let key = (
            value(row, "seizure_id").unwrap_or("").to_owned(),
            value(row, "line_item").unwrap_or("").to_owned(),
        );
        assert!(initial.contains(&key), "deletes a loaded key");
    }
    // incremental: updates carry a watermark above every initial one.
    let highest = all_rows(&out, &report, "arrivals", Some("initial"))
        .iter()
        .filter_map(|r| value(r, "updated_at").map(str::to_owned))
        .max()
        .expect("initial rows");
    let follow = all_rows(&out, &report, "arrivals", Some("follow-up"));
    assert!(follow.iter().all(|r| value(r, "updated_at").is_some_and(|u| u >= highest.as_str())));
    assert!(report.sources.iter().find(|s| s.source == "arrivals").is_some_and(|s| s.updates > 0));
    // snapshot: the second snapshot misses some keys of the first and has a later extract date.
    let files = &report.sources.iter().find(|s| s.source == "accounts").expect("accounts").files;
    assert_eq!(files.len(), 2);
    let spec = spec();
    let source = spec.sources.iter().find(|s| s.name == "accounts").expect("accounts");
    let first = read(&out, source, &files[0].path);
    let second = read(&out, source, &files[1].path);
    let second_keys: BTreeSet<&str> =
        second.iter().filter_map(|r| value(r, "account_id")).collect();
    let missing = first
        .iter()
        .filter(|r| !second_keys.contains(value(r, "account_id").unwrap_or("")))
        .count();
    let summary = report.sources.iter().find(|s| s.source == "accounts").expect("accounts");
    assert_eq!(missing as u64, summary.deletions);
    assert!(value(&second[0], "extracted_on") > value(&first[0], "extracted_on"));
}

#[test]
fn bad_rows_hold_one_bad_value_each() {
    let (dir, report) = generated(&GenOptions { bad_rows: 4, ..options() });
    let out = dir.path().join("landing");
    assert_eq!(report.sources.iter().map(|s| s.bad_rows).sum::<u64>(), 4);
    let mut bad = 0;
    for s in &report.sources {
        for row in all_rows(&out, &report, &s.source, None) {
            bad += row
                .values()
                .flatten()
                .filter(|v| *v == "12x" || v.starts_with("2025-02-30"))
                .count();
        }
    }
    assert_eq!(bad, 4);
    assert!(report.sources.iter().filter(|s| s.mode == "snapshot").all(|s| s.bad_rows == 0));
}

#[test]
fn options_out_of_range_and_a_used_directory_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = generate(&spec(), &GenOptions { scale: 0.0, ..options() }, dir.path(), &mut Quiet)
        .expect_err("scale 0");
    assert_eq!(error.code, codes::GEN_DATA_OPTIONS);
    std::fs::write(dir.path().join("left.csv"), "x").expect("write");
    let error = generate(&spec(), &options(), dir.path(), &mut Quiet).expect_err("not empty");
    assert_eq!(error.code, codes::GEN_DATA_OUTPUT);
    assert!(error.help.is_some());
}

#[test]
fn pay_periods_are_biweekly_within_the_fiscal_year() {
    let period = Period::new(&GenOptions { days: 365, ..GenOptions::default() });
    let periods = pay_periods(&period);
    assert_eq!(periods.len(), 26);
    assert_eq!(
        periods[0],
        ("2025-01".to_owned(), NaiveDate::from_ymd_opt(2024, 10, 14).expect("date"))
    );
    assert!(periods.windows(2).all(|w| w[1].1 - w[0].1 == Duration::days(14)));
}
