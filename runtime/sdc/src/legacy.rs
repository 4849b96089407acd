//! The runtime's suppression before the audited method: what the query path uses today
//! (`runtime/src/query/suppress.rs` re-exports it), kept here with its tests so that it has one
//! home and the benchmarks compare the two algorithms in the same run. Its description:
//!
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
//! same numbers (with and without subtotals, by site or by region) hide the same cells.

use std::collections::{BTreeMap, BTreeSet};

/// One cell of a result, as suppression sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Cells are related only within a group: metric, grain, period, bucket, member.
    pub group: String,
    /// Bit `i` set: the cell is cut by dimension column `i` (its `levels`).
    pub levels: u64,
    /// The member of each dimension column, in column order (`None` when the column is not
    /// in `levels`, or the member's key is NULL).
    pub coords: Vec<Option<String>>,
    /// The value; `None` when it has none.
    pub value: Option<f64>,
    /// The source rows behind the cell.
    pub rows: i64,
    /// Whether the value is a count (suppressed below the threshold too).
    pub counts: bool,
}

/// Why a cell is shown or hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Shown,
    /// Below the minimum cell size.
    Primary,
    /// Hidden so that a primary cell cannot be recovered from totals.
    Complementary,
}

impl Status {
    pub fn hidden(self) -> bool {
        self != Status::Shown
    }
}

pub use crate::model::Relation;

/// The status of every cell (same order as `cells`), for a role whose `min_cell_size` is
/// `min_cell_size`.
pub fn suppress(cells: &[Cell], min_cell_size: i64) -> Vec<Status> {
    // Groups share no relation, so each is suppressed on its own (and its system of
    // equations stays the size of one group).
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        groups.entry(&c.group).or_default().push(i);
    }
    let mut status = vec![Status::Shown; cells.len()];
    for indices in groups.values() {
        let group: Vec<Cell> = indices.iter().map(|&i| cells[i].clone()).collect();
        for (&i, s) in indices.iter().zip(suppress_group(&group, min_cell_size)) {
            status[i] = s;
        }
    }
    status
}

/// [`suppress`] for the cells of one group.
fn suppress_group(cells: &[Cell], min_cell_size: i64) -> Vec<Status> {
    let mut status: Vec<Status> = cells
        .iter()
        .map(|c| {
            let small_value = c.counts && c.value.is_some_and(|v| v < min_cell_size as f64);
            if c.rows < min_cell_size || small_value {
                Status::Primary
            } else {
                Status::Shown
            }
        })
        .collect();
    if !status.iter().any(|s| s.hidden()) {
        return status;
    }
    let relations = relations(cells);
    loop {
        protect_relations(cells, &relations, &mut status);
        // A determined cell whose group still has something to hide. (When a group is all
        // hidden, its relations of unknowns can still pin a cell, say `P = A` and
        // `P = A + B` give `B = 0`; nothing more can be hidden then.)
        let open = |cell: usize, status: &[Status]| {
            cells
                .iter()
                .enumerate()
                .any(|(i, c)| c.group == cells[cell].group && !unknown(cells, status, i))
        };
        let Some(found) = audit(cells, &relations, &status, MAX_AUDIT_COLUMNS) else {
            // Too many hidden cells tied together to audit exactly: hide the whole group,
            // which nothing can be recovered from.
            for s in status.iter_mut().filter(|s| !s.hidden()) {
                *s = Status::Complementary;
            }
            break;
        };
        let found: Vec<usize> = found.into_iter().filter(|&c| open(c, &status)).collect();
        if found.is_empty() {
            break;
        }
        // One round protects every determined cell whose relations no earlier one of the
        // round touched (hiding one cell can free several); the rest wait for the next audit.
        let mut touched: BTreeSet<usize> = BTreeSet::new();
        let mut hid_any = false;
        for cell in found {
            let around: Vec<&Relation> = relations
                .iter()
                .filter(|r| r.parent == cell || r.children.contains(&cell))
                .collect();
            if around.iter().any(|r| members(r).any(|m| touched.contains(&m))) {
                continue;
            }
            // The smallest shown member of a relation the cell is in: a child where there
            // is one, else a parent; without any, any shown cell of the group.
            let extra = around
                .iter()
                .find_map(|r| smallest_shown(cells, &status, members(r), true))
                .or_else(|| {
                    around.iter().find_map(|r| smallest_shown(cells, &status, members(r), false))
                })
                .or_else(|| {
                    let group = (0..cells.len()).filter(|&i| cells[i].group == cells[cell].group);
                    smallest_shown(cells, &status, group, false)
                });
            if let Some(extra) = extra {
                status[extra] = Status::Complementary;
                hid_any = true;
                touched.extend(around.iter().flat_map(|r| members(r)));
            }
        }
        if !hid_any {
            break;
        }
    }
    status
}

