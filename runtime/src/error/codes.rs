//! The registry of runtime error codes.
//!
//! Every [`Error`](super::Error) carries one of these constants; [`Error::new`](super::Error::new)
//! takes a [`Code`], which only this module can make, so a code cannot be spelled anywhere
//! else. The table of `docs/runtime.md` ("Error codes") is generated from [`CODES`] and
//! checked fresh by `tests/docs.rs`; a second test there fails on a code no error uses.
//!
//! A code never changes meaning once released. One failure has one code, whichever command
//! meets it: an unreadable or malformed `plan.json` is `R0101` in every reader (gen-data used
//! `R0601` for it, which is retired and not reused).
//!
//! Ranges: `R00xx` the database, `R01xx` `generated/` and migrations, `R02xx` loading,
//! `R03xx` command-line input, `R04xx` queries, the audit trail (`R045x`) and users
//! (`R046x`/`R047x`), `tally serve`'s sign-on and API (`R048x`), `R06xx` gen-data.

use serde::{Serialize, Serializer};
use std::fmt;

/// A stable runtime error code such as `R0101`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl From<Code> for serde_json::Value {
    fn from(code: Code) -> Self {
        serde_json::Value::from(code.0)
    }
}

/// The documentation of one code.
#[derive(Debug)]
pub struct CodeInfo {
    pub code: Code,
    /// The constant's name, e.g. `PLAN_UNREADABLE`.
    pub name: &'static str,
    /// What failed, in a line (the "meaning" column of `docs/runtime.md`).
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $code:literal, $meaning:literal;)*) => {
        $(pub const $konst: Code = Code($code);)*
        /// Every code, in code order.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: $konst, name: stringify!($konst), meaning: $meaning },)*
        ];
    };
}

