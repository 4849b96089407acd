//! Ad hoc SQL (`tally query --sql`): checked, then rewritten so that it can only read what
//! the user may see.
//!
//! Only roles with `allow ad_hoc`. The text is parsed with sqlparser in the backend's dialect
//! and refused (`R0421`..`R0425`, the reason named) unless it is exactly one `SELECT` (no
//! `WITH`, `INTO`, locking clause, DML, DDL, `COPY`, `SET`, `ATTACH`, `PRAGMA`, nor a second
//! statement) that:
//!
//! - reads only mart and aggregate tables the role may read (by bare name; no other table,
//!   schema-qualified name or table function such as `read_csv`);
//! - calls only functions of an allow-list (aggregates, arithmetic, text and date helpers;
//!   nothing that reads files, settings or the catalog);
//! - names no personal-data column of any source (`subject_name`, ...), anywhere;
//! - compares no text literal with a name-like column (one whose name contains `name`, or is
//!   personal data in some source): a search for a person is refused even where no such
//!   column can be reached.
//!
//! Each table reference is then replaced by a subquery of the same name that holds only the
//! rows of the user's scope and of the metrics the role may read there, with primary
//! suppression applied: `value`, `previous_value` and `cell_rows` are NULL in cells below the
//! role's `min_cell_size` (and `suppressed` is true). Complementary suppression is a property
//! of a published table of cells (see [`super::suppress`]); arbitrary SQL can add and subtract
//! cells at will, which is why ad hoc access is a privilege of its own.

use super::catalog::Catalog;
use super::viewer::{Role, Viewer};
use super::{Answer, Out, Request, Row};
use crate::backend::{Backend, Dialect};
use crate::error::{codes, Error, Result};
use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, Query, SetExpr, Statement, TableAlias, TableFactor,
    Value as SqlValue, Visit, VisitMut, Visitor, VisitorMut,
};
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

/// Functions ad hoc SQL may call (lower case).
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "abs",
    "avg",
    "ceil",
    "ceiling",
    "coalesce",
    "concat",
    "count",
    "date_part",
    "date_trunc",
    "dense_rank",
    "first_value",
    "floor",
    "greatest",
    "lag",
    "last_value",
    "lead",
    "least",
    "length",
    "lower",
    "max",
    "median",
    "min",
    "nullif",
    "percent_rank",
    "rank",
    "round",
    "row_number",
    "sign",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "sum",
    "trim",
    "upper",
    "var_pop",
    "var_samp",
    "variance",
];

fn refuse(code: codes::Code, message: impl Into<String>, help: &str) -> Error {
    Error::new(code, message).help(help)
}

fn parse(dialect: Dialect, text: &str) -> Result<Vec<Statement>> {
    let parsed = match dialect {
        Dialect::Duckdb => Parser::parse_sql(&DuckDbDialect {}, text),
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, text),
        Dialect::Spark => Parser::parse_sql(&sqlparser::dialect::SparkSqlDialect, text),
    };
    parsed.map_err(|e| {
        refuse(
            codes::AD_HOC_UNPARSABLE,
            format!("the SQL does not parse as {}: {e}", dialect.name()),
            "write one SELECT over the mart and aggregate tables",
        )
    })
}

/// A column name that can hold a person's name or other personal data.
fn name_like(catalog: &Catalog, ident: &str) -> bool {
    ident.to_ascii_lowercase().contains("name") || catalog.is_identifier_name(ident)
}

fn last_ident(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(i) => Some(&i.value),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.as_str()),
        Expr::Nested(inner) => last_ident(inner),
        Expr::Cast { expr, .. } => last_ident(expr),
        Expr::Function(f) => {
            // lower(subject_name) = 'x' searches the column as much as the bare column does.
            let sqlparser::ast::FunctionArguments::List(list) = &f.args else { return None };
            list.args.iter().find_map(|a| match a {
                sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => {
                    last_ident(e)
                }
                _ => None,
            })
        }
        _ => None,
    }
}

fn text_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(..) | SqlValue::Boolean(_) | SqlValue::Null => None,
            SqlValue::Placeholder(_) => None,
            other => Some(other.to_string()),
        },
        Expr::Nested(inner) => text_literal(inner),
        Expr::Cast { expr, .. } => text_literal(expr),
        Expr::TypedString(t) => Some(t.value.to_string()),
        _ => None,
    }
}

