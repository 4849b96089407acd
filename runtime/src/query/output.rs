//! An [`Answer`] as a table for people, CSV, or JSON.
//!
//! - **table**: a heading (what, as whom, in which scope, from which mart), aligned columns, `*` for a
//!   suppressed value, `(all)` for a column a total row is not cut by, then `sources:` and a
//!   line saying how many cells are suppressed and why.
//! - **csv**: a header row and the rows (`*` suppressed, empty for `(all)` and NULL, the
//!   `levels` column telling a total from a NULL member), then trailing comment lines
//!   `# sources: A; B`, `# from: mart M (table)` (and `# suppressed: ...` when cells are,
//!   `# as of: T` for values that depend on the clock):
//!   readers that take `#` as a comment (`pandas.read_csv(comment="#")`) skip them.
//! - **json**: one object: what was asked and how it was answered (`mart`: which mart),
//!   `columns`, `rows` (objects by column; a suppressed value is `null` with
//!   `"suppressed": true`; a total's column is `null`, its `levels` saying which columns it is
//!   cut by), `sources`, and `as_of` (the instant values that depend on the clock are counted
//!   from, else `null`).

use super::suppress::Status;
use super::{Answer, Out};
use crate::value::Value;
use serde_json::{json, Map};

/// How a suppressed value is shown in tables and CSV.
pub const SUPPRESSED: &str = "*";
const ALL: &str = "(all)";

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn shown(cell: &Out) -> String {
    match cell {
        Out::Value(Value::Null) => "(null)".to_string(),
        Out::Value(v) => text(v),
        Out::Suppressed => SUPPRESSED.to_string(),
        Out::All => ALL.to_string(),
    }
}

fn footnote(answer: &Answer) -> Option<String> {
    let primary = answer.suppressed(Status::Primary);
    let complementary = answer.suppressed(Status::Complementary);
    if primary + complementary == 0 {
        return None;
    }
    let k = answer.min_cell_size.unwrap_or(0);
    Some(format!(
        "{primary} cell(s) suppressed for fewer than {k} rows or a count under {k}, {complementary} more so that they cannot be worked out from totals"
    ))
}

/// A table for people.
pub fn table(answer: &Answer) -> String {
    let mut out = String::new();
    let what = match answer.kind {
        "sql" => "ad hoc SQL".to_string(),
        "drill" => format!("rows behind metric {}", answer.object),
        kind => format!("{kind} {}", answer.object),
    };
    let title = answer.title.as_deref().map(|t| format!(": {t}")).unwrap_or_default();
    out.push_str(&format!(
        "{what}{title}\nas {} (role {}, scope {})",
        answer.user, answer.role, answer.scope
    ));
    if let Some(grain) = &answer.grain {
        out.push_str(&format!(", by {grain}"));
    }
    if let Some(from) = answered_from(answer) {
        out.push_str(&format!("\nfrom {from}"));
    }
    if let Some(as_of) = &answer.as_of {
        out.push_str(&format!("\nas of {as_of} (the values depend on the clock)"));
    }
    out.push_str("\n\n");
    let rows: Vec<Vec<String>> =
        answer.rows.iter().map(|r| r.cells.iter().map(shown).collect()).collect();
    let mut widths: Vec<usize> = answer.columns.iter().map(|c| c.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                format!("{c:<w$}")
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(&answer.columns));
    for row in &rows {
        out.push_str(&line(row));
    }
    if rows.is_empty() {
        out.push_str("(no rows)\n");
    }
    out.push('\n');
    out.push_str(&format!("sources: {}\n", sources(answer)));
    if let Some(note) = footnote(answer) {
        out.push_str(&format!("suppressed: {note} (shown as {SUPPRESSED})\n"));
    }
    out
}

