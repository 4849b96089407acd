//! The audit: what an attacker who knows every published cell and every relation can prove
//! about each hidden primary cell, and the repair loop that hides more until every primary
//! cell's interval covers its protection.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::lp::{self, Equation, NoOptimum, Room};
use crate::model::{Interval, Params, Pattern, Problem, Stats, Status};
use crate::protect::{Layout, State, UnionFind};

pub(crate) struct Audited {
    pub intervals: Vec<Option<Interval>>,
    pub unprotected: Vec<usize>,
    pub stats: Stats,
}

/// The linked components of hidden cells: hidden cells sharing a relation are linked (a
/// relation's shown members are constants to the attacker). Sorted, by smallest cell.
pub(crate) fn components(problem: &Problem, status: &[Status]) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(problem.cells.len());
    for rel in &problem.relations {
        let mut hidden = rel.members().filter(|&m| status[m].hidden());
        if let Some(first) = hidden.next() {
            for m in hidden {
                uf.union(first, m);
            }
        }
    }
    let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for c in (0..problem.cells.len()).filter(|&c| status[c].hidden()) {
        out.entry(uf.find(c)).or_default().push(c);
    }
    out.into_values().collect()
}

/// An attacker interval of every primary cell of one component: values the attacker cannot
/// exclude, over the component's cells within their a-priori bounds and every relation they are
/// in, with the shown cells at their published values. First one program per direction pushes
/// every primary cell to its protection's end at once; a cell that point does not take far
/// enough gets its own program (its exact minimum or maximum), whose point may serve the
/// others. So the interval is inside the attacker's (every end is a feasible point) and covers
/// the protection exactly when the attacker's does.
pub(crate) fn solve_component(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    status: &[Status],
    component: &[usize],
) -> (Vec<(usize, Interval)>, usize) {
    let local = |c: usize| component.binary_search(&c).ok();
    let mut relations: Vec<usize> =
        component.iter().flat_map(|&c| layout.cell_relations[c].iter().copied()).collect();
    relations.sort_unstable();
    relations.dedup();
    let equations: Vec<Equation> = relations
        .iter()
        .map(|&r| {
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            for (m, a) in problem.relations[r].signed() {
                match local(m) {
                    Some(i) => terms.push((i, a)),
                    None => rhs -= a * problem.cells[m].value,
                }
            }
            Equation { terms, rhs }
        })
        .collect();
    let bounds: Vec<(f64, f64)> =
        component.iter().map(|&c| (problem.cells[c].lower, problem.cells[c].upper)).collect();
    let primaries: Vec<usize> =
        (0..component.len()).filter(|&i| status[component[i]] == Status::Primary).collect();
    if equations.is_empty() {
        let out = primaries
            .iter()
            .map(|&i| (component[i], Interval { min: bounds[i].0, max: bounds[i].1 }))
            .collect();
        return (out, 0);
    }
    let mut lps = 0;
    // Per primary cell: (local, value, goal up, goal down), and the ends found so far.
    let goals: Vec<(usize, f64, f64, f64)> = primaries
        .iter()
        .map(|&i| {
            let cell = &problem.cells[component[i]];
            let p = params.protection(cell);
            let v = cell.value;
            (i, v, v + p.upper.max(p.sliding), v - p.lower)
        })
        .collect();
    let mut ends: Vec<Interval> = goals.iter().map(|g| Interval { min: g.1, max: g.1 }).collect();
    // Most small cells are leaves of one total with hidden leaves beside them: a feasible point
    // is then at hand without a program (see [`sibling_certificate`]).
    for (k, &(i, v, goal_up, goal_down)) in goals.iter().enumerate() {
        let c = component[i];
        if sibling_certificate(problem, layout, &|m| status[m].hidden(), c, goal_up - v, true) {
            ends[k].max = goal_up;
        }
        if sibling_certificate(problem, layout, &|m| status[m].hidden(), c, v - goal_down, false) {
            ends[k].min = goal_down;
        }
    }
    let tol = |v: f64| 1e-6 * (1.0 + v.abs());
    for up in [true, false] {
        let short = |ends: &[Interval], k: usize| {
            let (_, v, goal_up, goal_down) = goals[k];
            if up {
                ends[k].max < goal_up - tol(v)
            } else {
                ends[k].min > goal_down + tol(v)
            }
        };
        let take = |ends: &mut [Interval], point: &[f64]| {
            for (k, g) in goals.iter().enumerate() {
                ends[k].max = ends[k].max.max(point[g.0]);
                ends[k].min = ends[k].min.min(point[g.0]);
            }
        };
        let wanted: Vec<(usize, f64, f64)> = (0..goals.len())
            .filter(|&k| short(&ends, k))
            .map(|k| {
                let (i, v, goal_up, goal_down) = goals[k];
                let goal = if up { goal_up } else { goal_down };
                (i, goal, (goal - v).abs().max(1e-9))
            })
            .collect();
        if wanted.len() > 1 {
            lps += 1;
            if let Ok(point) = lp::reach(&bounds, &equations, &wanted, up) {
                take(&mut ends, &point);
            }
        }
        for k in 0..goals.len() {
            if !short(&ends, k) {
                continue;
            }
            lps += 1;
            match lp::extreme(&bounds, &equations, goals[k].0, up) {
                Ok((_, point)) => take(&mut ends, &point),
                Err(NoOptimum::Unbounded) if up => ends[k].max = f64::INFINITY,
                Err(NoOptimum::Unbounded) => ends[k].min = f64::NEG_INFINITY,
                // An infeasible program can only come from rounding in inconsistent totals:
                // the cell keeps its value as both ends, which the repair loop answers.
                Err(NoOptimum::Infeasible) => {}
            }
        }
    }
    let out = goals.iter().zip(ends).map(|(g, e)| (component[g.0], e)).collect();
    (out, lps)
}

