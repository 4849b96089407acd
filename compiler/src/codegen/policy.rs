//! Access policy as data: the policy tables, their rows derived from `role` declarations, and
//! for engines with row-level security the native roles, grants and policies.
//!
//! The rows are the single source of truth: a runtime without native row-level security
//! (DuckDB) enforces the same scopes, metric lists and `min_cell_size` itself from them.
//! On PostgreSQL each role is also a database role `tally_<role>` (`NOLOGIN`), with `SELECT` on
//! the tables it may read and a policy per table that keeps the rows of its scope (and only its
//! metrics, when it reads a table for some of its metrics). Each user is a `LOGIN` role of its
//! own, named as its `user_id` and granted its `tally_<role>`s (`tally user add`, in the
//! runtime). `policy_user` has a column per attribute of the `users` block, between its own
//! `user_id` and its timestamps, so changing the declaration is a migration like any other
//! schema change (a dropped attribute is a dropped column, refused unless allowed). A bound
//! scope compares the table's level column with the attribute's column in the user's own row
//! of `policy_user`, found by `current_user`: a value the user cannot set (a custom setting such
//! as `tally.region` would be: any session may `SET` it). `policy_user` itself has row-level
//! security, so each user reads only their own row, and only while it is not disabled. The
//! runtime acting for a user on PostgreSQL does `SET ROLE "<user_id>"`, which makes
//! `current_user` that user. What a role may read:
//!
//! - every row of the tables of its `marts`;
//! - the rows of its `metrics` and of its `reports`' metrics, wherever they are published;
//! - of those, with a bound scope (`geography.region = user.region`), only rows cut
//!   by that level and equal to the user's value; a table that does not keep the level shows
//!   the role nothing, since its rows mix members the user may not see.

use super::cuts::{CutTable, Origin};
use super::dialect::Dialect;
use super::load::sql_type;
use super::schema::{Column, Extra, SqlType, Table, TableKind, Value};
use super::templates::{Ctx, Sql};
use crate::graph::current_table;
use crate::semantic::{Model, Privilege, Scope};
use std::collections::{BTreeMap, BTreeSet};

type Rows = BTreeMap<Vec<Value>, BTreeMap<String, Value>>;

fn column(name: &str, ty: SqlType, nullable: bool) -> Column {
    Column { name: name.to_string(), ty, nullable, default: None }
}

fn table(name: &str, columns: Vec<Column>, key: &[&str], comment: &str) -> Table {
    Table {
        name: name.to_string(),
        kind: TableKind::Policy,
        columns,
        primary_key: key.iter().map(|k| k.to_string()).collect(),
        comment: comment.to_string(),
    }
}