codes! {
    CANNOT_CONNECT = "R0001", "cannot open or connect to the database";
    DATABASE_IN_USE = "R0002", "the database is in use by another process (lock not acquired)";
    STATEMENT_FAILED = "R0003", "a statement failed";
    GENERATED_UNREADABLE = "R0101",
        "`generated/` cannot be read (a missing or malformed file, another plan format version, \
         a statement the plan lacks)";
    MIGRATIONS_EDITED = "R0102", "the migrations do not match their integrity file";
    APPLIED_MIGRATION_DIFFERS = "R0103",
        "the database applied a migration that differs from `generated/`";
    DATABASE_AHEAD = "R0104", "the database is ahead of `generated/` (unknown applied migration)";
    ENGINE_LACKS_FUNCTION = "R0105",
        "a metric needs a function this engine does not have (an approximate percentile on \
         PostgreSQL)";
    LANDING_UNREADABLE = "R0201", "a landing file (or the landing area) cannot be read";
    LANDED_FILE_CHANGED = "R0202", "a landed file changed after it was loaded";
    NOT_MIGRATED = "R0203",
        "the database has no tally schema yet, or migrations are pending (run `tally migrate`)";
    LOAD_DOES_NOT_ADD_UP = "R0204",
        "a file's load does not add up (rows read ≠ loaded + rejected, or no ledger row)";
    LANDING_SHEET = "R0205",
        "a spreadsheet landing file has not the declared sheet, or its header row lacks a \
         column of the source";
    BAD_INPUT = "R0301", "bad command-line input (a timestamp, a source name)";
    NOT_GRANTED = "R0404", "the user's roles grant no access to the metric or report asked for";
    NO_SUCH_METRIC = "R0405", "no such metric or report in `plan.json`";
    NOT_A_DIMENSION = "R0406", "a `--by`/`--where` name is not a dimension of what is queried";
    NO_SCOPE_VALUE = "R0407", "the user has no value for the attribute their role's scope binds";
    NOT_PUBLISHED = "R0408", "not published at the cut asked for, or not at the scope's level";
    GRAIN_NOT_KEPT = "R0409", "the grain asked for is not kept";
    DRILL_NOT_ALLOWED = "R0410", "drill-down is not allowed for the user's roles";
    NOTHING_TO_DRILL = "R0411", "the metric has no rows to drill into (a derived metric)";
    PERSONAL_DATA = "R0412", "personal data asked for (shown, filtered on, or searched)";
    NO_SUCH_MART = "R0413", "no such mart (`--mart`), or it does not publish the metric asked for";
    NO_DECLARED_DRILL = "R0414",
        "no mart the user may drill through declares a drill-down of the metric's source";
    AD_HOC_NOT_ALLOWED = "R0420", "ad hoc SQL is not allowed for the user's roles";
    AD_HOC_UNPARSABLE = "R0421", "ad hoc SQL does not parse";
    AD_HOC_NOT_A_SELECT = "R0422", "ad hoc SQL is not one read-only SELECT";
    AD_HOC_TABLE_NOT_GRANTED = "R0423", "ad hoc SQL reads a table outside the user's grants";
    AD_HOC_FUNCTION_NOT_ALLOWED = "R0424",
        "ad hoc SQL calls a function or table function not allowed";
    AD_HOC_PERSON_SEARCH = "R0425",
        "ad hoc SQL compares text with a name-like column (a person search)";
    QUERY_OPTIONS = "R0426", "query options that are malformed or do not go together";
    FINER_THAN_TARGET = "R0427",
        "a query asks for a target (or a metric derived from one) at a grain finer than the \
         target's";
    QUERY_INTERNAL = "R0449", "internal error in a query (a bug)";
    NO_AUDIT_TRAIL = "R0451", "the database has no audit trail yet (run `tally migrate`)";
    AUDIT_TAMPERED = "R0452", "the audit trail was tampered with (`tally audit verify` says how)";
    AUDIT_ANCHOR_FILE = "R0453", "the audit anchor file cannot be read or written";
    NO_SUCH_AUDIT_RECORD = "R0454", "no such audit record";
    AUDIT_EXPORT = "R0455",
        "the audit trail cannot be exported to that source (unknown, not JSON lines, columns)";
    NO_POLICY_TABLES = "R0461", "the database has no policy tables yet (run `tally migrate`)";
    INVALID_USER_ID = "R0462", "not a valid user id (or one reserved for administrators)";
    NO_SUCH_ROLE = "R0463", "no such role, or a user given no role";
    NO_SUCH_USER = "R0464", "no such user";
    SCOPE_ATTRIBUTE = "R0465", "a role's scope attribute is missing, or not a user attribute";
    NOT_A_MEMBER = "R0466", "a scope value is not a current member of its dimension level";
    USER_EXISTS = "R0467", "the user already exists";
    ALREADY_DONE = "R0468", "the change is already made (role held or not held, disabled)";
    ACCOUNT_DISABLED = "R0469", "the account is disabled";
    ACCOUNT_LAPSED = "R0470", "the account is unused for more than 90 days (lapsed)";
    ROLES_NOT_APPLICABLE = "R0471",
        "the user's roles cannot be applied (none, or a scope value missing)";
    ATTRIBUTE_TYPE = "R0472", "a user attribute's value is not of its declared type";
    NOT_SIGNED_IN = "R0480",
        "no session: no cookie, or one that is unknown, expired, revoked or not the user's any more";
    SIGN_IN_FAILED = "R0481", "sign-in failed: unknown user, no password set, or a wrong password";
    SIGN_IN_THROTTLED = "R0482",
        "too many failed sign-ins for the account or from the address: wait and try again";
    CSRF_REJECTED = "R0483", "a state-changing request without the session's CSRF token";
    ENROLMENT_TOKEN = "R0484", "an enrolment token that is unknown, used or expired";
    WEAK_PASSWORD = "R0485", "a password too short or too long to set";
    API_REQUEST = "R0486",
        "a malformed API request (body, content type, unknown field, unknown route)";
    SERVE_ADDRESS = "R0487", "the server cannot listen on the address asked for";
    GEN_DATA_OUTPUT = "R0602", "gen-data cannot write the output directory (or it is not empty)";
    GEN_DATA_OPTIONS = "R0603", "gen-data options out of range (scale, days, start)";
    GEN_DATA_NO_SUPPLIER = "R0604",
        "gen-data finds no members for a referenced dimension level";
    GEN_DATA_FILE_NAMES = "R0605", "gen-data cannot name files for a landing pattern";
    GEN_DATA_PARQUET = "R0606", "gen-data cannot write a Parquet file";
    GEN_DATA_PROFILE = "R0607", "gen-data's profile cannot be read, or does not fit the plan";
}

/// The documentation of a code.
pub fn info(code: Code) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_in_order() {
        for pair in CODES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} then {}", pair[0].code, pair[1].code);
        }
        for info in CODES {
            let text = info.code.as_str();
            assert!(
                text.len() == 5
                    && text.starts_with('R')
                    && text[1..].bytes().all(|b| b.is_ascii_digit()),
                "{text}"
            );
            assert!(!info.meaning.is_empty() && !info.meaning.ends_with('.'), "{text}");
        }
        assert_eq!(info(GENERATED_UNREADABLE).map(|i| i.name), Some("GENERATED_UNREADABLE"));
    }
}
