//! The two linear programs of the crate, over good_lp with the microlp backend.
//!
//! Both work on local variable numbers `0..n` (a subtable's cells, or one linked component of
//! hidden cells); callers map cells to them.

use good_lp::{
    microlp, variable, Expression, ProblemVariables, ResolutionError, Solution, SolverModel,
    Variable,
};

/// A linear equation `Σ coefficient · x[local] = rhs`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Equation {
    pub terms: Vec<(usize, f64)>,
    pub rhs: f64,
}

/// Why a program has no optimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoOptimum {
    Unbounded,
    Infeasible,
}

fn failure(e: ResolutionError) -> NoOptimum {
    match e {
        ResolutionError::Unbounded => NoOptimum::Unbounded,
        _ => NoOptimum::Infeasible,
    }
}

/// The attacker's program: the minimum (or maximum) of `x[target]` over `bounds` and the
/// equations, with the point that attains it.
pub(crate) fn extreme(
    bounds: &[(f64, f64)],
    equations: &[Equation],
    target: usize,
    maximise: bool,
) -> Result<(f64, Vec<f64>), NoOptimum> {
    let mut vars = ProblemVariables::new();
    let x: Vec<Variable> =
        bounds.iter().map(|&(lo, hi)| vars.add(variable().min(lo).max(hi))).collect();
    let objective: Expression = x[target].into();
    let unsolved = if maximise { vars.maximise(objective) } else { vars.minimise(objective) };
    let mut model = unsolved.using(microlp);
    add_equations(&mut model, &x, equations);
    let solution = model.solve().map_err(failure)?;
    let point: Vec<f64> = x.iter().map(|&v| solution.value(v)).collect();
    Ok((point[target], point))
}

/// One attacker's point that pushes every goal cell towards its goal at once: up to `goal`
/// (or down to it, when not `up`), each cell's shortfall weighted by `1 / weight`. The point
/// shows which goals the attacker can reach together (usually all of them); the others need a
/// program of their own.
pub(crate) fn reach(
    bounds: &[(f64, f64)],
    equations: &[Equation],
    goals: &[(usize, f64, f64)],
    up: bool,
) -> Result<Vec<f64>, NoOptimum> {
    let mut vars = ProblemVariables::new();
    let x: Vec<Variable> =
        bounds.iter().map(|&(lo, hi)| vars.add(variable().min(lo).max(hi))).collect();
    let mut objective = Expression::with_capacity(goals.len());
    let mut capped = Vec::with_capacity(goals.len());
    for &(i, goal, weight) in goals {
        // t <= goal and t <= x (up), or t >= goal and t >= x (down).
        let t = if up { vars.add(variable().max(goal)) } else { vars.add(variable().min(goal)) };
        objective.add_mul(1.0 / weight, t);
        capped.push((t, x[i]));
    }
    let unsolved = if up { vars.maximise(objective) } else { vars.minimise(objective) };
    let mut model = unsolved.using(microlp);
    add_equations(&mut model, &x, equations);
    for (t, xi) in capped {
        let mut gap = Expression::from(t);
        gap.add_mul(-1.0, xi);
        model.add_constraint(if up { gap.leq(0.0) } else { gap.geq(0.0) });
    }
    let solution = model.solve().map_err(failure)?;
    Ok(x.iter().map(|&v| solution.value(v)).collect())
}

fn add_equations(model: &mut impl SolverModel, x: &[Variable], equations: &[Equation]) {
    for e in equations {
        let mut lhs = Expression::with_capacity(e.terms.len());
        for &(i, a) in &e.terms {
            lhs.add_mul(a, x[i]);
        }
        model.add_constraint(lhs.eq(e.rhs));
    }
}

/// One variable of the deviation program: how far the cell may move up and down, and what a
/// unit of movement costs in each direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Room {
    pub up: f64,
    pub down: f64,
    pub weight_up: f64,
    pub weight_down: f64,
}