fn members(r: &Relation) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(r.parent).chain(r.children.iter().copied())
}

/// Every total among `cells`: for each cell, each cover of its levels within its group.
pub fn relations(cells: &[Cell]) -> Vec<Relation> {
    crate::keyed::relations_by(cells.len(), |i| {
        (cells[i].group.as_str(), cells[i].levels, cells[i].coords.as_slice())
    })
}

/// Whether a cell's value is unknown to a reader: hidden, or without a value.
fn unknown(cells: &[Cell], status: &[Status], i: usize) -> bool {
    status[i].hidden() || cells[i].value.is_none()
}

/// The shown member with the smallest value among `candidates` (children only, or any).
fn smallest_shown(
    cells: &[Cell],
    status: &[Status],
    candidates: impl Iterator<Item = usize>,
    skip_first: bool,
) -> Option<usize> {
    candidates.skip(usize::from(skip_first)).filter(|&i| !unknown(cells, status, i)).min_by(
        |&a, &b| {
            let (va, vb) = (cells[a].value.unwrap_or(0.0), cells[b].value.unwrap_or(0.0));
            va.total_cmp(&vb).then(cells[a].rows.cmp(&cells[b].rows)).then(a.cmp(&b))
        },
    )
}

/// Step 1: no relation with exactly one unknown member that is suppressed.
fn protect_relations(cells: &[Cell], relations: &[Relation], status: &mut [Status]) {
    let mut changed = true;
    while changed {
        changed = false;
        for r in relations {
            let unknowns: Vec<usize> = members(r).filter(|&i| unknown(cells, status, i)).collect();
            if unknowns.len() != 1 || !status[unknowns[0]].hidden() {
                continue;
            }
            let extra = smallest_shown(cells, status, members(r), true)
                .or_else(|| smallest_shown(cells, status, members(r), false));
            if let Some(extra) = extra {
                status[extra] = Status::Complementary;
                changed = true;
            }
        }
    }
}

/// Step 2: the suppressed cells whose value the relations determine.
///
/// A hidden cell `c` is determined exactly when the unit vector `e_c` lies in the row space of
/// the relations restricted to the unknown cells; in reduced row echelon form that is a pivot
/// row whose only non-zero entry is `c`'s. The elimination runs over the integers modulo the
/// prime `2^61 - 1`, which keeps it exact without growing numbers: it could differ from the
/// rational answer only if the prime divided every maximal minor of the matrix, whose entries
/// are `0`, `1` and `-1` and whose minors, for total relations, are tiny.
pub fn determined(cells: &[Cell], relations: &[Relation], status: &[Status]) -> Vec<usize> {
    audit(cells, relations, status, usize::MAX).unwrap_or_default()
}

/// The most unknown cells one linked component of a group may have for the exact audit; a
/// larger one (a sparse cube where nearly every cell is small) hides its whole group.
const MAX_AUDIT_COLUMNS: usize = 600;

