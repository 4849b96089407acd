//! Code generation: the checked model → the artifacts an operator applies (`generated/`).
//!
//! | module       | what                                                              |
//! |--------------|-------------------------------------------------------------------|
//! | [`schema`]   | the warehouse schema as data (tables, views, policy rows)         |
//! | [`dialect`]  | what differs between engines, behind the [`dialect::Dialect`] trait |

pub mod dialect;
pub mod schema;
