//! Migrations: the difference between the schema a database has and the schema the model
//! needs, as SQL statements in one dialect.
//!
//! [`plan`] compares the schema recorded in the lock file (what every migration so far
//! created) with the desired schema from [`build`](super::build) and returns only the change.
//! Changes that cannot lose data (a new table, a new nullable column, a widened type, a new or
//! changed view, new policy rows) are planned on their own. Changes that lose data or depend on
//! it (dropping a table or column, narrowing a type, a `NOT NULL` column that existing rows
//! would have to fill, a new primary key) are [`Refusal`]s unless the project allows exactly
//! that change in `tally.yaml` (`allow_changes`, see [`Allowance`]); a rename is only a rename
//! when allowed as one, otherwise it shows up as a drop (refused) plus an add.
//!
//! Statement order inside one migration, so that every statement finds what it needs:
//! dialect extras are dropped, then views (dependents first), tables renamed, columns renamed,
//! tables created, columns altered, tables rebuilt, tables dropped, rows deleted, updated and
//! inserted, views created (dependencies first), extras created. Every statement is re-parsed
//! with sqlparser in the dialect ([`sql::validate`]) before it is returned.

use super::dialect::{standard_type_name, Dialect};
use super::rewrite;
use super::schema::{Column, Extra, Schema, Table, Value, View};
use super::sql;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

// ---------------------------------------------------------------- allowances

/// A change that loses data or depends on it, allowed in so many words in `tally.yaml`:
///
/// ```yaml
/// allow_changes:
///   - drop column cur_seacats.port_code
///   - rename column cur_apis.nationality to citizenship
/// ```
///
/// Names are warehouse tables and columns as the migrations name them (the diagnostic that
/// refuses a change prints the exact line to add). Once the migration is written the allowance
/// has done its work; `tally compile` warns about allowances that no longer match a change, so
/// an old one cannot silently allow a later, unintended change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Allowance {
    /// `drop table <table>`: the table and its rows go.
    DropTable { table: String },
    /// `drop column <table>.<column>`: the column and its values go.
    DropColumn { table: String, column: String },
    /// `rename table <from> to <to>`: keep the rows under the new name.
    RenameTable { from: String, to: String },
    /// `rename column <table>.<from> to <to>` (the table by its new name): keep the values.
    RenameColumn { table: String, from: String, to: String },
    /// `narrow column <table>.<column>`: a type change that not every value survives.
    NarrowColumn { table: String, column: String },
    /// `not null column <table>.<column>`: existing rows must have a value (a new `NOT NULL`
    /// column without a default, or a column that becomes `NOT NULL`).
    NotNullColumn { table: String, column: String },
    /// `change key <table>`: rebuild the table under a new primary key; fails if rows clash.
    ChangeKey { table: String },
}

/// The forms an allowance takes, for error messages and docs.
pub const ALLOWANCE_FORMS: &[&str] = &[
    "drop table <table>",
    "drop column <table>.<column>",
    "rename table <old> to <new>",
    "rename column <table>.<old> to <new>",
    "narrow column <table>.<column>",
    "not null column <table>.<column>",
    "change key <table>",
];

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowance::DropTable { table } => write!(f, "drop table {table}"),
            Allowance::DropColumn { table, column } => write!(f, "drop column {table}.{column}"),
            Allowance::RenameTable { from, to } => write!(f, "rename table {from} to {to}"),
            Allowance::RenameColumn { table, from, to } => {
                write!(f, "rename column {table}.{from} to {to}")
            }
            Allowance::NarrowColumn { table, column } => {
                write!(f, "narrow column {table}.{column}")
            }
            Allowance::NotNullColumn { table, column } => {
                write!(f, "not null column {table}.{column}")
            }
            Allowance::ChangeKey { table } => write!(f, "change key {table}"),
        }
    }
}

impl FromStr for Allowance {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let column = |word: &str| -> Option<(String, String)> {
            let (table, column) = word.split_once('.')?;
            (name_ok(table) && name_ok(column)).then(|| (table.to_string(), column.to_string()))
        };
        let table = |word: &str| name_ok(word).then(|| word.to_string());
        let parsed = match words.as_slice() {
            ["drop", "table", t] => table(t).map(|table| Allowance::DropTable { table }),
            ["drop", "column", c] => {
                column(c).map(|(table, column)| Allowance::DropColumn { table, column })
            }
            ["rename", "table", a, "to", b] => {
                table(a).zip(table(b)).map(|(from, to)| Allowance::RenameTable { from, to })
            }
            ["rename", "column", c, "to", b] => column(c)
                .zip(table(b))
                .map(|((table, from), to)| Allowance::RenameColumn { table, from, to }),
            ["narrow", "column", c] => {
                column(c).map(|(table, column)| Allowance::NarrowColumn { table, column })
            }
            ["not", "null", "column", c] => {
                column(c).map(|(table, column)| Allowance::NotNullColumn { table, column })
            }
            ["change", "key", t] => table(t).map(|table| Allowance::ChangeKey { table }),
            _ => None,
        };
        parsed.ok_or_else(|| {
            format!(
                "`{text}` is not an allowed change; write one of: {}",
                ALLOWANCE_FORMS.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains('.') && !name.contains(char::is_whitespace)
}

impl Serialize for Allowance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Allowance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------- the plan

/// Why a change was refused; each maps to its own diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    /// A table or column, and the data in it, would be dropped.
    Drop,
    /// A column's type would change to one that cannot hold every old value.
    Narrow,
    /// Existing rows would need a value they may not have.
    NotNull,
    /// The primary key would change; existing rows may clash under the new one.
    Key,
}

/// A change the planner will not make without an [`Allowance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub risk: Risk,
    /// The allowance that would permit it: the exact line to add to `allow_changes`.
    pub allowance: Allowance,
    pub table: String,
    pub column: Option<String>,
    /// Short, sentence case, names the table and column.
    pub message: String,
    /// More to know; never names the table, so refusals of the same change in several
    /// tables read as one.
    pub notes: Vec<String>,
    /// Renames that would explain the drop: a new table or column that looks like the one
    /// that goes. Allowing one of them instead keeps the data.
    pub renames: Vec<Allowance>,
}

/// One emitted statement, with an optional comment line for people reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub comment: Option<String>,
    /// Without the final `;`.
    pub sql: String,
}

/// One thing that changed, for the migration's name and first lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// `add`, `change`, `drop` or `rename`.
    pub action: &'static str,
    /// `table`, `column`, `view`, `rows` or `extra`.
    pub kind: &'static str,
    /// The object: `table`, `table.column`, `view`, ...
    pub name: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.action, self.kind, self.name)
    }
}

/// The result of comparing two schemas.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The statements to run, in order; empty when the database needs no change.
    pub statements: Vec<Statement>,
    /// What changed, in statement order.
    pub changes: Vec<Change>,
    /// The schema after the statements ran: what the lock file records. Column order is the
    /// order the database has (new columns last), not the order of the desired schema.
    pub schema: Schema,
    /// Changes refused for want of an allowance. When not empty, nothing may be emitted.
    pub refused: Vec<Refusal>,
    /// The allowances this plan relied on (the others are unused).
    pub used: BTreeSet<Allowance>,
}

/// Compares `old` (the lock) with `new` (the desired schema). `Err` is an internal error (a
/// statement that does not parse, a view cycle, rows of an unknown table): a bug in Tally.
pub fn plan(
    old: &Schema,
    new: &Schema,
    dialect: &dyn Dialect,
    allowed: &[Allowance],
) -> Result<Planned, String> {
    let planner = Planner {
        dialect,
        allowed: allowed.iter().cloned().collect(),
        used: BTreeSet::new(),
        refused: Vec::new(),
        changes: Vec::new(),
    };
    planner.run(old, new)
}

/// Statement lists in the order they run.
#[derive(Default)]
struct Phases {
    drop_extras: Vec<Statement>,
    drop_views: Vec<Statement>,
    rename_tables: Vec<Statement>,
    rename_columns: Vec<Statement>,
    create_tables: Vec<Statement>,
    alter_tables: Vec<Statement>,
    rebuild_tables: Vec<Statement>,
    drop_tables: Vec<Statement>,
    rows: Vec<Statement>,
    create_views: Vec<Statement>,
    create_extras: Vec<Statement>,
}