/// Whether a point the attacker cannot exclude moves cell `c` by `amount` (up, or down), found
/// without a program: a certificate. Moving a hidden cell unbalances its relations; each is
/// balanced again by moving other hidden, not yet moved members of it (a total's other
/// children against the cell, or its parent with it), each of which balances its own
/// relations in turn, so chains down a hierarchy and the rectangles of a two-way table are
/// found. The point found is then checked exactly: every relation of a moved cell balanced,
/// every moved cell within its a-priori bounds, every shown cell unmoved. Such a point keeps
/// everything published, so the attacker's interval reaches at least that far; when none is
/// found the programs decide. `hidden` tells the cells hidden now: since a pattern only ever
/// hides more, a point found now stays one the attacker cannot exclude.
pub(crate) fn sibling_certificate(
    problem: &Problem,
    layout: &Layout,
    hidden: &dyn Fn(usize) -> bool,
    c: usize,
    amount: f64,
    up: bool,
) -> bool {
    if amount <= 0.0 {
        return true;
    }
    let mut search = Certificate { problem, layout, hidden, moved: Vec::new(), steps: 0 };
    let delta = if up { amount } else { -amount };
    search.shift(c, delta, None, 0) && search.verified()
}

/// The search state of [`sibling_certificate`]: how far each moved cell moved.
struct Certificate<'a> {
    problem: &'a Problem,
    layout: &'a Layout,
    hidden: &'a dyn Fn(usize) -> bool,
    moved: Vec<(usize, f64)>,
    /// Members tried so far: the search gives up (to the programs) past [`Self::STEPS`].
    steps: usize,
}

