//! The audit trail: an append-only, hash-chained log of who did what, when, from where, with
//! what outcome, in the warehouse's `audit_log` table, and its verification.
//!
//! **The chain.** Rows are numbered `seq` 1, 2, 3, ... without gaps. Each row's `hash` is the
//! SHA-256 (lower-case hex) of the JSON array, written without whitespace as `serde_json`
//! writes it,
//!
//! ```text
//! ["tally-audit-1", seq, occurred_at, actor, action, object, outcome, parameters, origin, prev_hash]
//! ```
//!
//! where `occurred_at` is the UTC time as text (`2024-03-01 06:00:00`, a fraction of a second
//! only when there is one), `parameters` the stored JSON text (keys sorted, no whitespace), and
//! `object`, `parameters`, `origin` and `prev_hash` `null` when absent. `prev_hash` is the
//! previous row's `hash` (`null` for seq 1). Editing a row breaks its hash; deleting one leaves
//! a gap; moving one (renumbering) breaks its hash at the new number; anyone can check this
//! with the table alone ([`verify`]).
//!
//! **The anchor.** A chain alone cannot show that its last rows were deleted. Every append
//! also writes the new head (last seq and hash) to `audit_anchor`, in the same transaction, so
//! a trail that ends before the anchor was truncated. Someone who can rewrite both tables can
//! hide that too (the chain is not keyed: whoever can write the table can recompute it), so
//! the operator may keep the head outside the database as well: [`write_anchor_file`] (`tally
//! ... --audit-anchor FILE`, or `TALLY_AUDIT_ANCHOR`) writes it to a file after each audited
//! command, and [`verify`] checks the trail against it.
//!
//! **Appending.** [`record`] appends in a transaction of its own; [`append`] appends inside the
//! caller's open transaction, so the audit row commits or rolls back with the work it
//! describes. Both lock the anchor row (`SELECT ... FOR UPDATE` on PostgreSQL) before choosing
//! the next seq, so concurrent appenders on a server take turns; the lock is held until the
//! transaction ends, so append as late in a transaction as possible. DuckDB has one writing
//! process per file, which serialises appenders by itself.

pub mod export;

use crate::backend::{in_transaction, Backend, Dialect};
use crate::error::{codes, Error, Result};
use crate::value::{timestamp_text, Rows, Value};
use chrono::{NaiveDateTime, Timelike as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The table of audit records.
pub const TABLE: &str = "audit_log";
/// The table holding the chain's head.
pub const ANCHOR_TABLE: &str = "audit_anchor";
/// The name of the chain in `audit_anchor`.
const CHAIN: &str = "audit";
/// The first element of every hashed array: the version of the encoding.
const ENCODING: &str = "tally-audit-1";

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was done.
    Ok,
    /// It was not allowed (a policy, a check, a lapsed account said no).
    Refused,
    /// It was tried and failed (an error part way).
    Failed,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// One audit record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When, UTC (the command's `--now` when it was given, else the clock).
    pub occurred_at: NaiveDateTime,
    /// Who: the operator (`--actor`, `TALLY_ACTOR`, else the OS user), or the user a query runs
    /// as.
    pub actor: String,
    /// What, as `<area>.<verb>`: `migrate.apply`, `run`, `retain`, `user.add`, `query.metric`,
    /// `audit.export`, ...
    pub action: String,
    /// What it was done to: a migration, a user, a metric.
    pub object: Option<String>,
    pub outcome: Outcome,
    /// The details: counts, arguments, the error. Stored with its keys sorted.
    pub parameters: serde_json::Value,
    /// Where from: see [`here`].
    pub origin: Option<String>,
}

impl Entry {
    /// A successful `action` by `actor` at `occurred_at`, from [`here`], without object or
    /// parameters; the builder methods add the rest.
    pub fn new(actor: &str, action: &str, occurred_at: NaiveDateTime) -> Entry {
        Entry {
            occurred_at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            object: None,
            outcome: Outcome::Ok,
            parameters: serde_json::Value::Null,
            origin: Some(here()),
        }
    }

