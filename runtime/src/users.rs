//! Users and their access: `tally user add|grant|revoke|disable|reinstate|list|show`, and the
//! check every query makes before it runs ([`authorize`]).
//!
//! A user is a row of `policy_user` (their attributes, one column each as the project's `users`
//! block declares them: the values a bound scope compares with) and rows of `policy_user_role`
//! (the roles they hold, which must be roles of `policy_role`, that is of the `role`
//! declarations). The attributes come from `plan.json` ([`Plan::user_attributes`]): every
//! statement over `policy_user` names the declared columns, quoted, and every attribute an
//! operator gives is checked against the declaration (its name, its type, and for one that
//! references a dimension level the level's loaded members). On PostgreSQL a user is also
//! a `LOGIN` role named as the user id and granted the `tally_<role>` roles, so that a session
//! opened as the user (psql, a BI tool) is held by the same grants and row-level security as the
//! runtime's queries. Every change runs in one transaction with its audit record and, on
//! PostgreSQL, its role statements: it is done, granted and audited, or not at all.
//!
//! **The 90-day rule.** An account not used for more than [`LAPSE_DAYS`] days (counted from
//! `last_active_at`, or from `created_at` when it was never used) is refused by [`authorize`]
//! until an administrator reinstates it (`tally user reinstate`). PostgreSQL cannot count
//! psql sessions as use, so the rule holds for the runtime's queries; `tally user disable`
//! (which revokes the database roles and `LOGIN`) is what shuts a psql session out.

use crate::audit::{self, Entry, Outcome};
use crate::backend::{in_transaction, Backend, Dialect};
use crate::error::{codes, Error, Result};
use crate::plan::{ColumnType, Plan, UserAttribute};
use crate::serve::auth::{self as sessions, Enrolment};
use crate::value::{timestamp_text, Rows, Value};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::BTreeMap;
use tally_contract::suggest::did_you_mean;

/// Days without use after which an account is refused until reinstated.
pub const LAPSE_DAYS: i64 = 90;

/// A user as the policy tables hold them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: String,
    /// The declared attributes that are set for the user (`region` → `NE`).
    pub attributes: BTreeMap<String, String>,
    pub roles: Vec<String>,
    pub created_at: String,
    pub last_active_at: Option<String>,
    pub disabled_at: Option<String>,
}

impl User {
    /// The time the 90-day rule counts from: the last use, else the creation.
    fn active_since(&self) -> Option<NaiveDateTime> {
        parse_time(self.last_active_at.as_deref().unwrap_or(&self.created_at))
    }

    /// Whole days since the account was last used, at `now`.
    pub fn idle_days(&self, now: NaiveDateTime) -> i64 {
        self.active_since().map_or(0, |since| (now - since).num_days())
    }

    /// Whether the 90-day rule refuses the account at `now`: more than [`LAPSE_DAYS`] days
    /// (to the microsecond) since it was last used.
    pub fn lapsed(&self, now: NaiveDateTime) -> bool {
        self.active_since().is_some_and(|since| now - since > chrono::Duration::days(LAPSE_DAYS))
    }
}

/// A role as `policy_role` defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub role: String,
    pub title: Option<String>,
    /// `None` for a national scope; else the bound scope.
    pub scope: Option<BoundScope>,
    pub drill_down: bool,
    pub ad_hoc: bool,
    pub min_cell_size: i64,
}

/// `scope geography.region = user.region`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundScope {
    pub dimension: String,
    pub level: String,
    /// The user attribute (`region`, ...).
    pub attribute: String,
    /// The table listing the level's members and its key column, when known.
    pub members: Option<(String, String)>,
}

/// What a role grants: `mart care`, `metric visit_count`, `report monthly_visits`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    pub role: String,
    /// `mart`, `metric` or `report`.
    pub object_kind: String,
    pub object: String,
}

/// One of a user's roles with the scope bound to the user's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedRole {
    pub role: Role,
    /// For a bound scope: the user's value of its attribute (always set: [`authorize`]
    /// refuses a user whose bound role lacks it).
    pub value: Option<String>,
}

/// Everything a query needs to know about who asks: [`authorize`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserContext {
    pub user_id: String,
    /// The user's roles, each with its scope and privileges, in name order.
    pub roles: Vec<ScopedRole>,
    /// The user's attributes (`region` → `NE`, ...).
    pub attributes: BTreeMap<String, String>,
    /// Every mart, metric and report any of the roles grants, with the role granting it.
    pub grants: Vec<Grant>,
    /// The largest `min_cell_size` of the roles: the most protective threshold wins.
    pub min_cell_size: i64,
    /// Whether any role allows drill-down to transaction rows.
    pub drill_down: bool,
    /// Whether any role allows ad-hoc SQL.
    pub ad_hoc: bool,
}

