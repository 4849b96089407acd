//! Sign-on with local accounts: one-time enrolment tokens, Argon2id passwords, sessions.
//!
//! - **Enrolment.** `tally user add` and `tally user reset` ([`crate::users::enrolment`],
//!   [`crate::users::reset`]) print a one-time token; the user sets their own password with it
//!   ([`enrol`]), so an operator never sees a password. The token is stored as its SHA-256
//!   only (`auth_enrolment`), expires, and works once.
//! - **Passwords.** Argon2id with the `argon2` crate's defaults (19 MiB, two passes), stored
//!   as a PHC string in `auth_account`. An unknown user costs the same hash as a known one.
//! - **Sessions.** 32 random bytes from the operating system, hex; the cookie carries the
//!   token, the database its SHA-256 (`auth_session`), so a copy of the database signs no one
//!   in. A session ends at its absolute expiry, after `idle` without a request, at sign-out,
//!   and when the user is disabled, reset, or has a role granted or revoked
//!   ([`revoke_sessions`], called in those changes' transactions).
//! - **CSRF.** A session's CSRF token is derived from its session token ([`csrf_token`]):
//!   only a page that holds the cookie's value (which `HttpOnly` keeps from scripts) or was
//!   given the token by the server can send it; it is compared in constant time.
//!
//! Every sign-on, failure, enrolment and sign-out is in the audit trail, with the user as
//! actor. The SQL is fixed statements over the `auth_*` tables, values as quoted literals.

use crate::audit::{self, Entry, Outcome};
use crate::backend::{in_transaction, Backend};
use crate::error::{codes, Error, Result};
use crate::plan::Plan;
use crate::users;
use crate::value::timestamp_text;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tally_session";
/// The header a state-changing request carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The shortest password [`enrol`] accepts, in characters.
pub const MIN_PASSWORD: usize = 12;
/// The longest, in bytes (Argon2 takes any length; this bounds the work a request can ask).
pub const MAX_PASSWORD: usize = 1024;
/// The tables this module needs.
pub const TABLES: [&str; 3] = ["auth_account", "auth_enrolment", "auth_session"];

/// How long things last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// A session unused for longer ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
    /// An enrolment token expires this long after it was printed.
    pub enrolment: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            enrolment: Duration::hours(72),
        }
    }
}

/// A new session: what the client is given once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: String,
    /// The cookie's value.
    pub token: String,
    /// The CSRF token state-changing requests carry in [`CSRF_HEADER`].
    pub csrf: String,
    pub expires_at: NaiveDateTime,
}

/// A live session, found by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    token_hash: String,
    pub csrf: String,
    pub expires_at: NaiveDateTime,
}

/// A one-time enrolment token, printed once.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub user_id: String,
    pub token: String,
    pub expires_at: NaiveDateTime,
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn ts(at: NaiveDateTime) -> String {
    format!("TIMESTAMP '{}'", timestamp_text(at))
}

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            codes::STATEMENT_FAILED,
            format!("the operating system gave no random bytes: {e}"),
        )
    })?;
    Ok(hex::encode(bytes))
}

