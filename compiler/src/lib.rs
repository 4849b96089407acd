//! The Tally compiler.
//!
//! Stages, each a public function from one named form to the next:
//!
//! | stage     | module       | input → output                                  |
//! |-----------|--------------|-------------------------------------------------|
//! | load      | [`project`]  | [`source::FileSystem`] → [`source::SourceMap`] + config |
//! | syntax    | [`syntax`]   | file text → [`syntax::ast::Module`] (spans)     |
//! | semantic  | [`semantic`] | modules → resolved [`semantic::model::Model`]   |
//!
//! Architecture invariant: nothing in this crate touches the file system, the clock, the
//! environment or a database. Inputs come through [`source::FileSystem`]; outputs are values.
//! `clippy.toml` enforces it.

pub mod diagnostic;
pub mod source;
pub mod span;
pub mod syntax;
