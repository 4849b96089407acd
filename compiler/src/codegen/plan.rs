//! The ETL plan (`generated/plan.json`): everything the runtime executes, for both dialects.

use crate::diagnostic::Diagnostic;
use crate::semantic::Model;

/// Version of the plan format; bump when its shape changes.
pub const PLAN_VERSION: u32 = 1;

/// The plan as pretty, deterministic JSON. `metric_order` lists metric names in dependency
/// order (inputs first), as the graph stage computed it.
pub fn plan(_model: &Model, _metric_order: &[String]) -> Result<String, Vec<Diagnostic>> {
    Ok(String::new())
}
