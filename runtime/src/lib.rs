//! The Tally runtime: executes what `tally compile` wrote to `generated/` against a real
//! database, an embedded DuckDB file or a PostgreSQL server, through one [`Backend`]
//! interface.
//!
//! | module        | what                                                             |
//! |---------------|------------------------------------------------------------------|
//! | [`backend`]   | the [`Backend`] trait, [`backend::open`], DuckDB and PostgreSQL  |
//! | [`value`]     | query results as engine-independent values                      |
//! | [`generated`] | reading `generated/`: the plan, the migrations, their integrity  |
//! | [`plan`]      | the ETL plan as the runtime reads it (`plan.json`)               |
//! | [`params`]    | rendering a plan statement's `{placeholders}` as literals        |
//! | [`split`]     | a migration file → its statements                               |
//! | [`etl`]       | `tally run`, `tally status`: loading, refreshing, freshness      |
//! | [`retain`]    | retention: archive rows past retention, purge expired archive    |
//! | [`gendata`]   | `tally gen-data`: deterministic synthetic landing files          |
//! | [`audit`]     | the hash-chained audit trail: appending, listing, verifying      |
//! | [`users`]     | users, their roles and scopes; authorizing a user's queries      |
//! | [`query`]     | `tally query`: metrics, reports, drill-down, ad hoc SQL as a user  |
//! | [`serve`]     | `tally serve`: sign-on, sessions and the JSON API over [`query`]  |
//! | [`error`]     | runtime errors: a code (registry: [`error::codes`]), what happened, what to do |
//!
//! Invariant: everything the runtime runs comes from `generated/`; it writes no SQL of its
//! own beyond transaction control, locks, reading its own bookkeeping tables, and the rows of
//! the audit trail, of users and of their sign-on ([`audit`], [`users`], [`serve::auth`]:
//! fixed statements over the policy, `auth_*` and audit tables the migrations create, with
//! literals).

pub mod audit;
pub mod backend;
pub mod error;
pub mod etl;
pub mod gendata;
pub mod generated;
pub mod migrate;
pub mod params;
pub mod plan;
pub mod query;
pub mod retain;
pub mod serve;
pub mod split;
#[doc(hidden)]
pub mod testing;
pub mod users;
pub mod value;

pub use backend::Backend;
pub use error::{Error, Result};
