//! Secondary suppression, top-down through the stages (the modular method of HiTaS), and its
//! incremental form.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::audit;
use crate::lp::{self, Room};
use crate::model::{Params, Pattern, Problem, Stats, Status};

/// A subtable: one linked component of the relations whose parent is at one stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subtable {
    pub relations: Vec<usize>,
    /// Its cells, sorted.
    pub cells: Vec<usize>,
}

/// The problem cut into subtables, in processing order.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub subtables: Vec<Subtable>,
    /// Consecutive runs of subtables of one stage (independent of each other).
    pub stages: Vec<std::ops::Range<usize>>,
    /// The first subtable each cell belongs to (`usize::MAX`: none): the one that decides
    /// whether it is hidden. Cells of a subtable decided by an earlier one are its margins.
    pub decider: Vec<usize>,
    /// The relations each cell is a member of.
    pub cell_relations: Vec<Vec<usize>>,
    /// The block of each cell: cells linked by relations of any stage (a table with all its
    /// levels; `usize::MAX` for a cell in no relation), and each block's relations.
    pub block: Vec<usize>,
    pub block_relations: Vec<Vec<usize>>,
}

impl Layout {
    pub fn new(problem: &Problem) -> Layout {
        let n = problem.cells.len();
        let mut cell_relations = vec![Vec::new(); n];
        let mut by_stage: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (r, rel) in problem.relations.iter().enumerate() {
            for m in rel.members() {
                cell_relations[m].push(r);
            }
            by_stage.entry(problem.cells[rel.parent].stage).or_default().push(r);
        }
        let mut subtables = Vec::new();
        let mut stages = Vec::new();
        let mut uf = UnionFind::new(n);
        for relations in by_stage.values() {
            for &r in relations {
                let rel = &problem.relations[r];
                for c in &rel.children {
                    uf.union(rel.parent, *c);
                }
            }
            // Roots are the smallest cell of their component (see `union`): a canonical order.
            let mut components: BTreeMap<usize, Subtable> = BTreeMap::new();
            for &r in relations {
                let root = uf.find(problem.relations[r].parent);
                let sub = components
                    .entry(root)
                    .or_insert_with(|| Subtable { relations: Vec::new(), cells: Vec::new() });
                sub.relations.push(r);
                sub.cells.extend(problem.relations[r].members());
            }
            let start = subtables.len();
            for (_, mut sub) in components {
                sub.cells.sort_unstable();
                sub.cells.dedup();
                subtables.push(sub);
            }
            stages.push(start..subtables.len());
            // Reset the union-find for the cells this stage touched.
            for &r in relations {
                for m in problem.relations[r].members() {
                    uf.parent[m] = m;
                }
            }
        }
        let mut decider = vec![usize::MAX; n];
        for (s, sub) in subtables.iter().enumerate() {
            for &c in &sub.cells {
                if decider[c] == usize::MAX {
                    decider[c] = s;
                }
            }
        }
        let mut uf = UnionFind::new(n);
        for rel in &problem.relations {
            for &c in &rel.children {
                uf.union(rel.parent, c);
            }
        }
        let mut block = vec![usize::MAX; n];
        let mut block_relations: Vec<Vec<usize>> = Vec::new();
        let mut numbers: BTreeMap<usize, usize> = BTreeMap::new();
        for (r, rel) in problem.relations.iter().enumerate() {
            let root = uf.find(rel.parent);
            let next = numbers.len();
            let b = *numbers.entry(root).or_insert(next);
            if b == block_relations.len() {
                block_relations.push(Vec::new());
            }
            block_relations[b].push(r);
            for m in rel.members() {
                block[m] = b;
            }
        }
        Layout { subtables, stages, decider, cell_relations, block, block_relations }
    }
}

pub(crate) struct UnionFind {
    pub parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n).collect() }
    }

    pub fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller root wins, so roots do not depend on the order of unions' sides.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// The statuses and deviations needed while protecting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub status: Vec<Status>,
    pub need: Vec<(f64, f64)>,
}

impl State {
    /// Primary cells hidden with their protection as their need; everything else shown.
    pub fn initial(problem: &Problem, params: &Params) -> State {
        let mut state = State {
            status: vec![Status::Shown; problem.cells.len()],
            need: vec![(0.0, 0.0); problem.cells.len()],
        };
        for c in 0..problem.cells.len() {
            state.reset(problem, params, c);
        }
        state
    }

    pub fn reset(&mut self, problem: &Problem, params: &Params, c: usize) {
        let cell = &problem.cells[c];
        if params.primary(cell) {
            let p = params.protection(cell);
            self.status[c] = Status::Primary;
            self.need[c] = (p.upper, p.lower);
        } else {
            self.status[c] = Status::Shown;
            self.need[c] = (0.0, 0.0);
        }
    }
}

/// The changes one subtable makes.
struct Update {
    cells: Vec<(usize, Status, (f64, f64))>,
    lps: usize,
    certified: usize,
}

