//! Problems from mart cells: cells keyed by (group, cut columns, members), related by totals
//! exactly as the runtime's query suppression relates them, and protected in a canonical order.
//!
//! Within one group (metric, grain, period, bucket, `top` member), a cell cut by the columns
//! `L` (bit `i` of `levels` set: cut by column `i`) is the total of the cells cut by `L2`, for
//! every stored `L2 ⊋ L` with no stored set in between (a *cover*), that agree with it on the
//! columns of `L`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Cell, Params, Pattern, Problem, Relation};

/// Where a cell sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Cells are related only within a group.
    pub group: String,
    /// Bit `i` set: the cell is cut by column `i`.
    pub levels: u64,
    /// The member of each column, in column order (`None` when the column is not in
    /// `levels`, or the member's key is NULL).
    pub coords: Vec<Option<String>>,
}

impl Key {
    /// The default stage: how many columns cut the cell (with one column per hierarchy level,
    /// the sum of the cell's depths in its hierarchies).
    pub fn depth(&self) -> u32 {
        self.levels.count_ones()
    }
}

/// A cell with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed {
    pub key: Key,
    pub cell: Cell,
}

/// Every total among the keys: for each cell, each cover of its levels within its group.
pub fn relations(keys: &[Key]) -> Vec<Relation> {
    relations_by(keys.len(), |i| (&keys[i].group, keys[i].levels, &keys[i].coords))
}

/// [`relations`] over keys given by a function of the cell's index.
pub(crate) fn relations_by<'a>(
    n: usize,
    key: impl Fn(usize) -> (&'a str, u64, &'a [Option<String>]),
) -> Vec<Relation> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        groups.entry(key(i).0).or_default().push(i);
    }
    let mut out = Vec::new();
    for indices in groups.values() {
        let sets: BTreeSet<u64> = indices.iter().map(|&i| key(i).1).collect();
        // Children indexed by (their levels, the parent levels they agree on, the members).
        let mut by_set: BTreeMap<CoverKey<'_>, Vec<usize>> = BTreeMap::new();
        let covers: Vec<(u64, u64)> = sets
            .iter()
            .flat_map(|&low| sets.iter().map(move |&high| (low, high)))
            .filter(|&(low, high)| {
                high != low
                    && high & low == low
                    && !sets.iter().any(|&mid| {
                        mid != low && mid != high && mid & low == low && high & mid == mid
                    })
            })
            .collect();
        for &(low, high) in &covers {
            for &i in indices {
                let (_, levels, coords) = key(i);
                if levels == high {
                    by_set.entry((high, low, project(coords, low))).or_default().push(i);
                }
            }
        }
        for &(low, high) in &covers {
            for &i in indices {
                let (_, levels, coords) = key(i);
                if levels != low {
                    continue;
                }
                if let Some(children) = by_set.get(&(high, low, project(coords, low))) {
                    out.push(Relation { parent: i, children: children.clone() });
                }
            }
        }
    }
    out
}

/// Children of a cover: their levels, the parent's levels, their members on the parent's.
type CoverKey<'a> = (u64, u64, Vec<Option<&'a str>>);

/// The members of a cell on the columns of `levels`.
fn project(coords: &[Option<String>], levels: u64) -> Vec<Option<&str>> {
    coords
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && levels & (1 << i) != 0)
        .map(|(_, v)| v.as_deref())
        .collect()
}

/// The problem of keyed cells, in their order.
pub fn problem(cells: &[Keyed]) -> Problem {
    let keys: Vec<Key> = cells.iter().map(|k| k.key.clone()).collect();
    Problem { cells: cells.iter().map(|k| k.cell.clone()).collect(), relations: relations(&keys) }
}

/// The canonical order of keyed cells: by key (then by value, for duplicate keys).
fn canonical(cells: &[Keyed]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|&a, &b| {
        cells[a]
            .key
            .cmp(&cells[b].key)
            .then(cells[a].cell.value.total_cmp(&cells[b].cell.value))
            .then(cells[a].cell.rows.cmp(&cells[b].cell.rows))
    });
    order
}

/// [`crate::protect`] over keyed cells in their canonical order, so the pattern does not depend
/// on the order the cells come in; the answer is in the input's order.
pub fn protect_keyed(cells: &[Keyed], params: &Params) -> Pattern {
    let order = canonical(cells);
    let sorted: Vec<Keyed> = order.iter().map(|&i| cells[i].clone()).collect();
    let pattern = crate::protect(&problem(&sorted), params);
    unpermute(pattern, &order)
}

/// [`crate::reprotect`] over keyed cells: `previous` from [`protect_keyed`] (or this) over the
/// same keys, `changed` indices in the input's order.
pub fn reprotect_keyed(
    cells: &[Keyed],
    previous: &Pattern,
    changed: &[usize],
    params: &Params,
) -> Pattern {
    let order = canonical(cells);
    let mut position = vec![0; order.len()];
    for (at, &i) in order.iter().enumerate() {
        position[i] = at;
    }
    let sorted: Vec<Keyed> = order.iter().map(|&i| cells[i].clone()).collect();
    let previous = permute(previous, &order, &position);
    let changed: Vec<usize> = changed.iter().map(|&i| position[i]).collect();
    let pattern = crate::reprotect(&problem(&sorted), &previous, &changed, params);
    unpermute(pattern, &order)
}

/// A pattern in canonical order (`order[at]` = input index) back to the input's order.
fn unpermute(pattern: Pattern, order: &[usize]) -> Pattern {
    let n = order.len();
    let mut out = Pattern {
        status: pattern.status.clone(),
        intervals: vec![None; n],
        unprotected: pattern.unprotected.iter().map(|&at| order[at]).collect(),
        need: vec![(0.0, 0.0); n],
        stats: pattern.stats,
    };
    for (at, &i) in order.iter().enumerate() {
        out.status[i] = pattern.status[at];
        out.intervals[i] = pattern.intervals[at];
        out.need[i] = pattern.need[at];
    }
    out.unprotected.sort_unstable();
    out
}

/// A pattern in the input's order into canonical order.
fn permute(pattern: &Pattern, order: &[usize], position: &[usize]) -> Pattern {
    let mut out = Pattern {
        status: order.iter().map(|&i| pattern.status[i]).collect(),
        intervals: order.iter().map(|&i| pattern.intervals[i]).collect(),
        unprotected: pattern.unprotected.iter().map(|&i| position[i]).collect(),
        need: order.iter().map(|&i| pattern.need[i]).collect(),
        stats: pattern.stats,
    };
    out.unprotected.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(levels: u64, fo: Option<&str>, port: Option<&str>) -> Key {
        Key {
            group: "g".into(),
            levels,
            coords: vec![fo.map(String::from), port.map(String::from)],
        }
    }

    #[test]
    fn relations_follow_covers_within_a_parent() {
        let keys = vec![
            key(0b00, None, None),
            key(0b01, Some("A"), None),
            key(0b01, Some("B"), None),
            key(0b11, Some("A"), Some("a1")),
            key(0b11, Some("A"), Some("a2")),
            key(0b11, Some("B"), Some("b1")),
        ];
        let rel = relations(&keys);
        assert!(rel.contains(&Relation { parent: 0, children: vec![1, 2] }));
        assert!(rel.contains(&Relation { parent: 1, children: vec![3, 4] }));
        assert!(rel.contains(&Relation { parent: 2, children: vec![5] }));
        assert_eq!(rel.len(), 3);
        assert_eq!(keys.iter().map(Key::depth).collect::<Vec<_>>(), vec![0, 1, 1, 2, 2, 2]);
    }
}