impl Phases {
    fn into_vec(self) -> Vec<Statement> {
        [
            self.drop_extras,
            self.drop_views,
            self.rename_tables,
            self.rename_columns,
            self.create_tables,
            self.alter_tables,
            self.rebuild_tables,
            self.drop_tables,
            self.rows,
            self.create_views,
            self.create_extras,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

struct Planner<'a> {
    dialect: &'a dyn Dialect,
    allowed: BTreeSet<Allowance>,
    used: BTreeSet<Allowance>,
    refused: Vec<Refusal>,
    changes: Vec<Change>,
}

/// What happened to one table that existed before.
struct TableOutcome {
    /// The table as the lock records it afterwards.
    table: Table,
    rebuilt: bool,
    /// Views reading it must be dropped and created again (a column went, was renamed or
    /// changed type: PostgreSQL refuses that under a view).
    disturbs_views: bool,
}

impl Planner<'_> {
    fn allows(&mut self, allowance: &Allowance) -> bool {
        if self.allowed.contains(allowance) {
            self.used.insert(allowance.clone());
            true
        } else {
            false
        }
    }

    fn refuse(
        &mut self,
        risk: Risk,
        allowance: Allowance,
        table: &str,
        column: Option<&str>,
        message: String,
    ) -> &mut Refusal {
        self.refused.push(Refusal {
            risk,
            allowance,
            table: table.to_string(),
            column: column.map(str::to_string),
            message,
            notes: Vec::new(),
            renames: Vec::new(),
        });
        let last = self.refused.len() - 1;
        &mut self.refused[last]
    }

    fn change(&mut self, action: &'static str, kind: &'static str, name: impl Into<String>) {
        self.changes.push(Change { action, kind, name: name.into() });
    }

    fn q(&self, name: &str) -> String {
        self.dialect.quote_ident(name)
    }

    fn stmt(&self, comment: Option<String>, sql: String) -> Result<Statement, String> {
        sql::validate(self.dialect, &sql)?;
        Ok(Statement { comment, sql })
    }

    /// `DELETE FROM t [WHERE condition]`, or its replacement where rows cannot be deleted.
    fn delete_rows(&self, name: &str, condition: Option<&str>) -> Result<Vec<Statement>, String> {
        if self.dialect.row_mutations() {
            let t = self.q(name);
            let sql = match condition {
                Some(condition) => format!("DELETE FROM {t} WHERE {condition}"),
                None => format!("DELETE FROM {t}"),
            };
            return Ok(vec![self.stmt(None, sql)?]);
        }
        rewrite::delete(self.dialect, name, condition)
            .into_iter()
            .map(|sql| self.stmt(None, sql))
            .collect()
    }

    /// `UPDATE t SET ... WHERE condition`, or its replacement where rows cannot be updated:
    /// every column of `table` selected, the set ones under the condition.
    fn update_rows(
        &self,
        table: &Table,
        set: &[(String, String)],
        condition: &str,
    ) -> Result<Vec<Statement>, String> {
        let t = self.q(&table.name);
        if self.dialect.row_mutations() {
            let set: Vec<String> = set.iter().map(|(c, v)| format!("{c} = {v}")).collect();
            return self
                .stmt(None, format!("UPDATE {t} SET {} WHERE {condition}", set.join(", ")))
                .map(|s| vec![s]);
        }
        let columns: Vec<String> = table.columns.iter().map(|c| self.q(&c.name)).collect();
        let select: Vec<String> = columns
            .iter()
            .map(|c| match set.iter().find(|(s, _)| s == c) {
                Some((_, value)) => {
                    format!("CASE WHEN {condition} THEN {value} ELSE {c} END AS {c}")
                }
                None => c.clone(),
            })
            .collect();
        let query = format!("SELECT {}\nFROM {t}", select.join(", "));
        rewrite::replace(self.dialect, &table.name, Some(&columns), &query)
            .into_iter()
            .map(|sql| self.stmt(None, sql))
            .collect()
    }

    fn run(mut self, old: &Schema, new: &Schema) -> Result<Planned, String> {
        let mut phases = Phases::default();

        // Renames first: every later comparison sees the old tables under their new names.
        let mut current: BTreeMap<String, Table> = old.tables.clone();
        let mut table_renamed_from: BTreeMap<String, String> = BTreeMap::new();
        for allowance in self.allowed.clone() {
            let Allowance::RenameTable { from, to } = &allowance else { continue };
            let applies = old.tables.contains_key(from)
                && !new.tables.contains_key(from)
                && new.tables.contains_key(to)
                && !old.tables.contains_key(to)
                && !table_renamed_from.values().any(|f| f == from);
            if applies && self.allows(&allowance) {
                if let Some(mut table) = current.remove(from) {
                    table.name = to.clone();
                    current.insert(to.clone(), table);
                }
                table_renamed_from.insert(to.clone(), from.clone());
                phases.rename_tables.push(self.stmt(
                    None,
                    format!("ALTER TABLE {} RENAME TO {}", self.q(from), self.q(to)),
                )?);
                self.change("rename", "table", format!("{from} to {to}"));
            }
        }

        // Column renames, by table (its new name): new name → name in the database.
        let mut column_renamed_from: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for allowance in self.allowed.clone() {
            let Allowance::RenameColumn { table, from, to } = &allowance else { continue };
            let (Some(have), Some(want)) = (current.get(table), new.tables.get(table)) else {
                continue;
            };
            let applies = have.column(from).is_some()
                && have.column(to).is_none()
                && want.column(to).is_some()
                && want.column(from).is_none();
            if applies && self.allows(&allowance) {
                if let Some(have) = current.get_mut(table) {
                    for column in &mut have.columns {
                        if column.name == *from {
                            column.name = to.clone();
                        }
                    }
                    for key in &mut have.primary_key {
                        if key == from {
                            *key = to.clone();
                        }
                    }
                }
                column_renamed_from
                    .entry(table.clone())
                    .or_default()
                    .insert(to.clone(), from.clone());
                self.change("rename", "column", format!("{table}.{from} to {to}"));
            }
        }

        // Tables.
        let mut lock_tables: BTreeMap<String, Table> = BTreeMap::new();
        // Tables whose views must be recreated, under every name views may know them by.
        let mut disturbed: BTreeSet<String> = BTreeSet::new();
        let mut rebuilt: BTreeSet<String> = BTreeSet::new();
        for (name, want) in &new.tables {
            match current.get(name) {
                None => {
                    phases.create_tables.push(self.create_table(want, &want.name)?);
                    self.change("add", "table", name.clone());
                    lock_tables.insert(name.clone(), want.clone());
                }
                Some(have) => {
                    let renamed = column_renamed_from.get(name).cloned().unwrap_or_default();
                    let outcome = self.table(have, want, &renamed, &mut phases)?;
                    if outcome.disturbs_views {
                        disturbed.insert(name.clone());
                        if let Some(from) = table_renamed_from.get(name) {
                            disturbed.insert(from.clone());
                        }
                    }
                    if outcome.rebuilt {
                        rebuilt.insert(name.clone());
                    }
                    lock_tables.insert(name.clone(), outcome.table);
                }
            }
        }
        for (from, to) in table_renamed_from.iter().map(|(to, from)| (from, to)) {
            disturbed.insert(from.clone());
            disturbed.insert(to.clone());
        }
        for (name, have) in &current {
            if new.tables.contains_key(name) {
                continue;
            }
            disturbed.insert(name.clone());
            let allowance = Allowance::DropTable { table: name.clone() };
            if self.allows(&allowance) {
                phases.drop_tables.push(self.stmt(None, format!("DROP TABLE {}", self.q(name)))?);
                self.change("drop", "table", name.clone());
                continue;
            }
            let candidates: Vec<&Table> = new
                .tables
                .values()
                .filter(|t| !current.contains_key(&t.name) && looks_like(have, t))
                .collect();
            let refusal = self.refuse(
                Risk::Drop,
                allowance,
                name,
                None,
                format!("Dropping `{name}` would delete all rows"),
            );
            for candidate in candidates {
                refusal.renames.push(Allowance::RenameTable {
                    from: name.clone(),
                    to: candidate.name.clone(),
                });
            }
        }

        // Views.
        let (drop_views, create_views) = self.views(old, new, &disturbed)?;
        for name in &drop_views {
            phases.drop_views.push(self.stmt(None, format!("DROP VIEW {}", self.q(name)))?);
        }
        for name in &create_views {
            if let Some(view) = new.views.get(name) {
                phases.create_views.push(self.create_view(view)?);
            }
        }

        // Rows of reference tables.
        self.rows(old, new, &current, &table_renamed_from, &column_renamed_from, &mut phases)?;

        // Dialect extras.
        let recreated: BTreeSet<String> = drop_views
            .iter()
            .filter(|v| new.views.contains_key(*v))
            .cloned()
            .chain(rebuilt)
            .collect();
        self.extras(old, new, &recreated, &mut phases)?;

        let schema = Schema {
            tables: lock_tables,
            views: new.views.clone(),
            rows: new.rows.clone(),
            extras: new.extras.clone(),
        };
        Ok(Planned {
            statements: phases.into_vec(),
            changes: self.changes,
            schema,
            refused: self.refused,
            used: self.used,
        })
    }

    fn column_def(&self, column: &Column, not_null: bool) -> String {
        let mut def = format!("{} {}", self.q(&column.name), self.dialect.type_name(column.ty));
        if let Some(default) = &column.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.dialect.literal(default));
        }
        if not_null && !column.nullable {
            def.push_str(" NOT NULL");
        }
        def
    }

    fn create_table(&self, table: &Table, name: &str) -> Result<Statement, String> {
        let mut lines: Vec<String> =
            table.columns.iter().map(|c| format!("    {}", self.column_def(c, true))).collect();
        if !table.primary_key.is_empty() && self.dialect.supports_primary_keys() {
            let key: Vec<String> = table.primary_key.iter().map(|k| self.q(k)).collect();
            lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
        }
        let comment =
            (!table.comment.is_empty()).then(|| format!("{}: {}", table.name, table.comment));
        let storage = self.dialect.table_storage(table);
        let storage = if storage.is_empty() { storage } else { format!("\n{storage}") };
        self.stmt(
            comment,
            format!("CREATE TABLE {} (\n{}\n){storage}", self.q(name), lines.join(",\n")),
        )
    }

    fn create_view(&self, view: &View) -> Result<Statement, String> {
        let query = view.query.trim().trim_end_matches(';').trim_end();
        self.stmt(None, format!("CREATE VIEW {} AS\n{query}", self.q(&view.name)))
    }

    /// Compares one table that exists in both schemas (`have` already carries the allowed
    /// renames; `renamed` maps new column names to the names in the database).
    fn table(
        &mut self,
        have: &Table,
        want: &Table,
        renamed: &BTreeMap<String, String>,
        phases: &mut Phases,
    ) -> Result<TableOutcome, String> {
        let t = want.name.as_str();
        let mut rebuild = false;
        let mut disturbs_views = !renamed.is_empty();
        if have.primary_key != want.primary_key {
            let allowance = Allowance::ChangeKey { table: t.to_string() };
            if self.allows(&allowance) {
                rebuild = true;
                self.change("change", "key", t.to_string());
            } else {
                self.refuse(
                    Risk::Key,
                    allowance,
                    t,
                    None,
                    format!(
                        "The primary key of `{t}` would change from ({}) to ({})",
                        have.primary_key.join(", "),
                        want.primary_key.join(", ")
                    ),
                )
                .notes
                .push(
                    "rows that are unique under the old key may clash under the new one"
                        .to_string(),
                );
            }
        }

        let mut alters: Vec<Statement> = Vec::new();
        let mut drops: Vec<Statement> = Vec::new();
        let mut key_column_altered = false;
        // Whether an existing column is dropped or changed (not only columns added).
        let mut column_altered = false;
        let table = self.q(t);

        for old_column in &have.columns {
            if want.column(&old_column.name).is_some() {
                continue;
            }
            disturbs_views = true;
            let c = old_column.name.as_str();
            let allowance = Allowance::DropColumn { table: t.to_string(), column: c.to_string() };
            if self.allows(&allowance) {
                // DuckDB also refuses to drop a column stored before an indexed one.
                let position = have.columns.iter().position(|x| x.name == c);
                key_column_altered |= have
                    .primary_key
                    .iter()
                    .any(|k| k == c || have.columns.iter().position(|x| x.name == *k) > position);
                column_altered = true;
                drops.push(
                    self.stmt(None, format!("ALTER TABLE {table} DROP COLUMN {}", self.q(c)))?,
                );
                self.change("drop", "column", format!("{t}.{c}"));
                continue;
            }
            let added: Vec<&Column> = want
                .columns
                .iter()
                .filter(|n| have.column(&n.name).is_none() && n.ty == old_column.ty)
                .collect();
            let refusal = self.refuse(
                Risk::Drop,
                allowance,
                t,
                Some(c),
                format!("Column `{c}` would be dropped from `{t}` with its values"),
            );
            for candidate in added {
                refusal.renames.push(Allowance::RenameColumn {
                    table: t.to_string(),
                    from: c.to_string(),
                    to: candidate.name.clone(),
                });
            }
        }

        for column in &want.columns {
            let c = column.name.as_str();
            let quoted = self.q(c);
            let Some(before) = have.column(c) else {
                if !column.nullable && column.default.is_none() {
                    let allowance =
                        Allowance::NotNullColumn { table: t.to_string(), column: c.to_string() };
                    if !self.allows(&allowance) {
                        self.refuse(
                            Risk::NotNull,
                            allowance,
                            t,
                            Some(c),
                            format!("New column `{c}` of `{t}` is not null and has no default"),
                        )
                        .notes
                        .push("rows already in the table would have no value for it".to_string());
                    }
                }
                if self.dialect.supports_add_column_not_null() || column.nullable {
                    alters.push(self.stmt(
                        None,
                        format!("ALTER TABLE {table} ADD COLUMN {}", self.column_def(column, true)),
                    )?);
                } else {
                    alters.push(self.stmt(
                        None,
                        format!(
                            "ALTER TABLE {table} ADD COLUMN {}",
                            self.column_def(column, false)
                        ),
                    )?);
                    alters.push(self.stmt(
                        None,
                        format!("ALTER TABLE {table} ALTER COLUMN {quoted} SET NOT NULL"),
                    )?);
                }
                self.change("add", "column", format!("{t}.{c}"));
                continue;
            };
            let is_key = want.primary_key.iter().any(|k| k == c);
            let mut changed = false;
            if before.ty != column.ty {
                disturbs_views = true;
                changed = true;
                key_column_altered |= is_key;
                if !before.ty.widens_to(column.ty) {
                    let allowance =
                        Allowance::NarrowColumn { table: t.to_string(), column: c.to_string() };
                    if !self.allows(&allowance) {
                        self.refuse(
                            Risk::Narrow,
                            allowance,
                            t,
                            Some(c),
                            format!(
                                "Column `{c}` of `{t}` would change type from {} to {}",
                                standard_type_name(before.ty),
                                standard_type_name(column.ty)
                            ),
                        )
                        .notes
                        .push(format!(
                            "not every {} value fits in {}",
                            standard_type_name(before.ty),
                            standard_type_name(column.ty)
                        ));
                    }
                }
                let ty = self.dialect.type_name(column.ty);
                let using = if self.dialect.alter_type_needs_using() {
                    format!(" USING CAST({quoted} AS {ty})")
                } else {
                    String::new()
                };
                alters.push(self.stmt(
                    None,
                    format!("ALTER TABLE {table} ALTER COLUMN {quoted} SET DATA TYPE {ty}{using}"),
                )?);
            }
            if before.nullable && !column.nullable {
                changed = true;
                key_column_altered |= is_key;
                let allowance =
                    Allowance::NotNullColumn { table: t.to_string(), column: c.to_string() };
                if !self.allows(&allowance) {
                    self.refuse(
                        Risk::NotNull,
                        allowance,
                        t,
                        Some(c),
                        format!("Column `{c}` of `{t}` would become not null"),
                    )
                    .notes
                    .push("rows already in the table may hold nulls in it".to_string());
                }
                alters.push(self.stmt(
                    None,
                    format!("ALTER TABLE {table} ALTER COLUMN {quoted} SET NOT NULL"),
                )?);
            } else if !before.nullable && column.nullable {
                changed = true;
                key_column_altered |= is_key;
                alters.push(self.stmt(
                    None,
                    format!("ALTER TABLE {table} ALTER COLUMN {quoted} DROP NOT NULL"),
                )?);
            }
            if before.default != column.default {
                changed = true;
                alters.push(self.stmt(
                    None,
                    match &column.default {
                        Some(value) => format!(
                            "ALTER TABLE {table} ALTER COLUMN {quoted} SET DEFAULT {}",
                            self.dialect.literal(value)
                        ),
                        None => format!("ALTER TABLE {table} ALTER COLUMN {quoted} DROP DEFAULT"),
                    },
                )?);
            }
            if changed {
                column_altered = true;
                self.change("change", "column", format!("{t}.{c}"));
            }
        }

        // Some engines cannot alter a column their primary-key index covers; the table is
        // rebuilt instead, which is what a key change does anyway.
        let renames_key = renamed.keys().any(|c| want.primary_key.contains(c));
        if !self.dialect.alters_key_columns() && (key_column_altered || renames_key) {
            rebuild = true;
        }
        if !self.dialect.alters_columns() && (column_altered || !renamed.is_empty()) {
            rebuild = true;
        }

        if rebuild {
            phases.rebuild_tables.extend(self.rebuild(have, want, renamed)?);
            let mut table = want.clone();
            table.name = t.to_string();
            return Ok(TableOutcome { table, rebuilt: true, disturbs_views: true });
        }

        for (to, from) in renamed {
            phases.rename_columns.push(self.stmt(
                None,
                format!("ALTER TABLE {table} RENAME COLUMN {} TO {}", self.q(from), self.q(to)),
            )?);
        }
        phases.alter_tables.extend(drops);
        phases.alter_tables.extend(alters);

        // The database keeps its column order and appends new columns.
        let mut columns: Vec<Column> =
            have.columns.iter().filter_map(|c| want.column(&c.name).cloned()).collect();
        columns.extend(want.columns.iter().filter(|c| have.column(&c.name).is_none()).cloned());
        let table = Table { columns, ..want.clone() };
        Ok(TableOutcome { table, rebuilt: false, disturbs_views })
    }

    /// A new table under a temporary name, the old rows copied (renamed columns mapped, changed
    /// types cast), the old table dropped and the new one renamed into place. `have` is the
    /// table under its current name with renames applied, `renamed` maps back to the names the
    /// database still has.
    fn rebuild(
        &self,
        have: &Table,
        want: &Table,
        renamed: &BTreeMap<String, String>,
    ) -> Result<Vec<Statement>, String> {
        let temporary = format!("{}__rebuild", want.name);
        let mut statements = vec![self.create_table(want, &temporary)?];
        statements[0].comment =
            Some(format!("{}: rebuilt under a new definition, rows copied", want.name));
        let mut targets = Vec::new();
        let mut sources = Vec::new();
        for column in &want.columns {
            let Some(before) = have.column(&column.name) else { continue };
            let source = self.q(renamed.get(&column.name).unwrap_or(&column.name));
            targets.push(self.q(&column.name));
            sources.push(if before.ty == column.ty {
                source
            } else {
                format!("CAST({source} AS {})", self.dialect.type_name(column.ty))
            });
        }
        if !targets.is_empty() {
            statements.push(self.stmt(
                None,
                format!(
                    "INSERT INTO {} ({}) SELECT {} FROM {}",
                    self.q(&temporary),
                    targets.join(", "),
                    sources.join(", "),
                    self.q(&want.name)
                ),
            )?);
        }
        statements.push(self.stmt(None, format!("DROP TABLE {}", self.q(&want.name)))?);
        statements.push(self.stmt(
            None,
            format!("ALTER TABLE {} RENAME TO {}", self.q(&temporary), self.q(&want.name)),
        )?);
        Ok(statements)
    }

    /// Views to drop (dependents first) and to create (dependencies first).
    fn views(
        &mut self,
        old: &Schema,
        new: &Schema,
        disturbed: &BTreeSet<String>,
    ) -> Result<(Vec<String>, Vec<String>), String> {
        let mut affected: BTreeSet<String> = BTreeSet::new();
        for (name, view) in &old.views {
            match new.views.get(name) {
                None => {
                    self.change("drop", "view", name.clone());
                    affected.insert(name.clone());
                }
                Some(wanted) if wanted != view => {
                    self.change("change", "view", name.clone());
                    affected.insert(name.clone());
                }
                Some(_) if view.depends_on.iter().any(|d| disturbed.contains(d)) => {
                    affected.insert(name.clone());
                }
                Some(_) => {}
            }
        }
        for name in new.views.keys() {
            if !old.views.contains_key(name) {
                self.change("add", "view", name.clone());
            }
        }
        // A view that reads an affected view goes and comes back with it.
        loop {
            let more: Vec<String> = old
                .views
                .values()
                .filter(|v| !affected.contains(&v.name))
                .filter(|v| v.depends_on.iter().any(|d| affected.contains(d)))
                .map(|v| v.name.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            affected.extend(more);
        }
        let mut drops = view_order(&old.views)?;
        drops.retain(|v| affected.contains(v));
        drops.reverse();
        let mut creates = view_order(&new.views)?;
        creates.retain(|v| affected.contains(v) || !old.views.contains_key(v));
        Ok((drops, creates))
    }

    fn rows(
        &mut self,
        old: &Schema,
        new: &Schema,
        current: &BTreeMap<String, Table>,
        table_renamed_from: &BTreeMap<String, String>,
        column_renamed_from: &BTreeMap<String, BTreeMap<String, String>>,
        phases: &mut Phases,
    ) -> Result<(), String> {
        let renamed_to: BTreeMap<&String, &String> =
            table_renamed_from.iter().map(|(to, from)| (from, to)).collect();
        let mut tables: BTreeSet<String> = new.rows.keys().cloned().collect();
        for name in old.rows.keys() {
            let name = renamed_to.get(name).map_or(name, |n| *n);
            if new.tables.contains_key(name) {
                tables.insert(name.clone());
            }
        }
        type Rows = BTreeMap<Vec<Value>, BTreeMap<String, Value>>;
        let empty = Rows::new();
        for name in tables {
            let table = new
                .tables
                .get(&name)
                .ok_or_else(|| format!("the schema has rows for `{name}`, which is not a table"))?;
            if table.primary_key.is_empty() {
                return Err(format!("the schema has rows for `{name}`, which has no primary key"));
            }
            let old_name = table_renamed_from.get(&name).unwrap_or(&name);
            let existed = current.contains_key(&name);
            let mut before: Rows = if existed {
                old.rows.get(old_name).cloned().unwrap_or_default()
            } else {
                Rows::new()
            };
            if let Some(renames) = column_renamed_from.get(&name) {
                for row in before.values_mut() {
                    for (to, from) in renames {
                        if let Some(value) = row.remove(from) {
                            row.insert(to.clone(), value);
                        }
                    }
                }
            }
            let after = new.rows.get(&name).unwrap_or(&empty);
            let key_changed =
                current.get(&name).is_some_and(|t| t.primary_key != table.primary_key);
            let q = |n: &str| self.q(n);
            let t = q(&name);
            let where_key = |key: &[Value]| -> String {
                table
                    .primary_key
                    .iter()
                    .zip(key)
                    .map(|(k, v)| format!("{} = {}", q(k), self.dialect.literal(v)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            let mut inserts: Vec<(&Vec<Value>, &BTreeMap<String, Value>)> = Vec::new();
            if key_changed && !before.is_empty() {
                // Rows keyed by the old key cannot be matched to the new; reference rows are
                // entirely the compiler's, so they are replaced.
                phases.rows.extend(self.delete_rows(&name, None)?);
                inserts.extend(after.iter());
            } else {
                for key in before.keys() {
                    if !after.contains_key(key) {
                        phases.rows.extend(self.delete_rows(&name, Some(&where_key(key)))?);
                    }
                }
                for (key, row) in after {
                    let Some(old_row) = before.get(key) else {
                        inserts.push((key, row));
                        continue;
                    };
                    let mut set = Vec::new();
                    for (column, value) in row {
                        if table.primary_key.contains(column) {
                            continue;
                        }
                        // A column added by this migration holds its default (or null).
                        let had = old_row.get(column).cloned().unwrap_or_else(|| {
                            table
                                .column(column)
                                .and_then(|c| c.default.clone())
                                .unwrap_or(Value::Null)
                        });
                        if had != *value {
                            set.push((q(column), self.dialect.literal(value)));
                        }
                    }
                    for column in old_row.keys() {
                        if !row.contains_key(column) && table.column(column).is_some() {
                            set.push((q(column), "NULL".to_string()));
                        }
                    }
                    if !set.is_empty() {
                        phases.rows.extend(self.update_rows(table, &set, &where_key(key))?);
                    }
                }
            }
            if !inserts.is_empty() {
                let mut columns: Vec<String> = table.primary_key.clone();
                for (_, row) in &inserts {
                    for column in row.keys() {
                        if !columns.contains(column) {
                            columns.push(column.clone());
                        }
                    }
                }
                let tuples: Vec<String> = inserts
                    .iter()
                    .map(|(key, row)| {
                        let values: Vec<String> = columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let value = if i < table.primary_key.len() {
                                    key.get(i).cloned().unwrap_or(Value::Null)
                                } else {
                                    row.get(c).cloned().unwrap_or(Value::Null)
                                };
                                self.dialect.literal(&value)
                            })
                            .collect();
                        format!("    ({})", values.join(", "))
                    })
                    .collect();
                let columns: Vec<String> = columns.iter().map(|c| q(c)).collect();
                phases.rows.push(self.stmt(
                    None,
                    format!(
                        "INSERT INTO {t} ({}) VALUES\n{}",
                        columns.join(", "),
                        tuples.join(",\n")
                    ),
                )?);
            }
            if before != *after {
                self.change("change", "rows", name.clone());
            }
        }
        Ok(())
    }

    fn extras(
        &mut self,
        old: &Schema,
        new: &Schema,
        recreated: &BTreeSet<String>,
        phases: &mut Phases,
    ) -> Result<(), String> {
        let mut drop: Vec<(&String, &Extra)> = Vec::new();
        let mut create: Vec<(&String, &Extra)> = Vec::new();
        for (name, extra) in &old.extras {
            match new.extras.get(name) {
                None => {
                    drop.push((name, extra));
                    self.change("drop", "extra", name.clone());
                }
                Some(wanted) if wanted != extra => {
                    drop.push((name, extra));
                    create.push((name, wanted));
                    self.change("change", "extra", name.clone());
                }
                // Grants and policies vanish with the view or table they were on.
                Some(wanted) if mentions(self.dialect, &extra.create, recreated) => {
                    drop.push((name, extra));
                    create.push((name, wanted));
                }
                Some(_) => {}
            }
        }
        for (name, extra) in &new.extras {
            if !old.extras.contains_key(name) {
                create.push((name, extra));
                self.change("add", "extra", name.clone());
            }
        }
        create.sort_by(|a, b| a.0.cmp(b.0));
        // Removed in the reverse order of creation, so a role outlives the grants to it.
        drop.sort_by(|a, b| b.0.cmp(a.0));
        for (name, extra) in drop {
            for (i, sql) in extra.drop.iter().enumerate() {
                let comment = (i == 0).then(|| format!("remove {name}"));
                phases.drop_extras.push(self.stmt(comment, trim_statement(sql))?);
            }
        }
        for (name, extra) in create {
            for (i, sql) in extra.create.iter().enumerate() {
                let comment = (i == 0).then(|| name.to_string());
                phases.create_extras.push(self.stmt(comment, trim_statement(sql))?);
            }
        }
        Ok(())
    }
}

fn trim_statement(sql: &str) -> String {
    sql.trim().trim_end_matches(';').trim_end().to_string()
}

/// Whether a dropped table and a new one may be the same table renamed: same kind, and at least
/// half of the old columns are in the new one with the same type.
fn looks_like(old: &Table, new: &Table) -> bool {
    if old.kind != new.kind || old.columns.is_empty() {
        return false;
    }
    let same =
        old.columns.iter().filter(|c| new.column(&c.name).is_some_and(|n| n.ty == c.ty)).count();
    same * 2 >= old.columns.len()
}

/// Whether any statement names one of `names` as an identifier.
fn mentions(dialect: &dyn Dialect, statements: &[String], names: &BTreeSet<String>) -> bool {
    use sqlparser::tokenizer::{Token, Tokenizer};
    if names.is_empty() {
        return false;
    }
    let parser = dialect.parser();
    statements.iter().any(|sql| {
        let Ok(tokens) = Tokenizer::new(parser.as_ref(), sql).tokenize() else {
            // Unreadable text is reported when the statement is validated; when in doubt,
            // run it again.
            return true;
        };
        tokens.iter().any(|token| match token {
            Token::Word(word) if word.quote_style.is_some() => names.contains(&word.value),
            Token::Word(word) => names.contains(&word.value.to_ascii_lowercase()),
            _ => false,
        })
    })
}

/// Views in dependency order (a view after the views it reads), ties by name.
fn view_order(views: &BTreeMap<String, View>) -> Result<Vec<String>, String> {
    let mut order = Vec::with_capacity(views.len());
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, view) in views {
        let inputs: Vec<&str> = view
            .depends_on
            .iter()
            .map(String::as_str)
            .filter(|d| views.contains_key(*d) && *d != name)
            .collect();
        waiting.insert(name, inputs.len());
        for input in inputs {
            readers.entry(input).or_default().push(name);
        }
    }
    let mut ready: BTreeSet<&str> =
        waiting.iter().filter(|(_, n)| **n == 0).map(|(v, _)| *v).collect();
    while let Some(next) = ready.pop_first() {
        placed.insert(next);
        order.push(next.to_string());
        for reader in readers.get(next).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(reader) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(reader);
                }
            }
        }
    }
    if order.len() != views.len() {
        let stuck: Vec<&str> =
            views.keys().map(String::as_str).filter(|v| !placed.contains(v)).collect();
        return Err(format!("views depend on each other in a cycle: {}", stuck.join(", ")));
    }
    Ok(order)
}