    pub fn object(mut self, object: impl Into<String>) -> Entry {
        self.object = Some(object.into());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Entry {
        self.outcome = outcome;
        self
    }

    pub fn parameters(mut self, parameters: serde_json::Value) -> Entry {
        self.parameters = parameters;
        self
    }

    /// The entry of a refusal or failure: the outcome, and the error's code and message as
    /// parameters `error_code` and `error` (added to the parameters already set).
    pub fn error(mut self, outcome: Outcome, error: &Error) -> Entry {
        self.outcome = outcome;
        let mut map = match std::mem::take(&mut self.parameters) {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => serde_json::Map::new(),
            other => serde_json::Map::from_iter([("value".to_owned(), other)]),
        };
        map.insert("error_code".to_owned(), error.code.into());
        map.insert("error".to_owned(), error.message.clone().into());
        self.parameters = serde_json::Value::Object(map);
        self
    }
}

/// Where this process runs: `host <hostname>, pid <pid>`.
pub fn here() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("host {host}, pid {}", std::process::id())
}

/// The head of the chain: the last record's seq and hash (seq 0 and no hash when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Head {
    pub seq: i64,
    pub hash: Option<String>,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub seq: i64,
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub object: Option<String>,
    pub outcome: String,
    /// The stored JSON text.
    pub parameters: Option<String>,
    pub origin: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: String,
}

