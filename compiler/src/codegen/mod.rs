//! Code generation: the checked model → the artifacts an operator applies (`generated/`).
//!
//! | module       | what                                                              |
//! |--------------|-------------------------------------------------------------------|
//! | [`schema`]   | the warehouse schema as data (tables, views, policy rows)         |

pub mod schema;