/// Protect one subtable given the state of the cells decided before it: every hidden cell of
/// the subtable with a need (its primary cells and its hidden margins) gets, in each direction,
/// the cheapest movement the subtable's relations allow; every shown cell that has to move is
/// hidden, and every cell the subtable decides keeps the movement as its need for the stages
/// below.
fn protect_subtable(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    index: usize,
    state: &State,
) -> Update {
    let sub = &layout.subtables[index];
    let stage = problem.cells[problem.relations[sub.relations[0]].parent].stage;
    // The relations above the subtable that hold one of its hidden margins: a margin's movement
    // must balance there too, with the shown cells there fixed and the hidden ones moving
    // within what their own stage allowed. Their other cells come after the subtable's.
    let mut above: Vec<usize> = sub
        .cells
        .iter()
        .filter(|&&c| layout.decider[c] < index && state.status[c].hidden())
        .flat_map(|&c| layout.cell_relations[c].iter().copied())
        .filter(|&r| problem.cells[problem.relations[r].parent].stage < stage)
        .collect();
    above.sort_unstable();
    above.dedup();
    let mut outside: Vec<usize> = above
        .iter()
        .flat_map(|&r| problem.relations[r].members())
        .filter(|c| sub.cells.binary_search(c).is_err())
        .collect();
    outside.sort_unstable();
    outside.dedup();
    let local = |c: usize| match sub.cells.binary_search(&c) {
        Ok(i) => i,
        Err(_) => sub.cells.len() + outside.binary_search(&c).unwrap_or(0),
    };
    let equations: Vec<Vec<(usize, f64)>> = sub
        .relations
        .iter()
        .chain(&above)
        .map(|&r| problem.relations[r].signed().map(|(c, a)| (local(c), a)).collect())
        .collect();
    let mut status: Vec<Status> = sub.cells.iter().map(|&c| state.status[c]).collect();
    let mut need: Vec<(f64, f64)> = sub.cells.iter().map(|&c| state.need[c]).collect();
    let decided: Vec<bool> = sub.cells.iter().map(|&c| layout.decider[c] < index).collect();
    // Costs relative to the subtable's largest; moving a hidden cell costs a thousandth of the
    // cheapest shown cell, a shown margin a thousand times the dearest.
    let weights: Vec<f64> = sub.cells.iter().map(|&c| params.weight(&problem.cells[c])).collect();
    let scale = weights.iter().copied().fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let cheapest = weights.iter().map(|w| w / scale).filter(|&w| w > 0.0).fold(1.0_f64, f64::min);
    let free = 1e-3 * cheapest;
    let targets: Vec<usize> = (0..sub.cells.len())
        .filter(|&i| status[i].hidden() && (need[i].0 > 0.0 || need[i].1 > 0.0))
        .collect();
    let stage_start = layout
        .stages
        .iter()
        .find(|range| range.contains(&index))
        .map_or(index, |range| range.start);
    let mut lps = 0;
    let mut certified = 0;
    for &t in &targets {
        for up in [true, false] {
            let amount = if up { need[t].0 } else { need[t].1 };
            if amount <= 0.0 {
                continue;
            }
            // A point moving only hidden cells that keeps every relation of the whole table
            // balanced already gives the cell its protection this way, and keeps giving it (a
            // pattern only hides more): no program, and nothing more to hide.
            // What is hidden as far as this subtable may know: its own cells as it has them,
            // cells decided by an earlier stage, and every other cell as it starts (primary or
            // shown). So the pattern does not depend on the order subtables of one stage run
            // in, nor on what a previous pattern hid below (re-protection finds what
            // protection does).
            let hidden = |c: usize| match sub.cells.binary_search(&c) {
                Ok(i) => status[i].hidden(),
                Err(_) if layout.decider[c] < stage_start => state.status[c].hidden(),
                Err(_) => params.primary(&problem.cells[c]),
            };
            if audit::sibling_certificate(problem, layout, &hidden, sub.cells[t], amount, up) {
                certified += 1;
                continue;
            }
            let rooms: Vec<Room> = sub
                .cells
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let cell = &problem.cells[c];
                    let (up, down) = (cell.upper - cell.value, cell.value - cell.lower);
                    if status[i].hidden() {
                        if decided[i] && state.status[c].hidden() {
                            // A hidden margin moves only as far as the stage above allowed.
                            Room::free(up.min(need[i].0), down.min(need[i].1), free)
                        } else {
                            Room::free(up, down, free)
                        }
                    } else if decided[i] {
                        // A shown margin is fixed; hiding it reopens the stage above, so only
                        // as the last resort.
                        Room::charged(up, down, 1e3, amount)
                    } else {
                        Room::charged(up, down, weights[i] / scale, amount)
                    }
                })
                .chain(outside.iter().map(|&c| {
                    let cell = &problem.cells[c];
                    if state.status[c].hidden() {
                        let (up, down) = (cell.upper - cell.value, cell.value - cell.lower);
                        Room::free(up.min(state.need[c].0), down.min(state.need[c].1), free)
                    } else {
                        Room::free(0.0, 0.0, free)
                    }
                }))
                .collect();
            lps += 1;
            let Ok(moves) = lp::deviation(&rooms, &equations, t, amount, up) else {
                // Not protectable inside the subtable: the audit's repair takes over.
                continue;
            };
            let tol = 1e-7 * (1.0 + amount);
            for (i, &(y, z)) in moves.iter().enumerate().take(sub.cells.len()) {
                if i == t || (y <= tol && z <= tol) {
                    continue;
                }
                let reopened = decided[i] && !state.status[sub.cells[i]].hidden();
                if !status[i].hidden() {
                    status[i] = Status::Secondary;
                }
                if !decided[i] || reopened {
                    need[i] = (need[i].0.max(y), need[i].1.max(z));
                }
            }
        }
    }
    let cells = sub
        .cells
        .iter()
        .enumerate()
        .filter(|&(i, &c)| status[i] != state.status[c] || need[i] != state.need[c])
        .map(|(i, &c)| (c, status[i], need[i]))
        .collect();
    Update { cells, lps, certified }
}