impl Record {
    /// The hash this record's contents give at position `seq`.
    fn hash_at(&self, seq: i64) -> String {
        chain_hash(
            seq,
            &self.occurred_at,
            &self.actor,
            &self.action,
            self.object.as_deref(),
            &self.outcome,
            self.parameters.as_deref(),
            self.origin.as_deref(),
            self.prev_hash.as_deref(),
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    seq: i64,
    occurred_at: &str,
    actor: &str,
    action: &str,
    object: Option<&str>,
    outcome: &str,
    parameters: Option<&str>,
    origin: Option<&str>,
    prev_hash: Option<&str>,
) -> String {
    let encoded = serde_json::json!([
        ENCODING,
        seq,
        occurred_at,
        actor,
        action,
        object,
        outcome,
        parameters,
        origin,
        prev_hash
    ])
    .to_string();
    hex::encode(Sha256::digest(encoded.as_bytes()))
}

/// `value` with every object's keys sorted, as compact JSON; `None` for `null`.
fn canonical_json(value: &serde_json::Value) -> Option<String> {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let ordered: BTreeMap<&String, serde_json::Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(
                    ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    (!value.is_null()).then(|| sorted(value).to_string())
}

fn literal(text: Option<&str>) -> String {
    match text {
        Some(t) => format!("'{}'", t.replace('\'', "''")),
        None => "NULL".to_owned(),
    }
}

/// Whole microseconds: what both engines store.
fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// A timestamp as read back from either engine, in the text the hash was computed over.
fn normalized_time(value: &Value) -> String {
    let text = value.to_string();
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").map(timestamp_text).unwrap_or(text)
}

fn no_trail(db: &mut dyn Backend) -> Error {
    Error::new(
        codes::NO_AUDIT_TRAIL,
        format!("{} has no audit trail (no {TABLE} or {ANCHOR_TABLE} table)", db.describe()),
    )
    .help("apply the migrations first: `tally migrate`")
}

fn require_trail(db: &mut dyn Backend) -> Result<()> {
    if db.table_exists(TABLE)? && db.table_exists(ANCHOR_TABLE)? {
        Ok(())
    } else {
        Err(no_trail(db))
    }
}

/// Whether the database has the audit tables (it was migrated far enough).
pub fn available(db: &mut dyn Backend) -> Result<bool> {
    Ok(db.table_exists(TABLE)? && db.table_exists(ANCHOR_TABLE)?)
}

/// Appends `entry` in a transaction of its own; returns the new head. Call it when no
/// transaction is open (use [`append`] inside one). `R0451` when the database has no audit
/// tables.
pub fn record(db: &mut dyn Backend, entry: &Entry) -> Result<Head> {
    require_trail(db)?;
    in_transaction(db, |db| append(db, entry))
}

/// Appends `entry` inside the caller's open transaction: the record commits or rolls back
/// with the caller's work. On PostgreSQL it locks the chain's head until that transaction
/// ends, so other appenders wait: append late in the transaction. Returns the new head.
pub fn append(db: &mut dyn Backend, entry: &Entry) -> Result<Head> {
    require_trail(db)?;
    let head = lock_head(db, entry.occurred_at)?;
    let seq = head.seq + 1;
    let occurred_at = timestamp_text(micros(entry.occurred_at));
    let parameters = canonical_json(&entry.parameters);
    let outcome = entry.outcome.word();
    let hash = chain_hash(
        seq,
        &occurred_at,
        &entry.actor,
        &entry.action,
        entry.object.as_deref(),
        outcome,
        parameters.as_deref(),
        entry.origin.as_deref(),
        head.hash.as_deref(),
    );
    db.execute(&format!(
        "INSERT INTO {TABLE} (seq, occurred_at, actor, action, object, outcome, parameters, prev_hash, hash, origin) \
         VALUES ({seq}, TIMESTAMP '{occurred_at}', {}, {}, {}, '{outcome}', {}, {}, '{hash}', {})",
        literal(Some(&entry.actor)),
        literal(Some(&entry.action)),
        literal(entry.object.as_deref()),
        literal(parameters.as_deref()),
        literal(head.hash.as_deref()),
        literal(entry.origin.as_deref()),
    ))
    .map_err(|e| {
        e.context(format!("appending to the audit trail of {} (seq {seq})", db.describe()))
    })?;
    db.execute(&match db.dialect() {
        // Parquet rows cannot be updated; the anchor holds the one chain's row.
        Dialect::Spark => format!(
            "INSERT OVERWRITE TABLE {ANCHOR_TABLE} (chain, seq, hash, updated_at) VALUES ('{CHAIN}', {seq}, '{hash}', TIMESTAMP '{occurred_at}')"
        ),
        Dialect::Duckdb | Dialect::Postgres => format!(
            "UPDATE {ANCHOR_TABLE} SET seq = {seq}, hash = '{hash}', updated_at = TIMESTAMP '{occurred_at}' WHERE chain = '{CHAIN}'"
        ),
    })?;
    Ok(Head { seq, hash: Some(hash) })
}

/// Reads the head from the anchor, creating the anchor row from the trail's last record when
/// it is missing, and locks it (PostgreSQL) until the transaction ends.
fn lock_head(db: &mut dyn Backend, now: NaiveDateTime) -> Result<Head> {
    if db.dialect() == Dialect::Spark {
        // No transactions: a crash between a record and the anchor's overwrite leaves the
        // anchor one behind, so the trail's last record is the head when it is further on.
        let anchored = anchor(db)?;
        let last = last_record(db)?;
        let behind = match (&anchored, &last) {
            (None, _) => true,
            (Some(a), Some(l)) => l.seq > a.seq,
            (Some(_), None) => false,
        };
        if behind {
            let last = last.unwrap_or(Head { seq: 0, hash: None });
            db.execute(&format!(
                "INSERT OVERWRITE TABLE {ANCHOR_TABLE} (chain, seq, hash, updated_at) VALUES ('{CHAIN}', {}, {}, TIMESTAMP '{}')",
                last.seq,
                literal(last.hash.as_deref()),
                timestamp_text(micros(now))
            ))?;
        }
    } else if anchor(db)?.is_none() {
        let last = last_record(db)?.unwrap_or(Head { seq: 0, hash: None });
        db.execute(&format!(
            "INSERT INTO {ANCHOR_TABLE} (chain, seq, hash, updated_at) VALUES ('{CHAIN}', {}, {}, TIMESTAMP '{}') \
             ON CONFLICT (chain) DO NOTHING",
            last.seq,
            literal(last.hash.as_deref()),
            timestamp_text(micros(now))
        ))?;
    }
    let lock = match db.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Duckdb | Dialect::Spark => "",
    };
    let rows =
        db.query(&format!("SELECT seq, hash FROM {ANCHOR_TABLE} WHERE chain = '{CHAIN}'{lock}"))?;
    head_of(&rows).ok_or_else(|| {
        Error::new(
            codes::NO_AUDIT_TRAIL,
            format!("the audit anchor of {} cannot be read", db.describe()),
        )
    })
}

fn head_of(rows: &Rows) -> Option<Head> {
    let row = rows.rows.first()?;
    Some(Head {
        seq: row.first()?.as_i64()?,
        hash: row.get(1).filter(|v| !v.is_null()).map(Value::to_string),
    })
}

/// The head the anchor table records, if it has a row.
pub fn anchor(db: &mut dyn Backend) -> Result<Option<Head>> {
    let rows =
        db.query(&format!("SELECT seq, hash FROM {ANCHOR_TABLE} WHERE chain = '{CHAIN}'"))?;
    Ok(head_of(&rows))
}

fn last_record(db: &mut dyn Backend) -> Result<Option<Head>> {
    let rows = db.query(&format!("SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"))?;
    Ok(head_of(&rows))
}

const COLUMNS: &str =
    "seq, occurred_at, actor, action, object, outcome, parameters, origin, prev_hash, hash";

fn records_of(rows: &Rows) -> Vec<Record> {
    let text = |v: &Value| v.to_string();
    let opt = |v: &Value| (!v.is_null()).then(|| v.to_string());
    rows.rows
        .iter()
        .filter(|r| r.len() == 10)
        .map(|r| Record {
            seq: r[0].as_i64().unwrap_or(0),
            occurred_at: normalized_time(&r[1]),
            actor: text(&r[2]),
            action: text(&r[3]),
            object: opt(&r[4]),
            outcome: text(&r[5]),
            parameters: opt(&r[6]),
            origin: opt(&r[7]),
            prev_hash: opt(&r[8]),
            hash: text(&r[9]),
        })
        .collect()
}

/// Which records [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    /// Only the last `limit` matching records.
    pub limit: Option<u64>,
}

/// The records matching `filter`, in seq order.
pub fn list(db: &mut dyn Backend, filter: &Filter) -> Result<Vec<Record>> {
    if !db.table_exists(TABLE)? {
        return Err(no_trail(db));
    }
    let mut conditions = Vec::new();
    for (column, value) in
        [("actor", &filter.actor), ("action", &filter.action), ("object", &filter.object)]
    {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", literal(Some(value))));
        }
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let limit = filter.limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let rows = db.query(&format!(
        "SELECT * FROM (SELECT {COLUMNS} FROM {TABLE}{filter_sql} ORDER BY seq DESC{limit}) AS last ORDER BY seq"
    ))?;
    Ok(records_of(&rows))
}

/// The record `seq`; `R0454` when there is none.
pub fn show(db: &mut dyn Backend, seq: i64) -> Result<Record> {
    if !db.table_exists(TABLE)? {
        return Err(no_trail(db));
    }
    let rows = db.query(&format!("SELECT {COLUMNS} FROM {TABLE} WHERE seq = {seq}"))?;
    records_of(&rows).into_iter().next().ok_or_else(|| {
        Error::new(
            codes::NO_SUCH_AUDIT_RECORD,
            format!("the audit trail of {} has no record {seq}", db.describe()),
        )
        .help("`tally audit list` shows the records there are")
    })
}

/// What is wrong with a record or with the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A record's contents changed after it was written.
    Edited,
    /// Records are missing from the middle of the trail.
    Deleted,
    /// A record sits at another seq than the one it was written at.
    Reordered,
    /// Records are missing from the end: the trail ends before its anchor.
    Truncated,
    /// Records the runtime did not append (beyond the anchor).
    Inserted,
    /// The anchor is missing, or disagrees with the trail in a way none of the above explains.
    Anchor,
}

