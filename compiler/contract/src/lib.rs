//! The contract between the Tally compiler and runtime: what `tally compile` writes into
//! `generated/` and everything that reads it.
//!
//! | module        | artifact                                                        |
//! |---------------|-----------------------------------------------------------------|
//! | [`plan`]      | `plan.json`: the ETL plan, catalog, dimensions, user attributes |
//! | [`schedule`]  | a source's refresh schedule, when it is due, its freshness      |
//! | [`cron`]      | POSIX cron expressions, checked once, evaluated by `croner`     |
//! | [`gendata`]   | `gendata.json`: the synthetic-data profile, and its YAML source |
//! | [`period`]    | grains by name; how far back `compare previous` looks           |
//! | [`template`]  | the `{placeholders}` in plan statements and how they are filled |
//! | [`integrity`] | `migrations/tally.sum`: the hash chain over emitted migrations  |
//! | [`suggest`]   | "did you mean": one way to suggest a name, compiler and runtime |
//!
//! The compiler is the only writer and the runtime the only reader, and both use these types,
//! so the two cannot drift: a field the compiler writes is a field the runtime can read. The
//! format is versioned ([`plan::PLAN_VERSION`]); its JSON Schema (`docs/plan.schema.json`) is
//! generated from the types ([`plan::json_schema`]) and a test keeps the checked-in copy fresh.
//!
//! Architecture invariant: no I/O. This crate parses and prints values; reading files is the
//! caller's business.

pub mod cron;
pub mod gendata;
pub mod integrity;
pub mod period;
pub mod plan;
pub mod schedule;
pub mod suggest;
pub mod template;