/// Who changes users, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The operator (`--actor`, `TALLY_ACTOR`, else the OS user).
    pub actor: &'a str,
    /// The change's time, UTC.
    pub now: NaiveDateTime,
}

/// A user to add.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub user_id: String,
    pub roles: Vec<String>,
    /// Declared attribute → value (`region` → `NE`).
    pub attributes: BTreeMap<String, String>,
    /// PostgreSQL: the login role's password (none: the server's other authentication, such
    /// as peer or trust, decides).
    pub password: Option<String>,
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
}

fn time_text(value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let text = value.to_string();
    Some(parse_time(&text).map(timestamp_text).unwrap_or(text))
}

fn ts(now: NaiveDateTime) -> String {
    format!("TIMESTAMP '{}'", timestamp_text(now))
}

fn require_tables(db: &mut dyn Backend) -> Result<()> {
    for table in ["policy_user", "policy_user_role", "policy_role", "policy_grant"] {
        if !db.table_exists(table)? {
            return Err(Error::new(
                codes::NO_POLICY_TABLES,
                format!("{} has no policy tables (no {table})", db.describe()),
            )
            .help("apply the migrations first: `tally migrate`"));
        }
    }
    audit::available(db)?.then_some(()).ok_or_else(|| {
        Error::new(codes::NO_AUDIT_TRAIL, format!("{} has no audit trail", db.describe()))
            .help("apply the migrations first: `tally migrate`")
    })
}

/// A user id must be a name the database can carry as a login role, and not one of the roles
/// Tally or PostgreSQL keep for themselves.
fn check_user_id(user_id: &str) -> Result<()> {
    let ok = user_id.len() <= 63
        && user_id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && user_id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    let reserved = user_id.starts_with("tally_") || user_id.starts_with("pg_");
    if ok && !reserved {
        return Ok(());
    }
    Err(Error::new(codes::INVALID_USER_ID, format!("`{user_id}` is not a valid user id")).help(
        "a user id starts with a lower-case letter and has up to 63 lower-case letters, digits, `_`, `.` or `-`; ids beginning `tally_` or `pg_` are reserved",
    ))
}

/// Every role of `policy_role`, by name.
pub fn roles(db: &mut dyn Backend) -> Result<BTreeMap<String, Role>> {
    let rows = db.query(
        "SELECT role, title, scope_kind, scope_dimension, scope_level, scope_attribute, drill_down, ad_hoc, min_cell_size, scope_members, scope_key \
         FROM policy_role ORDER BY role",
    )?;
    let opt = |v: &Value| (!v.is_null()).then(|| v.to_string());
    let mut out = BTreeMap::new();
    for r in &rows.rows {
        let [role, title, kind, dimension, level, attribute, drill, ad_hoc, min, members, key] =
            r.as_slice()
        else {
            continue;
        };
        let scope = match (kind.to_string().as_str(), opt(dimension), opt(level), opt(attribute)) {
            ("bound", Some(dimension), Some(level), Some(attribute)) => Some(BoundScope {
                dimension,
                level,
                attribute,
                members: opt(members).zip(opt(key)),
            }),
            _ => None,
        };
        out.insert(
            role.to_string(),
            Role {
                role: role.to_string(),
                title: opt(title),
                scope,
                drill_down: matches!(drill, Value::Bool(true)),
                ad_hoc: matches!(ad_hoc, Value::Bool(true)),
                min_cell_size: min.as_i64().unwrap_or(11),
            },
        );
    }
    Ok(out)
}

fn unknown_role(role: &str, roles: &BTreeMap<String, Role>) -> Error {
    let names: Vec<&str> = roles.keys().map(String::as_str).collect();
    Error::new(codes::NO_SUCH_ROLE, format!("no role `{role}` in policy_role"))
        .help(tally_contract::suggest::did_you_mean(role, &names, "role"))
}

/// The declared attributes' `policy_user` columns, quoted, each followed by `, `.
fn attribute_columns(plan: &Plan) -> String {
    plan.user_attributes.iter().map(|a| format!("{}, ", ident(&a.column))).collect()
}

