//! `tally user add|grant|revoke|disable|reinstate|reset|list|show`: the warehouse's users,
//! through `tally_runtime::users`. `add` and `reset` print a one-time enrolment token with
//! which the user sets their own password for `tally serve`. Every change is audited there, with the operator as actor. The user
//! attributes (`--attr region=NE`) are the project's own, declared in its `users` block: the
//! runtime checks them against `plan.json` in `--generated`.

use super::audit::{print_table, Format, Operator};
use super::{fail, Target};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::process::ExitCode;
use tally_runtime::error::codes;
use tally_runtime::serve::auth::Enrolment;
use tally_runtime::users::{self, Change, NewUser, User};
use tally_runtime::{backend, plan, Error};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

/// The user attributes to set: those the project's `users` block declares.
#[derive(Debug, Clone, Args)]
struct Attributes {
    /// A user attribute declared in the project's `users` block, such as `region=NE` (for
    /// roles scoped by `user.region`); may be repeated
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = key_value)]
    attributes: Vec<(String, String)>,
}

/// `KEY=VALUE`, split at the first `=`.
fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE (write it as `--attr region=NE`)")),
    }
}

impl Attributes {
    /// The attributes by name; an attribute given twice is refused (`R0301`).
    fn map(&self) -> tally_runtime::Result<BTreeMap<String, String>> {
        let mut map = BTreeMap::new();
        for (key, value) in &self.attributes {
            if map.insert(key.clone(), value.clone()).is_some() {
                return Err(Error::new(
                    codes::BAD_INPUT,
                    format!("`--attr {key}=...` is given twice"),
                )
                .help("give each attribute once"));
            }
        }
        Ok(map)
    }
}

