//! `tally audit export`: the warehouse's own audit trail, landed as a source of the project, so
//! that the metrics a project defines over its audit log (who asked what, what was refused)
//! count the real trail of the warehouse they run in.
//!
//! The source is any source of the plan whose landing format is JSON lines. Each of its
//! columns named like a column of `audit_log` (`seq`, `occurred_at`, `actor`, `action`,
//! `object`, `outcome`, `parameters`, `origin`, `prev_hash`, `hash`) takes that column; every
//! other column must have a default or allow null (a `system` column, say, whose default names
//! this warehouse among others landed beside it). An export writes the records after the last
//! export to that source, as one new file named by the landing pattern with its `*` replaced
//! by `tally_<first seq>_<last seq>` (twelve digits each, so files sort in trail order), and
//! appends an `audit.export` record (object the source, parameters the file and the range).
//! That record is how the next export knows where to start, so nothing is exported twice and
//! nothing is skipped, whatever happens to the landing directory afterwards. The file is
//! written under a temporary name and renamed into place after the record commits: a crash
//! leaves either no file and no record, or a temporary file that no pattern names.

use super::{list, record, Entry, Filter, Record};
use crate::backend::Backend;
use crate::error::{codes, Error, Result};
use crate::plan::{LandingFormat, Plan, SourcePlan};
use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The action of the record an export appends.
pub const ACTION: &str = "audit.export";

/// The columns of `audit_log` a source column can take, by name.
const TRAIL_COLUMNS: &[&str] = &[
    "seq",
    "occurred_at",
    "actor",
    "action",
    "object",
    "outcome",
    "parameters",
    "origin",
    "prev_hash",
    "hash",
];

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    pub source: String,
    /// The file written, relative to the landing directory; `None` when there was nothing new.
    pub file: Option<String>,
    /// The first and last `seq` exported.
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub records: usize,
}

/// Exports the records after the last export to `source` into `landing`, as `actor` at `now`.
pub fn export(
    db: &mut dyn Backend,
    plan: &Plan,
    source: &str,
    landing: &Path,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Export> {
    let target = target(plan, source)?;
    let mapping = mapping(target)?;
    let trail = list(db, &Filter::default())?;
    let after = last_exported(&trail, source);
    let records: Vec<&Record> = trail.iter().filter(|r| r.seq > after).collect();
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(Export {
            source: source.to_owned(),
            file: None,
            first_seq: None,
            last_seq: None,
            records: 0,
        });
    };
    let (first, last) = (first.seq, last.seq);
    let relative = file_name(target, first, last)?;
    let path = landing.join(&relative);
    let temporary = temporary_path(&path);
    let mut text = String::new();
    for r in &records {
        let mut row = Map::new();
        for (column, trail_column) in &mapping {
            row.insert(column.clone(), value(r, trail_column));
        }
        text.push_str(&Value::Object(row).to_string());
        text.push('\n');
    }
    let write_error = |e: std::io::Error, p: &Path| {
        Error::new(codes::AUDIT_EXPORT, format!("cannot write {}: {e}", p.display()))
            .help("check that the landing directory exists and is writable")
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write_error(e, dir))?;
    }
    std::fs::write(&temporary, &text).map_err(|e| write_error(e, &temporary))?;
    let entry = Entry::new(actor, ACTION, now).object(source).parameters(json!({
        "file": relative,
        "first_seq": first,
        "last_seq": last,
        "records": records.len(),
    }));
    if let Err(e) = record(db, &entry) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    std::fs::rename(&temporary, &path).map_err(|e| write_error(e, &path))?;
    Ok(Export {
        source: source.to_owned(),
        file: Some(relative),
        first_seq: Some(first),
        last_seq: Some(last),
        records: records.len(),
    })
}

fn target<'p>(plan: &'p Plan, source: &str) -> Result<&'p SourcePlan> {
    let target = plan.sources.iter().find(|s| s.name == source).ok_or_else(|| {
        let names: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
        Error::new(codes::AUDIT_EXPORT, format!("no source `{source}` in plan.json"))
            .help(tally_contract::suggest::did_you_mean(source, &names, "source"))
    })?;
    if target.landing.format != LandingFormat::Jsonl {
        return Err(Error::new(
            codes::AUDIT_EXPORT,
            format!(
                "source `{source}` lands {} files; the audit trail is exported as JSON lines",
                target.landing.format.word()
            ),
        )
        .help("declare the source's landing `as jsonl`"));
    }
    Ok(target)
}

