//! The protection problem: cells, their relations, the parameters, and the answer.

use std::time::Duration;

/// One cell of a table: an additive, non-negative quantity (a sum or a count; never an average
/// or a ratio, whose additive parts are the cells).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: f64,
    /// The source rows behind the cell.
    pub rows: i64,
    /// Whether the value is a count (primary below the threshold too, and protected by the
    /// count rule).
    pub counts: bool,
    /// Information lost by hiding the cell; `None` takes [`Params::cost`]'s rule.
    pub cost: Option<f64>,
    /// What the attacker knows before anything is published: `lower <= value <= upper`.
    pub lower: f64,
    pub upper: f64,
    /// Depth in the hierarchy (0 = the top): secondary suppression works top-down by stage.
    pub stage: u32,
}

impl Cell {
    /// A cell with the default cost and a-priori bounds `[0, +inf)`.
    pub fn new(value: f64, rows: i64, counts: bool, stage: u32) -> Cell {
        Cell { value, rows, counts, cost: None, lower: 0.0, upper: f64::INFINITY, stage }
    }
}

/// A total: `parent = Σ children`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub parent: usize,
    pub children: Vec<usize>,
}

impl Relation {
    /// The members with their sign in `parent - Σ children = 0`.
    pub fn signed(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        std::iter::once((self.parent, 1.0)).chain(self.children.iter().map(|&c| (c, -1.0)))
    }

    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.parent).chain(self.children.iter().copied())
    }
}

/// The cells of one or more tables and every linear relation between them an attacker knows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problem {
    pub cells: Vec<Cell>,
    pub relations: Vec<Relation>,
}

/// How much hiding a cell costs when the cell does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// The cell's value: hide the least total value.
    Value,
    /// 1 for every cell: hide the fewest cells.
    Cells,
}

/// The declared protection parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Primary below this many contributing rows (or, for a count, below this value).
    pub min_cell_size: i64,
    /// Count cells: how far above its value the attacker's upper bound must reach (the
    /// upper protection level). `None`: `min_cell_size`.
    pub count_upper: Option<f64>,
    /// Sum cells: the upper and lower protection levels as a share of the value.
    pub sum_share: f64,
    /// Sum cells: the least protection level, in the value's unit (so a small sum still gets
    /// an interval).
    pub sum_minimum: f64,
    /// Sliding protection: the attacker's interval must be at least this wide, wherever it
    /// lies.
    pub sliding: f64,
    pub cost: Cost,
    /// Added to every cell's cost when choosing secondary cells, so that among choices of
    /// equal loss the one with fewer cells wins (and zeros are not free).
    pub cell_penalty: f64,
    /// Worker threads for independent subtables and audit components; 0 = the machine's.
    pub threads: usize,
}

impl Params {
    /// The defaults for a threshold: counts protected up to `value + min_cell_size` and down
    /// to their a-priori lower bound, sums by 10% of their value (at least 1).
    pub fn new(min_cell_size: i64) -> Params {
        Params {
            min_cell_size,
            count_upper: None,
            sum_share: 0.10,
            sum_minimum: 1.0,
            sliding: 0.0,
            cost: Cost::Value,
            cell_penalty: 1.0,
            threads: 0,
        }
    }

    /// Whether a cell is primary: fewer rows than the threshold, or a non-zero count below it
    /// (zeros are published).
    pub fn primary(&self, cell: &Cell) -> bool {
        let n = self.min_cell_size as f64;
        if cell.counts && cell.value == 0.0 {
            return false;
        }
        cell.rows < self.min_cell_size || (cell.counts && cell.value < n)
    }

    /// The protection a primary cell needs.
    pub fn protection(&self, cell: &Cell) -> Protection {
        let v = cell.value;
        let (upper, lower) = if cell.counts {
            let up = self.count_upper.unwrap_or(self.min_cell_size as f64);
            (up, v - cell.lower)
        } else {
            let p = (self.sum_share * v.abs()).max(self.sum_minimum);
            (p, p.min(v - cell.lower))
        };
        Protection {
            upper: upper.min(cell.upper - v).max(0.0),
            lower: lower.max(0.0),
            sliding: self.sliding,
        }
    }

    /// The cost of hiding a cell, penalty included.
    pub fn weight(&self, cell: &Cell) -> f64 {
        let cost = cell.cost.unwrap_or(match self.cost {
            Cost::Value => cell.value.abs(),
            Cost::Cells => 1.0,
        });
        cost + self.cell_penalty
    }

    pub(crate) fn workers(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// What a primary cell's attacker interval must cover: `[value - lower, value + upper]`, and a
/// width of at least `sliding`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protection {
    pub upper: f64,
    pub lower: f64,
    pub sliding: f64,
}

impl Protection {
    /// Whether an attacker interval of `value`'s cell covers this protection (with a relative
    /// tolerance for the solver's arithmetic).
    pub fn covered_by(&self, value: f64, interval: Interval) -> bool {
        let tol = 1e-6 * (1.0 + value.abs());
        interval.max >= value + self.upper - tol
            && interval.min <= value - self.lower + tol
            && interval.max - interval.min >= self.sliding - tol
    }
}

/// Why a cell is shown or hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Shown,
    /// Below the minimum cell size.
    Primary,
    /// Hidden so that the primary cells keep their protection intervals.
    Secondary,
}

impl Status {
    pub fn hidden(self) -> bool {
        self != Status::Shown
    }
}

/// The bounds an attacker can prove for a hidden cell from everything published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub min: f64,
    pub max: f64,
}

/// The protected publication of a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// One per cell, in the problem's order.
    pub status: Vec<Status>,
    /// For every primary cell, an interval the audit proved the attacker cannot narrow: both
    /// ends are values consistent with everything published (`None` for the other cells). It
    /// reaches the protection's ends, or the exact extreme where the cell needed a program of
    /// its own.
    pub intervals: Vec<Option<Interval>>,
    /// Primary cells whose interval does not cover their protection even with everything
    /// around them hidden (their a-priori bounds are too tight, say). Empty normally.
    pub unprotected: Vec<usize>,
    /// The deviation (up, down) each hidden cell must keep available to the stages below it;
    /// kept so that [`crate::reprotect`] can resume from this pattern.
    pub need: Vec<(f64, f64)>,
    pub stats: Stats,
}

impl Pattern {
    pub fn hidden(&self) -> usize {
        self.status.iter().filter(|s| s.hidden()).count()
    }

    pub fn count(&self, status: Status) -> usize {
        self.status.iter().filter(|s| **s == status).count()
    }
}

/// What a run did and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Subtables (components of one stage's relations) protected.
    pub subtables: usize,
    /// Linear programs solved by the protection heuristic.
    pub protect_lps: usize,
    /// Movements the protection heuristic found certified without a program (see
    /// `audit::sibling_certificate`).
    pub protect_certified: usize,
    pub protect_time: Duration,
    /// Linked components of hidden cells audited, and the audit's linear programs.
    pub components: usize,
    pub audit_lps: usize,
    pub audit_time: Duration,
    /// Cells hidden by the repair loop after a failed audit.
    pub repairs: usize,
}
