//! `tally query` (`tally_runtime::query`) on both engines, over the query fixture
//! (`tests/fixtures/query/project`, data from `query_fixture`): grants, scopes injected from
//! the user's row, suppression, drill-down, ad hoc SQL, personal data refused on every path,
//! sources named, and every query and refusal audited.

mod query_fixture;
mod support;

use query_fixture::{ask, Warehouse, PEOPLE};
use support::Engine;
use tally_runtime::error::codes;
use tally_runtime::query::{output, suppress::Status, Answer, Out, What};
use tally_runtime::value::Value;

const SEED: u64 = 7;

fn column(answer: &Answer, name: &str) -> Vec<Out> {
    let i = answer.columns.iter().position(|c| c == name).unwrap_or_else(|| {
        panic!("no column {name} in {:?}", answer.columns);
    });
    answer.rows.iter().map(|r| r.cells[i].clone()).collect()
}

fn text(value: &str) -> Out {
    Out::Value(Value::Text(value.to_string()))
}

fn users(w: &mut Warehouse) {
    w.user("hq", &["hq_analyst"], &[]);
    w.user("fo1", &["field_office_director"], &[("field_office", "F1")]);
    w.user("pd21", &["port_director"], &[("port", "P21")]);
    w.user("chief1", &["sector_chief"], &[("sector", "S1")]);
    w.user("analyst", &["ad_hoc_analyst"], &[]);
    w.user("foa2", &["field_office_analyst"], &[("field_office", "F2")]);
    w.user("tsa", &["component_user"], &[]);
}

fn warehouse(engine: &Engine) -> Warehouse {
    let mut w = Warehouse::new(engine, SEED);
    users(&mut w);
    w
}

fn refused(w: &mut Warehouse, request: &tally_runtime::query::Request) -> tally_runtime::Error {
    match w.query(request) {
        Ok(answer) => panic!("expected a refusal, got:\n{}", output::table(&answer)),
        Err(e) => e,
    }
}

fn a_field_office_users_total_is_their_field_office(engine: &Engine) {
    let mut w = warehouse(engine);
    let mut request = ask("fo1", What::Metric("seizure_lines".into()));
    request.totals = false;
    let answer = w.query(&request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.role, "field_office_director");
    assert_eq!(answer.columns, ["metric", "period_start", "partial", "field_office", "value"]);
    assert_eq!(answer.rows.len(), 3, "three months:\n{}", output::table(&answer));
    assert!(column(&answer, "field_office").iter().all(|c| *c == text("F1")));
    assert!(answer.rows.iter().all(|r| r.levels.as_deref() == Some("field_office")));
    // The same numbers as the mart's field office rows, never the national ones.
    let expected = w.rows(
        "SELECT CAST(CAST(value AS BIGINT) AS TEXT) FROM mart_borderstat \
         WHERE metric = 'seizure_lines' AND grain = 'month' AND levels = 'field_office' \
         AND field_office = 'F1' ORDER BY period_start",
    );
    let shown: Vec<String> = column(&answer, "value")
        .iter()
        .map(|c| match c {
            Out::Value(v) => v.to_string(),
            other => panic!("F1 totals are large: {other:?}"),
        })
        .collect();
    assert_eq!(shown, expected);
    // With totals, the field office user still gets no national row.
    let answer = w.metric("fo1", "seizure_lines", &["location.port"]);
    assert!(answer.rows.iter().all(|r| r.levels.as_deref() != Some("")));
    assert!(column(&answer, "field_office").iter().all(|c| *c == text("F1")));
}