/// Each column of the source and the `audit_log` column it takes; refuses a source with a
/// required column the trail cannot fill.
fn mapping(source: &SourcePlan) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut unfilled = Vec::new();
    for c in &source.columns {
        if TRAIL_COLUMNS.contains(&c.name.as_str()) {
            out.push((c.name.clone(), c.name.clone()));
        } else if !c.nullable && c.default.is_none() {
            unfilled.push(format!("`{}`", c.name));
        }
    }
    if !unfilled.is_empty() {
        return Err(Error::new(
            codes::AUDIT_EXPORT,
            format!(
                "source `{}` requires {}, which the audit trail does not have",
                source.name,
                unfilled.join(", ")
            ),
        )
        .help(format!(
            "give those columns a default or let them be null; the trail's columns are {}",
            TRAIL_COLUMNS.join(", ")
        )));
    }
    if !out.iter().any(|(c, _)| c == "seq") {
        return Err(Error::new(
            codes::AUDIT_EXPORT,
            format!(
                "source `{}` has no `seq` column: its rows could not be told apart",
                source.name
            ),
        )
        .help("add `seq int` to the source's columns and its key"));
    }
    Ok(out)
}

/// The last `seq` already exported to `source`: the range of its last `audit.export` record.
fn last_exported(trail: &[Record], source: &str) -> i64 {
    trail
        .iter()
        .rev()
        .filter(|r| r.action == ACTION && r.object.as_deref() == Some(source) && r.outcome == "ok")
        .find_map(|r| {
            let parameters: Value = serde_json::from_str(r.parameters.as_deref()?).ok()?;
            parameters.get("last_seq")?.as_i64()
        })
        .unwrap_or(0)
}

/// The landing pattern with its last `*` replaced by the range, `**/` dropped.
fn file_name(source: &SourcePlan, first: i64, last: i64) -> Result<String> {
    let pattern = source.landing.pattern.replace("**/", "");
    let Some(at) = pattern.rfind('*') else {
        return Err(Error::new(
            codes::AUDIT_EXPORT,
            format!(
                "source `{}`'s landing pattern `{}` names one file; each export is a new file",
                source.name, source.landing.pattern
            ),
        )
        .help("give the source a landing pattern with `*`, e.g. `audit/events_*.jsonl`"));
    };
    let token = format!("tally_{first:012}_{last:012}");
    Ok(format!("{}{token}{}", &pattern[..at], &pattern[at + 1..]).replace('*', "x"))
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(format!(".{}", name.to_string_lossy()))
}

fn value(r: &Record, column: &str) -> Value {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    match column {
        "seq" => json!(r.seq),
        "occurred_at" => json!(r.occurred_at),
        "actor" => json!(r.actor),
        "action" => json!(r.action),
        "object" => text(&r.object),
        "outcome" => json!(r.outcome),
        "parameters" => text(&r.parameters),
        "origin" => text(&r.origin),
        "prev_hash" => text(&r.prev_hash),
        _ => json!(r.hash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail_record(
        seq: i64,
        action: &str,
        object: Option<&str>,
        parameters: Option<&str>,
    ) -> Record {
        Record {
            seq,
            occurred_at: "2024-03-01 06:00:00".into(),
            actor: "ops".into(),
            action: action.into(),
            object: object.map(Into::into),
            outcome: "ok".into(),
            parameters: parameters.map(Into::into),
            origin: None,
            prev_hash: None,
            hash: "h".into(),
        }
    }

    #[test]
    fn the_next_export_starts_after_the_last_one_to_the_same_source() {
        let trail = vec![
            trail_record(1, "user.add", Some("ana"), None),
            trail_record(2, ACTION, Some("trail"), Some(r#"{"last_seq":1}"#)),
            trail_record(3, ACTION, Some("other"), Some(r#"{"last_seq":2}"#)),
            trail_record(4, "query.metric", Some("m"), None),
        ];
        assert_eq!(last_exported(&trail, "trail"), 1);
        assert_eq!(last_exported(&trail, "other"), 2);
        assert_eq!(last_exported(&trail, "none"), 0);
    }
}
