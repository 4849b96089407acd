//! What the crate's tests share: an independent attacker and random hierarchical tables.

#![allow(dead_code)]

use good_lp::{
    microlp, variable, Expression, ProblemVariables, ResolutionError, Solution, SolverModel,
};
use tally_sdc::keyed::{Key, Keyed};
use tally_sdc::synthetic::Rng;
use tally_sdc::{Cell, Params, Pattern, Problem, Status};

/// What an attacker proves about every hidden primary cell, written here from the published
/// cells and the relations alone (not through the crate's audit): one program over every
/// hidden cell of the whole problem, each within its a-priori bounds, every relation with the
/// shown cells at their published values. Returns (cell, min, max).
pub fn attack(problem: &Problem, status: &[Status]) -> Vec<(usize, f64, f64)> {
    let hidden: Vec<usize> = (0..problem.cells.len()).filter(|&c| status[c].hidden()).collect();
    let column = |c: usize| hidden.binary_search(&c).ok();
    let mut out = Vec::new();
    for &target in hidden.iter().filter(|&&c| status[c] == Status::Primary) {
        let mut extremes = [0.0; 2];
        for (k, maximise) in [false, true].into_iter().enumerate() {
            let mut vars = ProblemVariables::new();
            let x: Vec<_> = hidden
                .iter()
                .map(|&c| {
                    let cell = &problem.cells[c];
                    vars.add(variable().min(cell.lower).max(cell.upper))
                })
                .collect();
            let objective: Expression = x[column(target).expect("hidden")].into();
            let mut model =
                if maximise { vars.maximise(objective) } else { vars.minimise(objective) }
                    .using(microlp);
            for rel in &problem.relations {
                let mut lhs = Expression::from(0.0);
                let mut rhs = 0.0;
                let members = std::iter::once((rel.parent, 1.0))
                    .chain(rel.children.iter().map(|&c| (c, -1.0)));
                let mut any = false;
                for (m, sign) in members {
                    match column(m) {
                        Some(j) => {
                            lhs.add_mul(sign, x[j]);
                            any = true;
                        }
                        None => rhs -= sign * problem.cells[m].value,
                    }
                }
                if any {
                    model.add_constraint(lhs.eq(rhs));
                }
            }
            extremes[k] = match model.solve() {
                Ok(s) => s.value(x[column(target).expect("hidden")]),
                Err(ResolutionError::Unbounded) => {
                    if maximise {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    }
                }
                Err(e) => panic!("the attacker's program for cell {target}: {e:?}"),
            };
        }
        out.push((target, extremes[0], extremes[1]));
    }
    out
}

/// The whole guarantee, checked from outside: primary cells are exactly the small ones and all
/// hidden; every hidden primary cell's attacker interval covers its protection; the audit's
/// intervals lie inside the attacker's and cover the protection.
pub fn assert_safe(problem: &Problem, params: &Params, pattern: &Pattern) {
    for (c, cell) in problem.cells.iter().enumerate() {
        assert_eq!(
            pattern.status[c] == Status::Primary,
            params.primary(cell),
            "cell {c} {cell:?} is {:?}",
            pattern.status[c]
        );
    }
    assert!(pattern.unprotected.is_empty(), "unprotected: {:?}", pattern.unprotected);
    for (c, min, max) in attack(problem, &pattern.status) {
        let cell = &problem.cells[c];
        let p = params.protection(cell);
        let tol = 1e-6 * (1.0 + cell.value.abs());
        assert!(
            max >= cell.value + p.upper - tol && min <= cell.value - p.lower + tol,
            "cell {c} (value {}) narrowed to [{min}, {max}], protection {p:?}",
            cell.value
        );
        assert!(max - min >= p.sliding - tol, "cell {c}: [{min}, {max}] narrower than sliding");
        // The audit's interval is one the attacker cannot narrow (its ends are feasible points:
        // inside the attacker's own), and it covers the protection too.
        let audited = pattern.intervals[c].expect("an audited interval");
        let slack = |a: f64| 1e-5 * (1.0 + a.abs());
        assert!(
            min <= audited.min + slack(min) && audited.max <= max + slack(max),
            "cell {c}: audit [{}, {}] outside the attacker's [{min}, {max}]",
            audited.min,
            audited.max
        );
        assert!(p.covered_by(cell.value, audited), "cell {c}: audit {audited:?}, {p:?}");
    }
}

/// The shape of a random table: per dimension, the fan-out of each level under the total.
#[derive(Debug, Clone)]
pub struct Spec {
    pub fanouts: Vec<Vec<usize>>,
    pub threshold: i64,
    pub counts: bool,
    pub small_share: f64,
    pub seed: u64,
}

