//! The property test of `tally query`, on both engines: random users (every role of the query
//! fixture, with random field offices, ports and sectors) ask random questions (every metric,
//! random `--by` dimensions, grains, filters, with and without totals; drill-downs; ad hoc
//! SQL) over random data (a seeded generator), and every answer must hold:
//!
//! 1. **no row outside the scope**: a scoped user's every row is cut by the scope's level and
//!    its member is the user's;
//! 2. **no personal data**: no name or birth date of the fixture's people appears anywhere;
//! 3. **no small cell shown**: every shown value's cell has at least the role's
//!    `min_cell_size` rows (checked against the warehouse table itself), and a count is at
//!    least that;
//! 4. **no suppressed cell recoverable**: from the totals in the same answer. The check is
//!    independent of the algorithm in `query::suppress`: it takes every pair of rows where one
//!    is cut by a subset of the other's columns as a total (`parent = Σ children`), and asks,
//!    in floating point, whether removing a hidden cell's column lowers the rank of the system
//!    over the hidden cells (exactly when the system determines that cell).
//!
//! Refusals are allowed (a metric a role does not reach) but must be refusals (`R04..`), and
//! enough questions must be answered for the test to mean something.

mod query_fixture;
mod support;

use query_fixture::{Rng, Warehouse, PEOPLE, PORTS, STATIONS};
use std::collections::{BTreeMap, BTreeSet};
use support::Engine;
use tally_runtime::error::codes;
use tally_runtime::query::{output, Answer, Out, Request, What};
use tally_runtime::value::Value;

/// A generated user: roles, and for a scoped role the scope column and value.
#[derive(Debug, Clone)]
struct User {
    id: String,
    role: &'static str,
    scope: Option<(&'static str, String)>,
    min_cell_size: i64,
}

fn users(rng: &mut Rng) -> Vec<User> {
    let office = |rng: &mut Rng| rng.pick(&["F1", "F2", "F3"]).to_string();
    let mut out = Vec::new();
    for i in 0..2 {
        out.push(User { id: format!("hq{i}"), role: "hq_analyst", scope: None, min_cell_size: 11 });
        out.push(User {
            id: format!("fo{i}"),
            role: "field_office_director",
            scope: Some(("field_office", office(rng))),
            min_cell_size: 11,
        });
        out.push(User {
            id: format!("pd{i}"),
            role: "port_director",
            scope: Some(("port", rng.pick(PORTS).0.to_string())),
            min_cell_size: 5,
        });
        out.push(User {
            id: format!("chief{i}"),
            role: "sector_chief",
            scope: Some(("sector", rng.pick(&["S1", "S2"]).to_string())),
            min_cell_size: 11,
        });
        out.push(User {
            id: format!("foa{i}"),
            role: "field_office_analyst",
            scope: Some(("field_office", office(rng))),
            min_cell_size: 11,
        });
    }
    out.push(User { id: "analyst".into(), role: "ad_hoc_analyst", scope: None, min_cell_size: 11 });
    out.push(User { id: "tsa".into(), role: "component_user", scope: None, min_cell_size: 11 });
    out
}

fn cell_text(cell: &Out) -> Option<String> {
    match cell {
        Out::Value(Value::Null) | Out::All | Out::Suppressed => None,
        Out::Value(v) => Some(v.to_string()),
    }
}

/// Every stored cell: (table, metric, grain, period, levels, members of its levels) →
/// (cell_rows, value).
type Truth = BTreeMap<(String, String, String, String, String, Vec<String>), (i64, Option<f64>)>;

fn truth(w: &mut Warehouse) -> Truth {
    let mut out = Truth::new();
    let tables: Vec<(String, Vec<String>)> = w
        .catalog
        .tables()
        .map(|t| (t.table.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
        .collect();
    for (table, columns) in tables {
        let sql = format!(
            "SELECT metric, grain, period_start, levels, cell_rows, value{} FROM {table}",
            columns.iter().map(|c| format!(", {c}")).collect::<String>()
        );
        let rows = w.db.query(&sql).unwrap_or_else(|e| panic!("{e}"));
        for r in rows.rows {
            let levels = r[3].to_string();
            let members: Vec<String> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| levels.split(',').any(|l| l == *c))
                .map(|(i, _)| r[6 + i].to_string())
                .collect();
            let value = r[5].as_str().and_then(|v| v.parse::<f64>().ok());
            out.insert(
                (
                    table.clone(),
                    r[0].to_string(),
                    r[1].to_string(),
                    r[2].to_string(),
                    levels,
                    members,
                ),
                (r[4].as_i64().unwrap_or(0), value),
            );
        }
    }
    out
}

/// Rank of `rows` (floating point elimination with partial pivoting).
fn rank(mut rows: Vec<Vec<f64>>) -> usize {
    let width = rows.first().map_or(0, Vec::len);
    let mut rank = 0;
    for col in 0..width {
        let Some(pivot) = (rank..rows.len())
            .max_by(|&a, &b| rows[a][col].abs().total_cmp(&rows[b][col].abs()))
            .filter(|&r| rows[r][col].abs() > 1e-9)
        else {
            continue;
        };
        rows.swap(rank, pivot);
        let pivot_row = rows[rank].clone();
        for (r, row) in rows.iter_mut().enumerate() {
            if r != rank {
                let factor = row[col] / pivot_row[col];
                if factor != 0.0 {
                    for (v, p) in row.iter_mut().zip(&pivot_row) {
                        *v -= factor * p;
                    }
                }
            }
        }
        rank += 1;
    }
    rank
}

/// The hidden rows of `answer` that its totals determine.
fn recoverable(answer: &Answer) -> Vec<usize> {
    let dims: Vec<usize> = answer
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !matches!(c.as_str(), "metric" | "period_start" | "bucket" | "member" | "value")
        })
        .map(|(i, _)| i)
        .collect();
    let value = answer.columns.len() - 1;
    let group = |r: usize| -> Vec<String> {
        answer
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.as_str(), "metric" | "period_start" | "bucket" | "member"))
            .map(|(i, _)| format!("{:?}", answer.rows[r].cells[i]))
            .collect()
    };
    let levels = |r: usize| -> BTreeSet<String> {
        answer.rows[r]
            .levels
            .clone()
            .unwrap_or_default()
            .split(',')
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    };
    let unknown = |r: usize| !matches!(&answer.rows[r].cells[value], Out::Value(v) if !v.is_null());
    let n = answer.rows.len();
    let columns: Vec<usize> = (0..n).filter(|&r| unknown(r)).collect();
    let index: BTreeMap<usize, usize> = columns.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    let mut system = Vec::new();
    for p in 0..n {
        let lp = levels(p);
        let mut by_set: BTreeMap<BTreeSet<String>, Vec<usize>> = BTreeMap::new();
        for c in 0..n {
            let lc = levels(c);
            if group(c) != group(p) || lc.len() <= lp.len() || !lp.is_subset(&lc) {
                continue;
            }
            let agrees = dims.iter().all(|&d| {
                let name = &answer.columns[d];
                !lp.contains(name) || answer.rows[c].cells[d] == answer.rows[p].cells[d]
            });
            if agrees {
                by_set.entry(lc).or_default().push(c);
            }
        }
        for children in by_set.values() {
            let mut row = vec![0.0; columns.len()];
            let mut any = false;
            if let Some(&i) = index.get(&p) {
                row[i] += 1.0;
                any = true;
            }
            for c in children {
                if let Some(&i) = index.get(c) {
                    row[i] -= 1.0;
                    any = true;
                }
            }
            if any {
                system.push(row);
            }
        }
    }
    let full = rank(system.clone());
    columns
        .iter()
        .enumerate()
        .filter(|(_, &r)| answer.rows[r].status.is_some_and(|s| s.hidden()))
        .filter(|(i, _)| {
            let without: Vec<Vec<f64>> = system
                .iter()
                .map(|row| {
                    row.iter().enumerate().filter(|(j, _)| j != i).map(|(_, v)| *v).collect()
                })
                .collect();
            rank(without) < full
        })
        .map(|(_, &r)| r)
        .collect()
}