fn scoped_users_see_only_their_scope(engine: &Engine) {
    let mut w = warehouse(engine);
    let answer = w.metric("pd21", "seizure_lines", &["location.port", "time.month"]);
    assert!(!answer.rows.is_empty());
    assert!(
        column(&answer, "port").iter().all(|c| *c == text("P21")),
        "{}",
        output::table(&answer)
    );
    // Asked for field offices, a port director gets their port (the scope's level is added).
    let answer = w.metric("pd21", "seizure_incidents", &["location.field_office"]);
    assert!(column(&answer, "port").iter().all(|c| *c == text("P21")));
    let answer = w.metric("chief1", "apprehension_count", &["usbp.station"]);
    assert!(column(&answer, "sector").iter().all(|c| *c == text("S1")));
    let stations: std::collections::BTreeSet<String> = column(&answer, "station")
        .iter()
        .filter_map(|c| match c {
            Out::Value(v) => Some(v.to_string()),
            _ => None,
        })
        .collect();
    assert!(stations.iter().all(|s| ["T11", "T12", "T13"].contains(&s.as_str())), "{stations:?}");
    // A table that does not keep the scope's level shows a scoped role nothing.
    let error = refused(&mut w, &ask("pd21", What::Metric("currency_lines".into())));
    assert_eq!(error.code, codes::NOT_GRANTED, "{error}");
    // An aggregate table that keeps the field office serves a field office scope.
    let answer = w.metric("fo1", "currency_lines", &[]);
    assert_eq!(answer.table.as_deref(), Some("agg_currency_lines"));
    assert!(!answer.rows.is_empty());
    assert!(column(&answer, "field_office").iter().all(|c| *c == text("F1")));
}

fn totals_come_with_the_rows_and_small_cells_are_suppressed(engine: &Engine) {
    let mut w = warehouse(engine);
    let answer = w.metric("hq", "seizure_lines", &["location.port"]);
    let levels: std::collections::BTreeSet<String> =
        answer.rows.iter().filter_map(|r| r.levels.clone()).collect();
    assert_eq!(
        levels.into_iter().collect::<Vec<_>>(),
        ["", "field_office", "field_office,port"],
        "the national total, field office subtotals and ports"
    );
    // P14 is rare: suppressed as small in every month, never shown as 0.
    let ports = column(&answer, "port");
    let values = column(&answer, "value");
    let mut p14 = 0;
    for (port, value) in ports.iter().zip(&values) {
        if *port == text("P14") {
            p14 += 1;
            assert_eq!(*value, Out::Suppressed);
        }
        assert_ne!(*value, Out::Value(Value::Decimal("0".into())));
    }
    assert!(p14 > 0, "{}", output::table(&answer));
    assert!(answer.suppressed(Status::Primary) > 0);
    // With F1's total shown, a month that hides P14 hides a second cell of F1: P14 cannot
    // be worked out as F1 minus the other ports.
    let periods: Vec<String> =
        column(&answer, "period_start").iter().map(|c| format!("{c:?}")).collect();
    let offices = column(&answer, "field_office");
    for period in periods.iter().collect::<std::collections::BTreeSet<_>>() {
        let hidden = answer
            .rows
            .iter()
            .zip(periods.iter().zip(&offices))
            .filter(|(r, (p, o))| {
                *p == period && **o == text("F1") && r.status.is_some_and(Status::hidden)
            })
            .count();
        // None hidden (a month without P14's few seizures), or at least two.
        assert!(hidden != 1, "F1 in {period:?}:\n{}", output::table(&answer));
    }
    // The same cells are hidden without the totals.
    let mut request = ask("hq", What::Metric("seizure_lines".into()));
    request.by = vec!["location.port".into()];
    request.totals = false;
    let bare = w.query(&request).unwrap_or_else(|e| panic!("{e}"));
    let hidden = |a: &Answer| -> Vec<String> {
        a.rows
            .iter()
            .filter(|r| {
                r.status.is_some_and(Status::hidden)
                    && r.levels.as_deref() == Some("field_office,port")
            })
            .map(|r| format!("{:?}", r.cells))
            .collect()
    };
    assert_eq!(hidden(&bare), hidden(&answer));
}

fn grants_decide_and_refusals_say_what_would_allow_it(engine: &Engine) {
    let mut w = warehouse(engine);
    let error = refused(&mut w, &ask("chief1", What::Metric("seizure_lines".into())));
    assert_eq!(error.code, codes::NOT_GRANTED);
    let help = error.help.clone().unwrap_or_default();
    assert!(help.contains("mart borderstat"), "{help}");
    assert!(help.contains("hq_analyst"), "{help}");
    // The component user reads the report's metric, not the mart's others.
    assert!(w.query(&ask("tsa", What::Metric("seizure_lines".into()))).is_ok());
    let error = refused(&mut w, &ask("tsa", What::Metric("drug_weight".into())));
    assert_eq!(error.code, codes::NOT_GRANTED);
    let error = refused(&mut w, &ask("hq", What::Metric("no_such_metric".into())));
    assert_eq!(error.code, codes::NO_SUCH_METRIC);
    assert!(error.help.unwrap_or_default().contains("seizure_lines"));
}