/// A random hierarchical table: every combination of one node per dimension (the total, a
/// level-1 member, a level-2 member under it, ...), leaf rows drawn (a share of them small,
/// some zero), totals summed. Fan-outs are cut down until it has at most `max_cells` cells.
pub fn random_table(spec: &Spec, max_cells: usize) -> Vec<Keyed> {
    let mut fanouts = spec.fanouts.clone();
    let nodes = |f: &[usize]| {
        let mut n = 1;
        let mut width = 1;
        for &k in f {
            width *= k;
            n += width;
        }
        n
    };
    while fanouts.iter().map(|f| nodes(f)).product::<usize>() > max_cells {
        let (d, l) = fanouts
            .iter()
            .enumerate()
            .flat_map(|(d, f)| f.iter().enumerate().map(move |(l, &k)| (k, d, l)))
            .max()
            .map(|(_, d, l)| (d, l))
            .expect("a level to cut");
        if fanouts[d][l] == 1 {
            fanouts[d].pop();
        } else {
            fanouts[d][l] -= 1;
        }
    }
    // Each dimension's nodes as paths of member numbers.
    let paths: Vec<Vec<Vec<usize>>> = fanouts
        .iter()
        .map(|f| {
            let mut all = vec![vec![]];
            let mut level = vec![vec![]];
            for &k in f {
                let next: Vec<Vec<usize>> = level
                    .iter()
                    .flat_map(|p: &Vec<usize>| (0..k).map(move |i| [p.clone(), vec![i]].concat()))
                    .collect();
                all.extend(next.iter().cloned());
                level = next;
            }
            all
        })
        .collect();
    let offsets: Vec<usize> = fanouts
        .iter()
        .scan(0, |at, f| {
            let here = *at;
            *at += f.len();
            Some(here)
        })
        .collect();
    let columns: usize = fanouts.iter().map(Vec::len).sum();
    let mut rng = Rng::new(spec.seed);
    let n = spec.threshold;
    // Leaves: one path of full depth per dimension.
    let mut combos: Vec<Vec<&Vec<usize>>> = vec![vec![]];
    for p in &paths {
        combos = combos
            .into_iter()
            .flat_map(|c| p.iter().map(move |q| [c.clone(), vec![q]].concat()))
            .collect();
    }
    let is_leaf =
        |combo: &[&Vec<usize>]| combo.iter().zip(&fanouts).all(|(p, f)| p.len() == f.len());
    let mut leaves: Vec<(Vec<&Vec<usize>>, i64, f64)> = Vec::new();
    for combo in combos.iter().filter(|c| is_leaf(c)) {
        let u = rng.unit();
        let rows = if u < spec.small_share {
            rng.range(1, n)
        } else if u < spec.small_share + 0.05 {
            0
        } else {
            n + rng.range(0, 60)
        };
        let value = if spec.counts { rows as f64 } else { rows as f64 * rng.range(1, 50) as f64 };
        leaves.push((combo.clone(), rows, value));
    }
    combos
        .iter()
        .map(|combo| {
            let under = |leaf: &[&Vec<usize>]| {
                combo.iter().zip(leaf).all(|(p, q)| q.len() >= p.len() && q[..p.len()] == p[..])
            };
            let (rows, value) = leaves
                .iter()
                .filter(|(l, _, _)| under(l))
                .fold((0, 0.0), |(r, v), (_, lr, lv)| (r + lr, v + lv));
            let mut levels = 0u64;
            let mut coords = vec![None; columns];
            for (d, p) in combo.iter().enumerate() {
                for depth in 0..p.len() {
                    levels |= 1 << (offsets[d] + depth);
                    coords[offsets[d] + depth] = Some(format!(
                        "d{d}:{}",
                        p[..=depth].iter().map(usize::to_string).collect::<Vec<_>>().join(".")
                    ));
                }
            }
            let key = Key { group: "g".into(), levels, coords };
            let stage = key.depth();
            Keyed { key, cell: Cell::new(value, rows, spec.counts, stage) }
        })
        .collect()
}

/// Add `delta` to a leaf and to every total above it (the cells of its group whose members
/// agree with it on their own columns). Returns the changed cells.
pub fn bump(cells: &mut [Keyed], leaf: usize, delta: f64) -> Vec<usize> {
    let key = cells[leaf].key.clone();
    let mut changed = Vec::new();
    for (i, k) in cells.iter_mut().enumerate() {
        let above = k.key.group == key.group
            && k.key.levels & key.levels == k.key.levels
            && (0..k.key.coords.len())
                .filter(|&c| k.key.levels & (1 << c) != 0)
                .all(|c| k.key.coords[c] == key.coords[c]);
        if above {
            k.cell.value += delta;
            if k.cell.counts {
                k.cell.rows += delta as i64;
            }
            changed.push(i);
        }
    }
    changed
}