fn check_answer(w: &Warehouse, truth: &Truth, user: &User, answer: &Answer, asked: &str) {
    let shown = output::json(answer);
    for (person, dob) in PEOPLE {
        assert!(
            !shown.contains(person) && !shown.contains(dob),
            "{asked}: personal data in\n{shown}"
        );
    }
    if let (Some((column, value)), "drill") = (&user.scope, answer.kind) {
        // Drill-down rows show the mart's declared columns only; a seizure's port places it.
        let port = answer.columns.iter().position(|c| c == "port_code");
        let i = port.unwrap_or_else(|| panic!("{asked}: no port_code in {:?}", answer.columns));
        for row in &answer.rows {
            let shown = cell_text(&row.cells[i]).unwrap_or_default();
            let inside = PORTS.iter().any(|(p, f)| {
                *p == shown
                    && ((*column == "port" && p == value)
                        || (*column == "field_office" && f == value))
            });
            assert!(inside, "{asked}: row of {shown} outside scope\n{}", output::table(answer));
        }
    } else if let Some((column, value)) = &user.scope {
        let position = answer.columns.iter().position(|c| c == column);
        if answer.kind != "sql" || position.is_some() {
            let i = position.unwrap_or_else(|| {
                panic!("{asked}: no scope column {column} in {:?}", answer.columns)
            });
            for row in &answer.rows {
                assert_eq!(
                    cell_text(&row.cells[i]).as_deref(),
                    Some(value.as_str()),
                    "{asked}: outside scope\n{}",
                    output::table(answer)
                );
                if let Some(levels) = &row.levels {
                    assert!(
                        levels.split(',').any(|l| l == *column),
                        "{asked}: row not cut by {column}"
                    );
                }
            }
        }
    }
    if answer.kind == "metric" || answer.kind == "report" {
        assert_eq!(answer.min_cell_size, Some(user.min_cell_size), "{asked}");
        let table = answer.table.clone().unwrap_or_default();
        let grain = answer.grain.clone().map_or("NULL".to_string(), |g| g);
        let counts: BTreeSet<&str> =
            w.catalog.metrics.iter().filter(|m| m.counts).map(|m| m.name.as_str()).collect();
        let value = answer.columns.len() - 1;
        for row in &answer.rows {
            if row.status.is_some_and(|s| s.hidden()) {
                assert_eq!(row.cells[value], Out::Suppressed, "{asked}");
                continue;
            }
            let metric = cell_text(&row.cells[0]).unwrap_or_default();
            let period = answer
                .columns
                .iter()
                .position(|c| c == "period_start")
                .map_or("NULL".to_string(), |i| cell_text(&row.cells[i]).unwrap_or_default());
            let levels = row.levels.clone().unwrap_or_default();
            let members: Vec<String> = answer
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| levels.split(',').any(|l| l == c.as_str()))
                .map(|(i, _)| cell_text(&row.cells[i]).unwrap_or_else(|| "NULL".into()))
                .collect();
            let key = (table.clone(), metric.clone(), grain.clone(), period, levels, members);
            let (rows, stored) =
                truth.get(&key).unwrap_or_else(|| panic!("{asked}: no stored cell {key:?}"));
            assert!(*rows >= user.min_cell_size, "{asked}: shown cell {key:?} has {rows} rows");
            if counts.contains(metric.as_str()) {
                assert!(
                    stored.unwrap_or(0.0) >= user.min_cell_size as f64,
                    "{asked}: small count {key:?}"
                );
            }
        }
        let leaks = recoverable(answer);
        assert!(
            leaks.is_empty(),
            "{asked}: rows {leaks:?} can be recovered from\n{}",
            output::table(answer)
        );
    }
}