fn users_of(db: &mut dyn Backend, plan: &Plan, condition: &str) -> Result<Vec<User>> {
    let rows = db.query(&format!(
        "SELECT user_id, {}created_at, last_active_at, disabled_at FROM policy_user{condition} ORDER BY user_id",
        attribute_columns(plan)
    ))?;
    let held = db.query(&format!(
        "SELECT user_id, role FROM policy_user_role WHERE user_id IN (SELECT user_id FROM policy_user{condition}) ORDER BY user_id, role"
    ))?;
    let mut users = Vec::new();
    let declared = plan.user_attributes.len();
    for r in &rows.rows {
        let (Some(id), Some(values), Some([created, active, disabled])) =
            (r.first(), r.get(1..=declared), r.get(declared + 1..))
        else {
            continue;
        };
        let user_id = id.to_string();
        let attributes = plan
            .user_attributes
            .iter()
            .zip(values)
            .filter(|(_, v)| !v.is_null())
            .map(|(attribute, v)| (attribute.name.clone(), v.to_string()))
            .collect();
        let roles = held
            .rows
            .iter()
            .filter(|h| h.first().map(Value::to_string).as_deref() == Some(user_id.as_str()))
            .filter_map(|h| h.get(1).map(Value::to_string))
            .collect();
        users.push(User {
            user_id,
            attributes,
            roles,
            created_at: time_text(created).unwrap_or_default(),
            last_active_at: time_text(active),
            disabled_at: time_text(disabled),
        });
    }
    Ok(users)
}

/// Every user, in id order.
pub fn list(db: &mut dyn Backend, plan: &Plan) -> Result<Vec<User>> {
    require_tables(db)?;
    users_of(db, plan, "")
}

fn find(db: &mut dyn Backend, plan: &Plan, user_id: &str) -> Result<Option<User>> {
    Ok(users_of(db, plan, &format!(" WHERE user_id = {}", literal(user_id)))?.into_iter().next())
}

fn no_user(db: &dyn Backend, user_id: &str) -> Error {
    Error::new(codes::NO_SUCH_USER, format!("no user `{user_id}` in {}", db.describe()))
        .help("`tally user list` shows the users; `tally user add` adds one")
}

/// The user `user_id`; `R0464` when there is none.
pub fn show(db: &mut dyn Backend, plan: &Plan, user_id: &str) -> Result<User> {
    require_tables(db)?;
    find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))
}

/// Checks the attributes an operator gives against the plan's declaration: each is declared
/// (`R0465`, with the nearest name), its value is of the attribute's type (`R0472`) and, for an
/// attribute that references a dimension level, one of the level's current members when the
/// dimension's `from` source has rows (`R0466`, with the nearest member: before the reference
/// data is loaded there is nothing to check against).
fn check_attributes(
    db: &mut dyn Backend,
    plan: &Plan,
    attributes: &BTreeMap<String, String>,
) -> Result<()> {
    for (name, value) in attributes {
        let Some(attribute) = plan.user_attribute(name) else {
            let names: Vec<&str> = plan.user_attributes.iter().map(|a| a.name.as_str()).collect();
            let help = if names.is_empty() {
                "the project declares no user attributes: declare them in its `users` block"
                    .to_owned()
            } else {
                did_you_mean(name, &names, "user attribute")
            };
            return Err(Error::new(
                codes::SCOPE_ATTRIBUTE,
                format!("`{name}` is not a user attribute"),
            )
            .help(help));
        };
        check_type(attribute, value)?;
        check_member(db, plan, attribute, value)?;
    }
    Ok(())
}

/// `R0472` unless `value` is a value of the attribute's declared type.
fn check_type(attribute: &UserAttribute, value: &str) -> Result<()> {
    let fits = match &attribute.ty {
        ColumnType::String => true,
        ColumnType::Int => value.parse::<i64>().is_ok(),
        ColumnType::Decimal { precision, scale } => fits_decimal(value, *precision, *scale),
        ColumnType::Bool => matches!(value, "true" | "false"),
        ColumnType::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        ColumnType::Timestamp => crate::etl::parse_time(value).is_ok(),
        ColumnType::Enum { values } => values.iter().any(|v| v == value),
    };
    if fits {
        return Ok(());
    }
    let name = &attribute.name;
    let (what, help) = match &attribute.ty {
        ColumnType::Int => {
            ("a whole number".to_owned(), "give a whole number such as `3`".to_owned())
        }
        ColumnType::Decimal { precision, scale } => (
            format!("a decimal({precision}, {scale})"),
            format!(
                "give a number with at most {} digits before the point and {scale} after it",
                precision.saturating_sub(*scale)
            ),
        ),
        ColumnType::Bool => ("`true` or `false`".to_owned(), "give `true` or `false`".to_owned()),
        ColumnType::Date => ("a date".to_owned(), "give a date as `2024-03-01`".to_owned()),
        ColumnType::Timestamp => {
            ("a time".to_owned(), "give a UTC time as `2024-03-01 06:00`".to_owned())
        }
        ColumnType::Enum { values } => {
            let names: Vec<&str> = values.iter().map(String::as_str).collect();
            ("one of its values".to_owned(), did_you_mean(value, &names, "value"))
        }
        ColumnType::String => ("text".to_owned(), String::new()),
    };
    Err(Error::new(
        codes::ATTRIBUTE_TYPE,
        format!("`{value}` is not {what}, as user attribute `{name}` is declared"),
    )
    .help(help))
}