impl Room {
    /// A cell whose hiding costs `cost`, in a program that moves its target by `amount`: the
    /// fixed charge spread over the most movement the cell can give (the usual linear
    /// relaxation of a fixed charge: `cost / min(room, amount)` per unit, times `amount` so
    /// that weights stay comparable to `cost`).
    pub fn charged(up: f64, down: f64, cost: f64, amount: f64) -> Room {
        let per_unit = |room: f64| if room > 0.0 { cost * amount / room.min(amount) } else { cost };
        Room { up, down, weight_up: per_unit(up), weight_down: per_unit(down) }
    }

    /// A cell that is hidden already: moving it costs `weight` a unit, next to nothing.
    pub fn free(up: f64, down: f64, weight: f64) -> Room {
        Room { up, down, weight_up: weight, weight_down: weight }
    }
}

/// The protection heuristic's program: the cheapest movement `y - z` of the cells that keeps
/// every (homogeneous) equation balanced while the target moves by exactly `amount` (up when
/// `up`, else down). Returns each cell's (up, down) movement.
pub(crate) fn deviation(
    rooms: &[Room],
    equations: &[Vec<(usize, f64)>],
    target: usize,
    amount: f64,
    up: bool,
) -> Result<Vec<(f64, f64)>, NoOptimum> {
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::with_capacity(2 * rooms.len());
    let mut pairs = Vec::with_capacity(rooms.len());
    for (i, room) in rooms.iter().enumerate() {
        let (up_range, down_range) = if i == target {
            if up {
                ((amount, amount), (0.0, 0.0))
            } else {
                ((0.0, 0.0), (amount, amount))
            }
        } else {
            ((0.0, room.up), (0.0, room.down))
        };
        let y = vars.add(variable().min(up_range.0).max(up_range.1));
        let z = vars.add(variable().min(down_range.0).max(down_range.1));
        objective.add_mul(room.weight_up, y);
        objective.add_mul(room.weight_down, z);
        pairs.push((y, z));
    }
    let mut model = vars.minimise(objective).using(microlp);
    for e in equations {
        let mut lhs = Expression::with_capacity(2 * e.len());
        for &(i, a) in e {
            lhs.add_mul(a, pairs[i].0);
            lhs.add_mul(-a, pairs[i].1);
        }
        model.add_constraint(lhs.eq(0.0));
    }
    let solution = model.solve().map_err(failure)?;
    Ok(pairs.iter().map(|&(y, z)| (solution.value(y), solution.value(z))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_of_a_total_with_two_unknowns() {
        // a + b = 10, a in [0, inf), b in [0, 4].
        let eq = [Equation { terms: vec![(0, 1.0), (1, 1.0)], rhs: 10.0 }];
        let bounds = [(0.0, f64::INFINITY), (0.0, 4.0)];
        assert!((extreme(&bounds, &eq, 0, false).expect("an optimum").0 - 6.0).abs() < 1e-9);
        assert!((extreme(&bounds, &eq, 0, true).expect("an optimum").0 - 10.0).abs() < 1e-9);
        let free = [(0.0, f64::INFINITY), (0.0, f64::INFINITY)];
        assert_eq!(extreme(&free, &[], 0, true), Err(NoOptimum::Unbounded));
        // a and b both up to 7 is not possible together (a + b = 10): one point reaches
        // a's goal only when b's weight is the smaller.
        let point = reach(&free, &eq, &[(0, 7.0, 1.0), (1, 7.0, 100.0)], true).expect("a point");
        assert!((point[0] - 7.0).abs() < 1e-9 && (point[1] - 3.0).abs() < 1e-9, "{point:?}");
    }

    #[test]
    fn a_deviation_takes_the_cheapest_partner() {
        // p = a + b: moving a up by 3 needs p up or b down; b is cheaper.
        let rooms = [
            Room::charged(f64::INFINITY, 100.0, 50.0, 3.0),
            Room::free(f64::INFINITY, 4.0, 1e-3),
            Room::charged(f64::INFINITY, 30.0, 2.0, 3.0),
        ];
        let eq = vec![vec![(0, 1.0), (1, -1.0), (2, -1.0)]];
        let moved = deviation(&rooms, &eq, 1, 3.0, true).expect("a deviation");
        assert!((moved[2].1 - 3.0).abs() < 1e-9, "{moved:?}");
        assert!(moved[0].0.abs() < 1e-9 && moved[0].1.abs() < 1e-9);
    }
}
