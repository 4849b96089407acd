//! Code generation: the checked model → the artifacts an operator applies (`generated/`).
//!
//! | module       | what                                                              |
//! |--------------|-------------------------------------------------------------------|
//! | [`schema`]   | the warehouse schema as data (tables, views, policy rows)         |
//! | [`dialect`]  | what differs between engines, behind the [`dialect::Dialect`] trait |
//! | [`sql`]      | every emitted statement re-parsed with sqlparser                  |

pub mod dialect;
pub mod schema;
pub mod sql;