/// Which mart answered, for people: `mart borderstat (mart_borderstat)`, `the aggregate
/// table agg_x`, `mart borderstat's drill-down`; `None` for ad hoc SQL.
fn answered_from(answer: &Answer) -> Option<String> {
    match (&answer.mart, &answer.table) {
        (Some(mart), Some(table)) => Some(format!("mart {mart} ({table})")),
        (Some(mart), None) => Some(format!("mart {mart}'s declared drill-down")),
        (None, Some(table)) => Some(format!("the metric's own table {table}")),
        (None, None) => None,
    }
}

fn sources(answer: &Answer) -> String {
    if answer.sources.is_empty() {
        "(none recorded)".to_string()
    } else {
        answer.sources.join("; ")
    }
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with('#') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// CSV, with the sources as a trailing comment line.
pub fn csv(answer: &Answer) -> String {
    let metric_rows = answer.rows.iter().any(|r| r.levels.is_some());
    let mut header: Vec<String> = answer.columns.clone();
    // `levels` goes before `value` (and a comparison's columns after it).
    let at = header.iter().position(|c| c == "value").unwrap_or(header.len().saturating_sub(1));
    if metric_rows {
        header.insert(at, "levels".to_string());
    }
    let mut out = String::new();
    let line = |fields: Vec<String>| {
        format!("{}\n", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))
    };
    out.push_str(&line(header));
    for row in &answer.rows {
        let mut fields: Vec<String> = row
            .cells
            .iter()
            .map(|c| match c {
                Out::Value(v) => text(v),
                Out::Suppressed => SUPPRESSED.to_string(),
                Out::All => String::new(),
            })
            .collect();
        if let Some(levels) = &row.levels {
            fields.insert(at.min(fields.len()), levels.clone());
        }
        out.push_str(&line(fields));
    }
    out.push_str(&format!("# sources: {}\n", sources(answer)));
    if let Some(from) = answered_from(answer) {
        out.push_str(&format!("# from: {from}\n"));
    }
    if let Some(as_of) = &answer.as_of {
        out.push_str(&format!("# as of: {as_of}\n"));
    }
    if let Some(note) = footnote(answer) {
        out.push_str(&format!("# suppressed: {note} (shown as {SUPPRESSED})\n"));
    }
    out
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Decimal(d) => {
            serde_json::from_str::<serde_json::Number>(d).map_or_else(|_| json!(d), Into::into)
        }
        Value::Text(t) | Value::Date(t) | Value::Timestamp(t) => json!(t),
    }
}

/// The answer as a JSON value.
pub fn json_answer(answer: &Answer) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = answer
        .rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            for (column, cell) in answer.columns.iter().zip(&row.cells) {
                let value = match cell {
                    Out::Value(v) => json_value(v),
                    Out::Suppressed | Out::All => serde_json::Value::Null,
                };
                object.insert(column.clone(), value);
            }
            if let Some(levels) = &row.levels {
                object.insert("levels".into(), json!(levels));
            }
            if let Some(status) = row.status {
                object.insert("suppressed".into(), json!(status.hidden()));
                if status.hidden() {
                    let why = if status == Status::Primary { "small" } else { "complementary" };
                    object.insert("suppression".into(), json!(why));
                }
            }
            serde_json::Value::Object(object)
        })
        .collect();
    json!({
        "kind": answer.kind,
        "object": answer.object,
        "title": answer.title,
        "user": answer.user,
        "role": answer.role,
        "scope": answer.scope,
        "mart": answer.mart,
        "table": answer.table,
        "grain": answer.grain,
        "min_cell_size": answer.min_cell_size,
        "columns": answer.columns,
        "rows": rows,
        "suppressed": {
            "small": answer.suppressed(Status::Primary),
            "complementary": answer.suppressed(Status::Complementary),
        },
        "sources": answer.sources,
        "as_of": answer.as_of,
    })
}

/// Pretty JSON, with a final line break.
pub fn json(answer: &Answer) -> String {
    let mut text = serde_json::to_string_pretty(&json_answer(answer)).unwrap_or_default();
    text.push('\n');
    text
}
