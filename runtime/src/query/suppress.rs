//! Small-cell suppression: which cells of a result are hidden, and why.
//!
//! **Primary suppression** hides every cell computed from fewer than the role's
//! `min_cell_size` source rows (`cell_rows`), and every cell of a count metric whose value is
//! below it (a count of distinct things can be small over many rows).
//!
//! **Complementary suppression** then hides other cells so that no hidden cell can be worked
//! out by subtraction from the totals published with it. Cells are related by *totals*: within
//! one group (same metric, grain, period, bucket and `top` member), a cell cut by the level
//! columns `L` is the total of the cells cut by `L2`, for every stored `L2 ⊋ L` with no stored
//! set in between (a *cover*: `region` → `region,clinic`, `''` → `region`),
//! that agree with it on the columns of `L`. Each such relation reads `parent = Σ children`.
//! A hidden cell is *recoverable* when the relations, with the shown cells' values put in,
//! determine its value.
//!
//! The algorithm, to a fixpoint:
//!
//! 1. **One hidden cell per relation.** For each relation with exactly one suppressed member
//!    (and no member whose value is unknown for another reason, such as a division by zero),
//!    hide one more: the shown child with the smallest value (ties: fewest rows, then the
//!    earlier cell), or the parent when no child is shown. Repeat until no relation has one.
//! 2. **Audit.** Step 1 protects each relation on its own; chains across relations (a row
//!    total and a column total of a two-way table) can still pin a cell down. So the linear
//!    system of all relations over the hidden cells is reduced (exact Gauss-Jordan elimination,
//!    modulo a large prime): a hidden cell is determined exactly when its unit vector is in the row
//!    space, which in reduced row echelon form is a row with a single non-zero entry. For
//!    such a cell, hide the smallest shown member of a relation it is in (in one round, for
//!    every determined cell whose relations the round has not touched yet), and go back to 1.
//!
//! The audit runs per linked component of unknown cells; a component larger than
//! [`MAX_AUDIT_COLUMNS`] hides its whole group instead (nothing is recoverable from a group
//! with nothing shown).
//!
//! Each round hides at least one more cell, so it ends; at the end no suppressed cell is
//! determined by the relations. Totals are treated as sums even for metrics that are not
//! additive (averages, ratios): that hides more than needed, never less.
//!
//! Suppression runs over every cell of the user's scope that the table stores for the groups
//! asked for, before the result is cut down to the rows asked for, so that two queries of the
//! same numbers (with and without subtotals, by port or by field office) hide the same cells.
//!
//! The rule lives in the `tally-sdc` crate ([`tally_sdc::legacy`]), with its tests, beside the
//! audited top-down method that is to replace it (`docs/runtime.md`, Suppression).

pub use tally_sdc::legacy::{suppress, Cell, Status};