/// Whether `text` is a number that fits `decimal(precision, scale)`.
fn fits_decimal(text: &str, precision: u8, scale: u8) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty()
        && all_digits(whole)
        && all_digits(fraction)
        && whole.len() <= usize::from(precision.saturating_sub(scale))
        && fraction.len() <= usize::from(scale)
}

/// The current table and key column that list the members of the level an attribute
/// references, when the plan knows them.
fn members_of(plan: &Plan, attribute: &UserAttribute) -> Option<(String, String)> {
    let reference = attribute.references.as_ref()?;
    let dimension = plan.dimension(&reference.dimension)?;
    let source = plan.source(dimension.from.as_deref()?)?;
    let key = dimension.level(&reference.level)?.key.clone()?;
    Some((source.tables.current.clone(), key))
}

/// `R0466` when the attribute references a level whose members are loaded and `value` is not
/// one of them.
fn check_member(
    db: &mut dyn Backend,
    plan: &Plan,
    attribute: &UserAttribute,
    value: &str,
) -> Result<()> {
    let (Some(reference), Some((table, key))) =
        (&attribute.references, members_of(plan, attribute))
    else {
        return Ok(());
    };
    if !db.table_exists(&table)? {
        return Ok(());
    }
    let counts = db.query(&format!(
        "SELECT count(*) AS members, count(*) FILTER (WHERE CAST({} AS TEXT) = {}) AS matching FROM {}",
        ident(&key),
        literal(value),
        ident(&table)
    ))?;
    let members = counts.get(0, "members").and_then(Value::as_i64).unwrap_or(0);
    let matching = counts.get(0, "matching").and_then(Value::as_i64).unwrap_or(0);
    if members == 0 || matching > 0 {
        return Ok(());
    }
    let sample = db.query(&format!(
        "SELECT DISTINCT CAST({k} AS TEXT) AS member FROM {} ORDER BY member LIMIT 400",
        ident(&table),
        k = ident(&key)
    ))?;
    let names: Vec<String> =
        sample.rows.iter().filter_map(|r| r.first()).map(Value::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Err(Error::new(
        codes::NOT_A_MEMBER,
        format!(
            "`{value}` is not a {} of {} (no {table} row has {key} = `{value}`), as user attribute `{}` must be",
            reference.level, reference.dimension, attribute.name
        ),
    )
    .help(did_you_mean(value, &names, &reference.level)))
}

/// Checks that every bound role among `roles` has its attribute among the user's
/// `attributes` (`R0465`).
fn check_scopes(
    user_id: &str,
    roles: &[&Role],
    attributes: &BTreeMap<String, String>,
) -> Result<()> {
    for role in roles {
        let Some(scope) = &role.scope else { continue };
        if attributes.contains_key(&scope.attribute) {
            continue;
        }
        return Err(Error::new(
            codes::SCOPE_ATTRIBUTE,
            format!(
                "role `{}` is scoped by the user's {} (`{}.{}`), and `{user_id}` has none",
                role.role, scope.attribute, scope.dimension, scope.level
            ),
        )
        .help(format!(
            "give it: --attr {}=<{}>",
            scope.attribute,
            scope.level.to_uppercase()
        )));
    }
    Ok(())
}

/// `"region" = 'NE', "clinic" = NULL`: the given attributes' columns set to their values.
fn attribute_sets(plan: &Plan, attributes: &BTreeMap<String, String>) -> Vec<String> {
    plan.user_attributes
        .iter()
        .filter_map(|a| {
            Some(format!("{} = {}", ident(&a.column), literal(attributes.get(&a.name)?)))
        })
        .collect()
}

/// Runs a role statement (PostgreSQL) inside the open transaction; "already exists" for a
/// `CREATE ROLE` is taken as done: roles are cluster-wide, and the same person may be a user of
/// several warehouse databases on one server.
fn role_statement(db: &mut dyn Backend, sql: &str) -> Result<()> {
    if !sql.starts_with("CREATE ROLE") {
        return db.execute(sql).map(|_| ());
    }
    db.execute("SAVEPOINT tally_user_role")?;
    match db.execute(sql) {
        Ok(_) => {}
        Err(e) if e.message.contains("already exists") => {
            db.execute("ROLLBACK TO SAVEPOINT tally_user_role")?;
        }
        Err(e) => return Err(e),
    }
    db.execute("RELEASE SAVEPOINT tally_user_role").map(|_| ())
}

/// PostgreSQL: refuses a user id that names an existing role with powers beyond a user's
/// (a superuser, or one that may create roles or databases): granting it Tally's roles would
/// not confine it.
fn check_login_role(db: &mut dyn Backend, user_id: &str) -> Result<()> {
    let rows = db.query(&format!(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls AS powerful FROM pg_roles WHERE rolname = {}",
        literal(user_id)
    ))?;
    if matches!(rows.scalar(), Some(Value::Bool(true))) {
        return Err(Error::new(
            codes::INVALID_USER_ID,
            format!("`{user_id}` is a PostgreSQL role with administrative powers, not a user"),
        )
        .help("users of the warehouse get a login role of their own: choose another user id"));
    }
    Ok(())
}

/// PostgreSQL: the statements that give `user_id` a login with exactly `roles`.
fn login_statements(db: &mut dyn Backend, user_id: &str, roles: &[String]) -> Result<Vec<String>> {
    let schema = db.query("SELECT current_schema()")?;
    let schema = schema.scalar().map(Value::to_string).unwrap_or_else(|| "public".to_owned());
    let u = ident(user_id);
    let mut statements = vec![
        format!("CREATE ROLE {u} LOGIN"),
        // A role that existed already (another warehouse on the server, a disabled user).
        format!("ALTER ROLE {u} LOGIN"),
        format!("GRANT USAGE ON SCHEMA {} TO {u}", ident(&schema)),
        // So the writer may act as the user (`SET ROLE`, as an operator checking a grant would).
        format!("GRANT {u} TO CURRENT_USER"),
    ];
    statements
        .extend(roles.iter().map(|r| format!("GRANT {} TO {u}", ident(&format!("tally_{r}")))));
    Ok(statements)
}

fn set_password(db: &mut dyn Backend, user_id: &str, password: &str) -> Result<()> {
    // The statement holds the password: a failure must not print it.
    db.execute(&format!("ALTER ROLE {} PASSWORD {}", ident(user_id), literal(password)))
        .map(|_| ())
        .map_err(|e| {
            let reason = e.message.lines().next().unwrap_or("").to_owned();
            Error::new(
                codes::STATEMENT_FAILED,
                format!("setting the password of `{user_id}` failed: {reason}"),
            )
        })
}

fn audited<T>(
    db: &mut dyn Backend,
    entry: Entry,
    work: impl FnOnce(&mut dyn Backend) -> Result<T>,
) -> Result<T> {
    require_tables(db)?;
    let result = in_transaction(db, |db| {
        let value = work(db)?;
        audit::append(db, &entry)?;
        Ok(value)
    });
    if let Err(error) = &result {
        // A refused or failed change is audited too, in a transaction of its own (the
        // change's was rolled back). Best effort: the error is what the operator must see.
        let outcome =
            if error.code == codes::STATEMENT_FAILED { Outcome::Failed } else { Outcome::Refused };
        let _ = audit::record(db, &entry.clone().error(outcome, error));
    }
    result
}

/// Adds a user with `user.roles` (at least one), their attributes, and on PostgreSQL a login
/// role. Refuses an existing user (`R0467`), an unknown role (`R0463`), a bound role without
/// its attribute (`R0465`) or with a value that is not a current member (`R0466`). Audited as
/// `user.add`.
pub fn add(db: &mut dyn Backend, plan: &Plan, user: &NewUser, change: Change<'_>) -> Result<User> {
    add_user(db, plan, user, None, change).map(|(user, _)| user)
}

/// [`add`], and in the same transaction an enrolment token valid for `ttl` (as
/// [`enrolment`]) when the database has the sign-on tables of `tally serve`.
pub fn add_enrolled(
    db: &mut dyn Backend,
    plan: &Plan,
    user: &NewUser,
    ttl: chrono::Duration,
    change: Change<'_>,
) -> Result<(User, Option<Enrolment>)> {
    add_user(db, plan, user, Some(ttl), change)
}

fn add_user(
    db: &mut dyn Backend,
    plan: &Plan,
    user: &NewUser,
    enrol: Option<chrono::Duration>,
    change: Change<'_>,
) -> Result<(User, Option<Enrolment>)> {
    let mut parameters = serde_json::json!({
        "roles": user.roles,
        "attributes": user.attributes,
        "password": user.password.is_some(),
    });
    if let (Some(ttl), Some(map)) = (enrol, parameters.as_object_mut()) {
        map.insert("enrolment_expires_at".into(), timestamp_text(change.now + ttl).into());
    }
    let entry = Entry::new(change.actor, "user.add", change.now)
        .object(&user.user_id)
        .parameters(parameters);
    audited(db, entry, |db| {
        check_user_id(&user.user_id)?;
        let defined = roles(db)?;
        if user.roles.is_empty() {
            return Err(Error::new(
                codes::NO_SUCH_ROLE,
                format!("`{}` is given no role", user.user_id),
            )
            .help("give one or more: --role <ROLE>"));
        }
        let mut held = Vec::new();
        for r in &user.roles {
            held.push(defined.get(r).ok_or_else(|| unknown_role(r, &defined))?);
        }
        check_attributes(db, plan, &user.attributes)?;
        check_scopes(&user.user_id, &held, &user.attributes)?;
        if find(db, plan, &user.user_id)?.is_some() {
            return Err(Error::new(
                codes::USER_EXISTS,
                format!("user `{}` already exists in {}", user.user_id, db.describe()),
            )
            .help("`tally user grant` gives an existing user another role"));
        }
        let pg = db.dialect() == Dialect::Postgres;
        if pg {
            check_login_role(db, &user.user_id)?;
        }
        let values: String = plan
            .user_attributes
            .iter()
            .map(|a| {
                format!(
                    "{}, ",
                    user.attributes.get(&a.name).map_or("NULL".to_owned(), |v| literal(v))
                )
            })
            .collect();
        db.execute(&format!(
            "INSERT INTO policy_user (user_id, {}created_at, last_active_at, disabled_at) VALUES ({}, {values}{}, NULL, NULL)",
            attribute_columns(plan),
            literal(&user.user_id),
            ts(change.now)
        ))?;
        let mut names: Vec<String> = user.roles.clone();
        names.sort();
        names.dedup();
        for r in &names {
            db.execute(&format!(
                "INSERT INTO policy_user_role (user_id, role) VALUES ({}, {})",
                literal(&user.user_id),
                literal(r)
            ))?;
        }
        if pg {
            for sql in login_statements(db, &user.user_id, &names)? {
                role_statement(db, &sql)?;
            }
            if let Some(password) = &user.password {
                set_password(db, &user.user_id, password)?;
            }
        }
        let enrolment = match enrol {
            Some(ttl) if sessions::available(db)? => {
                Some(sessions::issue_enrolment(db, &user.user_id, change.now, ttl)?)
            }
            _ => None,
        };
        let added = find(db, plan, &user.user_id)?.ok_or_else(|| no_user(db, &user.user_id))?;
        Ok((added, enrolment))
    })
}

/// A one-time enrolment token for `user_id`, valid for `ttl`, with which they set their
/// password for `tally serve` (an earlier unused token stops working). The token is printed
/// once and stored hashed. Audited as `user.enrolment` (the expiry, never the token).
pub fn enrolment(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    ttl: chrono::Duration,
    change: Change<'_>,
) -> Result<Enrolment> {
    let expires = timestamp_text(change.now + ttl);
    let entry = Entry::new(change.actor, "user.enrolment", change.now)
        .object(user_id)
        .parameters(serde_json::json!({"expires_at": expires}));
    audited(db, entry, |db| {
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        sessions::issue_enrolment(db, user_id, change.now, ttl)
    })
}

/// Resets `user_id`'s sign-on: forgets their password, ends their sessions, and gives a new
/// enrolment token (as [`enrolment`]). Audited as `user.reset`.
pub fn reset(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    ttl: chrono::Duration,
    change: Change<'_>,
) -> Result<Enrolment> {
    let expires = timestamp_text(change.now + ttl);
    let entry = Entry::new(change.actor, "user.reset", change.now)
        .object(user_id)
        .parameters(serde_json::json!({"expires_at": expires}));
    audited(db, entry, |db| {
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        sessions::forget_password(db, user_id)?;
        sessions::revoke_sessions(db, user_id, "user.reset", change.now)?;
        sessions::issue_enrolment(db, user_id, change.now, ttl)
    })
}

/// Gives `user_id` the role `role`, setting any `attributes` given (checked as
/// [`add`] checks them; a bound role needs its own). Audited as `user.grant`.
pub fn grant(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    role: &str,
    attributes: &BTreeMap<String, String>,
    change: Change<'_>,
) -> Result<User> {
    let entry = Entry::new(change.actor, "user.grant", change.now)
        .object(user_id)
        .parameters(serde_json::json!({"role": role, "attributes": attributes}));
    audited(db, entry, |db| {
        let user = find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        let defined = roles(db)?;
        let r = defined.get(role).ok_or_else(|| unknown_role(role, &defined))?;
        if user.roles.iter().any(|h| h == role) {
            return Err(Error::new(
                codes::ALREADY_DONE,
                format!("`{user_id}` already holds role `{role}`"),
            )
            .help("`tally user show` lists a user's roles"));
        }
        check_attributes(db, plan, attributes)?;
        let mut merged = user.attributes.clone();
        merged.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_scopes(user_id, &[r], &merged)?;
        let sets = attribute_sets(plan, attributes);
        if !sets.is_empty() {
            db.execute(&format!(
                "UPDATE policy_user SET {} WHERE user_id = {}",
                sets.join(", "),
                literal(user_id)
            ))?;
        }
        db.execute(&format!(
            "INSERT INTO policy_user_role (user_id, role) VALUES ({}, {})",
            literal(user_id),
            literal(role)
        ))?;
        // A session was signed in under the old roles: the user signs in again.
        sessions::revoke_sessions(db, user_id, "user.grant", change.now)?;
        if db.dialect() == Dialect::Postgres && user.disabled_at.is_none() {
            db.execute(&format!(
                "GRANT {} TO {}",
                ident(&format!("tally_{role}")),
                ident(user_id)
            ))?;
        }
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))
    })
}

