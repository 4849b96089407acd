//! Tests of the semantic stage on small projects built in memory: one valid project covering
//! every kind of declaration (its model is snapshotted), and one case per rule.

use super::lineage::ColumnRole;
use super::*;
use crate::diagnostic::Diagnostic;
use crate::syntax::{self, ast};
use tally_contract::cron::CronExpr;
use tally_contract::schedule::{Form, Weekday as ContractWeekday};

/// A valid project with every kind of declaration, in the shape of EMIS-EDW.
const SAMPLE: &str = r#"/// Calendar of the agency: the federal fiscal year starts on October 1.
calendar time {
  title "CBP fiscal calendar"
  fiscal_year_start october 1
  week_start sunday
  grains quarter_hour, hour, day, week, month, quarter, year, fiscal_quarter, fiscal_year
  timezone "America/New_York"
}

retention emis_standard {
  title "EMIS-EDW records schedule"
  keep 7 years
  archive 40 years
}

retention source_system {
  follow source
}

/// Ports of entry and the field offices above them.
dimension location {
  title "Location"
  from ports
  level national
  level field_office key field_office_code label field_office_name
  level port key port_code label port_name
  hierarchy national > field_office > port
}

source ports {
  title "Ports of entry"
  refresh weekly on sunday at 02:00
  landing "reference/ports/*.csv" as csv (delimiter = "|", header = true)
  load snapshot
  key port_code
  retention source_system
  columns {
    port_code         string
    port_name         string not null
    field_office_code string
    field_office_name string
  }
}

/// Seized Currency and Asset Tracking System.
source seacats {
  title "Seized Currency and Asset Tracking System"
  owner "Office of Field Operations"
  refresh every 15 minutes
  landing "seacats/*.jsonl" as jsonl
  load cdc delete_marker is_deleted
  key (seizure_id, line_item)
  retain 6 years by seizure_date
  retention emis_standard
  columns {
    seizure_id     string
    line_item      int
    /// When the goods were seized.
    seizure_date   date not null
    seized_at      timestamp
    seizure_type   enum(drug, currency, merchandise, weapon)
    drug_weight_kg decimal(12, 3) null
    amount_usd     decimal(14, 2) default 0
    port_code      string -> location.port
    officer_name   string pii(name, employee_id)
    approved       bool not null default false
    is_deleted     bool
  }
}

source awt {
  title "Airport Wait Times"
  refresh cron "*/30 * * * 1-5"
  landing "awt/*.parquet" as parquet
  load incremental by updated_at
  key flight_id
  retain forever
  columns {
    flight_id    string
    port_code    string -> location.port
    wait_minutes int
    updated_at   timestamp
  }
}

metric total_drug_weight {
  title "Total Drug Seizures by Weight"
  unit kg
  measure sum(seacats.drug_weight_kg) where seacats.seizure_type = 'drug'
  time seacats.seizure_date
  by location.port, time.fiscal_year
  grain month
  compare previous fiscal_year to date
  format number
}

metric drug_incidents {
  measure count(distinct seacats.seizure_id) where seacats.seizure_type = 'drug'
  time seacats.seizure_date
  top 10 by location.port
}

metric weight_per_incident = total_drug_weight / drug_incidents

metric unapproved_age {
  title "Unapproved Seizures by age"
  measure count(*) where not seacats.approved
  buckets age(seacats.seized_at) [24 hours, 72 hours]
}

metric delayed_flights {
  measure count(distinct awt.flight_id)
  per awt.flight_id having share(awt.wait_minutes > 60) > 3%
  unit "flights"
  format percent
}

mart borderstat {
  title "BorderStat"
  kind dashboard
  metrics total_drug_weight, drug_incidents, weight_per_incident
  dimensions location.port, time
  grain day
  drill seacats (seizure_id, seizure_date, port_code)
}

report weekly_seizures {
  title "Weekly seizures"
  mart borderstat
  metrics total_drug_weight, drug_incidents
  by location.field_office, time.week
  grain week
}

/// What users carry.
users {
  attributes {
    port         string -> location.port
    field_office string -> location.field_office
    supervisor   string
  }
}

role port_director {
  title "Port director"
  marts borderstat
  metrics delayed_flights
  reports weekly_seizures
  scope location.port = user.port
  allow drill_down
  min_cell_size 5
}

role headquarters {
  marts borderstat
  scope national
  allow drill_down, ad_hoc
}
"#;

/// Parses each text as a file of one project (syntax errors fail the test) and analyses them.
fn analyze_files(texts: &[&str]) -> (Model, Vec<Diagnostic>) {
    let mut modules = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let id = FileId(u32::try_from(i).expect("few files"));
        let (module, diagnostics) = syntax::parse(id, text);
        assert!(diagnostics.is_empty(), "syntax errors in test input: {diagnostics:#?}");
        modules.push((id, module));
    }
    analyze(&modules)
}

/// The codes reported for `extra`, checked together with the valid sample.
fn codes_with_sample(extra: &str) -> Vec<&'static str> {
    analyze_files(&[SAMPLE, extra]).1.iter().map(|d| d.code.0).collect()
}

fn codes(text: &str) -> Vec<&'static str> {
    analyze_files(&[text]).1.iter().map(|d| d.code.0).collect()
}

/// The only diagnostic reported for `extra` (with the sample), which must have `code`.
fn only(extra: &str, code: &str) -> Diagnostic {
    let (_, diagnostics) = analyze_files(&[SAMPLE, extra]);
    assert_eq!(diagnostics.len(), 1, "expected one {code} diagnostic: {diagnostics:#?}");
    let diagnostic = diagnostics.into_iter().next().expect("one diagnostic");
    assert_eq!(diagnostic.code.0, code, "{diagnostic:#?}");
    diagnostic
}

/// A source with everything required, to add one property or column to.
fn source_with(extra_property: &str, extra_column: &str) -> String {
    format!(
        "source extra {{\n    title \"Extra\"\n    refresh daily\n    landing \"x/*.csv\" as csv\n    \
         load snapshot\n    key id\n{extra_property}\n    columns {{\n        id string\n{extra_column}\n    }}\n}}\n"
    )
}

// ---------------------------------------------------------------- the valid sample