/// The policy tables. `policy_user`'s attribute columns are the model's user attributes.
pub fn tables(model: &Model) -> Vec<Table> {
    use SqlType::{BigInt, Boolean, Text, Timestamp};
    let mut user_columns = vec![column("user_id", Text, false)];
    user_columns.extend(model.user_attributes.values().map(|attribute| {
        let ty = attribute.ty.as_ref().map_or(Text, sql_type);
        column(&attribute.name, ty, true)
    }));
    user_columns.extend([
        column("created_at", Timestamp, false),
        column("last_active_at", Timestamp, true),
        column("disabled_at", Timestamp, true),
    ]);
    vec![
        table(
            "policy_role",
            vec![
                column("role", Text, false),
                column("title", Text, true),
                column("scope_kind", Text, false),
                column("scope_dimension", Text, true),
                column("scope_level", Text, true),
                column("scope_attribute", Text, true),
                column("drill_down", Boolean, false),
                column("ad_hoc", Boolean, false),
                column("min_cell_size", BigInt, false),
                // Where the scope's members are listed (`cur_<source>`, its key column), so
                // that a user's value can be checked against them. Added after the first
                // release, hence last.
                column("scope_members", Text, true),
                column("scope_key", Text, true),
            ],
            &["role"],
            "Roles: scope (national, or a dimension level bound to a user attribute), privileges, smallest cell shown",
        ),
        table(
            "policy_grant",
            vec![
                column("role", Text, false),
                column("object_kind", Text, false),
                column("object", Text, false),
            ],
            &["role", "object_kind", "object"],
            "The marts, metrics and reports each role may read, as declared",
        ),
        table(
            USERS,
            user_columns,
            &["user_id"],
            "Users and the attributes scopes bind to; maintained by operators, not by migrations",
        ),
        table(
            "policy_user_role",
            vec![column("user_id", Text, false), column("role", Text, false)],
            &["user_id", "role"],
            "Which roles each user holds; maintained by operators, not by migrations",
        ),
        table(
            "policy_source",
            vec![
                column("object_kind", Text, false),
                column("object", Text, false),
                column("source", Text, false),
                column("source_title", Text, true),
            ],
            &["object_kind", "object", "source"],
            "The source systems each mart and metric is computed from, so reports can name them",
        ),
    ]
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

fn row(key: Vec<Value>, values: Vec<(&str, Value)>) -> (Vec<Value>, BTreeMap<String, Value>) {
    (key, values.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The rows of the policy tables (none for users: they are the operators').
pub fn rows(model: &Model) -> BTreeMap<String, Rows> {
    let mut roles = Rows::new();
    let mut grants = Rows::new();
    for (name, role) in &model.roles {
        let (kind, dimension, level, attribute) = match &role.scope {
            Some(Scope::Bound { dimension, level, attribute, .. }) => {
                ("bound", Some(dimension.as_str()), Some(level.as_str()), Some(attribute.as_str()))
            }
            Some(Scope::National) | None => ("national", None, None, None),
        };
        let (members, key) = match &role.scope {
            Some(Scope::Bound { dimension, level, .. }) => {
                let d = model.dimensions.get(dimension);
                (
                    d.and_then(|d| d.from.as_deref()).map(current_table),
                    d.and_then(|d| d.levels.get(level)).and_then(|l| l.key.clone()),
                )
            }
            Some(Scope::National) | None => (None, None),
        };
        let min_cell_size = i64::try_from(role.min_cell_size).unwrap_or(i64::MAX);
        let (k, v) = row(
            vec![text(name)],
            vec![
                ("role", text(name)),
                ("title", opt_text(role.meta.title.as_deref())),
                ("scope_kind", text(kind)),
                ("scope_dimension", opt_text(dimension)),
                ("scope_level", opt_text(level)),
                ("scope_attribute", opt_text(attribute)),
                ("drill_down", Value::Bool(role.allow.contains(&Privilege::DrillDown))),
                ("ad_hoc", Value::Bool(role.allow.contains(&Privilege::AdHoc))),
                ("min_cell_size", Value::Int(min_cell_size)),
                ("scope_members", opt_text(members.as_deref())),
                ("scope_key", opt_text(key.as_deref())),
            ],
        );
        roles.insert(k, v);
        let objects = [("mart", &role.marts), ("metric", &role.metrics), ("report", &role.reports)];
        for (kind, names) in objects {
            for object in names {
                let key = vec![text(name), text(kind), text(&object.name)];
                let (k, v) = row(
                    key,
                    vec![
                        ("role", text(name)),
                        ("object_kind", text(kind)),
                        ("object", text(&object.name)),
                    ],
                );
                grants.insert(k, v);
            }
        }
    }
    let mut sources = Rows::new();
    let mut add = |kind: &str, object: &str, source: &str| {
        let title = model.sources.get(source).and_then(|s| s.meta.title.as_deref());
        let (k, v) = row(
            vec![text(kind), text(object), text(source)],
            vec![
                ("object_kind", text(kind)),
                ("object", text(object)),
                ("source", text(source)),
                ("source_title", opt_text(title)),
            ],
        );
        sources.insert(k, v);
    };
    for name in model.metrics.keys() {
        for source in metric_sources(model, name) {
            add("metric", name, &source);
        }
    }
    for (name, mart) in &model.marts {
        for metric in &mart.metrics {
            for source in metric_sources(model, &metric.name) {
                add("mart", name, &source);
            }
        }
    }
    BTreeMap::from([
        ("policy_grant".to_string(), grants),
        ("policy_role".to_string(), roles),
        ("policy_source".to_string(), sources),
    ])
}

/// The sources a metric's values come from, through derived metrics.
pub fn metric_sources(model: &Model, metric: &str) -> BTreeSet<String> {
    let mut sources = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![metric.to_string()];
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(m) = model.metrics.get(&name) else { continue };
        sources.extend(m.source.clone());
        if let Some(measure) = &m.measure {
            stack.extend(measure.metrics.iter().map(|r| r.name.clone()));
        }
    }
    sources
}

/// What a role may read in one table: every row, or the rows of some metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    All,
    Metrics(BTreeSet<String>),
}

/// For each role, the tables it may read and how much of each.
pub fn access(model: &Model, tables: &[CutTable]) -> BTreeMap<String, BTreeMap<String, Access>> {
    let mut out = BTreeMap::new();
    for (name, role) in &model.roles {
        let mut readable: BTreeMap<String, Access> = BTreeMap::new();
        for mart in &role.marts {
            if let Some(t) =
                tables.iter().find(|t| t.kind == TableKind::Mart && t.owner == mart.name)
            {
                readable.insert(t.name.clone(), Access::All);
            }
        }
        let mut metrics: Vec<&str> = role.metrics.iter().map(|m| m.name.as_str()).collect();
        for report in &role.reports {
            let Some(r) = model.reports.get(&report.name) else { continue };
            if r.metrics.is_empty() {
                if let Some(mart) = r.mart.as_ref().and_then(|m| model.marts.get(&m.name)) {
                    metrics.extend(mart.metrics.iter().map(|m| m.name.as_str()));
                }
            }
            metrics.extend(r.metrics.iter().map(|m| m.name.as_str()));
        }
        for metric in metrics {
            for t in tables.iter().filter(|t| t.metrics.iter().any(|m| m == metric)) {
                match readable
                    .entry(t.name.clone())
                    .or_insert_with(|| Access::Metrics(BTreeSet::new()))
                {
                    Access::All => {}
                    Access::Metrics(set) => {
                        set.insert(metric.to_string());
                    }
                }
            }
        }
        out.insert(name.clone(), readable);
    }
    out
}

/// The table of users, which bound scopes read.
pub const USERS: &str = "policy_user";

/// A bound scope's row condition: the table's level `column` equals the `attribute` of the
/// user the session is (`current_user`), read from that user's own row of `policy_user`.
/// Rolled-up rows (the level NULL) never match.
fn scope_condition(dialect: &dyn Dialect, column: &str, attribute: &str) -> String {
    let q = |n: &str| dialect.quote_ident(n);
    format!(
        "{} IN (SELECT u.{} FROM {} AS u WHERE u.{} = current_user)",
        q(column),
        q(attribute),
        q(USERS),
        q("user_id")
    )
}

/// The PostgreSQL role of a policy role.
pub fn database_role(role: &str) -> String {
    format!("tally_{role}")
}

/// Native roles, grants and row-level-security policies. Names sort in the order they must
/// be created (roles, then tables' row-level security, grants, policies), which is the order
/// migrations create them in, and the reverse of the order they are dropped in.
pub fn extras(
    model: &Model,
    dialect: &dyn Dialect,
    sql: &mut Sql,
    tables: &[CutTable],
) -> BTreeMap<String, Extra> {
    let mut extras = BTreeMap::new();
    if !dialect.supports_row_level_security() {
        return extras;
    }
    let q = |n: &str| dialect.quote_ident(n);
    let check = |sql: &mut Sql, statements: Vec<String>| -> Vec<String> {
        statements.into_iter().map(|s| sql.check(dialect, s)).collect()
    };
    for name in model.roles.keys() {
        let r = q(&database_role(name));
        let create = check(
            sql,
            vec![
                // Migrations treat "already exists" as done: roles are cluster-wide and
                // outlive a dropped database.
                format!("CREATE ROLE {r} NOLOGIN"),
                // So the runtime (the migrating user) may SET ROLE to it.
                format!("GRANT {r} TO CURRENT_USER"),
            ],
        );
        let drop = check(sql, vec![format!("DROP ROLE IF EXISTS {r}")]);
        extras.insert(format!("1-role:{name}"), Extra { create, drop });
    }
    for t in tables {
        let name = q(&t.name);
        let writer = sql.statement(
            dialect,
            "policy.sql",
            Ctx::new()
                .set("name", "tally_writer")
                .set("table", &name)
                .set("command", "ALL")
                .set("role", "CURRENT_USER")
                .set("using", "true")
                .set("check", "true"),
        );
        let create = vec![
            sql.check(dialect, format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")),
            // FORCE: the owner too is subject to policies; it writes through `tally_writer`.
            sql.check(dialect, format!("ALTER TABLE {name} FORCE ROW LEVEL SECURITY")),
            writer,
        ];
        let drop = check(
            sql,
            vec![
                format!("DROP POLICY IF EXISTS tally_writer ON {name}"),
                format!("ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY"),
                format!("ALTER TABLE {name} DISABLE ROW LEVEL SECURITY"),
            ],
        );
        extras.insert(format!("2-rls:{}", t.name), Extra { create, drop });
    }
    // Users read their own row of `policy_user` (the scope conditions read it as the user),
    // and only while their account is not disabled.
    let users = q(USERS);
    let writer = sql.statement(
        dialect,
        "policy.sql",
        Ctx::new()
            .set("name", "tally_writer")
            .set("table", &users)
            .set("command", "ALL")
            .set("role", "CURRENT_USER")
            .set("using", "true")
            .set("check", "true"),
    );
    let own_row = sql.statement(
        dialect,
        "policy.sql",
        Ctx::new()
            .set("name", "tally_own_row")
            .set("table", &users)
            .set("command", "SELECT")
            .set("role", "PUBLIC")
            .set(
                "using",
                &format!("{} = current_user AND {} IS NULL", q("user_id"), q("disabled_at")),
            )
            .set("check", ""),
    );
    let create = vec![
        sql.check(dialect, format!("ALTER TABLE {users} ENABLE ROW LEVEL SECURITY")),
        sql.check(dialect, format!("ALTER TABLE {users} FORCE ROW LEVEL SECURITY")),
        writer,
        own_row,
    ];
    let drop = check(
        sql,
        vec![
            format!("DROP POLICY IF EXISTS tally_own_row ON {users}"),
            format!("DROP POLICY IF EXISTS tally_writer ON {users}"),
            format!("ALTER TABLE {users} NO FORCE ROW LEVEL SECURITY"),
            format!("ALTER TABLE {users} DISABLE ROW LEVEL SECURITY"),
        ],
    );
    extras.insert(format!("2-rls:{USERS}"), Extra { create, drop });
    for (name, role) in &model.roles {
        if !matches!(role.scope, Some(Scope::Bound { .. })) {
            continue;
        }
        let r = q(&database_role(name));
        let grant = check(sql, vec![format!("GRANT SELECT ON {users} TO {r}")]);
        let revoke = check(sql, vec![format!("REVOKE SELECT ON {users} FROM {r}")]);
        extras.insert(format!("3-grant:{name}:{USERS}"), Extra { create: grant, drop: revoke });
    }
    for (role_name, readable) in access(model, tables) {
        let Some(role) = model.roles.get(&role_name) else { continue };
        let r = q(&database_role(&role_name));
        for (table_name, access) in readable {
            let Some(t) = tables.iter().find(|t| t.name == table_name) else { continue };
            let name = q(&t.name);
            let grant = check(sql, vec![format!("GRANT SELECT ON {name} TO {r}")]);
            let revoke = check(sql, vec![format!("REVOKE SELECT ON {name} FROM {r}")]);
            extras.insert(
                format!("3-grant:{role_name}:{table_name}"),
                Extra { create: grant, drop: revoke },
            );
            let mut conditions = Vec::new();
            match &role.scope {
                Some(Scope::Bound { dimension, level, attribute, .. }) => {
                    let column = t.columns.iter().find(|c| {
                        c.origin
                            == Origin::Level { dimension: dimension.clone(), level: level.clone() }
                    });
                    conditions.push(match column {
                        Some(c) => scope_condition(dialect, &c.name, attribute),
                        None => "false".to_string(),
                    });
                }
                Some(Scope::National) | None => {}
            }
            if let Access::Metrics(metrics) = &access {
                let list: Vec<String> =
                    metrics.iter().map(|m| dialect.literal(&Value::Text(m.clone()))).collect();
                conditions.push(format!("metric IN ({})", list.join(", ")));
            }
            let using =
                if conditions.is_empty() { "true".to_string() } else { conditions.join(" AND ") };
            let policy_name = q(&database_role(&role_name));
            let create = sql.statement(
                dialect,
                "policy.sql",
                Ctx::new()
                    .set("name", &policy_name)
                    .set("table", &name)
                    .set("command", "SELECT")
                    .set("role", &r)
                    .set("using", &using)
                    .set("check", ""),
            );
            let drop = check(sql, vec![format!("DROP POLICY IF EXISTS {policy_name} ON {name}")]);
            extras.insert(
                format!("4-policy:{role_name}:{table_name}"),
                Extra { create: vec![create], drop },
            );
        }
    }
    extras
}