// ---------------------------------------------------------------- rendering

/// The header every generated SQL file starts with.
pub const HEADER: &str = "-- generated by tally compile, do not edit";

/// The text of a migration file: the header, a line saying what it does, then each statement
/// (with its comment) ending in `;`, separated by blank lines.
pub fn render(
    name: &str,
    dialect: &dyn Dialect,
    summary: &str,
    statements: &[Statement],
) -> String {
    let mut text = format!("{HEADER}\n-- {name} ({}): {summary}\n", dialect.name());
    for statement in statements {
        text.push('\n');
        if let Some(comment) = &statement.comment {
            for line in comment.lines() {
                text.push_str("-- ");
                text.push_str(line);
                text.push('\n');
            }
        }
        text.push_str(&statement.sql);
        text.push_str(";\n");
    }
    text
}

/// One line saying what a migration does.
pub fn summary(old: &Schema, new: &Schema, changes: &[Change]) -> String {
    if is_empty(old) {
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        return format!(
            "the initial schema: {}, {}, {}, {}",
            count(new.tables.len(), "table"),
            count(new.views.len(), "view"),
            count(new.rows.values().map(BTreeMap::len).sum::<usize>(), "reference row"),
            count(new.extras.len(), "extra")
        );
    }
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = changes.iter().take(SHOWN).map(Change::to_string).collect();
    if changes.len() > SHOWN {
        parts.push(format!("and {} more", changes.len() - SHOWN));
    }
    parts.join("; ")
}