impl ProblemKind {
    pub fn word(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Truncated => "truncated",
            ProblemKind::Inserted => "inserted",
            ProblemKind::Anchor => "anchor",
        }
    }
}

/// One problem [`verify`] found: where (the first seq concerned) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub seq: Option<i64>,
    pub kind: ProblemKind,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "seq {seq}: {}: {}", self.kind.word(), self.message),
            None => write!(f, "{}: {}", self.kind.word(), self.message),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Records read.
    pub records: u64,
    /// The anchor table's head (`None` when it has no row).
    pub anchor: Option<Head>,
    /// The anchor file's head, when one was given.
    pub anchor_file: Option<Head>,
    pub problems: Vec<Problem>,
}

impl Verification {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How far from its place a moved record is looked for.
const MOVE_WINDOW: i64 = 64;

/// Checks the whole trail: every record's hash, the chain from each record to the next, the
/// numbering, and the end against the anchor table and, when given, the anchor file. Reads
/// only. `R0453` when the anchor file cannot be read.
pub fn verify(db: &mut dyn Backend, anchor_file: Option<&Path>) -> Result<Verification> {
    require_trail(db)?;
    let file_head = anchor_file.map(read_anchor_file).transpose()?;
    let rows = db.query(&format!("SELECT {COLUMNS} FROM {TABLE} ORDER BY seq"))?;
    let records = records_of(&rows);
    let anchor = anchor(db)?;
    let mut problems = Vec::new();
    let mut expected = 1i64;
    // The previous record's hash, and whether that record was intact.
    let mut previous: Option<(&str, bool)> = None;
    for record in &records {
        let seq = record.seq;
        let gap = seq > expected;
        if gap {
            let missing = if seq - 1 == expected {
                format!("record {expected} is missing")
            } else {
                format!("records {expected} to {} are missing", seq - 1)
            };
            problems.push(Problem {
                seq: Some(expected),
                kind: ProblemKind::Deleted,
                message: format!("{missing}: deleted from the trail"),
            });
        }
        let intact = record.hash_at(seq) == record.hash;
        if !intact {
            let written_at = (seq - MOVE_WINDOW..=seq + MOVE_WINDOW)
                .filter(|k| *k >= 1 && *k != seq)
                .find(|k| record.hash_at(*k) == record.hash);
            problems.push(match written_at {
                Some(k) => Problem {
                    seq: Some(seq),
                    kind: ProblemKind::Reordered,
                    message: format!(
                        "this record was written as seq {k}: records were reordered or renumbered"
                    ),
                },
                None => Problem {
                    seq: Some(seq),
                    kind: ProblemKind::Edited,
                    message: format!(
                        "its contents do not match its hash (actor `{}`, action `{}`, at {}): the record was changed after it was written",
                        record.actor, record.action, record.occurred_at
                    ),
                },
            });
        } else if !gap {
            match previous {
                None if record.prev_hash.is_some() => problems.push(Problem {
                    seq: Some(seq),
                    kind: ProblemKind::Deleted,
                    message: "the first record left is chained to an earlier record that is gone"
                        .to_owned(),
                }),
                Some((hash, true)) if record.prev_hash.as_deref() != Some(hash) => {
                    problems.push(Problem {
                        seq: Some(seq - 1),
                        kind: ProblemKind::Edited,
                        message: format!(
                            "seq {seq} was chained to another record than the one now at seq {}: that record was rewritten (its hash recomputed) or replaced",
                            seq - 1
                        ),
                    })
                }
                _ => {}
            }
        }
        previous = Some((record.hash.as_str(), intact));
        expected = seq + 1;
    }
    let last = records.last().map_or(0, |r| r.seq);
    match &anchor {
        None if !records.is_empty() => problems.push(Problem {
            seq: None,
            kind: ProblemKind::Anchor,
            message: format!(
                "{ANCHOR_TABLE} has no head although the trail has records: it was deleted, so truncation cannot be checked against it"
            ),
        }),
        None => {}
        Some(head) => check_head(&records, last, head, ANCHOR_TABLE, &mut problems),
    }
    if let (Some(head), Some(path)) = (&file_head, anchor_file) {
        let name = format!("the anchor file {}", path.display());
        check_head(&records, last, head, &name, &mut problems);
    }
    Ok(Verification { records: records.len() as u64, anchor, anchor_file: file_head, problems })
}

/// Compares the trail with a head recorded elsewhere (`by`).
fn check_head(records: &[Record], last: i64, head: &Head, by: &str, problems: &mut Vec<Problem>) {
    if head.seq > last {
        let first = last + 1;
        let missing = if first == head.seq {
            format!("record {first} is missing")
        } else {
            format!("records {first} to {} are missing", head.seq)
        };
        problems.push(Problem {
            seq: Some(first),
            kind: ProblemKind::Truncated,
            message: format!(
                "{by} records seq {} as the head, the trail ends at {last}: {missing} from the end",
                head.seq
            ),
        });
        return;
    }
    let at = records.iter().find(|r| r.seq == head.seq);
    match at {
        Some(record) if Some(&record.hash) != head.hash.as_ref() => problems.push(Problem {
            seq: Some(head.seq),
            kind: ProblemKind::Edited,
            message: format!(
                "{by} records hash {} for seq {}, the trail's record has {}: the trail was rewritten up to here",
                head.hash.as_deref().unwrap_or("(none)"),
                head.seq,
                record.hash
            ),
        }),
        None if head.seq > 0 => problems.push(Problem {
            seq: Some(head.seq),
            kind: ProblemKind::Deleted,
            message: format!("{by} records seq {} as a head, and the trail has no such record", head.seq),
        }),
        _ => {}
    }
    if by == ANCHOR_TABLE && last > head.seq {
        problems.push(Problem {
            seq: Some(head.seq + 1),
            kind: ProblemKind::Inserted,
            message: format!(
                "the trail goes on to seq {last} past its head at {}: records were added without the runtime, which moves the head with every record",
                head.seq
            ),
        });
    }
}

/// The anchor file: the head and what it belongs to, as JSON.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct AnchorFile {
    chain: String,
    database: String,
    seq: i64,
    hash: Option<String>,
}