fn unknown_dimensions_list_the_valid_ones(engine: &Engine) {
    let mut w = warehouse(engine);
    let mut request = ask("hq", What::Metric("seizure_lines".into()));
    request.by = vec!["location.region".into()];
    let error = refused(&mut w, &request);
    assert_eq!(error.code, codes::NOT_A_DIMENSION);
    let help = error.help.unwrap_or_default();
    for valid in ["location.port", "location.field_office", "seizures.kind", "time.month"] {
        assert!(help.contains(valid), "{help}");
    }
    request.by = vec!["seizures.kind".into(), "time.year".into()];
    let answer = w.query(&request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.grain.as_deref(), Some("year"));
    assert!(answer.columns.contains(&"kind".to_string()));
    request.by.clear();
    request.grain = Some("week".into());
    assert_eq!(refused(&mut w, &request).code, codes::GRAIN_NOT_KEPT);
}

fn a_search_for_a_person_is_refused_on_every_path(engine: &Engine) {
    let mut w = warehouse(engine);
    let name = PEOPLE[0].0;
    let mut request = ask("hq", What::Metric("seizure_lines".into()));
    request.by = vec!["seizures.subject_name".into()];
    assert_eq!(refused(&mut w, &request).code, codes::PERSONAL_DATA);
    request.by.clear();
    request.filters = vec![("seizures.subject_name".into(), name.into())];
    assert_eq!(refused(&mut w, &request).code, codes::PERSONAL_DATA);
    let mut drill = ask("hq", What::Drill("seizure_lines".into()));
    drill.filters = vec![("seizures.subject_name".into(), name.into())];
    assert_eq!(refused(&mut w, &drill).code, codes::PERSONAL_DATA);
    drill.filters = vec![("subject_name".into(), name.into())];
    assert!(matches!(refused(&mut w, &drill).code, codes::PERSONAL_DATA | codes::NOT_A_DIMENSION));
    for sql in [
        "SELECT subject_name FROM mart_borderstat".to_string(),
        format!("SELECT * FROM mart_borderstat WHERE subject_name = '{name}'"),
        format!("SELECT * FROM mart_borderstat WHERE port_name = '{name}'"),
        "SELECT * FROM mart_borderstat WHERE lower(full_name) LIKE '%quintanilla%'".to_string(),
        format!("SELECT * FROM cur_seizures WHERE subject_name = '{name}'"),
        format!("SELECT count(*) FROM mart_borderstat WHERE port IN ('P11', '{name}') AND station_name = 'x'"),
    ] {
        let error = refused(&mut w, &ask("analyst", What::Sql(sql.clone())));
        assert!(matches!(error.code, codes::PERSONAL_DATA | codes::AD_HOC_TABLE_NOT_GRANTED | codes::AD_HOC_PERSON_SEARCH), "{sql}: {error}");
    }
    // Drill-down rows carry no personal data at all.
    let answer =
        w.query(&ask("hq", What::Drill("seizure_lines".into()))).unwrap_or_else(|e| panic!("{e}"));
    assert!(!answer.rows.is_empty());
    let shown = output::json(&answer);
    for (person, dob) in PEOPLE {
        assert!(!shown.contains(person) && !shown.contains(dob), "{person} in drill-down");
    }
    assert!(!answer.columns.iter().any(|c| c.starts_with("subject_")), "{:?}", answer.columns);
}