/// What every change takes: the database, the operator, the time.
#[derive(Debug, Clone, Args)]
struct ChangeArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    operator: Operator,
    /// The change's time, UTC, instead of the clock
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user with one or more roles (on PostgreSQL also a login role)
    Add {
        /// The user id (on PostgreSQL, the login name)
        user: String,
        /// A role of the `role` declarations (may be repeated)
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        attributes: Attributes,
        /// PostgreSQL: the login's password (without it the server's other authentication
        /// decides)
        #[arg(long, env = "TALLY_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// How long the printed enrolment token for `tally serve` stays valid
        #[arg(long, value_name = "HOURS", default_value_t = 72)]
        token_hours: u32,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Reset a user's sign-on for `tally serve`: forget the password, end the sessions, and
    /// print a new one-time enrolment token
    Reset {
        user: String,
        /// How long the token stays valid
        #[arg(long, value_name = "HOURS", default_value_t = 72)]
        token_hours: u32,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Give a user another role
    Grant {
        user: String,
        #[arg(long, value_name = "ROLE")]
        role: String,
        #[command(flatten)]
        attributes: Attributes,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Take a role from a user
    Revoke {
        user: String,
        #[arg(long, value_name = "ROLE")]
        role: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Disable an account: refused until reinstated (on PostgreSQL, no login)
    Disable {
        user: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Make an account usable again: clears the 90-day lapse and a disable
    Reinstate {
        user: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// List the users, their roles and whether each account may be used now
    List {
        #[command(flatten)]
        target: Target,
        /// Judge the 90-day rule at this time, UTC, instead of the clock
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one user
    Show {
        user: String,
        #[command(flatten)]
        target: Target,
        /// Judge the 90-day rule at this time, UTC, instead of the clock
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn main(args: UserArgs) -> anyhow::Result<ExitCode> {
    Ok(run(args.command).unwrap_or_else(|error| fail(&error)))
}

fn run(command: UserCommand) -> tally_runtime::Result<ExitCode> {
    match command {
        UserCommand::Add { user, roles, attributes, password, token_hours, change } => {
            let new = NewUser { user_id: user, roles, attributes: attributes.map()?, password };
            let ttl = chrono::Duration::hours(token_hours.into());
            let mut token = None;
            let (user, now) = apply(&change, "added", |db, p, c| {
                let (user, enrolment) = users::add_enrolled(db, p, &new, ttl, c)?;
                token = enrolment;
                Ok(user)
            })?;
            match (change.format, &token) {
                // One JSON document: the user with their token.
                (Format::Json, Some(enrolment)) => {
                    let mut value = user_json(&user, now);
                    if let Some(map) = value.as_object_mut() {
                        map.insert("enrolment_token".to_owned(), enrolment.token.clone().into());
                        map.insert("enrolment_expires_at".to_owned(), expiry(enrolment).into());
                    }
                    println!("{}", serde_json::to_string_pretty(&[value]).unwrap_or_default());
                }
                (format, token) => {
                    print_users(std::slice::from_ref(&user), now, format);
                    if let Some(enrolment) = token {
                        print_enrolment(enrolment, format);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Reset { user, token_hours, change } => {
            let ttl = chrono::Duration::hours(token_hours.into());
            let now = super::now_or_clock(change.now.as_deref())?;
            let actor = change.operator.actor();
            let plan = plan::load(&change.target.generated)?;
            let mut db = backend::open(&change.target.db)?;
            let result =
                users::reset(db.as_mut(), &plan, &user, ttl, Change { actor: &actor, now });
            change.operator.finish(db.as_mut());
            let enrolment = result?;
            print_enrolment(&enrolment, change.format);
            eprintln!("{}: reset the sign-on of `{user}`", db.describe());
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Grant { user, role, attributes, change } => {
            let attributes = attributes.map()?;
            changed(&change, "granted", |db, p, c| {
                users::grant(db, p, &user, &role, &attributes, c)
            })
        }
        UserCommand::Revoke { user, role, change } => {
            changed(&change, "revoked", |db, p, c| users::revoke(db, p, &user, &role, c))
        }
        UserCommand::Disable { user, change } => {
            changed(&change, "disabled", |db, p, c| users::disable(db, p, &user, c))
        }
        UserCommand::Reinstate { user, change } => {
            changed(&change, "reinstated", |db, p, c| users::reinstate(db, p, &user, c))
        }
        UserCommand::List { target, now, format } => {
            let now = super::now_or_clock(now.as_deref())?;
            let plan = plan::load(&target.generated)?;
            let mut db = backend::open(&target.db)?;
            let all = users::list(db.as_mut(), &plan)?;
            print_users(&all, now, format);
            eprintln!("{}: {} user(s)", db.describe(), all.len());
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Show { user, target, now, format } => {
            let now = super::now_or_clock(now.as_deref())?;
            let plan = plan::load(&target.generated)?;
            let mut db = backend::open(&target.db)?;
            let user = users::show(db.as_mut(), &plan, &user)?;
            print_users(std::slice::from_ref(&user), now, format);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs one audited change and prints the user as it is after it.
fn changed(
    args: &ChangeArgs,
    verb: &str,
    work: impl FnOnce(
        &mut dyn tally_runtime::Backend,
        &plan::Plan,
        Change<'_>,
    ) -> tally_runtime::Result<User>,
) -> tally_runtime::Result<ExitCode> {
    let (user, now) = apply(args, verb, work)?;
    print_users(std::slice::from_ref(&user), now, args.format);
    Ok(ExitCode::SUCCESS)
}

/// Runs one audited change; the user as it is after it, and the change's time.
fn apply(
    args: &ChangeArgs,
    verb: &str,
    work: impl FnOnce(
        &mut dyn tally_runtime::Backend,
        &plan::Plan,
        Change<'_>,
    ) -> tally_runtime::Result<User>,
) -> tally_runtime::Result<(User, chrono::NaiveDateTime)> {
    let now = super::now_or_clock(args.now.as_deref())?;
    let actor = args.operator.actor();
    let plan = plan::load(&args.target.generated)?;
    let mut db = backend::open(&args.target.db)?;
    let result = work(db.as_mut(), &plan, Change { actor: &actor, now });
    // Refusals are audited too: the anchor file follows either way.
    args.operator.finish(db.as_mut());
    let user = result?;
    eprintln!("{}: {verb} `{}`", db.describe(), user.user_id);
    Ok((user, now))
}

fn expiry(enrolment: &Enrolment) -> String {
    enrolment.expires_at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The one-time token, on stdout (the operator hands it to the user, who sets a password with
/// it); never stored in the clear, so it cannot be printed again.
fn print_enrolment(enrolment: &Enrolment, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "user": enrolment.user_id,
                "enrolment_token": enrolment.token,
                "expires_at": expiry(enrolment),
            })
        ),
        Format::Table => {
            println!("enrolment token for `{}`: {}", enrolment.user_id, enrolment.token);
            println!(
                "  valid once, until {} UTC: the user sets a password with it (POST /api/v1/enrol of `tally serve`)",
                enrolment.expires_at.format("%Y-%m-%d %H:%M")
            );
        }
    }
}

/// `active`, `lapsed (N days unused)` or `disabled`.
fn state(user: &User, now: chrono::NaiveDateTime) -> String {
    if user.disabled_at.is_some() {
        "disabled".to_owned()
    } else if user.lapsed(now) {
        format!("lapsed ({} days unused)", user.idle_days(now))
    } else {
        "active".to_owned()
    }
}

/// A user as JSON, with their state at `now`.
fn user_json(user: &User, now: chrono::NaiveDateTime) -> serde_json::Value {
    let mut value = serde_json::to_value(user).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("state".to_owned(), state(user, now).into());
        map.insert("lapsed".to_owned(), user.lapsed(now).into());
    }
    value
}

fn print_users(all: &[User], now: chrono::NaiveDateTime, format: Format) {
    match format {
        Format::Json => {
            let json: Vec<serde_json::Value> = all.iter().map(|u| user_json(u, now)).collect();
            println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        }
        Format::Table => {
            let header = ["user", "roles", "scope", "created", "last active", "state"];
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|u| {
                    let scope: Vec<String> =
                        u.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    vec![
                        u.user_id.clone(),
                        u.roles.join(","),
                        if scope.is_empty() { "-".to_owned() } else { scope.join(",") },
                        u.created_at.clone(),
                        u.last_active_at.clone().unwrap_or_else(|| "never".to_owned()),
                        state(u, now),
                    ]
                })
                .collect();
            print_table(&header, &rows);
        }
    }
}