/// [`determined`], or `None` when a component has more than `max_columns` unknown cells.
fn audit(
    cells: &[Cell],
    relations: &[Relation],
    status: &[Status],
    max_columns: usize,
) -> Option<Vec<usize>> {
    // Each relation as its unknown members with their signs (+1 the parent, -1 a child); a
    // relation of shown cells only says nothing about the unknowns.
    let equations: Vec<Vec<(usize, bool)>> = relations
        .iter()
        .map(|r| {
            std::iter::once((r.parent, true))
                .chain(r.children.iter().map(|&c| (c, false)))
                .filter(|&(i, _)| unknown(cells, status, i))
                .collect::<Vec<_>>()
        })
        .filter(|e| !e.is_empty())
        .collect();
    // The system falls apart into independent components (unknowns linked by a relation):
    // each is reduced on its own, which keeps the matrices the size of a cluster of hidden
    // cells rather than of the whole group.
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    fn root(parent: &mut BTreeMap<usize, usize>, i: usize) -> usize {
        let mut r = i;
        while let Some(&p) = parent.get(&r) {
            if p == r {
                break;
            }
            r = p;
        }
        parent.insert(i, r);
        r
    }
    for e in &equations {
        for &(i, _) in e {
            parent.entry(i).or_insert(i);
        }
        let first = root(&mut parent, e[0].0);
        for &(i, _) in &e[1..] {
            let other = root(&mut parent, i);
            parent.insert(other, first);
        }
    }
    let mut components: BTreeMap<usize, Vec<&Vec<(usize, bool)>>> = BTreeMap::new();
    for e in &equations {
        let r = root(&mut parent, e[0].0);
        components.entry(r).or_default().push(e);
    }
    let mut out = Vec::new();
    for equations in components.values() {
        let mut column: BTreeMap<usize, usize> = BTreeMap::new();
        for e in equations {
            for &(i, _) in e.iter() {
                let next = column.len();
                column.entry(i).or_insert(next);
            }
        }
        let width = column.len();
        if width > max_columns {
            return None;
        }
        let mut rows: Vec<Vec<u64>> = equations
            .iter()
            .map(|e| {
                let mut row = vec![0u64; width];
                for &(i, is_parent) in e.iter() {
                    let col = column[&i];
                    row[col] = if is_parent { add(row[col], 1) } else { sub(row[col], 1) };
                }
                row
            })
            .collect();
        let pivots = reduce(&mut rows, width);
        for (&cell, &col) in &column {
            if !status[cell].hidden() {
                continue;
            }
            let alone = pivots.iter().any(|&(r, c)| {
                c == col && rows[r].iter().enumerate().all(|(j, &v)| j == col || v == 0)
            });
            if alone {
                out.push(cell);
            }
        }
    }
    out.sort_unstable();
    Some(out)
}

/// The prime of the elimination's arithmetic.
const P: u64 = (1 << 61) - 1;

fn add(a: u64, b: u64) -> u64 {
    (a + b) % P
}

