//! Hand-worked cases: what the top-down method hides, and why, on tables small enough to check
//! by hand; each also passes the independent attacker.

mod common;

use common::{assert_safe, attack};
use tally_sdc::{protect, Cell, Params, Problem, Relation, Status};

fn count(value: f64, stage: u32) -> Cell {
    Cell::new(value, value as i64, true, stage)
}

fn rel(parent: usize, children: &[usize]) -> Relation {
    Relation { parent, children: children.to_vec() }
}

#[test]
fn a_total_with_one_small_child_hides_its_cheapest_sibling() {
    // T 100 = a 3 + b 40 + c 57.
    let problem = Problem {
        cells: vec![count(100.0, 0), count(3.0, 1), count(40.0, 1), count(57.0, 1)],
        relations: vec![rel(0, &[1, 2, 3])],
    };
    let params = Params::new(10);
    let pattern = protect(&problem, &params);
    use Status::*;
    assert_eq!(pattern.status, vec![Shown, Primary, Secondary, Shown]);
    // a + b = 43: a can be anything from 0 to 43, which covers [0, 3 + 10]. The audit proves
    // an interval inside the attacker's that covers the protection (here without a program: b
    // can give a its 10).
    let a = pattern.intervals[1].expect("an audited interval");
    assert!(a.min.abs() < 1e-9 && a.max >= 13.0 - 1e-9 && a.max <= 43.0 + 1e-9, "{a:?}");
    let (_, min, max) = attack(&problem, &pattern.status)[0];
    assert!(min.abs() < 1e-9 && (max - 43.0).abs() < 1e-9, "the attacker: [{min}, {max}]");
    assert_safe(&problem, &params, &pattern);
}

/// Rows A, B, C by columns x, y, z with every margin and the grand total.
fn two_way() -> Problem {
    let interior = [[4.0, 30.0, 50.0], [25.0, 60.0, 40.0], [35.0, 20.0, 70.0]];
    let mut cells = Vec::new();
    let total: f64 = interior.iter().flatten().sum();
    cells.push(count(total, 0)); // 0
    for row in &interior {
        cells.push(count(row.iter().sum(), 1)); // 1..=3
    }
    for j in 0..3 {
        cells.push(count(interior.iter().map(|r| r[j]).sum(), 1)); // 4..=6
    }
    for row in &interior {
        for &v in row {
            cells.push(count(v, 2)); // 7 + 3i + j
        }
    }
    let at = |i: usize, j: usize| 7 + 3 * i + j;
    let mut relations = vec![rel(0, &[1, 2, 3]), rel(0, &[4, 5, 6])];
    for i in 0..3 {
        relations.push(rel(1 + i, &[at(i, 0), at(i, 1), at(i, 2)]));
    }
    for j in 0..3 {
        relations.push(rel(4 + j, &[at(0, j), at(1, j), at(2, j)]));
    }
    Problem { cells, relations }
}

#[test]
fn a_two_way_table_is_safe_from_differencing_rows_and_columns() {
    let problem = two_way();
    let params = Params::new(10);
    // Hiding the small cell and one partner in its row is not enough: its column gives it
    // away, which the attacker finds.
    let mut naive = vec![Status::Shown; problem.cells.len()];
    naive[7] = Status::Primary;
    naive[8] = Status::Secondary;
    let found = attack(&problem, &naive);
    assert_eq!(found.len(), 1);
    assert!((found[0].1 - 4.0).abs() < 1e-9 && (found[0].2 - 4.0).abs() < 1e-9, "{found:?}");
    // The crate's audit of that pattern says the same.
    assert_eq!(tally_sdc::audit(&problem, &params, &naive).exposed, vec![7]);

    let pattern = protect(&problem, &params);
    assert_eq!(pattern.status[7], Status::Primary);
    let hidden = |cells: &[usize]| cells.iter().filter(|&&c| pattern.status[c].hidden()).count();
    // Row A and column x each hide a second cell (or their margin).
    assert!(hidden(&[8, 9]) >= 1 || pattern.status[1].hidden(), "{:?}", pattern.status);
    assert!(hidden(&[10, 13]) >= 1 || pattern.status[4].hidden(), "{:?}", pattern.status);
    // The grand total and the margins are not needed.
    assert_eq!(pattern.status[0], Status::Shown);
    assert_safe(&problem, &params, &pattern);
}

#[test]
fn a_middle_level_suppression_is_carried_into_the_leaves() {
    // T = M1 + M2 + M3, each Mi the total of 4 leaves. M1 is small (8), so at the top M2 (the
    // cheaper sibling) is hidden with it; then M2 would be recomputed from its shown leaves,
    // so in the stage below one of its leaves (none of them small) is hidden too.
    let leaves = [[3.0, 0.0, 5.0, 0.0], [20.0, 30.0, 25.0, 40.0], [50.0, 60.0, 70.0, 80.0]];
    let mut cells = vec![count(leaves.iter().flatten().sum(), 0)];
    for l in &leaves {
        cells.push(count(l.iter().sum(), 1));
    }
    let mut relations = vec![rel(0, &[1, 2, 3])];
    for (m, l) in leaves.iter().enumerate() {
        let first = cells.len();
        for &v in l {
            cells.push(count(v, 2));
        }
        relations.push(rel(1 + m, &[first, first + 1, first + 2, first + 3]));
    }
    let problem = Problem { cells, relations };
    let params = Params::new(10);
    let pattern = protect(&problem, &params);
    use Status::*;
    let s = &pattern.status;
    assert_eq!((s[0], s[1], s[2], s[3]), (Shown, Primary, Secondary, Shown), "{s:?}");
    // M1's small leaves are primary, its zeros shown.
    assert_eq!(&s[4..8], &[Primary, Shown, Primary, Shown]);
    // M2 carries its suppression down: at least one of its leaves is hidden.
    assert!(s[8..12].contains(&Secondary), "{s:?}");
    // M3's part of the table is untouched.
    assert!(s[12..16].iter().all(|&x| x == Shown), "{s:?}");
    assert_eq!(pattern.stats.repairs, 0, "the top-down pass alone is safe here");
    assert_safe(&problem, &params, &pattern);
}