/// Takes the role `role` from `user_id` (and on PostgreSQL the `tally_<role>` database role).
/// Audited as `user.revoke`.
pub fn revoke(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    role: &str,
    change: Change<'_>,
) -> Result<User> {
    let entry = Entry::new(change.actor, "user.revoke", change.now)
        .object(user_id)
        .parameters(serde_json::json!({"role": role}));
    audited(db, entry, |db| {
        let user = find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        if !user.roles.iter().any(|h| h == role) {
            return Err(Error::new(
                codes::ALREADY_DONE,
                format!("`{user_id}` does not hold role `{role}`"),
            )
            .help(format!("`{user_id}` holds: {}", user.roles.join(", "))));
        }
        db.execute(&format!(
            "DELETE FROM policy_user_role WHERE user_id = {} AND role = {}",
            literal(user_id),
            literal(role)
        ))?;
        sessions::revoke_sessions(db, user_id, "user.revoke", change.now)?;
        if db.dialect() == Dialect::Postgres {
            db.execute(&format!(
                "REVOKE {} FROM {}",
                ident(&format!("tally_{role}")),
                ident(user_id)
            ))?;
        }
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))
    })
}

/// Disables `user_id`: [`authorize`] refuses them, and on PostgreSQL their login loses
/// `LOGIN` and every `tally_<role>`. Audited as `user.disable`.
pub fn disable(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    change: Change<'_>,
) -> Result<User> {
    let entry = Entry::new(change.actor, "user.disable", change.now).object(user_id);
    audited(db, entry, |db| {
        let user = find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        if user.disabled_at.is_some() {
            return Err(Error::new(
                codes::ALREADY_DONE,
                format!("`{user_id}` is already disabled"),
            )
            .help(format!("`tally user reinstate {user_id}` enables the account again")));
        }
        db.execute(&format!(
            "UPDATE policy_user SET disabled_at = {} WHERE user_id = {}",
            ts(change.now),
            literal(user_id)
        ))?;
        sessions::revoke_sessions(db, user_id, "user.disable", change.now)?;
        if db.dialect() == Dialect::Postgres {
            let u = ident(user_id);
            db.execute(&format!("ALTER ROLE {u} NOLOGIN"))?;
            for r in &user.roles {
                db.execute(&format!("REVOKE {} FROM {u}", ident(&format!("tally_{r}"))))?;
            }
        }
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))
    })
}

