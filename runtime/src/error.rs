//! Runtime errors. Each has a stable code (`R....`) from the registry in [`codes`], a message
//! saying what happened and where, and, when there is one, what the operator should do about
//! it. `docs/runtime.md` lists the codes (generated from [`codes::CODES`]).

pub mod codes;

pub use codes::Code;

use std::fmt;

/// A runtime error: a code, what happened, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A failed statement: the engine's message and the statement's first line.
    pub fn statement(engine_message: impl fmt::Display, sql: &str) -> Self {
        let first = sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--"));
        Error::new(
            codes::STATEMENT_FAILED,
            format!("{engine_message}\n  in statement: {}", first.unwrap_or("")),
        )
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
