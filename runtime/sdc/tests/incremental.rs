//! Re-protection after a refresh: the same guarantee as protecting from scratch, and the same
//! pattern when the previous one needed no repair; only the touched subtables are redone.

mod common;

use common::{assert_safe, bump, random_table, Spec};
use proptest::prelude::*;
use tally_sdc::keyed::{self, Keyed};
use tally_sdc::synthetic::{self, Shape};
use tally_sdc::{protect, reprotect, Params};

/// The leaves (cells cut by every column) of a table.
fn leaves(cells: &[Keyed]) -> Vec<usize> {
    let all = cells.iter().map(|k| k.key.levels).max().unwrap_or(0);
    (0..cells.len()).filter(|&i| cells[i].key.levels == all).collect()
}

#[test]
fn a_change_in_one_period_redoes_that_period_only() {
    let shape = Shape { periods: 3, ..Shape::small() };
    let mut cells = synthetic::table(&shape);
    let params = Params::new(shape.min_cell_size);
    let before = keyed::problem(&cells);
    let previous = protect(&before, &params);
    // Move 7 units from one leaf of the first period to another (both large).
    let first: Vec<usize> =
        leaves(&cells).into_iter().filter(|&i| cells[i].key.group == "p000").collect();
    let big: Vec<usize> = first.iter().copied().filter(|&i| cells[i].cell.value >= 40.0).collect();
    let mut changed = bump(&mut cells, big[0], 7.0);
    changed.extend(bump(&mut cells, big[1], -7.0));
    changed.sort_unstable();
    changed.dedup();
    let after = keyed::problem(&cells);
    let again = reprotect(&after, &previous, &changed, &params);
    let scratch = protect(&after, &params);
    assert_safe(&after, &params, &again);
    assert_eq!(again.status, scratch.status);
    // Only the first period's subtables were protected again.
    let per_period = previous.stats.subtables / 3;
    assert!(again.stats.subtables <= per_period, "{} > {per_period}", again.stats.subtables);
    assert!(again.stats.audit_lps < scratch.stats.audit_lps);
    // The other periods' cells keep their status.
    for (i, k) in cells.iter().enumerate() {
        if k.key.group != "p000" {
            assert_eq!(again.status[i], previous.status[i]);
        }
    }
}

#[test]
fn a_cell_turning_small_is_protected_again() {
    let shape = Shape { periods: 2, ..Shape::small() };
    let mut cells = synthetic::table(&shape);
    let params = Params::new(shape.min_cell_size);
    let previous = protect(&keyed::problem(&cells), &params);
    // A large leaf of the second period drops to 2.
    let leaf = leaves(&cells)
        .into_iter()
        .find(|&i| cells[i].key.group == "p001" && cells[i].cell.value >= 40.0)
        .expect("a large leaf in the second period");
    assert!(!previous.status[leaf].hidden());
    let drop = 2.0 - cells[leaf].cell.value;
    let changed = bump(&mut cells, leaf, drop);
    let after = keyed::problem(&cells);
    let again = reprotect(&after, &previous, &changed, &params);
    assert_eq!(again.status[leaf], tally_sdc::Status::Primary);
    assert_safe(&after, &params, &again);
    assert_eq!(again.status, protect(&after, &params).status);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reprotecting_is_as_safe_as_protecting(
        fanouts in prop::collection::vec(prop::collection::vec(1usize..=4, 1..=2), 1..=3),
        threshold in 3i64..=15,
        counts in any::<bool>(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        delta in -30i64..30,
    ) {
        let spec = Spec { fanouts, threshold, counts, small_share: 0.2, seed };
        let mut cells = random_table(&spec, 200);
        let params = Params::new(threshold);
        let previous = protect(&keyed::problem(&cells), &params);
        let all = leaves(&cells);
        let leaf = all[pick.index(all.len())];
        // Keep the leaf non-negative (rows too, for counts).
        let delta = (delta as f64).max(-cells[leaf].cell.value);
        let changed = bump(&mut cells, leaf, delta);
        let after = keyed::problem(&cells);
        let again = reprotect(&after, &previous, &changed, &params);
        assert_safe(&after, &params, &again);
        let scratch = protect(&after, &params);
        if previous.stats.repairs == 0 && scratch.stats.repairs == 0 {
            prop_assert_eq!(&again.status, &scratch.status);
        }
    }
}
