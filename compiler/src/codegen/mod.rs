//! Code generation: the checked model → the artifacts an operator applies (`generated/`).
//!
//! | module       | what                                                              |
//! |--------------|-------------------------------------------------------------------|
//! | [`schema`]   | the warehouse schema as data (tables, views, policy rows)         |
//! | [`dialect`]  | what differs between engines, behind the [`dialect::Dialect`] trait |
//! | [`sql`]      | every emitted statement re-parsed with sqlparser                  |
//! | [`build`]    | the model → the desired [`schema::Schema`] for one dialect        |
//! | [`plan`]     | the model → the ETL plan (`generated/plan.json`), both dialects   |
//! | [`cuts`]     | the shape of mart and aggregate tables (which cuts they keep)     |
//! | [`load`]     | per source: bulk load, validation, merge, archive, retention SQL  |
//! | [`metrics_sql`] | per metric and table: the refresh SQL                          |
//! | [`drill`]    | per metric: the PII-free drill-down relation of its source rows   |
//! | [`policy`]   | policy tables and rows; PostgreSQL roles, grants, RLS policies    |
//! | [`expr`]     | the model's typed expressions → `sqlparser::ast` expressions      |
//! | [`templates`] | minijinja templates, placeholders, the check of every statement  |
//! | [`migrate`]  | lock schema vs desired schema → the migration's statements        |
//! | [`rewrite`]  | row changes as table or partition replacements (Spark over Parquet) |
//! | [`integrity`]| `migrations/tally.sum`: the hash chain over emitted migrations    |
//! | [`compile`]  | all of the above → every file of `generated/` (`tally compile`)   |

pub mod build;
pub mod compile;
pub mod cuts;
pub mod dialect;
pub mod drill;
pub mod expr;
pub mod load;
pub mod metrics_sql;
pub mod migrate;
pub mod plan;
pub mod policy;
pub mod rewrite;
pub mod schema;
pub mod sql;
pub mod templates;

#[cfg(test)]
mod tests;