/// The checks, as a visitor; the first problem stops it.
struct Check<'a> {
    catalog: &'a Catalog,
    readable: &'a BTreeMap<String, Vec<String>>,
    tables: BTreeSet<String>,
    /// The name of the table factor being visited: its name is the one relation expected
    /// next. Any other relation (`x IN some_table`, ...) is refused.
    expected: Option<ObjectName>,
}

impl Visitor for Check<'_> {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Error> {
        if query.with.is_some() {
            return ControlFlow::Break(refuse(
                codes::AD_HOC_NOT_A_SELECT,
                "WITH is not accepted in ad hoc SQL",
                "write the common table expression as a subquery in FROM",
            ));
        }
        if !query.locks.is_empty() || query.for_clause.is_some() || query.format_clause.is_some() {
            return ControlFlow::Break(refuse(
                codes::AD_HOC_NOT_A_SELECT,
                "ad hoc SQL reads: no locking or output clause",
                "remove the FOR ... clause",
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<Error> {
        if select.into.is_some() {
            return ControlFlow::Break(refuse(
                codes::AD_HOC_NOT_A_SELECT,
                "SELECT INTO writes a table: ad hoc SQL only reads",
                "remove INTO",
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Error> {
        match factor {
            TableFactor::Table { name, args, .. } => {
                let parts: Vec<&str> =
                    name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.as_str()).collect();
                if args.is_some() {
                    return ControlFlow::Break(refuse(
                        codes::AD_HOC_FUNCTION_NOT_ALLOWED,
                        format!("`{name}(...)` is a table function: ad hoc SQL reads only mart and aggregate tables"),
                        "read the mart and aggregate tables by name",
                    ));
                }
                let [table] = parts.as_slice() else {
                    return ControlFlow::Break(refuse(
                        codes::AD_HOC_TABLE_NOT_GRANTED,
                        format!("`{name}`: name tables without a schema or database"),
                        "write the bare table name, e.g. mart_borderstat",
                    ));
                };
                let table = table.to_string();
                if !self.readable.contains_key(&table) {
                    let known: Vec<&str> = self.readable.keys().map(String::as_str).collect();
                    return ControlFlow::Break(refuse(
                        codes::AD_HOC_TABLE_NOT_GRANTED,
                        format!("table `{table}` may not be read in ad hoc SQL"),
                        &format!(
                            "ad hoc SQL reads only the mart and aggregate tables the role may read: {}",
                            known.join(", ")
                        ),
                    ));
                }
                self.tables.insert(table);
                self.expected = Some(name.clone());
                ControlFlow::Continue(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            other => ControlFlow::Break(refuse(
                codes::AD_HOC_FUNCTION_NOT_ALLOWED,
                format!(
                    "`{other}` is not a table: ad hoc SQL reads only mart and aggregate tables"
                ),
                "read the mart and aggregate tables by name",
            )),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Error> {
        if self.expected.take().as_ref() == Some(relation) {
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(refuse(
            codes::AD_HOC_TABLE_NOT_GRANTED,
            format!(
                "`{relation}` is read outside FROM: ad hoc SQL reads tables only in FROM and JOIN"
            ),
            "read the mart and aggregate tables in FROM",
        ))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Error> {
        let pii = |name: &str| {
            refuse(
                codes::PERSONAL_DATA,
                format!("`{name}` is personal data: it is never shown, searched or filtered on"),
                "ad hoc SQL reads mart and aggregate tables, which hold no personal data",
            )
        };
        match expr {
            Expr::Identifier(i) if self.catalog.is_identifier_name(&i.value) => {
                return ControlFlow::Break(pii(&i.value))
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(i) = parts.iter().find(|i| self.catalog.is_identifier_name(&i.value)) {
                    return ControlFlow::Break(pii(&i.value));
                }
            }
            Expr::Function(f) => {
                let parts: Vec<String> = f
                    .name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident())
                    .map(|i| i.value.to_ascii_lowercase())
                    .collect();
                let allowed =
                    matches!(parts.as_slice(), [one] if ALLOWED_FUNCTIONS.contains(&one.as_str()));
                if !allowed {
                    return ControlFlow::Break(refuse(
                        codes::AD_HOC_FUNCTION_NOT_ALLOWED,
                        format!("function `{}` may not be called in ad hoc SQL", f.name),
                        &format!("allowed functions: {}", ALLOWED_FUNCTIONS.join(", ")),
                    ));
                }
            }
            _ => {}
        }
        let search = |column: &str, literal: &str| {
            refuse(
                codes::AD_HOC_PERSON_SEARCH,
                format!("comparing `{column}` with the text {literal} looks like a search for a person"),
                "names and other personal data cannot be searched; filter on dimension members (ports, field offices) instead",
            )
        };
        let compared: Vec<(&Expr, &Expr)> = match expr {
            Expr::BinaryOp {
                left,
                op:
                    BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq
                    | BinaryOperator::Spaceship,
                right,
            } => {
                vec![(left, right), (right, left)]
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. }
            | Expr::RLike { expr, pattern, .. } => vec![(expr, pattern)],
            Expr::In { expr, target: sqlparser::ast::InTarget::List(list), .. } => {
                list.iter().map(|l| (&**expr, l)).collect()
            }
            _ => Vec::new(),
        };
        for (column, value) in compared {
            if let (Some(name), Some(text)) = (last_ident(column), text_literal(value)) {
                if name_like(self.catalog, name) {
                    return ControlFlow::Break(search(name, &text));
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Replaces each table reference by its scoped subquery.
struct Rewrite<'a> {
    subqueries: &'a BTreeMap<String, Query>,
}

impl VisitorMut for Rewrite<'_> {
    type Break = Error;

    // After the children: the subquery put in place is not visited (and rewritten) again.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        let TableFactor::Table { name, alias, .. } = factor else {
            return ControlFlow::Continue(());
        };
        let Some(table) = bare(name) else { return ControlFlow::Continue(()) };
        let Some(subquery) = self.subqueries.get(&table) else {
            return ControlFlow::Break(super::sql::internal(format!(
                "ad hoc table `{table}` was checked but has no scoped subquery"
            )));
        };
        let alias = alias.clone().unwrap_or(TableAlias {
            explicit: true,
            name: sqlparser::ast::Ident::new(table),
            columns: Vec::new(),
            at: None,
        });
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery.clone()),
            alias: Some(alias),
            sample: None,
        };
        ControlFlow::Continue(())
    }
}

fn bare(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.clone()),
        _ => None,
    }
}

/// The scoped, suppressed subquery standing for `table`.
fn scoped(
    catalog: &Catalog,
    viewer: &Viewer,
    role: &Role,
    dialect: Dialect,
    table: &str,
    metrics: &[String],
) -> Result<Query> {
    let t = catalog
        .table(table)
        .ok_or_else(|| super::sql::internal(format!("unknown table {table}")))?;
    let q = super::sql::ident;
    let k = role.min_cell_size;
    let counts: Vec<String> = metrics
        .iter()
        .filter(|m| catalog.metric(m).is_some_and(|x| x.counts))
        .map(|m| super::sql::Literal::Text(m.clone()).sql())
        .collect();
    let small = |column: &str| {
        if counts.is_empty() {
            "false".to_string()
        } else {
            format!("(metric IN ({}) AND {column} < {k})", counts.join(", "))
        }
    };
    let hidden = format!("(cell_rows < {k} OR {})", small("value"));
    let mut select =
        vec!["metric".to_string(), "grain".into(), "period_start".into(), "levels".into()];
    select.extend(t.columns.iter().map(|c| q(&c.name)));
    select.extend(["bucket".to_string(), "member".into()]);
    select.push(format!("CASE WHEN {hidden} THEN NULL ELSE value END AS value"));
    select.push(format!(
        "CASE WHEN {hidden} OR {} THEN NULL ELSE previous_value END AS previous_value",
        small("previous_value")
    ));
    select.push(format!("CASE WHEN {hidden} THEN NULL ELSE cell_rows END AS cell_rows"));
    select.push(format!("{hidden} AS suppressed"));
    let list: Vec<String> =
        metrics.iter().map(|m| super::sql::Literal::Text(m.clone()).sql()).collect();
    let mut conditions = vec![format!("metric IN ({})", list.join(", "))];
    match super::scope_of(role, t) {
        Ok(Some((column, value))) => {
            conditions.push(format!("{} = {}", q(&column), super::sql::Literal::Text(value).sql()))
        }
        Ok(None) => {}
        Err(true) => return Err(super::refuse_no_value(viewer, role)),
        Err(false) => {
            return Err(refuse(
                codes::AD_HOC_TABLE_NOT_GRANTED,
                format!(
                    "table `{table}` does not keep the level role `{}` is scoped to ({})",
                    role.name,
                    role.scope.describe()
                ),
                "read a table that keeps your scope's level",
            ))
        }
    }
    let text = format!(
        "SELECT {} FROM {} WHERE {}",
        select.join(", "),
        q(table),
        conditions.join(" AND ")
    );
    match parse(dialect, &text)?.into_iter().next() {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(super::sql::internal(format!("scoped subquery is not a query: {text}"))),
    }
}

pub(crate) fn answer(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    request: &Request,
    text: &str,
) -> Result<Answer> {
    let mut roles: Vec<&Role> = viewer.roles.iter().filter(|r| r.ad_hoc).collect();
    roles.sort_by_key(|r| (!matches!(r.scope, super::Scope::National), r.name.clone()));
    let Some(role) = roles.first().copied() else {
        return Err(refuse(
            codes::AD_HOC_NOT_ALLOWED,
            format!(
                "user `{}` may not run ad hoc SQL: none of their roles ({}) allows it",
                viewer.user_id,
                super::role_names(viewer)
            ),
            "ad hoc SQL needs a role with `allow ad_hoc`; `tally query METRIC` reads the published metrics",
        ));
    };
    if !request.by.is_empty()
        || !request.filters.is_empty()
        || request.grain.is_some()
        || request.mart.is_some()
    {
        return Err(refuse(
            codes::QUERY_OPTIONS,
            "--by, --where, --grain and --mart do not apply to --sql",
            "write them into the SQL",
        ));
    }
    let dialect = db.dialect();
    let mut statements = parse(dialect, text)?;
    if statements.len() != 1 {
        return Err(refuse(
            codes::AD_HOC_NOT_A_SELECT,
            format!("ad hoc SQL is one statement; this is {}", statements.len()),
            "run one SELECT at a time",
        ));
    }
    let mut statement = statements.remove(0);
    let Statement::Query(query) = &statement else {
        return Err(refuse(
            codes::AD_HOC_NOT_A_SELECT,
            "ad hoc SQL only reads: this statement is not a SELECT",
            "write one SELECT over the mart and aggregate tables",
        ));
    };
    if !matches!(*query.body, SetExpr::Select(_) | SetExpr::SetOperation { .. } | SetExpr::Query(_))
    {
        return Err(refuse(
            codes::AD_HOC_NOT_A_SELECT,
            "ad hoc SQL is a SELECT (or a UNION of them)",
            "write one SELECT over the mart and aggregate tables",
        ));
    }
    let readable = super::readable(catalog, role);
    let mut check = Check { catalog, readable: &readable, tables: BTreeSet::new(), expected: None };
    if let ControlFlow::Break(error) = Visit::visit(&statement, &mut check) {
        return Err(error);
    }
    if check.tables.is_empty() {
        return Err(refuse(
            codes::AD_HOC_TABLE_NOT_GRANTED,
            "the SQL reads no mart or aggregate table",
            "ad hoc SQL answers questions about the published metrics: read a mart table",
        ));
    }
    let mut subqueries = BTreeMap::new();
    for table in &check.tables {
        let metrics = readable.get(table).cloned().unwrap_or_default();
        subqueries.insert(table.clone(), scoped(catalog, viewer, role, dialect, table, &metrics)?);
    }
    if let ControlFlow::Break(error) =
        VisitMut::visit(&mut statement, &mut Rewrite { subqueries: &subqueries })
    {
        return Err(error);
    }
    let sql = statement.to_string();
    let rows = db.query(&sql)?;
    let limit = request.limit.unwrap_or(super::DEFAULT_SQL_LIMIT) as usize;
    let mut metrics: Vec<String> =
        check.tables.iter().flat_map(|t| readable.get(t).cloned().unwrap_or_default()).collect();
    metrics.sort();
    metrics.dedup();
    Ok(Answer {
        kind: "sql",
        object: "sql".to_string(),
        title: None,
        user: viewer.user_id.clone(),
        role: role.name.clone(),
        scope: role.scope.describe(),
        mart: None,
        table: None,
        grain: None,
        min_cell_size: Some(role.min_cell_size),
        columns: rows.columns.clone(),
        rows: rows
            .rows
            .into_iter()
            .take(limit)
            .map(|r| Row {
                cells: r.into_iter().map(|v| Out::Value(super::display_decimal(&v))).collect(),
                levels: None,
                status: None,
            })
            .collect(),
        sources: super::source_titles(db, &metrics)?,
        as_of: None,
    })
}