/// Makes `user_id` usable again: clears a lapse (`last_active_at` = now) and a disable, and on
/// PostgreSQL restores `LOGIN` and the user's `tally_<role>`s. Audited as `user.reinstate`.
pub fn reinstate(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    change: Change<'_>,
) -> Result<User> {
    let entry = Entry::new(change.actor, "user.reinstate", change.now).object(user_id);
    audited(db, entry, |db| {
        let user = find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
        db.execute(&format!(
            "UPDATE policy_user SET last_active_at = {}, disabled_at = NULL WHERE user_id = {}",
            ts(change.now),
            literal(user_id)
        ))?;
        if db.dialect() == Dialect::Postgres {
            for sql in login_statements(db, user_id, &user.roles)? {
                role_statement(db, &sql)?;
            }
        }
        find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))
    })
}

fn grants(db: &mut dyn Backend, roles: &[String]) -> Result<Vec<Grant>> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = roles.iter().map(|r| literal(r)).collect();
    let rows: Rows = db.query(&format!(
        "SELECT role, object_kind, object FROM policy_grant WHERE role IN ({}) ORDER BY role, object_kind, object",
        list.join(", ")
    ))?;
    Ok(rows
        .rows
        .iter()
        .filter(|r| r.len() == 3)
        .map(|r| Grant {
            role: r[0].to_string(),
            object_kind: r[1].to_string(),
            object: r[2].to_string(),
        })
        .collect())
}