fn random_request(w: &Warehouse, rng: &mut Rng, user: &User) -> Request {
    let metrics: Vec<String> = w.catalog.metrics.iter().map(|m| m.name.clone()).collect();
    let metric = rng.pick(&metrics).clone();
    let roll = rng.below(10);
    let what = match roll {
        0 => What::Drill(metric.clone()),
        1 if !w.catalog.reports.is_empty() => What::Report(w.catalog.reports[0].name.clone()),
        2 => What::Sql(format!(
            "SELECT * FROM {} WHERE metric = '{metric}'",
            rng.pick(&["mart_borderstat", "mart_enforcement", "agg_currency_lines"])
        )),
        _ => What::Metric(metric.clone()),
    };
    let mut request = Request::new(&user.id, what.clone(), query_fixture::time(query_fixture::NOW));
    if let What::Metric(_) = what {
        let tables = w.catalog.publishing(&metric);
        if let Some(table) = tables.first() {
            let mut axes: Vec<String> = table.columns.iter().map(|c| c.axis()).collect();
            if let Some(time) = tally_runtime::query::catalog::time_axis(table) {
                axes.extend(table.grains.iter().map(|g| format!("{time}.{g}")));
            }
            for axis in &axes {
                if rng.chance(35) {
                    request.by.push(axis.clone());
                }
            }
            if rng.chance(15) {
                request.by.push("location.nowhere".into());
            }
        }
        request.totals = rng.chance(75);
        if rng.chance(20) {
            request.filters.push(("location.port".into(), rng.pick(PORTS).0.to_string()));
        }
        if rng.chance(10) {
            request.filters.push(("usbp.station".into(), rng.pick(STATIONS).0.to_string()));
        }
    }
    if rng.chance(30) {
        request.from = Some(query_fixture::time("2024-02-01"));
    }
    request
}

fn suppression_and_scope_hold_for_random_questions(engine: &Engine) {
    let mut answered = 0;
    let mut suppressed = 0;
    let mut kinds = BTreeSet::new();
    for seed in [3_u64, 101] {
        // Each seed's data in a database of its own.
        let engine = engine.sibling(&format!("query_properties_{seed}"));
        let mut w = Warehouse::new(&engine, seed);
        let mut rng = Rng::new(seed.wrapping_mul(7919));
        let people = users(&mut rng);
        for u in &people {
            let attributes: Vec<(&str, &str)> =
                u.scope.iter().map(|(c, v)| (*c, v.as_str())).collect();
            w.user(&u.id, &[u.role], &attributes);
        }
        let truth = truth(&mut w);
        for _ in 0..120 {
            let user = rng.pick(&people).clone();
            let request = random_request(&w, &mut rng, &user);
            let asked = format!("{} as {} ({}): {:?}", seed, user.id, user.role, request);
            match w.query(&request) {
                Ok(answer) => {
                    check_answer(&w, &truth, &user, &answer, &asked);
                    answered += 1;
                    suppressed +=
                        answer.rows.iter().filter(|r| r.status.is_some_and(|s| s.hidden())).count();
                    kinds.insert(answer.kind);
                }
                Err(e) => {
                    assert!(
                        e.code.as_str().starts_with("R04") && e.code != codes::QUERY_INTERNAL,
                        "{asked}: {e}"
                    );
                }
            }
        }
    }
    assert!(answered >= 80, "only {answered} questions answered");
    assert!(suppressed > 0, "no cell was ever suppressed: the data is too big to test suppression");
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["drill", "metric", "report", "sql"]);
}

on_both_engines!(suppression_and_scope_hold_for_random_questions);
