//! Code generation: the checked model → the artifacts an operator applies (`generated/`).
//!
//! | module       | what                                                              |
//! |--------------|-------------------------------------------------------------------|
//! | [`schema`]   | the warehouse schema as data (tables, views, policy rows)         |
//! | [`dialect`]  | what differs between engines, behind the [`dialect::Dialect`] trait |
//! | [`sql`]      | every emitted statement re-parsed with sqlparser                  |
//! | [`build`]    | the model → the desired [`schema::Schema`] for one dialect        |
//! | [`plan`]     | the model → the ETL plan (`generated/plan.json`), both dialects   |

pub mod build;
pub mod dialect;
pub mod plan;
pub mod schema;
pub mod sql;