/// Whether the schema has nothing in it (no migration has run).
pub fn is_empty(schema: &Schema) -> bool {
    schema.tables.is_empty()
        && schema.views.is_empty()
        && schema.rows.is_empty()
        && schema.extras.is_empty()
}

/// The slug of a migration's file name (`0002_<slug>.sql`): `initial`; the one change
/// (`add_column_cur_seacats_port_code`, `change_view_v_ports`); what happened to the one
/// declaration every change belongs to (`add_source_apis`, `add_columns_seacats`,
/// `rename_column_seacats_badge`, `change_source_seacats`); or `update`. `owner` names the
/// declaration (kind, name) a table or view belongs to, when it can tell.
pub fn slug(
    old: &Schema,
    changes: &[Change],
    owner: &dyn Fn(&str) -> Option<(&'static str, String)>,
) -> String {
    if is_empty(old) {
        return "initial".to_string();
    }
    let raw = match changes {
        [] => "update".to_string(),
        [one] => format!("{}_{}_{}", one.action, one.kind, one.name),
        many => slug_of_many(many, owner).unwrap_or_else(|| "update".to_string()),
    };
    sanitize(&raw)
}

fn slug_of_many(
    changes: &[Change],
    owner: &dyn Fn(&str) -> Option<(&'static str, String)>,
) -> Option<String> {
    // `table.column to new` → (`table`, `column`)
    let parts = |c: &Change| -> (String, Option<String>) {
        let object = c.name.split(' ').next().unwrap_or(&c.name);
        match object.split_once('.') {
            Some((table, column)) => (table.to_string(), Some(column.to_string())),
            None => (object.to_string(), None),
        }
    };
    let owners: BTreeSet<Option<(&'static str, String)>> =
        changes.iter().map(|c| owner(&parts(c).0)).collect();
    // A declaration that is gone has no owner; its tables still share a stem (`cur_apis`).
    let (kind, decl) = match owners.into_iter().collect::<Vec<_>>().as_slice() {
        [Some((kind, decl))] => (Some(*kind), decl.clone()),
        _ => {
            let stems: BTreeSet<String> = changes
                .iter()
                .map(|c| {
                    let table = parts(c).0;
                    table.split_once('_').map_or(table.clone(), |(_, stem)| stem.to_string())
                })
                .collect();
            match stems.into_iter().collect::<Vec<_>>().as_slice() {
                [stem] => (None, stem.clone()),
                _ => return None,
            }
        }
    };
    let first = &changes[0];
    let same_action = changes.iter().all(|c| c.action == first.action);
    let same_kind = changes.iter().all(|c| c.kind == first.kind);
    let action = first.action;
    Some(match (same_action, same_kind, first.kind, kind) {
        (true, true, "table", Some(kind)) => format!("{action}_{kind}_{decl}"),
        (true, true, "column", _) => {
            let columns: BTreeSet<Option<String>> = changes.iter().map(|c| parts(c).1).collect();
            match columns.into_iter().collect::<Vec<_>>().as_slice() {
                [Some(column)] => format!("{action}_column_{decl}_{column}"),
                _ => format!("{action}_columns_{decl}"),
            }
        }
        (true, true, what, _) => format!("{action}_{what}s_{decl}"),
        // A new declaration: its tables, views and rows.
        (true, false, _, Some(kind)) if action == "add" => format!("add_{kind}_{decl}"),
        (_, _, _, Some(kind)) => format!("change_{kind}_{decl}"),
        (_, _, _, None) => format!("change_{decl}"),
    })
}

fn sanitize(raw: &str) -> String {
    const MAX: usize = 60;
    let mut slug = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let mut slug = slug.trim_matches('_').to_string();
    if slug.len() > MAX {
        slug.truncate(MAX);
        slug = slug.trim_end_matches('_').to_string();
    }
    if slug.is_empty() {
        "update".to_string()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::{DuckDb, Postgres, Spark};
    use crate::codegen::schema::{SqlType, TableKind};

    fn col(name: &str, ty: SqlType, nullable: bool) -> Column {
        Column { name: name.to_string(), ty, nullable, default: None }
    }

    fn table(name: &str, columns: Vec<Column>, key: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            kind: TableKind::Current,
            columns,
            primary_key: key.iter().map(|k| k.to_string()).collect(),
            comment: format!("rows of {name}"),
        }
    }

    fn view(name: &str, query: &str, depends_on: &[&str]) -> View {
        View {
            name: name.to_string(),
            query: query.to_string(),
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn seacats() -> Table {
        table(
            "cur_seacats",
            vec![
                col("seizure_id", SqlType::BigInt, false),
                col("amount", SqlType::Decimal { precision: 12, scale: 2 }, true),
                col("port", SqlType::Text, true),
            ],
            &["seizure_id"],
        )
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            ..Schema::default()
        }
    }

    fn sql(planned: &Planned) -> Vec<String> {
        planned.statements.iter().map(|s| s.sql.clone()).collect()
    }

    fn allow(lines: &[&str]) -> Vec<Allowance> {
        lines.iter().map(|l| l.parse().expect("valid allowance")).collect()
    }

    #[test]
    fn allowances_round_trip_and_bad_ones_list_the_forms() {
        for form in [
            "drop table cur_x",
            "drop column cur_x.a",
            "rename table cur_x to cur_y",
            "rename column cur_x.a to b",
            "narrow column cur_x.a",
            "not null column cur_x.a",
            "change key cur_x",
        ] {
            let parsed: Allowance = form.parse().expect(form);
            assert_eq!(parsed.to_string(), form);
        }
        let error = "drop colum cur_x.a".parse::<Allowance>().expect_err("not a form");
        assert!(error.contains("`drop column <table>.<column>`"), "{error}");
        assert!("drop column cur_x".parse::<Allowance>().is_err());
    }

    #[test]
    fn the_initial_migration_creates_everything_in_order() {
        let mut new = schema(vec![
            seacats(),
            table(
                "pol_role",
                vec![col("role", SqlType::Text, false), col("min_cell", SqlType::BigInt, true)],
                &["role"],
            ),
        ]);
        new.views.insert("v_top".into(), view("v_top", "SELECT port FROM v_ports", &["v_ports"]));
        new.views.insert(
            "v_ports".into(),
            view("v_ports", "SELECT port, amount FROM cur_seacats;", &["cur_seacats"]),
        );
        new.rows.entry("pol_role".into()).or_default().insert(
            vec![Value::Text("analyst".into())],
            [("min_cell".to_string(), Value::Int(11))].into(),
        );
        new.extras.insert(
            "grant_analyst".into(),
            Extra {
                create: vec!["GRANT SELECT ON v_top TO analyst".into()],
                drop: vec!["REVOKE SELECT ON v_top FROM analyst".into()],
            },
        );
        let planned = plan(&Schema::default(), &new, &Postgres, &[]).expect("plans");
        assert!(planned.refused.is_empty());
        let text = render(
            "0001_initial.sql",
            &Postgres,
            &summary(&Schema::default(), &new, &planned.changes),
            &planned.statements,
        );
        insta::assert_snapshot!(text);
        assert_eq!(planned.schema, new);
    }

    #[test]
    fn nothing_changed_means_no_statements() {
        let old = schema(vec![seacats()]);
        let planned = plan(&old, &old, &DuckDb, &[]).expect("plans");
        assert!(planned.statements.is_empty() && planned.changes.is_empty());
        assert_eq!(planned.schema, old);
    }

    #[test]
    fn a_reordered_column_list_is_not_a_change_and_the_lock_keeps_the_database_order() {
        let old = schema(vec![seacats()]);
        let mut reordered = seacats();
        reordered.columns.reverse();
        let planned = plan(&old, &schema(vec![reordered]), &DuckDb, &[]).expect("plans");
        assert!(planned.statements.is_empty());
        assert_eq!(planned.schema, old);
    }

    #[test]
    fn an_added_column_is_only_an_add_column() {
        let old = schema(vec![seacats()]);
        let mut wider = seacats();
        wider.columns.insert(1, col("port_code", SqlType::Text, true));
        let planned = plan(&old, &schema(vec![wider]), &Postgres, &[]).expect("plans");
        assert_eq!(sql(&planned), ["ALTER TABLE cur_seacats ADD COLUMN port_code TEXT"]);
        let names: Vec<&str> =
            planned.schema.tables["cur_seacats"].columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["seizure_id", "amount", "port", "port_code"], "appended");
    }

    #[test]
    fn a_not_null_column_needs_a_default_or_an_allowance() {
        let old = schema(vec![seacats()]);
        let mut new = seacats();
        new.columns.push(col("flag", SqlType::Boolean, false));
        let planned = plan(&old, &schema(vec![new.clone()]), &Postgres, &[]).expect("plans");
        assert_eq!(planned.refused.len(), 1);
        assert_eq!(planned.refused[0].risk, Risk::NotNull);
        assert_eq!(planned.refused[0].allowance.to_string(), "not null column cur_seacats.flag");

        new.columns[3].default = Some(Value::Bool(false));
        let postgres = plan(&old, &schema(vec![new.clone()]), &Postgres, &[]).expect("plans");
        assert_eq!(
            sql(&postgres),
            ["ALTER TABLE cur_seacats ADD COLUMN flag BOOLEAN DEFAULT FALSE NOT NULL"]
        );
        let duckdb = plan(&old, &schema(vec![new]), &DuckDb, &[]).expect("plans");
        assert_eq!(
            sql(&duckdb),
            [
                "ALTER TABLE cur_seacats ADD COLUMN flag BOOLEAN DEFAULT FALSE",
                "ALTER TABLE cur_seacats ALTER COLUMN flag SET NOT NULL"
            ]
        );
    }

    #[test]
    fn a_dropped_column_is_refused_and_suggests_a_rename() {
        let old = schema(vec![seacats()]);
        let mut new = seacats();
        new.columns[2].name = "port_name".into();
        let planned = plan(&old, &schema(vec![new.clone()]), &Postgres, &[]).expect("plans");
        assert_eq!(planned.refused.len(), 1, "{:?}", planned.refused);
        let refusal = &planned.refused[0];
        assert_eq!(refusal.risk, Risk::Drop);
        assert_eq!(refusal.allowance.to_string(), "drop column cur_seacats.port");
        assert!(refusal.message.contains("`port`") && refusal.message.contains("`cur_seacats`"));
        assert_eq!(refusal.renames, allow(&["rename column cur_seacats.port to port_name"]));

        let dropped = plan(
            &old,
            &schema(vec![new.clone()]),
            &Postgres,
            &allow(&["drop column cur_seacats.port"]),
        )
        .expect("plans");
        assert!(dropped.refused.is_empty());
        assert_eq!(
            sql(&dropped),
            [
                "ALTER TABLE cur_seacats DROP COLUMN port",
                "ALTER TABLE cur_seacats ADD COLUMN port_name TEXT"
            ]
        );

        let renamed = plan(
            &old,
            &schema(vec![new]),
            &Postgres,
            &allow(&["rename column cur_seacats.port to port_name"]),
        )
        .expect("plans");
        assert_eq!(sql(&renamed), ["ALTER TABLE cur_seacats RENAME COLUMN port TO port_name"]);
        assert_eq!(renamed.used.len(), 1);
    }

    #[test]
    fn types_widen_on_their_own_and_narrow_only_when_allowed() {
        let old = schema(vec![seacats()]);
        let mut wider = seacats();
        wider.columns[1].ty = SqlType::Decimal { precision: 18, scale: 4 };
        let planned = plan(&old, &schema(vec![wider]), &Postgres, &[]).expect("plans");
        assert_eq!(
            sql(&planned),
            ["ALTER TABLE cur_seacats ALTER COLUMN amount SET DATA TYPE NUMERIC(18, 4) USING CAST(amount AS NUMERIC(18, 4))"]
        );

        let mut narrower = seacats();
        narrower.columns[1].ty = SqlType::BigInt;
        let refused = plan(&old, &schema(vec![narrower.clone()]), &DuckDb, &[]).expect("plans");
        assert_eq!(refused.refused[0].risk, Risk::Narrow);
        assert!(refused.refused[0].message.contains("DECIMAL(12, 2) to BIGINT"));
        let allowed = plan(
            &old,
            &schema(vec![narrower]),
            &DuckDb,
            &allow(&["narrow column cur_seacats.amount"]),
        )
        .expect("plans");
        assert!(allowed.refused.is_empty());
        assert_eq!(allowed.statements.len(), 1);
    }

    #[test]
    fn a_key_change_is_refused_then_rebuilds_the_table() {
        let old = schema(vec![seacats()]);
        let mut new = seacats();
        new.primary_key.push("port".into());
        new.columns[2].nullable = false;
        let refused = plan(&old, &schema(vec![new.clone()]), &Postgres, &[]).expect("plans");
        let risks: Vec<Risk> = refused.refused.iter().map(|r| r.risk).collect();
        assert_eq!(risks, [Risk::Key, Risk::NotNull]);
        let allowed = plan(
            &old,
            &schema(vec![new]),
            &DuckDb,
            &allow(&["change key cur_seacats", "not null column cur_seacats.port"]),
        )
        .expect("plans");
        assert!(allowed.refused.is_empty());
        let statements = sql(&allowed);
        assert!(statements[0].starts_with("CREATE TABLE cur_seacats__rebuild ("), "{statements:?}");
        assert!(statements[0].contains("PRIMARY KEY (seizure_id, port)"));
        assert_eq!(
            statements[1..],
            [
                "INSERT INTO cur_seacats__rebuild (seizure_id, amount, port) SELECT seizure_id, amount, port FROM cur_seacats",
                "DROP TABLE cur_seacats",
                "ALTER TABLE cur_seacats__rebuild RENAME TO cur_seacats"
            ]
        );
    }

    #[test]
    fn duckdb_rebuilds_when_a_key_column_changes_type() {
        let old = schema(vec![seacats()]);
        let mut new = seacats();
        new.columns[0].ty = SqlType::Decimal { precision: 20, scale: 0 };
        let duckdb = plan(&old, &schema(vec![new.clone()]), &DuckDb, &[]).expect("plans");
        assert!(duckdb.refused.is_empty());
        assert!(
            sql(&duckdb)[1].contains("CAST(seizure_id AS DECIMAL(20, 0))"),
            "{:?}",
            sql(&duckdb)
        );
        let postgres = plan(&old, &schema(vec![new]), &Postgres, &[]).expect("plans");
        assert_eq!(postgres.statements.len(), 1, "postgres alters the key column in place");
    }

    #[test]
    fn duckdb_rebuilds_to_drop_a_column_stored_before_the_key() {
        let ports = table(
            "cur_ports",
            vec![col("name", SqlType::Text, true), col("code", SqlType::Text, false)],
            &["code"],
        );
        let old = schema(vec![ports.clone()]);
        let mut new = ports;
        new.columns.remove(0);
        let allowed = allow(&["drop column cur_ports.name"]);
        let duckdb = plan(&old, &schema(vec![new.clone()]), &DuckDb, &allowed).expect("plans");
        assert_eq!(
            sql(&duckdb)[1..],
            [
                "INSERT INTO cur_ports__rebuild (code) SELECT code FROM cur_ports",
                "DROP TABLE cur_ports",
                "ALTER TABLE cur_ports__rebuild RENAME TO cur_ports"
            ]
        );
        let postgres = plan(&old, &schema(vec![new]), &Postgres, &allowed).expect("plans");
        assert_eq!(sql(&postgres), ["ALTER TABLE cur_ports DROP COLUMN name"]);
    }

    #[test]
    fn dropped_and_renamed_tables() {
        let old = schema(vec![seacats()]);
        let mut renamed = seacats();
        renamed.name = "cur_sea_cats".into();
        let refused = plan(&old, &schema(vec![renamed.clone()]), &DuckDb, &[]).expect("plans");
        assert_eq!(refused.refused.len(), 1);
        assert_eq!(refused.refused[0].allowance.to_string(), "drop table cur_seacats");
        assert_eq!(
            refused.refused[0].renames,
            allow(&["rename table cur_seacats to cur_sea_cats"])
        );

        let allowed = plan(
            &old,
            &schema(vec![renamed.clone()]),
            &DuckDb,
            &allow(&["rename table cur_seacats to cur_sea_cats"]),
        )
        .expect("plans");
        assert_eq!(sql(&allowed), ["ALTER TABLE cur_seacats RENAME TO cur_sea_cats"]);

        let dropped = plan(&old, &Schema::default(), &DuckDb, &allow(&["drop table cur_seacats"]))
            .expect("plans");
        assert_eq!(sql(&dropped), ["DROP TABLE cur_seacats"]);
    }

    #[test]
    fn a_changed_view_takes_its_readers_and_their_grants_with_it() {
        let mut old = schema(vec![seacats()]);
        old.views.insert(
            "v_ports".into(),
            view("v_ports", "SELECT port FROM cur_seacats", &["cur_seacats"]),
        );
        old.views.insert("v_top".into(), view("v_top", "SELECT port FROM v_ports", &["v_ports"]));
        old.views.insert("v_other".into(), view("v_other", "SELECT 1 AS one", &[]));
        for (name, on) in [("grant_top", "v_top"), ("grant_other", "v_other")] {
            old.extras.insert(
                name.into(),
                Extra {
                    create: vec![format!("GRANT SELECT ON {on} TO analyst")],
                    drop: vec![format!("REVOKE SELECT ON {on} FROM analyst")],
                },
            );
        }
        let mut new = old.clone();
        new.views.insert(
            "v_ports".into(),
            view("v_ports", "SELECT port, amount FROM cur_seacats", &["cur_seacats"]),
        );
        let planned = plan(&old, &new, &Postgres, &[]).expect("plans");
        assert_eq!(
            sql(&planned),
            [
                "REVOKE SELECT ON v_top FROM analyst",
                "DROP VIEW v_top",
                "DROP VIEW v_ports",
                "CREATE VIEW v_ports AS\nSELECT port, amount FROM cur_seacats",
                "CREATE VIEW v_top AS\nSELECT port FROM v_ports",
                "GRANT SELECT ON v_top TO analyst",
            ]
        );
        assert_eq!(
            planned.changes.len(),
            1,
            "only the changed view is a change: {:?}",
            planned.changes
        );
    }

    #[test]
    fn dropping_a_column_recreates_the_views_that_read_the_table() {
        let mut old = schema(vec![seacats()]);
        old.views.insert(
            "v_ports".into(),
            view("v_ports", "SELECT port FROM cur_seacats", &["cur_seacats"]),
        );
        let mut new = old.clone();
        new.tables.get_mut("cur_seacats").expect("table").columns.remove(1);
        let planned = plan(&old, &new, &Postgres, &allow(&["drop column cur_seacats.amount"]))
            .expect("plans");
        assert_eq!(
            sql(&planned),
            [
                "DROP VIEW v_ports",
                "ALTER TABLE cur_seacats DROP COLUMN amount",
                "CREATE VIEW v_ports AS\nSELECT port FROM cur_seacats"
            ]
        );
    }

    #[test]
    fn reference_rows_are_inserted_updated_and_deleted_by_key() {
        let roles = table(
            "pol_role",
            vec![col("role", SqlType::Text, false), col("min_cell", SqlType::BigInt, true)],
            &["role"],
        );
        let row = |name: &str, min: i64| {
            (
                vec![Value::Text(name.into())],
                BTreeMap::from([("min_cell".to_string(), Value::Int(min))]),
            )
        };
        let mut old = schema(vec![roles]);
        old.rows.insert("pol_role".into(), [row("analyst", 11), row("auditor", 5)].into());
        let mut new = old.clone();
        new.rows.insert("pol_role".into(), [row("analyst", 20), row("officer", 3)].into());
        let planned = plan(&old, &new, &DuckDb, &[]).expect("plans");
        assert_eq!(
            sql(&planned),
            [
                "DELETE FROM pol_role WHERE role = 'auditor'",
                "UPDATE pol_role SET min_cell = 20 WHERE role = 'analyst'",
                "INSERT INTO pol_role (role, min_cell) VALUES\n    ('officer', 3)",
            ]
        );
    }

    #[test]
    fn spark_changes_reference_rows_by_replacing_the_table() {
        let roles = table(
            "pol_role",
            vec![col("role", SqlType::Text, false), col("min_cell", SqlType::BigInt, true)],
            &["role"],
        );
        let row = |name: &str, min: i64| {
            (
                vec![Value::Text(name.into())],
                BTreeMap::from([("min_cell".to_string(), Value::Int(min))]),
            )
        };
        let mut old = schema(vec![roles]);
        old.rows.insert("pol_role".into(), [row("analyst", 11), row("auditor", 5)].into());
        let mut new = old.clone();
        new.rows.insert("pol_role".into(), [row("analyst", 20), row("officer", 3)].into());
        let planned = plan(&old, &new, &Spark, &[]).expect("plans");
        assert_eq!(
            sql(&planned),
            [
                "CREATE TABLE _tally_rw__pol_role\nUSING PARQUET\nAS SELECT *\nFROM pol_role\nWHERE NOT COALESCE(role = 'auditor', FALSE)",
                "INSERT OVERWRITE TABLE pol_role\nSELECT *\nFROM _tally_rw__pol_role",
                "DROP TABLE _tally_rw__pol_role",
                "CREATE TABLE _tally_rw__pol_role\nUSING PARQUET\nAS SELECT role, CASE WHEN role = 'analyst' THEN 20 ELSE min_cell END AS min_cell\nFROM pol_role",
                "INSERT OVERWRITE TABLE pol_role (role, min_cell)\nSELECT role, min_cell\nFROM _tally_rw__pol_role",
                "DROP TABLE _tally_rw__pol_role",
                "INSERT INTO pol_role (role, min_cell) VALUES\n    ('officer', 3)",
            ]
        );
    }

    #[test]
    fn spark_tables_are_parquet_without_keys_and_only_add_columns_in_place() {
        let created =
            plan(&Schema::default(), &schema(vec![seacats()]), &Spark, &[]).expect("plans");
        let create = &sql(&created)[0];
        assert!(create.ends_with(")\nUSING PARQUET"), "{create}");
        assert!(!create.contains("PRIMARY KEY"), "{create}");
        assert!(create.contains("seizure_id BIGINT NOT NULL"), "{create}");

        let old = schema(vec![seacats()]);
        let mut added = seacats();
        added.columns.push(col("flag", SqlType::Boolean, true));
        let planned = plan(&old, &schema(vec![added]), &Spark, &[]).expect("plans");
        assert_eq!(sql(&planned), ["ALTER TABLE cur_seacats ADD COLUMN flag BOOLEAN"]);

        // A wider type is a rebuild: Parquet tables cannot change a column.
        let mut wider = seacats();
        wider.columns[1].ty = SqlType::Decimal { precision: 18, scale: 4 };
        let planned = plan(&old, &schema(vec![wider]), &Spark, &[]).expect("plans");
        let statements = sql(&planned);
        assert!(statements[0].starts_with("CREATE TABLE cur_seacats__rebuild ("), "{statements:?}");
        assert_eq!(
            statements[1..],
            [
                "INSERT INTO cur_seacats__rebuild (seizure_id, amount, port) SELECT seizure_id, CAST(amount AS DECIMAL(18, 4)), port FROM cur_seacats",
                "DROP TABLE cur_seacats",
                "ALTER TABLE cur_seacats__rebuild RENAME TO cur_seacats"
            ]
        );
    }

    #[test]
    fn slugs_name_the_change() {
        let old = schema(vec![seacats()]);
        let one = [Change { action: "add", kind: "column", name: "cur_seacats.port_code".into() }];
        let none = |_: &str| None;
        assert_eq!(slug(&Schema::default(), &one, &none), "initial");
        assert_eq!(slug(&old, &one, &none), "add_column_cur_seacats_port_code");
        let source = [
            Change { action: "add", kind: "table", name: "stg_apis".into() },
            Change { action: "add", kind: "table", name: "cur_apis".into() },
        ];
        let owner = |name: &str| name.ends_with("_apis").then(|| ("source", "apis".to_string()));
        assert_eq!(slug(&old, &source, &owner), "add_source_apis");
        assert_eq!(slug(&old, &source, &none), "add_tables_apis");
        let columns = [
            Change { action: "add", kind: "column", name: "stg_apis.flight".into() },
            Change { action: "add", kind: "column", name: "cur_apis.flight".into() },
        ];
        assert_eq!(slug(&old, &columns, &owner), "add_column_apis_flight");
        let renames = [
            Change { action: "rename", kind: "column", name: "stg_apis.a to b".into() },
            Change { action: "rename", kind: "column", name: "cur_apis.c to d".into() },
        ];
        assert_eq!(slug(&old, &renames, &owner), "rename_columns_apis");
        let added = [source[0].clone(), columns[1].clone()];
        assert_eq!(slug(&old, &added, &owner), "add_source_apis");
        let mixed = [source[0].clone(), renames[1].clone()];
        assert_eq!(slug(&old, &mixed, &owner), "change_source_apis");
        let unrelated = [source[0].clone(), one[0].clone()];
        assert_eq!(slug(&old, &unrelated, &none), "update");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 60);
    }
}
