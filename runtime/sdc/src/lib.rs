//! Statistical disclosure control for Tally's published tables: which cells to hide so that no
//! small cell can be narrowed down from what is published, with a proof.
//!
//! # Model
//!
//! A [`Problem`] is a set of [`Cell`]s and the linear [`Relation`]s `parent = Σ children`
//! between them that an attacker knows (the caller builds them from hierarchies, grains and
//! rollups; [`keyed`] builds them from mart cells; a cell may be in many relations, as the
//! cells of a two-way table are in a row total and a column total). A cell's value is a
//! non-negative additive quantity (a sum or a count: the additive parts behind averages and
//! ratios, never the averages), with its contributing rows, whether it is a count, a cost
//! (information lost by hiding it: its value by default, or 1 to hide the fewest cells),
//! a-priori bounds the attacker knows (`[0, +inf)` by default), and a *stage*: its depth in
//! the hierarchy, 0 at the top.
//!
//! **Primary cells** ([`Params::primary`]): fewer contributing rows than `min_cell_size`, or a
//! count below it. Zeros are published: a count of 0 is never primary.
//!
//! **Protection** ([`Params::protection`]): the interval `[min, max]` an attacker can prove for
//! a primary cell of value `v` must cover `[v - lower, v + upper]` and be at least `sliding`
//! wide (the upper, lower and sliding protection levels of τ-ARGUS and sdcTable):
//!
//! - counts: `upper = min_cell_size` (the attacker cannot prove the cell is below the threshold
//!   plus its value: a hidden small count looks like any hidden cell of a publishable size) and
//!   `lower = v - a-priori lower bound` (the attacker cannot exclude the lowest value, 0);
//! - sums: `upper = lower = max(10% of v, 1)` (the p% rule's interval; `lower` at most down to
//!   the a-priori bound);
//! - `sliding = 0` by default.
//!
//! # Algorithm
//!
//! **Top-down (the modular method of HiTaS, τ-ARGUS).** The relations are grouped by their
//! parent's stage and each stage's relations cut into linked components: the *subtables* (for a
//! cross of two hierarchies, the block of one region's offices by one category's items, with
//! its margins). Subtables are protected stage by stage from the top; within a stage they are
//! independent and run in parallel. In a subtable, the cells decided by an earlier stage are its
//! margins: a shown margin stays shown (hiding it would reopen the stage above; allowed only as
//! the last resort, at a prohibitive cost), a hidden margin must keep the movement the stage
//! above relied on. Every hidden cell with a need (primary cells: their protection; hidden
//! margins: the movement asked of them) gets, in each direction, the cheapest *deviation* the
//! subtable's relations allow: a linear program over each cell's up and down movement, with the
//! relations balanced (the subtable's, and the relations above that hold its hidden margins),
//! the target moved by its need, shown margins fixed, each cell moving within its bounds, and
//! each unit of movement of a shown cell costing its cost spread over the room it offers (the
//! linear relaxation of a fixed charge; hidden cells cost almost nothing). Every shown cell that
//! moves is hidden (a *secondary* cell), and the movement
//! of each cell the subtable decides becomes its need in the stages below. So the pattern moves
//! down the hierarchy: a middle-level suppression is carried into the leaves under it. A large
//! table is split by its hierarchy, never by hiding a whole group.
//!
//! **Audit.** The hidden cells fall into linked components (hidden cells sharing a relation).
//! The attacker's programs run over a component: every shown cell at its value, every hidden
//! cell within its a-priori bounds, every relation holding. Per direction, one program pushes
//! every primary cell of the component towards its protection's end at once; each cell that
//! point leaves short gets its own program, the exact minimum or maximum of the cell (at most
//! two per primary cell, as in τ-ARGUS's audit, usually two per component). Each end of a
//! cell's [`Interval`] is thus a value the attacker cannot exclude. A pattern is accepted only
//! when every interval covers its protection; otherwise the cheapest deviation over the failing
//! cell's whole table (every shown cell hideable) is hidden, which the attacker then cannot
//! exclude, and the components that changed are audited again, until none fails. The answer is
//! always audited; a primary cell that cannot be protected even with everything around it
//! hidden is listed in [`Pattern::unprotected`].
//!
//! **Incremental** ([`reprotect`]): after a refresh changed some cells, only the subtables
//! holding a changed cell are protected again, then, stage by stage down, those holding a cell
//! whose status or need changed; only the components next to a changed cell are audited again.
//!
//! The linear programs are solved by microlp (a pure-Rust sparse simplex) through good_lp.
//! [`legacy`] is the earlier algorithm: the runtime's query path still uses it (until the
//! protected publication moves to this method), and the benchmarks compare against it.

mod audit;
pub mod keyed;
pub mod legacy;
mod lp;
mod model;
mod protect;
pub mod synthetic;

pub use audit::{audit, Audit};
pub use model::{
    Cell, Cost, Interval, Params, Pattern, Problem, Protection, Relation, Stats, Status,
};
pub use protect::{protect, reprotect};
