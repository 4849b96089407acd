//! The warehouse schema as data: every table, view and policy row the migrations create.
//!
//! [`build`](super::build) derives the desired `Schema` from the model for one dialect; the
//! migration planner ([`super::migrate`]) diffs it against the schema recorded in the lock file
//! (`generated/<dialect>/schema.lock.json`) and emits only the change. Because the lock file is
//! this type serialized, every field is deterministic: `BTreeMap`s, lists in a fixed order.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the lock file format; bump when `Schema` changes shape.
pub const LOCK_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Views by name. A view's SQL is dialect-specific; a changed view is replaced.
    pub views: BTreeMap<String, View>,
    /// Rows of reference tables (policy: roles, grants, scopes, thresholds), by table name.
    /// Rows are keyed by their primary key values so that changed rows are updated, not
    /// duplicated.
    pub rows: BTreeMap<String, BTreeMap<Vec<Value>, BTreeMap<String, Value>>>,
    /// Dialect-native statements that are not tables, views or rows (PostgreSQL roles, grants,
    /// row-level-security policies), by a stable name; replaced when their text changes.
    pub extras: BTreeMap<String, Extra>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub kind: TableKind,
    /// In creation order; new columns are appended.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// One line for people: what the table holds (emitted as a comment in migrations).
    pub comment: String,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// Raw rows of one load batch, typed, before merging (`stg_<source>`).
    Staging,
    /// The current state of a source (`cur_<source>`).
    Current,
    /// Rows deleted upstream or past retention, with when and why (`arc_<source>`).
    Archive,
    /// A mart's published rows (a table, so PostgreSQL row-level security can apply).
    Mart,
    /// Pre-aggregated metric values (`agg_<metric>`).
    MetricAggregate,
    /// ETL bookkeeping: file ledger, watermarks, run log, rejected rows.
    EtlState,
    /// Access policy: roles, grants, scopes, thresholds, users.
    Policy,
    /// The append-only audit log.
    Audit,
    /// The migration ledger itself.
    Ledger,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    /// A SQL literal, rendered by the dialect.
    pub default: Option<Value>,
}

/// Column types every dialect can express; the dialect names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SqlType {
    Text,
    BigInt,
    Decimal { precision: u8, scale: u8 },
    Double,
    Boolean,
    Date,
    Timestamp,
}

impl SqlType {
    /// Whether values of `self` always fit in `to` (a column may widen, never narrow).
    pub fn widens_to(self, to: SqlType) -> bool {
        use SqlType::*;
        match (self, to) {
            (a, b) if a == b => true,
            (_, Text) => true,
            (BigInt, Decimal { precision, scale }) => precision - scale >= 19,
            (BigInt, Double) => true,
            (Decimal { precision: p1, scale: s1 }, Decimal { precision: p2, scale: s2 }) => {
                s2 >= s1 && p2 - s2 >= p1 - s1
            }
            (Date, Timestamp) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    /// The `SELECT` statement, in the dialect, already validated with sqlparser.
    pub query: String,
    /// Tables and views it reads, so views are created and replaced in dependency order.
    pub depends_on: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// Statements that create it, in order.
    pub create: Vec<String>,
    /// Statements that remove it (run before `create` when it changes).
    pub drop: Vec<String>,
}

/// A literal value in a row or a default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Decimal digits, kept as text so no precision is lost.
    Text(String),
}