impl Certificate<'_> {
    const STEPS: usize = 512;

    fn is_hidden(&self, c: usize) -> bool {
        (self.hidden)(c)
    }

    fn delta(&self, c: usize) -> f64 {
        self.moved.iter().find(|(m, _)| *m == c).map_or(0.0, |(_, d)| *d)
    }

    /// `parent - Σ children` of the moves: zero when the relation still holds.
    fn imbalance(&self, r: usize) -> f64 {
        self.problem.relations[r].signed().map(|(m, a)| a * self.delta(m)).sum()
    }

    fn tolerance(&self, r: usize) -> f64 {
        let scale: f64 =
            self.problem.relations[r].members().map(|m| self.problem.cells[m].value.abs()).sum();
        1e-9 * (1.0 + scale)
    }

    /// Move `c` by `delta`, then balance every relation of it but `through` (the caller's).
    fn shift(&mut self, c: usize, delta: f64, through: Option<usize>, depth: u32) -> bool {
        const DEPTH: u32 = 8;
        const CELLS: usize = 96;
        let cell = &self.problem.cells[c];
        let room = (cell.upper - cell.value, cell.value - cell.lower);
        if depth > DEPTH
            || self.moved.len() >= CELLS
            || !self.is_hidden(c)
            || self.moved.iter().any(|(m, _)| *m == c)
            || delta > room.0
            || -delta > room.1
        {
            return false;
        }
        self.moved.push((c, delta));
        for &r in &self.layout.cell_relations[c] {
            if Some(r) == through {
                continue;
            }
            if !self.balance(r, c, depth) {
                return false;
            }
        }
        true
    }

    /// Moves other hidden members of relation `r` until it holds again.
    fn balance(&mut self, r: usize, from: usize, depth: u32) -> bool {
        let tol = self.tolerance(r);
        let members: Vec<(usize, f64)> = self.problem.relations[r].signed().collect();
        let mut imbalance = self.imbalance(r);
        // Hidden members that close the point's cycle first (see `closing`), then children
        // before the parent (children are hidden more often than totals); past the first few
        // that fail, the others are not tried: a search through many hidden members each
        // opening relations of their own does not come back.
        let mut hidden: Vec<(bool, usize, f64)> = {
            let open = self.open_relations(r);
            members
                .iter()
                .rev()
                .filter(|&&(m, _)| {
                    m != from && self.is_hidden(m) && !self.moved.iter().any(|(x, _)| *x == m)
                })
                .map(|&(m, sign)| (!self.closing(&open, m, -imbalance / sign), m, sign))
                .collect()
        };
        hidden.sort_by_key(|&(opens, _, _)| opens);
        let mut failed = 0;
        for (_, m, sign) in hidden {
            if imbalance.abs() <= tol || failed >= 4 {
                break;
            }
            self.steps += 1;
            if self.steps > Self::STEPS {
                return false;
            }
            let cell = &self.problem.cells[m];
            let room = (cell.upper - cell.value, cell.value - cell.lower);
            let want = -imbalance / sign;
            let part = if want > 0.0 { want.min(room.0) } else { want.max(-room.1) };
            if part.abs() <= tol {
                continue;
            }
            let mark = self.moved.len();
            failed += 1;
            if self.shift(m, part, Some(r), depth + 1) {
                failed -= 1;
                // The moves below may touch `r` again: recount it then, not per member.
                imbalance = if self.moved[mark..]
                    .iter()
                    .skip(1)
                    .any(|(x, _)| self.problem.relations[r].members().any(|y| y == *x))
                {
                    self.imbalance(r)
                } else {
                    imbalance + sign * part
                };
            } else {
                self.moved.truncate(mark);
            }
        }
        imbalance.abs() <= tol && self.imbalance(r).abs() <= tol
    }

    /// Whether moving `m` in `direction` would also rebalance a relation in `open`: it closes
    /// the point's cycle (the fourth corner of a rectangle, across a table's columns or its
    /// grains) instead of opening relations of its own.
    fn closing(
        &self,
        open: &std::collections::HashMap<usize, f64>,
        m: usize,
        direction: f64,
    ) -> bool {
        self.layout.cell_relations[m].iter().any(|&r2| {
            let a = if self.problem.relations[r2].parent == m { 1.0 } else { -1.0 };
            open.get(&r2).is_some_and(|&imbalance| imbalance * a * direction < 0.0)
        })
    }

    /// The relations, but `except`, that the moves so far leave unbalanced, with
    /// their imbalance.
    fn open_relations(&self, except: usize) -> std::collections::HashMap<usize, f64> {
        let mut open = std::collections::HashMap::new();
        for &(c, d) in &self.moved {
            for &r in &self.layout.cell_relations[c] {
                if r == except {
                    continue;
                }
                let a = if self.problem.relations[r].parent == c { 1.0 } else { -1.0 };
                *open.entry(r).or_insert(0.0) += a * d;
            }
        }
        open.retain(|&r, v: &mut f64| v.abs() > self.tolerance(r));
        open
    }

    /// Every relation of every moved cell holds and every move is within bounds.
    fn verified(&self) -> bool {
        self.moved.iter().all(|&(c, d)| {
            let cell = &self.problem.cells[c];
            self.is_hidden(c)
                && cell.value + d <= cell.upper
                && cell.value + d >= cell.lower
                && self.layout.cell_relations[c]
                    .iter()
                    .all(|&r| self.imbalance(r).abs() <= self.tolerance(r))
        })
    }
}