/// What the database stores of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of the session whose token is `session_token`.
pub fn csrf_token(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"tally-csrf\0");
    hasher.update(session_token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn same(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether the database has the sign-on tables (a `generated/` compiled by a Tally that has
/// them, migrated).
pub fn available(db: &mut dyn Backend) -> Result<bool> {
    for table in TABLES {
        if !db.table_exists(table)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `R0203` unless [`available`].
pub fn require(db: &mut dyn Backend) -> Result<()> {
    if available(db)? {
        return Ok(());
    }
    Err(Error::new(
        codes::NOT_MIGRATED,
        format!("{} has no sign-on tables ({})", db.describe(), TABLES.join(", ")),
    )
    .help("compile the project with this version of tally (`tally compile`), then `tally migrate`"))
}

/// Ends every live session of `user_id` (why: `user.disable`, `user.grant`, ...); the number
/// ended. Runs in the caller's transaction; does nothing on a database without the tables.
pub fn revoke_sessions(
    db: &mut dyn Backend,
    user_id: &str,
    why: &str,
    now: NaiveDateTime,
) -> Result<u64> {
    if !db.table_exists("auth_session")? {
        return Ok(0);
    }
    db.execute(&format!(
        "UPDATE auth_session SET revoked_at = {}, revoked_why = {} WHERE user_id = {} AND revoked_at IS NULL",
        ts(now),
        literal(why),
        literal(user_id)
    ))
}

/// Stores a new enrolment token for `user_id` (any earlier unused one stops working). Runs in
/// the caller's transaction; the caller audits.
pub(crate) fn issue_enrolment(
    db: &mut dyn Backend,
    user_id: &str,
    now: NaiveDateTime,
    ttl: Duration,
) -> Result<Enrolment> {
    require(db)?;
    let token = random_token()?;
    let expires_at = now + ttl;
    db.execute(&format!(
        "DELETE FROM auth_enrolment WHERE user_id = {} AND used_at IS NULL",
        literal(user_id)
    ))?;
    db.execute(&format!(
        "INSERT INTO auth_enrolment (token_hash, user_id, created_at, expires_at, used_at) VALUES ({}, {}, {}, {}, NULL)",
        literal(&token_hash(&token)),
        literal(user_id),
        ts(now),
        ts(expires_at)
    ))?;
    Ok(Enrolment { user_id: user_id.to_owned(), token, expires_at })
}

/// Forgets `user_id`'s password (a reset). Runs in the caller's transaction.
pub(crate) fn forget_password(db: &mut dyn Backend, user_id: &str) -> Result<()> {
    require(db)?;
    db.execute(&format!("DELETE FROM auth_account WHERE user_id = {}", literal(user_id)))?;
    Ok(())
}

/// Checks a new password's length and hashes it (Argon2id, a fresh salt): the slow part of
/// [`enrol`], done before a connection is taken.
pub fn new_password(password: &str) -> Result<String> {
    check_password(password)?;
    hash_password(password)
}

fn check_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(Error::new(
            codes::WEAK_PASSWORD,
            format!(
                "a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters; this one has {chars}"
            ),
        )
        .help("choose a longer passphrase: several words are easy to remember and hard to guess"));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| {
        Error::new(
            codes::STATEMENT_FAILED,
            format!("the operating system gave no random bytes: {e}"),
        )
    })?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::new(codes::STATEMENT_FAILED, format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::new(codes::STATEMENT_FAILED, format!("hashing the password: {e}")))
}

/// Whether `password` matches the PHC string `stored`.
fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash of no one's password, verified against when the user is unknown or has none, so
/// that the answer takes as long as for a real account.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$O+7y0n6V2uUeXwMEI0iJKVFcrc0cqKnz0ItOrjl0vb4";

/// Sets the password of the user whose enrolment `token` is to `password` (the result of
/// [`new_password`]), and uses the token up. Refuses a token that is unknown, used or expired
/// (`R0484`) and a refused password (`R0485`). The user's sessions end. Audited as
/// `serve.enrol` (a refusal too, actor `anonymous` when the token names no one).
pub fn enrol(
    db: &mut dyn Backend,
    token: &str,
    password: Result<String>,
    now: NaiveDateTime,
) -> Result<String> {
    require(db)?;
    let hash = token_hash(token);
    let rows = db.query(&format!(
        "SELECT user_id FROM auth_enrolment WHERE token_hash = {} AND used_at IS NULL AND expires_at > {}",
        literal(&hash),
        ts(now)
    ))?;
    let user_id = rows.scalar().map(|v| v.to_string());
    let result = match &user_id {
        None => Err(Error::new(
            codes::ENROLMENT_TOKEN,
            "the enrolment token is unknown, used or expired",
        )
        .help("ask an administrator for a new one: tally user reset USER")),
        Some(user_id) => password.and_then(|password_hash| {
            in_transaction(db, |db| {
                let used = db.execute(&format!(
                    "UPDATE auth_enrolment SET used_at = {} WHERE token_hash = {} AND used_at IS NULL AND expires_at > {}",
                    ts(now),
                    literal(&hash),
                    ts(now)
                ))?;
                if used != 1 {
                    // Another request used the token between the look-up and now.
                    return Err(Error::new(
                        codes::ENROLMENT_TOKEN,
                        "the enrolment token is unknown, used or expired",
                    ));
                }
                db.execute(&format!(
                    "DELETE FROM auth_account WHERE user_id = {}",
                    literal(user_id)
                ))?;
                db.execute(&format!(
                    "INSERT INTO auth_account (user_id, password_hash, password_set_at) VALUES ({}, {}, {})",
                    literal(user_id),
                    literal(&password_hash),
                    ts(now)
                ))?;
                revoke_sessions(db, user_id, "serve.enrol", now)?;
                audit::append(db, &Entry::new(user_id, "serve.enrol", now).object(user_id))?;
                Ok(user_id.clone())
            })
        }),
    };
    if let Err(error) = &result {
        let actor = user_id.as_deref().unwrap_or("anonymous");
        audit::record(
            db,
            &Entry::new(actor, "serve.enrol", now).object(actor).error(Outcome::Refused, error),
        )?;
    }
    result
}

/// A user id as given at sign-in, bounded for the audit trail.
fn given(user_id: &str) -> String {
    user_id.chars().take(64).collect()
}

/// The stored password hash of `user_id`, if they have set one. Sign-in is in three steps so
/// that the slow one holds no connection: this, [`verify`], then [`start_session`].
pub fn stored_password(db: &mut dyn Backend, user_id: &str) -> Result<Option<String>> {
    require(db)?;
    let rows = db.query(&format!(
        "SELECT password_hash FROM auth_account WHERE user_id = {}",
        literal(user_id)
    ))?;
    Ok(rows.scalar().map(|v| v.to_string()))
}

/// `R0481` unless `password` matches `stored`. With nothing stored (an unknown user, or one
/// who never enrolled) a dummy hash is verified, so the answer takes as long either way and
/// says the same: it does not tell which user ids exist.
pub fn verify(password: &str, stored: Option<&str>) -> Result<()> {
    let matches = verify_password(password, stored.unwrap_or(DUMMY_HASH));
    if matches && stored.is_some() {
        return Ok(());
    }
    Err(Error::new(codes::SIGN_IN_FAILED, "unknown user or wrong password").help(
        "a user without a password sets one with the enrolment token `tally user add` or `tally user reset` printed",
    ))
}

/// Starts a session for `user_id`, whose password [`verify`] accepted, signing in from
/// `client` (an address, for the audit trail): the account is checked as every query checks
/// it ([`users::authorize`]: not disabled, not lapsed past the 90-day rule, roles
/// applicable). A success marks the account used and is audited as `serve.sign_in`; a refusal
/// is audited as `serve.sign_in`, refused, with its code (and by `authorize` as
/// `user.authorize`).
pub fn start_session(
    db: &mut dyn Backend,
    plan: &Plan,
    user_id: &str,
    client: &str,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> Result<NewSession> {
    let parameters = serde_json::json!({ "client": client });
    if let Err(error) = users::authorize(db, plan, user_id, now) {
        refuse(db, user_id, client, &error, now)?;
        return Err(error);
    }
    let token = random_token()?;
    let expires_at = now + lifetimes.absolute;
    in_transaction(db, |db| {
        db.execute(&format!(
            "INSERT INTO auth_session (token_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked_at, revoked_why, client, requests) \
             VALUES ({}, {}, {}, {}, {}, {}, NULL, NULL, {}, 0)",
            literal(&token_hash(&token)),
            literal(user_id),
            literal(&token_hash(&csrf_token(&token))),
            ts(now),
            ts(now),
            ts(expires_at),
            literal(client)
        ))?;
        // Sessions ended more than 30 days ago are of no more use (the audit trail keeps
        // the sign-ins and sign-outs): the table stays the size of recent use.
        let past = ts(now - Duration::days(30));
        db.execute(&format!(
            "DELETE FROM auth_session WHERE expires_at < {past} OR revoked_at < {past}"
        ))?;
        users::touch(db, user_id, now)?;
        audit::append(
            db,
            &Entry::new(user_id, "serve.sign_in", now)
                .object(user_id)
                .parameters(parameters.clone()),
        )?;
        Ok(())
    })?;
    Ok(NewSession { user_id: user_id.to_owned(), csrf: csrf_token(&token), token, expires_at })
}

/// Audits a refused sign-in of (the id given as) `user_id` from `client`.
pub fn refuse(
    db: &mut dyn Backend,
    user_id: &str,
    client: &str,
    error: &Error,
    now: NaiveDateTime,
) -> Result<()> {
    let actor = given(user_id);
    let entry = Entry::new(&actor, "serve.sign_in", now)
        .object(&actor)
        .parameters(serde_json::json!({ "client": client }))
        .error(Outcome::Refused, error);
    audit::record(db, &entry).map(|_| ())
}

/// The live session whose cookie is `token` at `now`, its use recorded; `R0480` when there is
/// none: unknown, revoked, past its absolute expiry, or unused for longer than `idle`.
pub fn session(
    db: &mut dyn Backend,
    token: &str,
    now: NaiveDateTime,
    idle: Duration,
) -> Result<Session> {
    let hash = token_hash(token);
    let rows = db.query(&format!(
        "SELECT user_id, expires_at FROM auth_session WHERE token_hash = {} AND revoked_at IS NULL AND expires_at > {} AND last_seen_at >= {}",
        literal(&hash),
        ts(now),
        ts(now - idle)
    ))?;
    let Some([user_id, expires_at]) = rows.rows.first().map(Vec::as_slice) else {
        return Err(not_signed_in());
    };
    let expires_at = NaiveDateTime::parse_from_str(&expires_at.to_string(), "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or(now);
    db.execute(&format!(
        "UPDATE auth_session SET last_seen_at = {}, requests = requests + 1 WHERE token_hash = {} AND last_seen_at < {}",
        ts(now),
        literal(&hash),
        ts(now)
    ))?;
    Ok(Session {
        user_id: user_id.to_string(),
        token_hash: hash,
        csrf: csrf_token(token),
        expires_at,
    })
}

/// `R0480`: no live session.
pub fn not_signed_in() -> Error {
    Error::new(codes::NOT_SIGNED_IN, "not signed in, or the session has ended")
        .help("sign in again: POST /api/v1/sign-in")
}

/// Ends `session`; audited as `serve.sign_out`.
pub fn sign_out(db: &mut dyn Backend, session: &Session, now: NaiveDateTime) -> Result<()> {
    in_transaction(db, |db| {
        db.execute(&format!(
            "UPDATE auth_session SET revoked_at = {}, revoked_why = 'sign-out' WHERE token_hash = {}",
            ts(now),
            literal(&session.token_hash)
        ))?;
        audit::append(
            db,
            &Entry::new(&session.user_id, "serve.sign_out", now).object(&session.user_id),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_hashed() {
        let a = random_token().expect("random");
        let b = random_token().expect("random");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(same(&csrf_token(&a), &csrf_token(&a)));
        assert!(!same(&csrf_token(&a), &csrf_token(&b)));
        assert!(!same("", &csrf_token(&a)));
    }

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a PHC string"));
        // The dummy is a well-formed hash (so an unknown user costs a real verification).
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("", DUMMY_HASH));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(check_password("short").map_err(|e| e.code), Err(codes::WEAK_PASSWORD));
        assert!(check_password("twelve chars").is_ok());
        assert_eq!(
            check_password(&"x".repeat(MAX_PASSWORD + 1)).map_err(|e| e.code),
            Err(codes::WEAK_PASSWORD)
        );
    }
}