/// May `user_id` act now? Returns their roles, scopes, grants and thresholds, or refuses:
/// an unknown user (`R0464`), a disabled account (`R0469`), an account unused for more than
/// [`LAPSE_DAYS`] days (`R0470`, "account unused for N days; ask an administrator to reinstate
/// it: tally user reinstate USER"), a user without roles or with a bound role but no value for
/// its attribute (`R0471`).
///
/// **A refusal is audited here**, as action `user.authorize`, actor and object the user,
/// outcome `refused`, in a transaction of its own: call `authorize` when no transaction is
/// open. Success is not audited here: the caller records what the user then does (a query)
/// and calls [`touch`]. `authorize` itself does not count as use.
pub fn authorize(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<UserContext> {
    require_tables(db)?;
    let result = context(db, plan, user_id, now);
    if let Err(error) = &result {
        let entry = Entry::new(user_id, "user.authorize", now)
            .object(user_id)
            .error(Outcome::Refused, error);
        audit::record(db, &entry)?;
    }
    result
}

fn context(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<UserContext> {
    let user = find(db, plan, user_id)?.ok_or_else(|| no_user(db, user_id))?;
    if let Some(at) = &user.disabled_at {
        return Err(Error::new(
            codes::ACCOUNT_DISABLED,
            format!("the account `{user_id}` was disabled at {at}"),
        )
        .help(format!("ask an administrator to reinstate it: tally user reinstate {user_id}")));
    }
    if user.lapsed(now) {
        let days = user.idle_days(now);
        return Err(Error::new(
            codes::ACCOUNT_LAPSED,
            format!("account unused for {days} days; ask an administrator to reinstate it: tally user reinstate {user_id}"),
        )
        .help(format!(
            "accounts unused for more than {LAPSE_DAYS} days are refused until reinstated; {}",
            match &user.last_active_at {
                Some(at) => format!("last used {at}"),
                None => format!("never used since it was created at {}", user.created_at),
            }
        )));
    }
    if user.roles.is_empty() {
        return Err(Error::new(codes::ROLES_NOT_APPLICABLE, format!("`{user_id}` holds no role"))
            .help(format!("give them one: tally user grant {user_id} --role <ROLE>")));
    }
    let defined = roles(db)?;
    let mut scoped = Vec::new();
    for name in &user.roles {
        let Some(role) = defined.get(name) else {
            return Err(Error::new(
                codes::ROLES_NOT_APPLICABLE,
                format!("`{user_id}` holds role `{name}`, which policy_role no longer defines"),
            )
            .help(format!("revoke it: tally user revoke {user_id} --role {name}")));
        };
        let value = match &role.scope {
            Some(scope) => Some(user.attributes.get(&scope.attribute).cloned().ok_or_else(|| {
                Error::new(
                    codes::ROLES_NOT_APPLICABLE,
                    format!("role `{name}` is scoped by the user's {}, and `{user_id}` has none", scope.attribute),
                )
                .help(format!(
                    "revoke the role and grant it again with the value: tally user grant {user_id} --role {name} --attr {}=<VALUE>",
                    scope.attribute
                ))
            })?),
            None => None,
        };
        scoped.push(ScopedRole { role: role.clone(), value });
    }
    let grants = grants(db, &user.roles)?;
    Ok(UserContext {
        user_id: user.user_id.clone(),
        min_cell_size: scoped.iter().map(|r| r.role.min_cell_size).max().unwrap_or(11),
        drill_down: scoped.iter().any(|r| r.role.drill_down),
        ad_hoc: scoped.iter().any(|r| r.role.ad_hoc),
        roles: scoped,
        attributes: user.attributes,
        grants,
    })
}

/// Records that `user_id` used their account at `now` (`last_active_at`), after an
/// authorized action succeeded. Works inside or outside a transaction; not audited (the
/// action is).
pub fn touch(db: &mut dyn Backend, user_id: &str, now: NaiveDateTime) -> Result<()> {
    db.execute(&format!(
        "UPDATE policy_user SET last_active_at = {} WHERE user_id = {} AND (last_active_at IS NULL OR last_active_at < {})",
        ts(now),
        literal(user_id),
        ts(now)
    ))?;
    Ok(())
}