#[test]
fn zero_counts_are_published() {
    let params = Params::new(10);
    assert!(!params.primary(&Cell::new(0.0, 0, true, 1)));
    assert!(params.primary(&Cell::new(0.0, 2, false, 1)), "a sum over 2 rows is small");
    // T 80 = a 0 + b 4 + c 26 + d 50: b is small; a zero cannot move down, so c is hidden
    // for b's upward protection and then serves the downward one too: the zero stays shown.
    let problem = Problem {
        cells: vec![count(80.0, 0), count(0.0, 1), count(4.0, 1), count(26.0, 1), count(50.0, 1)],
        relations: vec![rel(0, &[1, 2, 3, 4])],
    };
    let pattern = protect(&problem, &params);
    use Status::*;
    assert_eq!(pattern.status, vec![Shown, Shown, Primary, Secondary, Shown]);
    assert_safe(&problem, &params, &pattern);
}

#[test]
fn a_small_sum_is_protected_by_a_share_of_its_value() {
    // A sum of 1000 over 2 rows: the attacker must not narrow it within 10% (900 to 1100).
    // Small siblings cannot give 100 of room down; the pattern must add up to enough.
    let sum = |value: f64, rows: i64| Cell::new(value, rows, false, 1);
    let cells = vec![
        Cell::new(6200.0, 422, false, 0),
        sum(1000.0, 2),
        sum(20.0, 30),
        sum(30.0, 40),
        sum(150.0, 50),
        sum(5000.0, 300),
    ];
    let problem = Problem { cells, relations: vec![rel(0, &[1, 2, 3, 4, 5])] };
    let params = Params::new(10);
    assert_eq!(params.protection(&problem.cells[1]).upper, 100.0);
    let pattern = protect(&problem, &params);
    assert_eq!(pattern.status[1], Status::Primary);
    let room: f64 =
        (2..6).filter(|&c| pattern.status[c].hidden()).map(|c| problem.cells[c].value).sum();
    assert!(room >= 100.0, "{:?}", pattern.status);
    assert!(!pattern.status[5].hidden(), "the large sibling is the dearest: {:?}", pattern.status);
    let p = pattern.intervals[1].expect("an audited interval");
    assert!(p.min <= 900.0 + 1e-6 && p.max >= 1100.0 - 1e-6, "{p:?}");
    assert_safe(&problem, &params, &pattern);
}

#[test]
fn the_audit_repairs_what_the_stages_could_not_see() {
    // M1 = l1 + l2 with l2 known exactly a priori: the small l1 can only move with M1, a margin
    // the stage above left shown. The subtable reopens M1; the stage above (T = M1 + M2) then
    // gives M1 away unless M2 is hidden too, which the audit finds and repairs.
    let mut fixed = count(50.0, 2);
    fixed.lower = 50.0;
    fixed.upper = 50.0;
    let problem = Problem {
        cells: vec![count(153.0, 0), count(53.0, 1), count(100.0, 1), count(3.0, 2), fixed],
        relations: vec![rel(0, &[1, 2]), rel(1, &[3, 4])],
    };
    let params = Params::new(10);
    let pattern = protect(&problem, &params);
    use Status::*;
    assert_eq!(pattern.status, vec![Shown, Secondary, Secondary, Primary, Shown]);
    assert_eq!(pattern.stats.repairs, 1);
    assert_safe(&problem, &params, &pattern);
}

#[test]
fn protection_levels_follow_the_parameters() {
    let params = Params::new(11);
    let small_count = Cell::new(4.0, 4, true, 0);
    let p = params.protection(&small_count);
    assert_eq!((p.upper, p.lower, p.sliding), (11.0, 4.0, 0.0));
    let small_sum = Cell::new(5.0, 2, false, 0);
    assert_eq!(params.protection(&small_sum).upper, 1.0, "at least sum_minimum");
    let mut bounded = small_count.clone();
    bounded.lower = 2.0;
    bounded.upper = 9.0;
    let p = params.protection(&bounded);
    assert_eq!((p.upper, p.lower), (5.0, 2.0), "within the a-priori bounds");
}

#[test]
fn a_declared_cost_and_a_sliding_protection_change_the_choice() {
    // T 100 = a 3 + b 40 + c 57, as above, but b is declared dear to hide: c goes instead.
    let mut cells = vec![count(100.0, 0), count(3.0, 1), count(40.0, 1), count(57.0, 1)];
    cells[2].cost = Some(1e6);
    let problem = Problem { cells, relations: vec![rel(0, &[1, 2, 3])] };
    let params = Params::new(10);
    let pattern = protect(&problem, &params);
    use Status::*;
    assert_eq!(pattern.status, vec![Shown, Primary, Shown, Secondary]);
    assert_safe(&problem, &params, &pattern);

    // With b cheap again and a sliding protection of 50, a + b = 43 is too narrow: a third
    // cell has to go (the total, or c), and the attacker's interval is at least 50 wide.
    let mut problem = problem;
    problem.cells[2].cost = None;
    let params = Params { sliding: 50.0, ..Params::new(10) };
    let pattern = protect(&problem, &params);
    assert!(pattern.hidden() >= 3, "{:?}", pattern.status);
    let a = pattern.intervals[1].expect("an audited interval");
    assert!(a.max - a.min >= 50.0 - 1e-6, "{a:?}");
    assert_safe(&problem, &params, &pattern);
}
