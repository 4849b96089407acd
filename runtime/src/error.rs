//! Runtime errors. Each has a stable code (`R....`), a message saying what happened and where,
//! and, when there is one, what the operator should do about it.
//!
//! | code  | meaning                                                          |
//! |-------|------------------------------------------------------------------|
//! | R0001 | cannot open or connect to the database                           |
//! | R0002 | the database is in use by another process (lock not acquired)     |
//! | R0003 | a statement failed                                               |
//! | R0101 | `generated/` cannot be read (missing or malformed file)          |
//! | R0102 | the migrations do not match their integrity file                 |
//! | R0103 | the database applied a migration that differs from `generated/`  |
//! | R0104 | the database is ahead of `generated/` (unknown applied migration)|
//! | R0201 | a landing file cannot be read                                    |
//! | R0202 | a landed file changed after it was loaded                        |
//! | R0203 | the database has no tally schema yet (run `tally migrate`)        |
//! | R0301 | bad command-line input (a timestamp, a source name)              |
//! | R0404 | the user's roles grant no access to the metric or report asked for |
//! | R0405 | no such metric or report in `plan.json`                          |
//! | R0406 | a `--by`/`--where` name is not a dimension of what is queried    |
//! | R0407 | the user has no value for the attribute their role's scope binds |
//! | R0408 | not published at the cut asked for, or not at the scope's level   |
//! | R0409 | the grain asked for is not kept                                  |
//! | R0410 | drill-down is not allowed for the user's roles                   |
//! | R0411 | the metric has no rows to drill into (a derived metric)          |
//! | R0412 | personal data asked for (shown, filtered on, or searched)        |
//! | R0420 | ad hoc SQL is not allowed for the user's roles                   |
//! | R0421 | ad hoc SQL does not parse                                        |
//! | R0422 | ad hoc SQL is not one read-only SELECT                           |
//! | R0423 | ad hoc SQL reads a table outside the user's grants               |
//! | R0424 | ad hoc SQL calls a function or table function not allowed        |
//! | R0425 | ad hoc SQL compares text with a name-like column (a person search) |
//! | R0426 | query options that do not go together                            |
//! | R0449 | internal error in a query (a bug)                                |
//! | R0451 | the database has no audit trail yet (run `tally migrate`)        |
//! | R0452 | the audit trail was tampered with (`tally audit verify` says how) |
//! | R0453 | the audit anchor file cannot be read or written                  |
//! | R0454 | no such audit record                                             |
//! | R0461 | the database has no policy tables yet (run `tally migrate`)      |
//! | R0462 | not a valid user id (or one reserved for administrators)         |
//! | R0463 | no such role, or a user given no role                            |
//! | R0464 | no such user                                                     |
//! | R0465 | a role's scope attribute is missing, or not a user attribute     |
//! | R0466 | a scope value is not a current member of its dimension level     |
//! | R0467 | the user already exists                                          |
//! | R0468 | the change is already made (role held or not held, disabled)     |
//! | R0469 | the account is disabled                                          |
//! | R0470 | the account is unused for more than 90 days (lapsed)             |
//! | R0471 | the user's roles cannot be applied (none, or a scope value missing) |
//! | R0601 | gen-data cannot read `plan.json`                                 |
//! | R0602 | gen-data cannot write the output directory (or it is not empty)  |
//! | R0603 | gen-data options out of range (scale, days, start)               |
//! | R0604 | gen-data finds no members for a referenced dimension level       |
//! | R0605 | gen-data cannot name files for a landing pattern                 |
//! | R0606 | gen-data cannot write a Parquet file                             |
//! | R0607 | gen-data's profile cannot be read, or does not fit the plan      |

use std::fmt;

/// A runtime error: a code, what happened, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A failed statement: the engine's message and the statement's first line.
    pub fn statement(engine_message: impl fmt::Display, sql: &str) -> Self {
        let first = sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--"));
        Error::new("R0003", format!("{engine_message}\n  in statement: {}", first.unwrap_or("")))
    }

    /// The same error with `context` (which file, which migration, which step) in front.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