fn read_anchor_file(path: &Path) -> Result<Head> {
    let bad = |problem: String| {
        Error::new(codes::AUDIT_ANCHOR_FILE, format!("the audit anchor file {}: {problem}", path.display())).help(
            "the file is written by tally commands given `--audit-anchor` (or TALLY_AUDIT_ANCHOR); give the file they wrote",
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let file: AnchorFile =
        serde_json::from_str(&text).map_err(|e| bad(format!("not an anchor file: {e}")))?;
    Ok(Head { seq: file.seq, hash: file.hash })
}

/// Writes the head the database has now to the anchor file at `path` (after a command's
/// transactions committed), replacing it atomically. Refuses (`R0452`) to move the file's
/// head backwards, which would erase the evidence of a truncation: the file keeps it and the
/// error says to run `tally audit verify`. A missing file is created.
pub fn write_anchor_file(db: &mut dyn Backend, path: &Path) -> Result<Head> {
    require_trail(db)?;
    let head = anchor(db)?.unwrap_or(Head { seq: 0, hash: None });
    if path.exists() {
        let old = read_anchor_file(path)?;
        if old.seq > head.seq {
            return Err(Error::new(
                codes::AUDIT_TAMPERED,
                format!(
                    "the audit anchor file {} records seq {} as the head, {} only reaches {}: records were removed",
                    path.display(),
                    old.seq,
                    db.describe(),
                    head.seq
                ),
            )
            .help("the file was left as it is; run `tally audit verify --audit-anchor FILE` to see what is missing"));
        }
    }
    let file = AnchorFile {
        chain: CHAIN.to_owned(),
        database: db.describe(),
        seq: head.seq,
        hash: head.hash.clone(),
    };
    let cannot = |e: std::io::Error| {
        Error::new(
            codes::AUDIT_ANCHOR_FILE,
            format!("cannot write the audit anchor file {}: {e}", path.display()),
        )
    };
    let text = serde_json::to_string_pretty(&file).unwrap_or_default() + "\n";
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(cannot)?;
    temp.persist(path).map_err(|e| cannot(e.error))?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_stored_with_sorted_keys() {
        let value = serde_json::json!({"b": 1, "a": {"d": [2, {"f": 1, "e": 0}], "c": null}});
        assert_eq!(
            canonical_json(&value).as_deref(),
            Some(r#"{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}"#)
        );
        assert_eq!(canonical_json(&serde_json::Value::Null), None);
    }

    #[test]
    fn the_hash_is_sha256_of_the_documented_array() {
        let hash = chain_hash(1, "2024-03-01 06:00:00", "ana", "run", None, "ok", None, None, None);
        let text =
            r#"["tally-audit-1",1,"2024-03-01 06:00:00","ana","run",null,"ok",null,null,null]"#;
        assert_eq!(hash, hex::encode(Sha256::digest(text.as_bytes())));
        assert_ne!(
            hash,
            chain_hash(2, "2024-03-01 06:00:00", "ana", "run", None, "ok", None, None, None)
        );
    }
}