fn sub(a: u64, b: u64) -> u64 {
    (a + P - b) % P
}

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn inverse(a: u64) -> u64 {
    // Fermat: a^(P-2).
    let (mut base, mut exp, mut out) = (a, P - 2, 1);
    while exp > 0 {
        if exp & 1 == 1 {
            out = mul(out, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    out
}

/// Gauss-Jordan elimination in place modulo [`P`], into reduced row echelon form (pivots 1).
/// Returns (row, column) of each pivot. Rows are dense but only their non-zero entries are
/// visited when eliminating.
fn reduce(rows: &mut [Vec<u64>], width: usize) -> Vec<(usize, usize)> {
    let mut pivots = Vec::new();
    let mut next = 0;
    for col in 0..width {
        let Some(found) = (next..rows.len()).find(|&r| rows[r][col] != 0) else { continue };
        rows.swap(next, found);
        let scale = inverse(rows[next][col]);
        for v in rows[next].iter_mut() {
            *v = mul(*v, scale);
        }
        let nonzero: Vec<(usize, u64)> =
            rows[next].iter().enumerate().filter(|(_, v)| **v != 0).map(|(j, v)| (j, *v)).collect();
        for (r, row) in rows.iter_mut().enumerate() {
            let factor = row[col];
            if r == next || factor == 0 {
                continue;
            }
            for &(j, v) in &nonzero {
                row[j] = sub(row[j], mul(factor, v));
            }
        }
        pivots.push((next, col));
        next += 1;
    }
    pivots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns: 0 = region, 1 = site. `national` is levels 0.
    fn cell(levels: u64, fo: Option<&str>, site: Option<&str>, value: f64) -> Cell {
        Cell {
            group: "g".into(),
            levels,
            coords: vec![fo.map(String::from), site.map(String::from)],
            value: Some(value),
            rows: value as i64,
            counts: true,
        }
    }

    /// National 100 = A 60 + B 40; A = a1 30 + a2 25 + a3 5; B = b1 20 + b2 20.
    fn offices() -> Vec<Cell> {
        vec![
            cell(0b00, None, None, 100.0),
            cell(0b01, Some("A"), None, 60.0),
            cell(0b01, Some("B"), None, 40.0),
            cell(0b11, Some("A"), Some("a1"), 30.0),
            cell(0b11, Some("A"), Some("a2"), 25.0),
            cell(0b11, Some("A"), Some("a3"), 5.0),
            cell(0b11, Some("B"), Some("b1"), 20.0),
            cell(0b11, Some("B"), Some("b2"), 20.0),
        ]
    }

    #[test]
    fn relations_follow_covers_within_a_parent() {
        let rel = relations(&offices());
        assert!(rel.contains(&Relation { parent: 0, children: vec![1, 2] }));
        assert!(rel.contains(&Relation { parent: 1, children: vec![3, 4, 5] }));
        assert!(rel.contains(&Relation { parent: 2, children: vec![6, 7] }));
        // National → sites is implied by the two levels, not a cover of its own.
        assert_eq!(rel.len(), 3);
    }

    #[test]
    fn nothing_small_nothing_hidden() {
        assert!(suppress(&offices(), 5).iter().all(|s| *s == Status::Shown));
    }

    /// 400 regions of 2 sites each, every region and site small: the hidden cells are
    /// tied together through the national total, too many to audit exactly.
    #[test]
    fn a_group_too_linked_to_audit_is_hidden_whole() {
        let mut cells = vec![cell(0, None, None, 400.0 * 2.0 * 5.0)];
        for f in 0..400 {
            let fo = format!("F{f:03}");
            cells.push(cell(1, Some(&fo), None, 2.0 * 5.0));
            for p in 0..2 {
                cells.push(cell(3, Some(&fo), Some(&format!("P{f}-{p}")), 5.0));
            }
        }
        let status = suppress(&cells, 11);
        assert!(status.iter().all(|s| s.hidden()), "{status:?}");
        assert!(status.contains(&Status::Complementary) && status.contains(&Status::Primary));
        // Within the limit, the same shape is audited exactly and the totals stay.
        let small: Vec<Cell> = cells
            .iter()
            .filter(|c| c.coords[0].as_deref().is_none_or(|f| f < "F2"))
            .cloned()
            .collect();
        let small_status = suppress(&small, 11);
        assert!(!small_status[0].hidden(), "{small_status:?}");
        assert!(determined(&small, &relations(&small), &small_status).is_empty());
    }

    #[test]
    fn a_small_port_takes_its_smallest_sibling_with_it() {
        let status = suppress(&offices(), 11);
        assert_eq!(status[5], Status::Primary, "a3 has 5 rows");
        assert_eq!(status[4], Status::Complementary, "a2 is the smallest other site of A");
        assert_eq!(status[3], Status::Shown);
        assert!(status[..3].iter().all(|s| *s == Status::Shown), "totals stay: {status:?}");
        assert!(determined(&offices(), &relations(&offices()), &status).is_empty());
    }

    #[test]
    fn a_single_child_hides_its_parent() {
        // A region with one site: its total is the site.
        let cells = vec![
            cell(0b00, None, None, 50.0),
            cell(0b01, Some("A"), None, 8.0),
            cell(0b01, Some("B"), None, 42.0),
            cell(0b11, Some("A"), Some("a1"), 8.0),
            cell(0b11, Some("B"), Some("b1"), 42.0),
        ];
        let status = suppress(&cells, 11);
        assert_eq!(status[3], Status::Primary);
        assert_eq!(status[1], Status::Primary, "A's total is 8 too");
        // National = A + B with A hidden: B must go too.
        assert_eq!(status[2], Status::Complementary);
        // and B = b1 with B hidden: b1 must go.
        assert_eq!(status[4], Status::Complementary);
        assert!(determined(&cells, &relations(&cells), &status).is_empty());
    }

    #[test]
    fn a_two_way_table_is_protected_against_row_and_column_totals() {
        // Region (bit 0) x kind (bit 1), with both margins and the grand total.
        let mk = |levels, fo: Option<&str>, kind: Option<&str>, v: f64| Cell {
            group: "g".into(),
            levels,
            coords: vec![fo.map(String::from), kind.map(String::from)],
            value: Some(v),
            rows: v as i64,
            counts: true,
        };
        let cells = vec![
            mk(0b00, None, None, 200.0),
            mk(0b01, Some("A"), None, 100.0),
            mk(0b01, Some("B"), None, 100.0),
            mk(0b10, None, Some("drug"), 83.0),
            mk(0b10, None, Some("cash"), 117.0),
            mk(0b11, Some("A"), Some("drug"), 3.0),
            mk(0b11, Some("A"), Some("cash"), 97.0),
            mk(0b11, Some("B"), Some("drug"), 80.0),
            mk(0b11, Some("B"), Some("cash"), 20.0),
        ];
        let status = suppress(&cells, 11);
        assert_eq!(status[5], Status::Primary);
        assert!(determined(&cells, &relations(&cells), &status).is_empty(), "{status:?}");
        // Row A and column drug each need a second hidden cell.
        let hidden_in = |idx: &[usize]| idx.iter().filter(|&&i| status[i].hidden()).count();
        assert!(hidden_in(&[1, 5, 6]) >= 2 || status[1].hidden());
        assert!(hidden_in(&[3, 5, 7]) >= 2 || status[3].hidden());
    }

    #[test]
    fn a_count_below_the_threshold_is_hidden_however_many_rows() {
        let mut c = cell(0b00, None, None, 4.0);
        c.rows = 400;
        assert_eq!(suppress(&[c.clone()], 11), vec![Status::Primary]);
        c.counts = false;
        assert_eq!(suppress(&[c], 11), vec![Status::Shown]);
    }

    #[test]
    fn groups_do_not_mix() {
        let mut cells = offices();
        for c in cells.iter_mut().skip(4) {
            c.group = "other".into();
        }
        let rel = relations(&cells);
        assert!(rel.iter().all(|r| members(r).all(|i| cells[i].group == cells[r.parent].group)));
    }

    #[test]
    fn the_audit_finds_what_a_chain_of_totals_gives_away() {
        // Two unknowns in one relation are safe; with a second relation tying one of them
        // to shown cells, both are determined.
        let cells = vec![
            cell(0b00, None, None, 100.0),
            cell(0b01, Some("A"), None, 60.0),
            cell(0b01, Some("B"), None, 40.0),
            cell(0b11, Some("A"), Some("a1"), 60.0),
            cell(0b11, Some("B"), Some("b1"), 40.0),
        ];
        let rel = relations(&cells);
        let mut status = vec![Status::Shown; cells.len()];
        status[1] = Status::Primary;
        status[2] = Status::Complementary;
        // A = a1 and B = b1 are shown: both totals are determined.
        assert_eq!(determined(&cells, &rel, &status), vec![1, 2]);
    }
}