/// Protect the given subtables of one stage, spread over the workers, and apply their changes.
fn protect_stage(
    problem: &Problem,
    params: &Params,
    layout: &Layout,
    subtables: &[usize],
    state: &mut State,
    stats: &mut Stats,
) -> Vec<usize> {
    let workers = params.workers().min(subtables.len()).max(1);
    let updates: Vec<Update> = if workers == 1 {
        subtables.iter().map(|&s| protect_subtable(problem, params, layout, s, state)).collect()
    } else {
        let shared: &State = state;
        let chunk = subtables.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = subtables
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&s| protect_subtable(problem, params, layout, s, shared))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut changed = Vec::new();
    for update in updates {
        stats.protect_lps += update.lps;
        stats.protect_certified += update.certified;
        for (c, s, n) in update.cells {
            state.status[c] = s;
            state.need[c] = n;
            changed.push(c);
        }
    }
    stats.subtables += subtables.len();
    changed
}

/// Protect a problem from scratch: the statuses of all cells and each primary cell's audited
/// attacker interval.
pub fn protect(problem: &Problem, params: &Params) -> Pattern {
    let started = Instant::now();
    let layout = Layout::new(problem);
    let mut state = State::initial(problem, params);
    let mut stats = Stats::default();
    for range in &layout.stages {
        let all: Vec<usize> = range.clone().collect();
        protect_stage(problem, params, &layout, &all, &mut state, &mut stats);
    }
    stats.protect_time = started.elapsed();
    let audited = audit::audit_and_repair(problem, params, &layout, &mut state, None, None);
    finish(state, audited, stats)
}

/// Re-protect after a refresh changed the values (or rows) of some cells, given the pattern of
/// the previous refresh over the same cells and relations. Only the subtables holding a changed
/// cell are protected again, then those holding a cell whose status or need that changed, stage
/// by stage down; only the components of hidden cells next to a changed cell are audited again.
/// The guarantee is the one of [`protect`]: every primary cell's interval is audited.
///
/// # Panics
/// When `previous` is not a pattern of a problem with as many cells, or a changed index is not
/// a cell (both are the caller's bookkeeping, not data).
pub fn reprotect(
    problem: &Problem,
    previous: &Pattern,
    changed: &[usize],
    params: &Params,
) -> Pattern {
    assert_eq!(previous.status.len(), problem.cells.len(), "a pattern of another problem");
    let started = Instant::now();
    let layout = Layout::new(problem);
    let mut state = State { status: previous.status.clone(), need: previous.need.clone() };
    let mut stats = Stats::default();
    let mut dirty = vec![false; problem.cells.len()];
    for &c in changed {
        dirty[c] = true;
        if layout.decider[c] == usize::MAX {
            // In no relation: its status is its own.
            state.reset(problem, params, c);
        }
    }
    for range in &layout.stages {
        let redo: Vec<usize> = range
            .clone()
            .filter(|&s| layout.subtables[s].cells.iter().any(|&c| dirty[c]))
            .collect();
        if redo.is_empty() {
            continue;
        }
        for &s in &redo {
            for &c in &layout.subtables[s].cells {
                if layout.decider[c] == s {
                    state.reset(problem, params, c);
                }
            }
        }
        protect_stage(problem, params, &layout, &redo, &mut state, &mut stats);
        for &s in &redo {
            for &c in &layout.subtables[s].cells {
                if state.status[c] != previous.status[c] || state.need[c] != previous.need[c] {
                    dirty[c] = true;
                }
            }
        }
    }
    stats.protect_time = started.elapsed();
    let audited =
        audit::audit_and_repair(problem, params, &layout, &mut state, Some(&dirty), Some(previous));
    finish(state, audited, stats)
}

fn finish(state: State, audited: audit::Audited, mut stats: Stats) -> Pattern {
    stats.components = audited.stats.components;
    stats.audit_lps = audited.stats.audit_lps;
    stats.audit_time = audited.stats.audit_time;
    stats.repairs = audited.stats.repairs;
    Pattern {
        status: state.status,
        intervals: audited.intervals,
        unprotected: audited.unprotected,
        need: state.need,
        stats,
    }
}