/// The audit of a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// For every hidden primary cell, an interval the attacker cannot narrow (see
    /// [`Pattern::intervals`]); `None` for the other cells.
    pub intervals: Vec<Option<Interval>>,
    /// The primary cells (by the parameters' rule) that are shown, or whose interval does not
    /// cover their protection.
    pub exposed: Vec<usize>,
}

/// Audit any pattern, without changing it: a stored one, or another algorithm's (the
/// benchmarks audit the earlier algorithm's patterns with it).
pub fn audit(problem: &Problem, params: &Params, status: &[Status]) -> Audit {
    let layout = Layout::new(problem);
    let mut status = status.to_vec();
    for (c, cell) in problem.cells.iter().enumerate() {
        // The rule decides which hidden cells are primary, whatever the pattern says.
        if status[c].hidden() {
            status[c] = if params.primary(cell) { Status::Primary } else { Status::Secondary };
        }
    }
    let comps: Vec<Vec<usize>> = components(problem, &status)
        .into_iter()
        .filter(|comp| comp.iter().any(|&c| status[c] == Status::Primary))
        .collect();
    let mut intervals = vec![None; problem.cells.len()];
    for (found, _) in solve_all(problem, params, &layout, &status, &comps) {
        for (c, interval) in found {
            intervals[c] = Some(interval);
        }
    }
    let exposed = (0..problem.cells.len())
        .filter(|&c| {
            let cell = &problem.cells[c];
            params.primary(cell)
                && intervals[c]
                    .is_none_or(|i: Interval| !params.protection(cell).covered_by(cell.value, i))
        })
        .collect();
    Audit { intervals, exposed }
}

/// Audit the components next to a `dirty` cell (all when `None`), then, while some primary cell's
/// interval does not cover its protection, hide the cheapest deviation of its table that gives
/// it (one per component and round) and audit the components that changed again.
pub(crate) fn audit_and_repair(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    state: &mut State,
    dirty: Option<&[bool]>,
    previous: Option<&Pattern>,
) -> Audited {
    let started = Instant::now();
    let n = problem.cells.len();
    let mut stats = Stats::default();
    let mut intervals: Vec<Option<Interval>> = match previous {
        Some(p) => p.intervals.clone(),
        None => vec![None; n],
    };
    let mut unprotected: BTreeSet<usize> =
        previous.map(|p| p.unprotected.iter().copied().collect()).unwrap_or_default();
    let mut dirty: Vec<bool> = dirty.map_or_else(|| vec![true; n], <[bool]>::to_vec);
    loop {
        let relation_dirty: Vec<bool> =
            problem.relations.iter().map(|r| r.members().any(|m| dirty[m])).collect();
        let affected: Vec<Vec<usize>> = components(problem, &state.status)
            .into_iter()
            .filter(|comp| {
                comp.iter().any(|&c| state.status[c] == Status::Primary)
                    && comp.iter().any(|&c| {
                        dirty[c] || layout.cell_relations[c].iter().any(|&r| relation_dirty[r])
                    })
            })
            .collect();
        stats.components += affected.len();
        let solved = solve_all(problem, params, layout, &state.status, &affected);
        for (found, lps) in solved {
            stats.audit_lps += lps;
            for (c, interval) in found {
                intervals[c] = Some(interval);
            }
        }
        let mut newly = Vec::new();
        for comp in &affected {
            let failing: Vec<usize> = comp
                .iter()
                .copied()
                .filter(|&c| state.status[c] == Status::Primary)
                .filter(|&c| {
                    let cell = &problem.cells[c];
                    let covered = intervals[c]
                        .is_some_and(|i| params.protection(cell).covered_by(cell.value, i));
                    if covered {
                        unprotected.remove(&c);
                    }
                    !covered
                })
                .collect();
            let Some(&first) = failing.first() else { continue };
            let interval = intervals[first].unwrap_or(Interval { min: f64::NAN, max: f64::NAN });
            let (extra, lps) = repair(problem, params, layout, &state.status, first, interval);
            stats.audit_lps += lps;
            match extra {
                Some(extra) if !extra.is_empty() => newly.extend(extra),
                _ => unprotected.extend(failing),
            }
        }
        if newly.is_empty() {
            break;
        }
        newly.sort_unstable();
        newly.dedup();
        dirty = vec![false; n];
        for &c in &newly {
            state.status[c] = Status::Secondary;
            dirty[c] = true;
            stats.repairs += 1;
        }
    }
    for (c, interval) in intervals.iter_mut().enumerate() {
        if state.status[c] != Status::Primary {
            *interval = None;
        }
    }
    unprotected.retain(|&c| state.status[c] == Status::Primary);
    stats.audit_time = started.elapsed();
    Audited { intervals, unprotected: unprotected.into_iter().collect(), stats }
}