fn drill_down_needs_the_privilege_and_stays_in_scope(engine: &Engine) {
    let mut w = warehouse(engine);
    let error = refused(&mut w, &ask("pd21", What::Drill("seizure_lines".into())));
    assert_eq!(error.code, codes::DRILL_NOT_ALLOWED);
    let error = refused(&mut w, &ask("hq", What::Drill("kg_per_incident".into())));
    assert_eq!(error.code, codes::NOTHING_TO_DRILL);
    let mut request = ask("fo1", What::Drill("drug_weight".into()));
    request.from = Some(query_fixture::time("2024-02-01"));
    request.to = Some(query_fixture::time("2024-03-01"));
    let answer = w.query(&request).unwrap_or_else(|e| panic!("{e}"));
    assert!(!answer.rows.is_empty());
    // Exactly the columns the mart's `drill` declares, in its order: the level columns that
    // place a row (`port`, `field_office`) restrict the rows but are not shown.
    assert_eq!(answer.columns, ["seizure_id", "line_item", "seized_on", "port_code", "kind"]);
    assert_eq!(answer.mart.as_deref(), Some("borderstat"));
    let f1: Vec<Out> =
        query_fixture::PORTS.iter().filter(|(_, f)| *f == "F1").map(|(p, _)| text(p)).collect();
    assert!(column(&answer, "port_code").iter().all(|c| f1.contains(c)));
    assert!(
        column(&answer, "kind").iter().all(|c| *c == text("drug")),
        "the metric's where applies"
    );
    for c in column(&answer, "seized_on") {
        let Out::Value(v) = c else { panic!("a date") };
        assert!(v.to_string().starts_with("2024-02"), "{v}");
    }
    // Counted against the warehouse: every F1 drug line of February.
    let expected = w.rows(
        "SELECT count(*) FROM cur_seizures s JOIN cur_ports p ON p.port_code = s.port_code \
         WHERE p.field_office = 'F1' AND s.kind = 'drug' \
         AND s.seized_on >= DATE '2024-02-01' AND s.seized_on < DATE '2024-03-01'",
    );
    assert_eq!(vec![answer.rows.len().to_string()], expected);
    request.filters = vec![("location.port".into(), "P21".into())];
    let answer = w.query(&request).unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.rows.is_empty(), "P21 is not in F1");
}