#[test]
fn sample_is_valid() {
    let (_, diagnostics) = analyze_files(&[SAMPLE]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn sample_model() {
    let (model, _) = analyze_files(&[SAMPLE]);
    insta::assert_json_snapshot!(model);
}

#[test]
fn sample_resolves_references() {
    let (model, _) = analyze_files(&[SAMPLE]);
    let seacats = &model.sources["seacats"];
    assert_eq!(
        seacats.refresh.as_ref().map(Schedule::form),
        Some(&Form::EveryMinutes { minutes: 15 })
    );
    assert_eq!(seacats.load, Some(LoadMode::Cdc { delete_marker: "is_deleted".into() }));
    assert_eq!(seacats.columns["approved"].default, Some(ast::Literal::Bool(false)));
    assert_eq!(
        model.sources["awt"].load,
        Some(LoadMode::Incremental {
            by: "updated_at".into(),
            lookback_minutes: None,
            delete_marker: None
        })
    );
    assert_eq!(
        model.sources["ports"].refresh.as_ref().map(Schedule::form),
        Some(&Form::Weekly { weekday: ContractWeekday::Sunday, hour: 2, minute: 0 })
    );
    assert_eq!(seacats.retention.keep, Some(Keep::For(Period::Months(72))));
    assert_eq!(seacats.retention.rule.as_deref(), Some("emis_standard"));
    // Key columns are not null even when not declared so.
    assert!(!seacats.columns["seizure_id"].nullable);
    assert!(seacats.columns["seized_at"].nullable);
    let port = seacats.columns["port_code"].references.as_ref().expect("a reference");
    assert_eq!((port.dimension.as_str(), port.level.as_str()), ("location", "port"));
    assert_eq!(seacats.columns["officer_name"].pii, [PiiClass::Name, PiiClass::EmployeeId]);
    assert_eq!(
        seacats.columns["drug_weight_kg"].ty,
        Some(ColumnType::Decimal { precision: 12, scale: 3 })
    );
    assert_eq!(model.sources["awt"].retention.keep, Some(Keep::Forever));
    assert_eq!(model.dimensions["location"].from.as_deref(), Some("ports"));

    let weight = &model.metrics["total_drug_weight"];
    assert_eq!(weight.source.as_deref(), Some("seacats"));
    let measure = weight.measure.as_ref().expect("a measure");
    let read: Vec<&str> = measure.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(read, ["drug_weight_kg", "seizure_type"]);
    assert_eq!(
        weight.compare,
        Some(Compare { grain: Grain::FiscalYear, kind: CompareKind::ToDate })
    );

    let derived = &model.metrics["weight_per_incident"];
    assert!(derived.is_derived());
    assert_eq!(derived.source, None);
    let metrics: Vec<&str> =
        derived.measure.iter().flat_map(|m| &m.metrics).map(|m| m.name.as_str()).collect();
    assert_eq!(metrics, ["total_drug_weight", "drug_incidents"]);

    let director = &model.roles["port_director"];
    assert_eq!(director.min_cell_size, 5);
    assert!(matches!(
        &director.scope,
        Some(Scope::Bound { level, attribute, .. }) if level == "port" && attribute == "port"
    ));
    let attributes: Vec<&str> = model.user_attributes.keys().map(String::as_str).collect();
    assert_eq!(attributes, ["port", "field_office", "supervisor"]);
    let port = &model.user_attributes["port"];
    assert_eq!(port.ty, Some(ColumnType::String));
    assert_eq!(
        port.references.as_ref().map(|r| (r.dimension.as_str(), r.level.as_str())),
        Some(("location", "port"))
    );
    assert_eq!(model.user_attributes["supervisor"].references, None);
    assert_eq!(model.roles["headquarters"].min_cell_size, Role::DEFAULT_MIN_CELL_SIZE);
    assert_eq!(model.calendar.fiscal_year_start, MonthDay { month: Month::October, day: 1 });
}

#[test]
fn names_resolve_across_files() {
    // The same project cut in two files in the other order: names are global.
    let split = SAMPLE.find("metric total_drug_weight").expect("the sample has metrics");
    let (first, second) = SAMPLE.split_at(split);
    let (model, diagnostics) = analyze_files(&[second, first]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(model.metrics.len(), 5);
}

// ---------------------------------------------------------------- calendar

#[test]
fn without_a_calendar_time_is_implicit() {
    // The sample without its calendar (and the calendar's doc comment).
    let start = SAMPLE.find("/// Calendar").expect("calendar");
    let end = start + SAMPLE[start..].find("}\n").expect("end") + 2;
    let text = format!("{}{}", &SAMPLE[..start], &SAMPLE[end..]);
    let (model, diagnostics) = analyze_files(&[&text]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(model.calendar.name, "time");
    assert_eq!(model.calendar.span, None);
    assert_eq!(model.calendar.grains, Grain::ALL);
    assert_eq!(model.calendar.week_start, Weekday::Monday);
}

#[test]
fn a_second_calendar_is_refused() {
    only("calendar fiscal {\n    week_start monday\n}\n", "T0116");
}

#[test]
fn calendar_words_are_checked() {
    assert_eq!(codes("calendar time {\n    fiscal_year_start octobr 1\n}\n"), ["T0112"]);
    assert_eq!(codes("calendar time {\n    week_start sundy\n}\n"), ["T0112"]);
    assert_eq!(codes("calendar time {\n    fiscal_year_start feb 29\n}\n"), ["T0111"]);
    assert_eq!(codes("calendar time {\n    grains day, weak\n}\n"), ["T0113"]);
    assert_eq!(codes("calendar time {\n    grains day, day\n}\n"), ["T0202"]);
    let (model, _) =
        analyze_files(&["calendar time {\n    fiscal_year_start oct\n    week_start sun\n}\n"]);
    assert_eq!(model.calendar.fiscal_year_start, MonthDay { month: Month::October, day: 1 });
    assert_eq!(model.calendar.week_start, Weekday::Sunday);
}

#[test]
fn grains_the_calendar_leaves_out_are_unknown_levels() {
    let text = SAMPLE.replace(
        "grains quarter_hour, hour, day, week, month, quarter, year, fiscal_quarter, fiscal_year",
        "grains day, week, month, quarter, year",
    );
    let diagnostics = analyze_files(&[&text]).1;
    let found: Vec<(&str, &str)> =
        diagnostics.iter().map(|d| (d.code.0, d.primary.message.as_str())).collect();
    // `by time.fiscal_year` and `compare previous fiscal_year` in total_drug_weight.
    assert_eq!(found, [("T0205", "not among the calendar's grains"); 2]);
}

// ---------------------------------------------------------------- names

#[test]
fn duplicate_names_label_both_declarations() {
    let d = only("metric seacats = total_drug_weight\n", "T0201");
    assert_eq!(d.primary.span.file, FileId(1));
    assert_eq!(d.secondary.len(), 1);
    assert_eq!(d.secondary[0].span.file, FileId(0));
    assert!(d.secondary[0].message.contains("as a source"), "{d:#?}");
}

#[test]
fn duplicate_declarations_keep_the_first() {
    let text = "retention a {\n    keep 1 year\n}\nretention a {\n    keep 2 years\n}\n";
    let (model, diagnostics) = analyze_files(&[text]);
    assert_eq!(diagnostics.iter().map(|d| d.code.0).collect::<Vec<_>>(), ["T0201"]);
    assert_eq!(model.retention_rules["a"].keep, Some(Period::Months(12)));
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let d = only("mart m {\n    kind dashboard\n    metrics drug_incidnets\n}\n", "T0203");
    assert_eq!(d.help.as_deref(), Some("did you mean `drug_incidents`?"));
    let d = only("mart m {\n    kind dashboard\n    metrics zzz\n}\n", "T0203");
    let help = d.help.expect("help");
    assert!(help.starts_with("valid metrics: `delayed_flights`, `drug_incidents`"), "{help}");
}

#[test]
fn names_of_the_wrong_kind_are_refused() {
    let d = only("mart m {\n    kind dashboard\n    metrics seacats\n}\n", "T0207");
    assert_eq!(d.message, "`seacats` is a source, not a metric");
    assert_eq!(d.secondary.len(), 1);
    only("report r {\n    mart seacats\n    metrics drug_incidents\n}\n", "T0207");
    only("role r {\n    reports borderstat\n    scope national\n}\n", "T0207");
    only("metric m {\n    measure sum(seacats.amount_usd)\n    by total_drug_weight\n}\n", "T0207");
    only("metric m = seacats * 2\n", "T0207");
    let d = only("metric m {\n  measure count(*)\n  by seacats\n}\n", "T0207");
    assert_eq!(d.help.as_deref(), Some("cut by one of its columns, e.g. `seacats.seizure_id`"));
}

#[test]
fn unknown_columns_and_levels() {
    let d = only("metric m {\n    measure sum(seacats.amount_us)\n}\n", "T0204");
    assert_eq!(d.help.as_deref(), Some("did you mean `amount_usd`?"));
    only("metric m {\n    measure count(*)\n    time seacats.seizure_day\n}\n", "T0204");
    only("metric m {\n    measure count(*)\n    by location.prt\n}\n", "T0205");
    only("metric m {\n    measure count(*)\n    by time.fiscal_yr\n}\n", "T0205");
    only("mart m {\n    kind dashboard\n    metrics drug_incidents\n    drill seacats (seizure_idd)\n}\n", "T0204");
    only(&source_with("", "        port string -> location.prot"), "T0205");
    only(&source_with("    retain 1 year by loaded_on", ""), "T0204");
    only("dimension d {\n    from ports\n    level port key port_cod\n}\n", "T0204");
    only("dimension d {\n    level a\n    level b\n    hierarchy a > c\n}\n", "T0205");
    only("role r {\n    scope location.sector = user.port\n}\n", "T0205");
}

#[test]
fn a_bare_column_name_suggests_its_source() {
    let d = only("metric m {\n    measure sum(amount_usd) where seacats.approved\n}\n", "T0203");
    assert_eq!(
        d.help.as_deref(),
        Some("columns are written with their source: `seacats.amount_usd`")
    );
}

#[test]
fn repeated_members_are_refused() {
    only(&source_with("", "        id int"), "T0202");
    only("dimension d {\n    level a\n    level a\n}\n", "T0202");
    only("mart m {\n    kind dashboard\n    metrics drug_incidents, drug_incidents\n}\n", "T0202");
    only("metric m {\n    measure count(*)\n    by location.port, location.port\n}\n", "T0202");
    only(&source_with("", "        name string pii(name, name)"), "T0202");
    only("role r {\n    scope national\n    allow ad_hoc, ad_hoc\n}\n", "T0202");
    only(&source_with("", "        kind enum(a, b, a)"), "T0109");
}

#[test]
fn functions_are_checked() {
    let d = only("metric m = averag(seacats.amount_usd)\n", "T0206");
    assert_eq!(d.help.as_deref(), Some("did you mean `avg`?"));
}

#[test]
fn scopes_bind_declared_attributes_of_their_level() {
    let d = only("role r {\n    scope location.port = user.prot\n}\n", "T0208");
    assert_eq!(d.help.as_deref(), Some("did you mean `user.port`?"));
    assert_eq!(d.primary.message, "not declared in the `users` block");
    let d = only("role r {\n    scope location.port = user.badge\n}\n", "T0208");
    let help = d.help.unwrap_or_default();
    assert!(help.contains("`field_office`, `port`, `supervisor`"), "{help}");
    assert!(help.contains("badge string -> location.port"), "{help}");
    only("role r {\n    scope location.port = officer.port\n}\n", "T0208");
    // Another level than the scope's: both sides labelled, and the attribute's declaration.
    let d = only("role r {\n    scope location.port = user.field_office\n}\n", "T0212");
    assert_eq!(d.primary.message, "members of `location.field_office`");
    let labels: Vec<&str> = d.secondary.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(labels, ["the scope's level", "the attribute is declared to hold these"]);
    assert_eq!(d.help.as_deref(), Some("bind the scope to `user.port`"));
    // No level at all.
    let d = only("role r {\n    scope location.port = user.supervisor\n}\n", "T0212");
    assert_eq!(d.primary.message, "names no dimension level");
}

/// The sample with its `users` block replaced by `block` (which may be several blocks).
fn with_users(block: &str) -> String {
    let start = SAMPLE.find("/// What users carry.").unwrap_or(0);
    let end = SAMPLE[start..].find("\n}\n").map_or(start, |i| start + i + 3);
    format!("{}{block}{}", &SAMPLE[..start], &SAMPLE[end..])
}

fn codes_of(text: &str) -> Vec<&'static str> {
    let (_, diagnostics) = analyze_files(&[text]);
    diagnostics.iter().map(|d| d.code.0).collect()
}

#[test]
fn the_users_block_is_checked() {
    let valid = "users {\n  attributes {\n    port string -> location.port\n    field_office string -> location.field_office\n  }\n}\n";
    assert_eq!(codes_of(&with_users(valid)), Vec::<&str>::new());
    // Unknown dimension and level, with suggestions.
    let bad = "users {\n  attributes {\n    port string -> locaton.port\n    field_office string -> location.field_ofice\n  }\n}\n";
    assert_eq!(
        codes_of(&with_users(bad)),
        ["T0203", "T0205"],
        "one error each, none for the scope"
    );
    // A name of `policy_user`'s own, a repeat, a wrong type, a type that is not one.
    let bad = "users {\n  attributes {\n    port string -> location.port\n    field_office string -> location.field_office\n    created_at date\n    port string\n    grade numeric\n    office int -> location.field_office\n  }\n}\n";
    assert_eq!(codes_of(&with_users(bad)), ["T0123", "T0202", "T0101", "T0124"]);
    // Two blocks: the second is refused, and its attributes do not count.
    let two = format!("{valid}\nusers {{\n  attributes {{\n    region string\n  }}\n}}\n");
    let (model, diagnostics) = analyze_files(&[&with_users(&two)]);
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
    assert_eq!(codes, ["T0122"]);
    assert!(!model.user_attributes.contains_key("region"));
    // Without a `users` block, a bound scope has nothing to bind to.
    let d = codes_of(&with_users(""));
    assert_eq!(d, ["T0208"]);
}

// ---------------------------------------------------------------- metrics

#[test]
fn a_metric_reads_one_source() {
    let d = only(
        "metric m {\n    measure sum(seacats.amount_usd) where awt.wait_minutes > 60\n}\n",
        "T0209",
    );
    assert_eq!(d.secondary.len(), 1);
    only("metric m {\n    measure sum(seacats.amount_usd)\n    by awt.port_code\n}\n", "T0209");
}

#[test]
fn a_measure_does_not_mix_metrics_and_columns() {
    only("metric m = drug_incidents / seacats.amount_usd\n", "T0210");
    only("metric m {\n    measure drug_incidents where seacats.approved\n}\n", "T0210");
}

#[test]
fn metrics_are_not_read_outside_measures() {
    only("metric m {\n    measure count(*) where drug_incidents > 3\n}\n", "T0207");
}

#[test]
fn metric_words_are_checked() {
    only("metric m {\n    measure count(*)\n    format percentage\n}\n", "T0113");
    only("metric m {\n    measure count(*)\n    grain fortnight\n}\n", "T0113");
    only("metric m {\n    measure count(*)\n    compare previous yeer to date\n}\n", "T0113");
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    top 0 by location.port\n}\n",
        "T0111",
    );
    only("metric m = count(*) + 99999999999999999999\n", "T0111");
}

// ---------------------------------------------------------------- required properties

#[test]
fn missing_properties_name_the_declaration() {
    let d = only("metric m {\n    title \"No measure\"\n}\n", "T0107");
    assert_eq!(d.primary.message, "missing `measure`");
    assert_eq!(d.help.as_deref(), Some("add a line such as `measure count(*)`"));
    let source = "source s {\n    title \"S\"\n    columns {\n        id string\n    }\n}\n";
    assert_eq!(codes(source), ["T0107"; 4]);
    assert_eq!(codes("dimension d {\n    title \"D\"\n}\n"), ["T0107"]);
    assert_eq!(codes("mart m {\n    title \"M\"\n}\n"), ["T0107", "T0107"]);
    assert_eq!(codes("report r {\n    title \"R\"\n}\n"), ["T0107"]);
    assert_eq!(codes("role r {\n    title \"R\"\n}\n"), ["T0107"]);
    assert_eq!(codes("retention r {\n    title \"R\"\n}\n"), ["T0107"]);
    assert_eq!(codes("dimension d {\n    level port key port_code\n}\n"), ["T0107"]);
}

// ---------------------------------------------------------------- sources

#[test]
fn column_types_are_checked() {
    let d = only(&source_with("", "        name strng"), "T0101");
    assert_eq!(d.help.as_deref(), Some("did you mean `string`?"));
    let d = only(&source_with("", "        name varchar"), "T0101");
    assert_eq!(d.help.as_deref(), Some("did you mean `string`?"));
    only(&source_with("", "        amount decimal(40, 2)"), "T0108");
    only(&source_with("", "        amount decimal(4, 5)"), "T0108");
    only(&source_with("", "        amount decimal(4)"), "T0108");
    only(&source_with("", "        amount decimal"), "T0108");
    only(&source_with("", "        amount int(4)"), "T0108");
    only(&source_with("", "        kind enum"), "T0109");
    only(&source_with("", "        kind enum(a, 3)"), "T0108");
}

#[test]
fn schedules_are_checked_and_normalized() {
    let refresh = |schedule: &str| {
        let text = source_with("", "").replace("refresh daily", &format!("refresh {schedule}"));
        let (model, diagnostics) = analyze_files(&[&text]);
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
        (model.sources["extra"].refresh.as_ref().map(|s| s.form().clone()), codes)
    };
    let cron = |text: &str| Form::Cron { expr: CronExpr::parse(text).expect("a cron expression") };
    assert_eq!(refresh("every 20 minutes"), (Some(Form::EveryMinutes { minutes: 20 }), vec![]));
    assert_eq!(refresh("every 6 hours"), (Some(Form::EveryHours { hours: 6 }), vec![]));
    assert_eq!(refresh("hourly"), (Some(Form::EveryHours { hours: 1 }), vec![]));
    assert_eq!(refresh("daily"), (Some(Form::Daily { hour: 0, minute: 0 }), vec![]));
    assert_eq!(refresh("daily at 06:30"), (Some(Form::Daily { hour: 6, minute: 30 }), vec![]));
    assert_eq!(
        refresh("weekly on mon"),
        (Some(Form::Weekly { weekday: ContractWeekday::Monday, hour: 0, minute: 0 }), vec![])
    );
    assert_eq!(refresh("cron \"0  2 * * 0\""), (Some(cron("0 2 * * 0")), vec![]));
    assert_eq!(refresh("cron \"*/15 6-18 * * mon-fri\"").1, Vec::<&str>::new());
    // `?` reads as `*`, and the schedule has a freshness like any other.
    assert_eq!(refresh("cron \"0 5 ? * *\""), (Some(cron("0 5 ? * *")), vec![]));
    assert_eq!(refresh("cron \"0 5 31 2 *\""), (None, vec!["T0119"]));
    assert_eq!(refresh("cron \"0 0 30 2 *\""), (None, vec!["T0119"]));
    assert_eq!(refresh("cron \"0 0 L * *\""), (None, vec!["T0103"]));
    assert_eq!(refresh("every 7 minutes"), (None, vec!["T0102"]));
    assert_eq!(refresh("every 0 minutes"), (None, vec!["T0102"]));
    assert_eq!(refresh("every 5 hours"), (None, vec!["T0102"]));
    assert_eq!(refresh("every 24 hours"), (None, vec!["T0102"]));
    assert_eq!(refresh("every 2 days"), (None, vec!["T0102"]));
    assert_eq!(refresh("every 5 mins"), (None, vec!["T0110"]));
    assert_eq!(refresh("daily at 24:00"), (None, vec!["T0102"]));
    assert_eq!(refresh("daily at 23:60"), (None, vec!["T0102"]));
    assert_eq!(refresh("weekly on sundy at 02:00"), (None, vec!["T0112"]));
    assert_eq!(refresh("cron \"*/15 * * *\""), (None, vec!["T0103"]));
    assert_eq!(refresh("cron \"61 * * * *\""), (None, vec!["T0103"]));
    assert_eq!(refresh("cron \"0 2 * * 8\""), (None, vec!["T0103"]));
}

#[test]
fn cron_errors_point_at_the_field() {
    let text = source_with("", "").replace("refresh daily", "refresh cron \"30  25 * * 0\"");
    let d = analyze_files(&[&text]).1.into_iter().next().expect("a diagnostic");
    assert_eq!(d.code.0, "T0103");
    assert_eq!(&text[d.primary.span.range()], "25");
    assert_eq!(d.primary.message, "`25` is out of range: hours run from 0 to 23");
    let text = source_with("", "").replace("refresh daily", "refresh cron \"0 2 * * 1-9\"");
    let d = analyze_files(&[&text]).1.into_iter().next().expect("a diagnostic");
    assert_eq!(&text[d.primary.span.range()], "1-9");
}

#[test]
fn a_cron_that_never_fires_is_labelled_on_its_day_and_month() {
    let text = source_with("", "").replace("refresh daily", "refresh cron \"0 5  31 2 *\"");
    let d = analyze_files(&[&text]).1.into_iter().next().expect("a diagnostic");
    assert_eq!(d.code.0, "T0119");
    assert_eq!(d.message, "Cron schedule `0 5 31 2 *` never fires");
    assert_eq!(&text[d.primary.span.range()], "31 2");
    assert_eq!(d.primary.message, "no day 31 in February");
}

#[test]
fn every_schedule_has_a_freshness() {
    let text = source_with("", "").replace("refresh daily", "refresh cron \"0 5 ? * *\"");
    let (model, diagnostics) = analyze_files(&[&text]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let schedule = model.sources["extra"].refresh.as_ref().expect("a schedule");
    assert_eq!(schedule.freshness().expected_every_minutes, 24 * 60);
    assert_eq!(schedule.freshness().late_after_minutes, 2 * 24 * 60);
}

#[test]
fn landing_is_checked() {
    let landing = |landing: &str| {
        let text = source_with("", "").replace("landing \"x/*.csv\" as csv", landing);
        let (model, diagnostics) = analyze_files(&[&text]);
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
        (model.sources["extra"].landing.clone(), codes)
    };
    let (parsed, found) =
        landing("landing \"x/*.csv\" as csv (delimiter = \";\", skip = 2, header = false)");
    assert_eq!(found, Vec::<&str>::new());
    let csv = parsed.and_then(|l| l.csv).expect("csv options");
    assert_eq!((csv.delimiter, csv.skip, csv.header), (';', 2, false));
    assert_eq!(landing("landing \"x/*\" as xls").1, ["T0104"]);
    let (parsed, found) = landing("landing \"x/*.xlsx\" as xlsx (sheet = \"Claims\", skip = 2)");
    assert_eq!(found, Vec::<&str>::new());
    let xlsx = parsed.and_then(|l| l.xlsx).expect("xlsx options");
    assert_eq!((xlsx.sheet.as_deref(), xlsx.skip), (Some("Claims"), 2));
    assert_eq!(landing("landing \"x/*\" as xlsx (delimiter = \";\")").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as xlsx (sheet = \"\")").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as xlsx (sheet = 2)").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as parquet (header = true)").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as csv (delimeter = \";\")").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as csv (header = \"yes\")").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as csv (delimiter = \";;\")").1, ["T0113"]);
    assert_eq!(landing("landing \"x/*\" as csv (skip = 1, skip = 2)").1, ["T0202"]);
}

#[test]
fn pii_classes_are_checked() {
    let d = only(&source_with("", "        dob date pii(birthdate)"), "T0105");
    assert_eq!(d.help.as_deref(), Some("did you mean `birth_date`?"));
}

#[test]
fn load_columns_exist_and_a_delete_marker_is_a_bool() {
    let load = |mode: &str, column: &str| {
        let text = source_with("", column).replace("load snapshot", mode);
        let (model, diagnostics) = analyze_files(&[&text]);
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
        (model.sources["extra"].load.clone(), codes)
    };
    let cdc = "load cdc delete_marker deleted";
    let cdc_mode = LoadMode::Cdc { delete_marker: "deleted".into() };
    assert_eq!(load(cdc, "        deleted bool"), (Some(cdc_mode), vec![]));
    assert_eq!(load(cdc, "        deleted string"), (None, vec!["T0115"]));
    assert_eq!(load(cdc, ""), (None, vec!["T0204"]));
    let incremental = "load incremental by changed_at";
    let incremental_mode = LoadMode::Incremental {
        by: "changed_at".into(),
        lookback_minutes: None,
        delete_marker: None,
    };
    assert_eq!(load(incremental, "        changed_at timestamp"), (Some(incremental_mode), vec![]));
    assert_eq!(load(incremental, ""), (None, vec!["T0204"]));
    let lookback = "load incremental by changed_at lookback 2 days";
    let lookback_mode = LoadMode::Incremental {
        by: "changed_at".into(),
        lookback_minutes: Some(2 * 24 * 60),
        delete_marker: None,
    };
    assert_eq!(load(lookback, "        changed_at timestamp"), (Some(lookback_mode), vec![]));
    let hours = "load incremental by changed_on lookback 36 hours";
    let hours_mode = LoadMode::Incremental {
        by: "changed_on".into(),
        lookback_minutes: Some(36 * 60),
        delete_marker: None,
    };
    assert_eq!(load(hours, "        changed_on date"), (Some(hours_mode), vec![]));
    assert_eq!(load(lookback, "        changed_at int"), (None, vec!["T0125"]));
    let months = "load incremental by changed_at lookback 1 month";
    assert_eq!(load(months, "        changed_at timestamp"), (None, vec!["T0125"]));
    let zero = "load incremental by changed_at lookback 0 days";
    assert_eq!(load(zero, "        changed_at timestamp"), (None, vec!["T0111"]));
}

#[test]
fn defaults_are_kept_and_checked() {
    let (model, diagnostics) = analyze_files(&[&source_with("", "        n int default 3")]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(model.sources["extra"].columns["n"].default, Some(ast::Literal::Int("3".into())));
    only(&source_with("", "        n int default 99999999999999999999"), "T0111");
}

#[test]
fn retention_is_checked() {
    only(&source_with("    retain 0 years", ""), "T0111");
    only(&source_with("    retain 36 hours", ""), "T0110");
    only(&source_with("    retain 3 decades", ""), "T0110");
    only(&source_with("    retention emis_standrd", ""), "T0203");
    assert_eq!(codes("retention r {\n    keep 7 years\n    archive 1 year\n}\n"), ["T0114"]);
    assert_eq!(
        codes("retention r {\n    keep 7 years\n    archive 84 months\n}\n"),
        Vec::<&str>::new()
    );
    assert_eq!(codes("retention r {\n    archive 1 year\n}\n"), ["T0107", "T0114"]);
    assert_eq!(
        codes("retention r {\n    follow source\n    keep 7 years\n    archive 40 years\n}\n"),
        Vec::<&str>::new()
    );
    assert_eq!(codes("retention r {\n    keep 0 days\n}\n"), ["T0111"]);
}

#[test]
fn role_words_are_checked() {
    only("role r {\n    scope national\n    allow drilldown\n}\n", "T0113");
    only("role r {\n    scope national\n    min_cell_size 0\n}\n", "T0111");
}

#[test]
fn mart_kind_is_checked() {
    let d = only("mart m {\n    kind dashbord\n    metrics drug_incidents\n}\n", "T0113");
    assert_eq!(d.help.as_deref(), Some("did you mean `dashboard`?"));
}

// ---------------------------------------------------------------- collecting

#[test]
fn independent_errors_are_all_reported() {
    let text = format!(
        "{}\nmetric m {{\n    measure sum(seacats.amount_usd)\n}}\nmart x {{\n    kind dashboard\n    metrics drug_incidents, totl\n}}\n",
        source_with("", "        a strng\n        b string pii(nam)")
    );
    assert_eq!(codes_with_sample(&text), ["T0101", "T0105", "T0203"]);
}

// ---------------------------------------------------------------- types

/// The type of `metric m { measure <measure> }` checked with the sample, which must be valid.
fn value_type(measure: &str) -> Option<String> {
    // The `time` column names the source that `count(*)` counts.
    let metric = format!("metric m {{\n    measure {measure}\n    time seacats.seizure_date\n}}\n");
    let (model, diagnostics) = analyze_files(&[SAMPLE, &metric]);
    assert!(diagnostics.is_empty(), "{measure}: {diagnostics:#?}");
    model.metrics["m"].value_type.as_ref().map(ToString::to_string)
}

/// `metric m { measure count(*) where <filter> }` with the sample: the codes reported.
fn filter_codes(filter: &str) -> Vec<&'static str> {
    codes_with_sample(&format!("metric m {{\n    measure count(*) where {filter}\n}}\n"))
}

#[test]
fn metrics_have_value_types() {
    assert_eq!(value_type("count(*)").as_deref(), Some("int"));
    assert_eq!(value_type("count(distinct seacats.seizure_id)").as_deref(), Some("int"));
    assert_eq!(value_type("sum(seacats.line_item)").as_deref(), Some("int"));
    assert_eq!(value_type("sum(seacats.drug_weight_kg)").as_deref(), Some("decimal(38, 3)"));
    assert_eq!(value_type("avg(seacats.line_item)").as_deref(), Some("decimal"));
    // `/` divides exactly.
    assert_eq!(value_type("count(*) / count(*)").as_deref(), Some("decimal"));
    assert_eq!(value_type("count(*) * 2 - 1").as_deref(), Some("int"));
    assert_eq!(value_type("sum(seacats.amount_usd) / count(*)").as_deref(), Some("decimal"));
    assert_eq!(value_type("max(seacats.seized_at)").as_deref(), Some("timestamp"));
    assert_eq!(value_type("min(seacats.seizure_date)").as_deref(), Some("date"));
    assert_eq!(value_type("avg(now() - seacats.seized_at)").as_deref(), Some("duration"));
    assert_eq!(value_type("max(age(seacats.seizure_date))").as_deref(), Some("duration"));
    assert_eq!(value_type("share(seacats.approved)").as_deref(), Some("decimal"));
    assert_eq!(value_type("round(avg(seacats.line_item), 1)").as_deref(), Some("decimal"));
    assert_eq!(
        value_type("sum(coalesce(seacats.amount_usd, 0))").as_deref(),
        Some("decimal(38, 2)")
    );
    let (model, _) = analyze_files(&[SAMPLE]);
    let ty = |name: &str| model.metrics[name].value_type.as_ref().map(ToString::to_string);
    assert_eq!(ty("weight_per_incident").as_deref(), Some("decimal"));
    assert_eq!(ty("delayed_flights").as_deref(), Some("int"));
}

#[test]
fn conditions_type_check() {
    let none: Vec<&str> = Vec::new();
    assert_eq!(filter_codes("seacats.seizure_type = 'drug' and not seacats.approved"), none);
    assert_eq!(filter_codes("seacats.seizure_type in ('drug', 'weapon')"), none);
    assert_eq!(filter_codes("age(seacats.seized_at) > 72 hours"), none);
    assert_eq!(filter_codes("now() - seacats.seized_at < 3 days"), none);
    assert_eq!(filter_codes("seacats.seizure_date < seacats.seized_at + 1 day"), none);
    assert_eq!(filter_codes("seacats.amount_usd between 10 and 20.5"), none);
    assert_eq!(filter_codes("seacats.line_item > 3% and seacats.port_code like 'J%'"), none);
    assert_eq!(filter_codes("coalesce(seacats.seizure_type, 'drug') = 'drug'"), none);
    assert_eq!(filter_codes("seacats.seized_at is null or seacats.amount_usd = null"), none);
    assert_eq!(filter_codes("seacats.seizure_type = 3"), ["T0301"]);
    assert_eq!(filter_codes("age(seacats.seized_at) > 72"), ["T0301"]);
    assert_eq!(filter_codes("seacats.seizure_date > 'yesterday'"), ["T0301"]);
    assert_eq!(filter_codes("seacats.line_item + 1 day > 3"), ["T0301"]);
    assert_eq!(filter_codes("seacats.seizure_type = 'drugs'"), ["T0302"]);
    assert_eq!(filter_codes("seacats.seizure_type not in ('drug', 'cash')"), ["T0302"]);
    assert_eq!(filter_codes("coalesce(seacats.seizure_type, 'drugz') = 'drug'"), ["T0302"]);
    assert_eq!(filter_codes("seacats.approved < true"), ["T0303"]);
    assert_eq!(filter_codes("seacats.seizure_type < 'drug'"), ["T0303"]);
    assert_eq!(filter_codes("seacats.amount_usd like '1%'"), ["T0303"]);
    assert_eq!(filter_codes("seacats.amount_usd and seacats.approved"), ["T0303"]);
    assert_eq!(filter_codes("-seacats.port_code = 'x'"), ["T0303"]);
    assert_eq!(filter_codes("age(seacats.line_item) > 1 day"), ["T0303"]);
    assert_eq!(filter_codes("seacats.amount_usd"), ["T0304"]);
}

#[test]
fn type_errors_name_both_types() {
    let d = only("metric m {\n    measure count(*) where seacats.seizure_type = 3\n}\n", "T0301");
    assert_eq!(d.message, "Cannot compare `enum(drug, currency, merchandise, weapon)` with `int`");
    assert_eq!(d.primary.message, "this is `int`");
    assert_eq!(d.secondary[0].message, "this is `enum(drug, currency, merchandise, weapon)`");
    let d =
        only("metric m {\n    measure count(*) where seacats.seizure_type = 'drugs'\n}\n", "T0302");
    assert_eq!(d.message, "Column `seacats.seizure_type` has no value `drugs`");
    assert_eq!(d.help.as_deref(), Some("did you mean `'drug'`?"));
    assert_eq!(d.notes, ["valid values: `drug`, `currency`, `merchandise`, `weapon`"]);
    let d = only("metric m {\n    measure sum(seacats.amount_usd) + 1 day\n}\n", "T0301");
    assert_eq!(d.message, "Cannot add `duration` to `decimal(38, 2)`");
}

#[test]
fn nothing_is_reported_twice_about_what_did_not_resolve() {
    only("metric m {\n    measure count(*) where seacats.nope = 3\n}\n", "T0204");
    only("metric m {\n    measure sum(seacats.nope) + 1 day\n}\n", "T0204");
    only("metric m {\n    measure averag(seacats.amount_usd) where seacats.approved\n}\n", "T0206");
    only("metric m = drug_incidents / seacats.amount_usd\n", "T0210");
}

#[test]
fn measures_aggregate() {
    only("metric m {\n    measure seacats.amount_usd\n}\n", "T0307");
    only("metric m {\n    measure count(*) + seacats.line_item\n}\n", "T0307");
    let d = only("metric m = 2\n", "T0307");
    assert_eq!(d.message, "Measure of metric `m` aggregates nothing");
    only(
        "metric m {\n    measure count(*)\n    per awt.flight_id having awt.wait_minutes > 60\n}\n",
        "T0307",
    );
    only("metric m {\n    measure sum(count(seacats.line_item))\n}\n", "T0306");
    let d = only("metric m = sum(total_drug_weight)\n", "T0306");
    assert_eq!(d.message, "Metric `total_drug_weight` inside aggregate `sum`");
    only("metric m {\n    measure count(*) where count(seacats.line_item) > 3\n}\n", "T0308");
    only("metric m {\n    measure count(*)\n    buckets sum(awt.wait_minutes) [10]\n}\n", "T0308");
    only("metric m {\n    measure count(*)\n    per awt.flight_id having count(*)\n}\n", "T0304");
}

#[test]
fn a_metric_names_its_source() {
    let d = only("metric m {\n    measure count(*)\n}\n", "T0211");
    assert_eq!(d.message, "Metric `m` names no source");
    // Any column names it: in the measure, the filter or `time`.
    for named in [
        "count(seacats.line_item)",
        "count(*) where seacats.approved",
        "count(*)\n    time seacats.seizure_date",
    ] {
        assert!(
            codes_with_sample(&format!("metric m {{\n    measure {named}\n}}\n")).is_empty(),
            "{named}"
        );
    }
    // An unknown column is the mistake, not the missing source; a constant is T0307.
    only("metric m {\n    measure count(*)\n    time nowhere.at\n}\n", "T0203");
    only("metric m = 2\n", "T0307");
}

#[test]
fn calls_have_the_right_arguments() {
    only("metric m {\n    measure count()\n}\n", "T0305");
    only("metric m {\n    measure sum(distinct seacats.amount_usd)\n}\n", "T0305");
    only("metric m {\n    measure max(*)\n}\n", "T0305");
    only("metric m {\n    measure count(*) where now(1) > seacats.seized_at\n}\n", "T0305");
    only("metric m {\n    measure sum(coalesce(seacats.amount_usd))\n}\n", "T0305");
    only("metric m {\n    measure sum(seacats.port_code)\n}\n", "T0303");
    only("metric m {\n    measure avg(seacats.approved)\n}\n", "T0303");
    only("metric m {\n    measure min(seacats.seizure_type)\n}\n", "T0303");
    only("metric m {\n    measure share(seacats.amount_usd)\n}\n", "T0303");
    only("metric m {\n    measure sum(round(seacats.amount_usd, 'two'))\n}\n", "T0303");
    only("metric m {\n    measure sum(coalesce(seacats.amount_usd, 'none'))\n}\n", "T0301");
}

#[test]
fn buckets_and_time_are_checked() {
    let buckets = |b: &str| {
        codes_with_sample(&format!("metric m {{\n    measure count(*)\n    buckets {b}\n}}\n"))
    };
    let none: Vec<&str> = Vec::new();
    assert_eq!(buckets("awt.wait_minutes [15, 30, 45.5]"), none);
    assert_eq!(buckets("age(seacats.seized_at) [1 day, 1 week, 1 month, 5 weeks, 1 year]"), none);
    assert_eq!(buckets("awt.wait_minutes [15, 15]"), ["T0309"]);
    assert_eq!(buckets("awt.wait_minutes [30, 15, 10]"), ["T0309"]);
    // A month is 28 to 31 days: not certainly after 30 days.
    assert_eq!(buckets("age(seacats.seized_at) [30 days, 1 month]"), ["T0309"]);
    assert_eq!(buckets("age(seacats.seized_at) [24, 72]"), ["T0309", "T0309"]);
    assert_eq!(buckets("awt.wait_minutes [1 hour]"), ["T0309"]);
    assert_eq!(buckets("seacats.port_code [1]"), ["T0309"]);
    only("metric m {\n    measure count(*)\n    time seacats.line_item\n}\n", "T0310");
    let d = only("metric m {\n    measure count(*)\n    time awt.wait_minutes\n}\n", "T0310");
    assert_eq!(
        d.help.as_deref(),
        Some("use a date or timestamp column of `awt`, e.g. `awt.updated_at`")
    );
}

#[test]
fn units_are_carried_through_derived_metrics() {
    let extra = "metric seizures {\n    measure count(*) where seacats.approved\n    unit seizures\n}\n\
                 metric waited {\n    measure sum(awt.wait_minutes)\n    unit minutes\n}\n\
                 metric wait_per_seizure = waited / seizures\n\
                 metric doubled = wait_per_seizure * 2\n\
                 metric twice = seizures + seizures\n\
                 metric ratio = seizures / seizures\n\
                 metric per_seizure = 1 / seizures\n\
                 metric named {\n    measure waited / seizures\n    unit \"minutes per seizure\"\n}\n";
    let (model, diagnostics) = analyze_files(&[SAMPLE, extra]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let unit = |name: &str| model.metrics[name].unit.clone();
    assert_eq!(unit("wait_per_seizure").as_deref(), Some("minutes per seizures"));
    assert_eq!(unit("doubled").as_deref(), Some("minutes per seizures"));
    assert_eq!(unit("twice").as_deref(), Some("seizures"));
    assert_eq!(unit("ratio"), None);
    assert_eq!(unit("per_seizure").as_deref(), Some("per seizures"));
    assert_eq!(unit("named").as_deref(), Some("minutes per seizure"));
    assert_eq!(unit("weight_per_incident").as_deref(), Some("kg"));
    let ty = model.metrics["doubled"].value_type.as_ref().map(ToString::to_string);
    assert_eq!(ty.as_deref(), Some("decimal"));
}

#[test]
fn a_cycle_of_derived_metrics_is_not_typed() {
    // The cycle itself is the graph stage's to report; typing must simply end.
    let text = "metric a = b + 1\nmetric b = c * 2\nmetric c = a / b\n";
    let (model, diagnostics) = analyze_files(&[text]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert!(model.metrics.values().all(|m| m.value_type.is_none()));
    assert!(lineage(&model, "a").is_some_and(|l| l.metrics == ["a", "b", "c"]));
}

#[test]
fn a_long_chain_of_derived_metrics_does_not_recurse() {
    const LENGTH: usize = 20_000;
    let mut text = SAMPLE.to_string();
    text.push_str("metric m0 = drug_incidents\n");
    for i in 1..LENGTH {
        text.push_str(&format!("metric m{i} = m{} + 1\n", i - 1));
    }
    let (model, diagnostics) = analyze_files(&[&text]);
    assert!(diagnostics.is_empty(), "{:#?}", &diagnostics[..diagnostics.len().min(3)]);
    let last = &model.metrics[&format!("m{}", LENGTH - 1)];
    assert_eq!(last.value_type, Some(Type::Int));
    let lineage = lineage(&model, &last.meta.name).expect("a metric");
    assert_eq!(lineage.metrics.len(), LENGTH + 1);
}

// ---------------------------------------------------------------- personal data

#[test]
fn pii_may_only_be_counted() {
    let metric = |body: &str| codes_with_sample(&format!("metric m {{\n{body}\n}}\n"));
    let none: Vec<&str> = Vec::new();
    assert_eq!(metric("    measure count(distinct seacats.officer_name)"), none);
    assert_eq!(metric("    measure count(seacats.officer_name)"), none);
    assert_eq!(metric("    measure count(*)\n    per seacats.seizure_id having count(distinct seacats.officer_name) > 1"), none);
    assert_eq!(metric("    measure count(*)\n    by seacats.officer_name"), ["T0501"]);
    assert_eq!(metric("    measure count(*)\n    top 3 by seacats.officer_name"), ["T0501"]);
    assert_eq!(metric("    measure count(*) where seacats.officer_name = 'Smith'"), ["T0502"]);
    assert_eq!(
        metric("    measure count(*) where lower(seacats.officer_name) like 's%'"),
        ["T0502"]
    );
    assert_eq!(metric("    measure count(*) where seacats.officer_name is null"), ["T0502"]);
    assert_eq!(
        metric("    measure count(*)\n    per seacats.officer_name having count(*) > 1"),
        ["T0502"]
    );
    assert_eq!(
        metric("    measure count(*)\n    per seacats.seizure_id having share(seacats.officer_name = 'x') > 0"),
        ["T0502"]
    );
    assert_eq!(metric("    measure max(seacats.officer_name)"), ["T0503"]);
    assert_eq!(metric("    measure share(seacats.officer_name = 'x')"), ["T0502"]);
    assert_eq!(metric("    measure count(lower(seacats.officer_name))"), ["T0503"]);
    let mart = "mart m {\n    kind dashboard\n    metrics drug_incidents\n    dimensions seacats.officer_name\n    drill seacats (seizure_id, officer_name)\n}\n";
    assert_eq!(codes_with_sample(mart), ["T0501", "T0504"]);
    let report = "report r {\n    mart borderstat\n    metrics drug_incidents\n    by seacats.officer_name\n}\n";
    assert_eq!(codes_with_sample(report), ["T0501"]);
}

#[test]
fn pii_diagnostics_name_the_column_its_classes_and_the_path() {
    let d = only("metric m {\n    measure count(*)\n    by seacats.officer_name\n}\n", "T0501");
    assert_eq!(
        d.message,
        "`seacats.officer_name` (pii: name, employee_id) is grouped by in metric `m` via `by`"
    );
    assert_eq!(d.secondary[0].message, "declared `pii(name, employee_id)` here");
    let d = only(
        "metric m {\n    measure sum(seacats.amount_usd) where seacats.officer_name = 'x'\n}\n",
        "T0502",
    );
    assert!(d.message.ends_with("is filtered on in metric `m` via `where`"), "{}", d.message);
}

#[test]
fn demographic_attributes_may_be_grouped_and_filtered() {
    let source = source_with("", "        citizenship string pii(nationality)\n        sex string pii(gender)\n        at timestamp");
    let metrics = "metric top_nationalities {\n    measure count(*)\n    time extra.at\n    top 10 by extra.citizenship\n}\n\
                   metric mexican {\n    measure count(*) where extra.citizenship = 'MX'\n    by extra.sex\n}\n\
                   metric nationalities {\n    measure count(distinct extra.citizenship)\n}\n\
                   metric share_mexican {\n    measure share(extra.citizenship = 'MX')\n}\n";
    let (_, diagnostics) = analyze_files(&[&source, metrics]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let output = "metric m {\n    measure max(extra.citizenship)\n}\n";
    let drill = "mart d {\n    kind dashboard\n    metrics m\n    drill extra (id, sex)\n}\n";
    let codes: Vec<&str> =
        analyze_files(&[&source, output, drill]).1.iter().map(|d| d.code.0).collect();
    assert_eq!(codes, ["T0503", "T0504"]);
}

#[test]
fn dimensions_are_not_built_on_pii() {
    let source = source_with(
        "",
        "        officer string pii(employee_id) -> officers.officer\n        citizenship string pii(nationality) -> countries.country",
    );
    let dimensions = "dimension officers {\n    from extra\n    level officer key officer\n}\n\
                      dimension countries {\n    from extra\n    level country key citizenship\n}\n";
    let codes: Vec<&str> =
        analyze_files(&[&source, dimensions]).1.iter().map(|d| d.code.0).collect();
    assert_eq!(codes, ["T0501", "T0501"]);
}

// ---------------------------------------------------------------- lineage

#[test]
fn lineage_of_a_derived_metric() {
    let (model, _) = analyze_files(&[SAMPLE]);
    let lineage = lineage(&model, "weight_per_incident").expect("a metric");
    assert_eq!(lineage.metrics, ["drug_incidents", "total_drug_weight", "weight_per_incident"]);
    insta::assert_snapshot!("lineage_of_a_derived_metric_text", lineage.to_text());
    insta::assert_json_snapshot!("lineage_of_a_derived_metric_json", lineage);
    assert!(super::lineage(&model, "nope").is_none());
}

#[test]
fn lineage_shows_the_pii_involved() {
    let extra = "metric officers {\n    measure count(distinct seacats.officer_name) where seacats.approved\n    time seacats.seized_at\n}\n";
    let (model, diagnostics) = analyze_files(&[SAMPLE, extra]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let lineage = lineage(&model, "officers").expect("a metric");
    assert_eq!(lineage.pii, [PiiClass::Name, PiiClass::EmployeeId]);
    let officer = lineage.columns.iter().find(|c| c.column == "officer_name").expect("read");
    assert_eq!(officer.roles, [ColumnRole::Counted]);
    insta::assert_snapshot!(lineage.to_text());
}

#[test]
fn a_comparison_says_which_span_it_means() {
    let d = only(
        "metric m {\n    measure count(seacats.seizure_id)\n    compare previous fiscal_year\n}\n",
        "T0311",
    );
    let help = d.help.unwrap_or_default();
    assert!(help.contains("compare previous fiscal_year to date"), "{help}");
    assert!(help.contains("compare whole previous fiscal_year"), "{help}");
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    compare whole previous month to date\n}\n",
        "T0311",
    );
    let (model, diagnostics) = analyze_files(&[
        SAMPLE,
        "metric m {\n    measure count(seacats.seizure_id)\n    compare whole previous month\n}\n",
    ]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(
        model.metrics["m"].compare,
        Some(Compare { grain: Grain::Month, kind: CompareKind::Whole })
    );
}

#[test]
fn calendar_days_are_counted_per_cell_of_a_derived_metric() {
    let (model, diagnostics) =
        analyze_files(&[SAMPLE, "metric per_day = total_drug_weight / calendar_days()\n"]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert!(model.metrics["per_day"].is_derived());
    assert_eq!(model.metrics["per_day"].unit.as_deref(), Some("kg per day"));
    only("metric m = sum(seacats.drug_weight_kg) / calendar_days()\n", "T0312");
    only("metric m = calendar_days()\n", "T0312");
    only(
        "metric m {\n    measure count(seacats.seizure_id) where calendar_days() > 3\n}\n",
        "T0312",
    );
    only("metric m = total_drug_weight / calendar_days(7)\n", "T0305");
    only(
        "metric m = total_drug_weight / calendar_days()\n\
         mart timeless {\n    kind dashboard\n    metrics m\n    dimensions location.port\n}\n",
        "T0312",
    );
}

#[test]
fn windows_are_checked() {
    let (model, diagnostics) = analyze_files(&[
        SAMPLE,
        "metric ytd {\n    measure sum(seacats.drug_weight_kg)\n    time seacats.seizure_date\n    \
         window to date fiscal_year\n}\n\
         metric last_4_weeks {\n    measure sum(seacats.drug_weight_kg)\n    time seacats.seizure_date\n    \
         window last 4 weeks\n}\n",
    ]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(model.metrics["ytd"].window, Some(Window::ToDate(Grain::FiscalYear)));
    assert_eq!(model.metrics["last_4_weeks"].window, Some(Window::Last(Period::Days(28))));
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    window to date hour\n}\n",
        "T0313",
    );
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    window last 3 hours\n}\n",
        "T0313",
    );
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    window last 11 years\n}\n",
        "T0313",
    );
    only("metric m {\n    measure count(seacats.seizure_id)\n    window last 7 days\n}\n", "T0313");
    only("metric m {\n    measure total_drug_weight\n    window last 7 days\n}\n", "T0313");
    only(
        "metric m {\n    measure count(seacats.seizure_id)\n    window to date fortnight\n}\n",
        "T0113",
    );
}