/// The cells to hide for a primary cell whose interval is too narrow: for each direction in
/// which it falls short, the cheapest deviation over every relation of its block (the whole
/// table, all levels), as in the protection heuristic but unrestricted: every shown cell the
/// deviation moves is hidden. The deviation is then a point the attacker cannot exclude, so the
/// cell's interval reaches it. `None` when no deviation exists (its a-priori bounds forbid).
fn repair(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    status: &[Status],
    cell: usize,
    interval: Interval,
) -> (Option<Vec<usize>>, usize) {
    let target = &problem.cells[cell];
    let p = params.protection(target);
    let tol = 1e-6 * (1.0 + target.value.abs());
    let v = target.value;
    // What is missing in each direction (an unknown interval: all of it).
    let known = !interval.min.is_nan();
    let mut up = if known && interval.max >= v + p.upper - tol { 0.0 } else { p.upper };
    let down = if known && interval.min <= v - p.lower + tol { 0.0 } else { p.lower };
    if !known || interval.max - interval.min < p.sliding - tol {
        up = up.max(p.sliding);
    }
    let b = layout.block[cell];
    if b == usize::MAX {
        return (None, 0);
    }
    let relations = &layout.block_relations[b];
    let mut cells: Vec<usize> =
        relations.iter().flat_map(|&r| problem.relations[r].members()).collect();
    cells.sort_unstable();
    cells.dedup();
    let local = |c: usize| cells.binary_search(&c).unwrap_or(usize::MAX);
    let equations: Vec<Vec<(usize, f64)>> = relations
        .iter()
        .map(|&r| problem.relations[r].signed().map(|(c, a)| (local(c), a)).collect())
        .collect();
    let weights: Vec<f64> = cells.iter().map(|&c| params.weight(&problem.cells[c])).collect();
    let scale = weights.iter().copied().fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let cheapest = weights.iter().map(|w| w / scale).filter(|&w| w > 0.0).fold(1.0_f64, f64::min);
    let mut hidden: Vec<bool> = cells.iter().map(|&c| status[c].hidden()).collect();
    let mut extra = Vec::new();
    let mut lps = 0;
    let t = local(cell);
    for (amount, is_up) in [(up, true), (down, false)] {
        if amount <= 0.0 {
            continue;
        }
        let rooms: Vec<Room> = cells
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let cell = &problem.cells[c];
                let (up, down) = (cell.upper - cell.value, cell.value - cell.lower);
                if hidden[i] {
                    Room::free(up, down, 1e-3 * cheapest)
                } else {
                    Room::charged(up, down, weights[i] / scale, amount)
                }
            })
            .collect();
        lps += 1;
        let Ok(moves) = lp::deviation(&rooms, &equations, t, amount, is_up) else {
            return (None, lps);
        };
        let tol = 1e-7 * (1.0 + amount);
        for (i, &(y, z)) in moves.iter().enumerate() {
            if !hidden[i] && (y > tol || z > tol) {
                hidden[i] = true;
                extra.push(cells[i]);
            }
        }
    }
    (Some(extra), lps)
}

fn solve_all(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    status: &[Status],
    components: &[Vec<usize>],
) -> Vec<(Vec<(usize, Interval)>, usize)> {
    let workers = params.workers().min(components.len()).max(1);
    if workers == 1 {
        return components
            .iter()
            .map(|c| solve_component(problem, params, layout, status, c))
            .collect();
    }
    // Deal the components out round robin so that the large ones spread over the workers.
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    components
                        .iter()
                        .enumerate()
                        .skip(w)
                        .step_by(workers)
                        .map(|(i, c)| (i, solve_component(problem, params, layout, status, c)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    })
}