fn ad_hoc_sql_is_checked_rewritten_and_scoped(engine: &Engine) {
    let mut w = warehouse(engine);
    let error =
        refused(&mut w, &ask("hq", What::Sql("SELECT count(*) FROM mart_borderstat".into())));
    assert_eq!(error.code, codes::AD_HOC_NOT_ALLOWED);
    for (sql, code) in [
        ("SELECT * FROM cur_seizures", codes::AD_HOC_TABLE_NOT_GRANTED),
        ("SELECT * FROM stg_seizures", codes::AD_HOC_TABLE_NOT_GRANTED),
        ("SELECT * FROM policy_user", codes::AD_HOC_TABLE_NOT_GRANTED),
        ("SELECT * FROM audit_log", codes::AD_HOC_TABLE_NOT_GRANTED),
        ("SELECT * FROM mart_enforcement", codes::AD_HOC_TABLE_NOT_GRANTED),
        ("SELECT * FROM read_csv('/etc/passwd')", codes::AD_HOC_FUNCTION_NOT_ALLOWED),
        ("SELECT pg_read_file('/etc/passwd')", codes::AD_HOC_FUNCTION_NOT_ALLOWED),
        ("SELECT current_setting('data_directory')", codes::AD_HOC_FUNCTION_NOT_ALLOWED),
        ("DELETE FROM mart_borderstat", codes::AD_HOC_NOT_A_SELECT),
        ("DROP TABLE mart_borderstat", codes::AD_HOC_NOT_A_SELECT),
        ("SELECT 1; SELECT 2", codes::AD_HOC_NOT_A_SELECT),
        ("WITH x AS (SELECT * FROM cur_seizures) SELECT * FROM x", codes::AD_HOC_NOT_A_SELECT),
        ("SELEKT 1", codes::AD_HOC_UNPARSABLE),
        ("SELECT 1", codes::AD_HOC_TABLE_NOT_GRANTED),
    ] {
        let error = refused(&mut w, &ask("analyst", What::Sql(sql.into())));
        assert_eq!(error.code, code, "{sql}: {error}");
    }
    let answer = w
        .query(&ask(
            "analyst",
            What::Sql(
                "SELECT metric, count(*) AS cells FROM mart_borderstat GROUP BY metric ORDER BY metric"
                    .into(),
            ),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.rows.len(), 4, "{}", output::table(&answer));
    assert!(answer.sources.iter().any(|s| s.contains("SEACATS")));
    // Small cells read as NULL: nothing below the threshold comes through.
    let answer = w
        .query(&ask(
            "analyst",
            What::Sql("SELECT min(cell_rows) AS smallest, count(*) FILTER (WHERE value IS NULL AND suppressed) AS hidden FROM mart_borderstat b".into()),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let smallest = answer.rows[0].cells[0].clone();
    match smallest {
        Out::Value(v) => assert!(v.as_i64().unwrap_or(0) >= 11, "{v}"),
        other => panic!("{other:?}"),
    }
    // A scoped analyst's tables hold their field office only.
    let answer = w
        .query(&ask(
            "foa2",
            What::Sql("SELECT DISTINCT field_office FROM mart_borderstat AS m".into()),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let offices: Vec<String> = answer.rows.iter().map(|r| format!("{:?}", r.cells[0])).collect();
    assert_eq!(offices, [format!("{:?}", text("F2"))]);
    let answer = w
        .query(&ask(
            "foa2",
            What::Sql(
                "SELECT count(*) FROM (SELECT * FROM mart_borderstat WHERE levels = '') t".into(),
            ),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        format!("{:?}", answer.rows[0].cells[0]),
        format!("{:?}", Out::Value(Value::Int(0)))
    );
}

fn reports_run_as_the_user_and_name_their_sources(engine: &Engine) {
    let mut w = warehouse(engine);
    let answer = w
        .query(&ask("tsa", What::Report("seizures_by_port".into())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.kind, "report");
    assert!(answer.columns.contains(&"port".to_string()));
    assert_eq!(answer.sources, ["Seizure system (SEACATS)"]);
    let table = output::table(&answer);
    assert!(table.contains("sources: Seizure system (SEACATS)"), "{table}");
    let csv = output::csv(&answer);
    assert!(csv.lines().any(|l| l == "# sources: Seizure system (SEACATS)"), "{csv}");
    let answer = w
        .query(&ask("pd21", What::Report("seizures_by_port".into())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(column(&answer, "port").iter().all(|c| *c == text("P21")));
    let error = refused(&mut w, &ask("chief1", What::Report("seizures_by_port".into())));
    assert_eq!(error.code, codes::NOT_GRANTED);
}

fn queries_and_refusals_are_audited_and_use_counts(engine: &Engine) {
    let mut w = warehouse(engine);
    w.metric("fo1", "seizure_lines", &["location.port"]);
    let _ = w.query(&ask("fo1", What::Metric("apprehension_count".into())));
    w.user_active_at("idle", &["hq_analyst"], &[], "2023-12-01 00:00");
    let error = refused(&mut w, &ask("idle", What::Metric("seizure_lines".into())));
    assert_eq!(error.code, codes::ACCOUNT_LAPSED, "{error}");
    let audited = w.audited();
    assert_eq!(audited.len(), 3, "{audited:#?}");
    assert_eq!(
        (audited[0].0.as_str(), audited[0].1.as_str(), audited[0].2.as_str()),
        ("fo1", "seizure_lines", "ok")
    );
    assert!(audited[0].3.contains("location.port"), "{}", audited[0].3);
    assert_eq!((audited[1].1.as_str(), audited[1].2.as_str()), ("apprehension_count", "refused"));
    assert!(audited[1].3.contains(codes::NOT_GRANTED.as_str()), "{}", audited[1].3);
    assert_eq!((audited[2].0.as_str(), audited[2].2.as_str()), ("idle", "refused"));
    let active = w.rows("SELECT last_active_at FROM policy_user WHERE user_id = 'fo1'");
    assert_eq!(active, ["2024-04-01 06:00:00"]);
    let idle = w.rows("SELECT last_active_at FROM policy_user WHERE user_id = 'idle'");
    assert_eq!(idle, ["2023-12-01 00:00:00"], "a refusal is not use");
}

on_both_engines!(
    a_field_office_users_total_is_their_field_office,
    scoped_users_see_only_their_scope,
    totals_come_with_the_rows_and_small_cells_are_suppressed,
    grants_decide_and_refusals_say_what_would_allow_it,
    unknown_dimensions_list_the_valid_ones,
    a_search_for_a_person_is_refused_on_every_path,
    drill_down_needs_the_privilege_and_stays_in_scope,
    ad_hoc_sql_is_checked_rewritten_and_scoped,
    reports_run_as_the_user_and_name_their_sources,
    queries_and_refusals_are_audited_and_use_counts,
);
