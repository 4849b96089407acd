//! Who is asking, and what is written down about it: the one seam between `tally query` and
//! the user accounts ([`crate::users`]: unknown, disabled and lapsed accounts are refused
//! there) and the audit trail ([`crate::audit`]).

use super::sql::{Condition, From, Literal, Select};
use super::Request;
use crate::audit::{self, Entry, Outcome};
use crate::backend::Backend;
use crate::error::{codes, Error, Result};
use crate::plan::Plan;
use crate::users;
use crate::value::Value;
use chrono::NaiveDateTime;

/// A user as a query sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub user_id: String,
    pub roles: Vec<Role>,
}

/// One role the user holds, with the user's value for its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub title: Option<String>,
    pub scope: Scope,
    pub drill_down: bool,
    pub ad_hoc: bool,
    pub min_cell_size: i64,
    /// `(object_kind, object)`: `mart`, `metric` or `report`.
    pub grants: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    National,
    /// Rows whose `dimension.level` member is the user's `attribute` (`None`: the user has no
    /// value for it, and sees nothing through this role).
    Bound {
        dimension: String,
        level: String,
        attribute: String,
        value: Option<String>,
    },
}

impl Scope {
    /// For messages: `national`, `geography.region = 'NE'`.
    pub fn describe(&self) -> String {
        match self {
            Scope::National => "national".to_string(),
            Scope::Bound { dimension, level, value: Some(v), .. } => {
                format!("{dimension}.{level} = '{v}'")
            }
            Scope::Bound { dimension, level, attribute, value: None } => {
                format!("{dimension}.{level} = user.{attribute} (not set for this user)")
            }
        }
    }
}

impl Role {
    pub fn grants(&self, kind: &str, object: &str) -> bool {
        self.grants.iter().any(|(k, o)| k == kind && o == object)
    }
}

fn text(row: &[Value], i: usize) -> Option<String> {
    row.get(i).and_then(|v| if v.is_null() { None } else { Some(v.to_string()) })
}

/// The user `user_id` at `now`, from [`users::authorize`] (which refuses, and audits the
/// refusal of, unknown, disabled and lapsed accounts).
pub fn authorize(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Viewer> {
    let context = users::authorize(db, plan, user_id, now)?;
    let roles = context
        .roles
        .iter()
        .map(|scoped| {
            let role = &scoped.role;
            Role {
                name: role.role.clone(),
                title: role.title.clone(),
                scope: match &role.scope {
                    None => Scope::National,
                    Some(bound) => Scope::Bound {
                        dimension: bound.dimension.clone(),
                        level: bound.level.clone(),
                        attribute: bound.attribute.clone(),
                        value: scoped.value.clone(),
                    },
                },
                drill_down: role.drill_down,
                ad_hoc: role.ad_hoc,
                min_cell_size: role.min_cell_size,
                grants: context
                    .grants
                    .iter()
                    .filter(|g| g.role == role.role)
                    .map(|g| (g.object_kind.clone(), g.object.clone()))
                    .collect(),
            }
        })
        .collect();
    Ok(Viewer { user_id: context.user_id, roles })
}

/// Records that the user was active at `now`.
pub fn touch(db: &mut dyn Backend, user_id: &str, now: NaiveDateTime) -> Result<()> {
    users::touch(db, user_id, now)
}

/// Appends the audit record of one query: its action (`query.metric`, `query.report`,
/// `query.drill`, `query.sql`), actor the user, the object asked for, the arguments, and the
/// outcome (`refused` for a refusal, `failed` for any other error).
pub fn record(
    db: &mut dyn Backend,
    request: &Request,
    parameters: serde_json::Value,
    error: Option<&Error>,
) -> Result<()> {
    let entry = Entry::new(&request.user, request.action(), request.now)
        .object(request.object())
        .parameters(parameters);
    let entry = match error {
        None => entry,
        Some(e) if is_refusal(e) => entry.error(Outcome::Refused, e),
        Some(e) => entry.error(Outcome::Failed, e),
    };
    audit::record(db, &entry)?;
    Ok(())
}

/// Whether an error says no (a policy, an account, a check of what was asked) rather than
/// that something broke.
pub fn is_refusal(error: &Error) -> bool {
    let code = error.code;
    code.as_str().starts_with("R04") && code != codes::QUERY_INTERNAL
}

fn read(db: &mut dyn Backend, select: Select) -> Result<Vec<Vec<Value>>> {
    let sql = select.render(db.dialect())?;
    Ok(db.query(&sql)?.rows)
}

/// The roles (of anyone) that hold one of `grants`, as `role (kind object)`, for messages
/// saying which grant would allow what was refused.
pub fn granted_by(db: &mut dyn Backend, grants: &[(String, String)]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (kind, object) in grants {
        let rows = read(
            db,
            Select::new(From::Table("policy_grant".into()), vec!["role".into()])
                .filter(Condition::Eq("object_kind".into(), Literal::Text(kind.clone())))
                .filter(Condition::Eq("object".into(), Literal::Text(object.clone()))),
        )?;
        for r in rows {
            if let Some(role) = text(&r, 0) {
                out.push(format!("{role} ({kind} {object})"));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
