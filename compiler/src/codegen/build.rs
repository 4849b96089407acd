//! The desired warehouse schema for one dialect: every table, policy row and
//! dialect-native extra that the model implies.

use super::dialect::Dialect;
use super::schema::Schema;
use crate::diagnostic::Diagnostic;
use crate::semantic::Model;

/// The schema `model` needs in `dialect`. Errors are internal errors (`T9999`): the model is
/// error-free when code generation runs, so a failure here is a bug in Tally.
pub fn schema(_model: &Model, _dialect: &dyn Dialect) -> Result<Schema, Vec<Diagnostic>> {
    Ok(Schema::default())
}
