//! Prints, side by side, the earlier algorithm (`legacy`) and the top-down audited one on the
//! synthetic tables: time, cells hidden (% of cells and % of total value), top-level cells
//! hidden, audit time, and the incremental re-protection after a change in one, three and all
//! periods. The figures of docs/performance.md's Suppression section.
//!
//! `cargo run -p tally-sdc --profile bench --example compare [small|large|both]`

use std::time::Instant;

use tally_sdc::keyed::{self, Keyed};
use tally_sdc::synthetic::{self, Shape};
use tally_sdc::{legacy, protect, reprotect, Params, Status};

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "both".into());
    let mut shapes = Vec::new();
    if which == "small" || which == "both" {
        shapes.push(("2-dim, 1 period", Shape::small()));
    }
    if which == "large" || which == "both" {
        shapes.push(("2-dim 3x3 levels, 30 periods", Shape::large()));
    }
    println!(
        "| table | cells | primary | algorithm | time | audit time | hidden cells | hidden value | top cells hidden | LPs (protect + audit) | repairs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, shape) in shapes {
        let cells = synthetic::table(&shape);
        let params = Params::new(shape.min_cell_size);
        let total: f64 = cells.iter().map(|k| k.cell.value).sum();
        let primary = cells.iter().filter(|k| params.primary(&k.cell)).count();
        let n = cells.len();
        let pct = |k: usize| 100.0 * k as f64 / n as f64;
        let tops = cells.iter().filter(|k| k.cell.stage == 0).count();
        let summary = |hidden: &dyn Fn(usize) -> bool| {
            let count = (0..n).filter(|&i| hidden(i)).count();
            let value: f64 = (0..n).filter(|&i| hidden(i)).map(|i| cells[i].cell.value).sum();
            let top = (0..n).filter(|&i| hidden(i) && cells[i].cell.stage == 0).count();
            format!(
                "{count} ({:.1}%) | {:.2}% | {top} of {tops}",
                pct(count),
                100.0 * value / total
            )
        };
        let first = format!("| {name} | {n} | {primary} ({:.1}%)", pct(primary));

        let started = Instant::now();
        let old = legacy::suppress(&synthetic::legacy_cells(&cells), shape.min_cell_size);
        let old_time = started.elapsed().as_secs_f64();
        // The earlier pattern under this crate's audit: its primary cells an attacker narrows
        // below their protection (the earlier audit only excluded exact recovery).
        let old_status: Vec<Status> = old
            .iter()
            .map(|s| if s.hidden() { Status::Secondary } else { Status::Shown })
            .collect();
        let problem = keyed::problem(&cells);
        let old_audit = tally_sdc::audit(&problem, &params, &old_status);
        println!(
            "{first} | legacy (exact recovery only; {} primary cells narrowed below their protection) | {old_time:.2} s | (included) | {} | | |",
            old_audit.exposed.len(),
            summary(&|i| old[i].hidden())
        );

        let started = Instant::now();
        let problem = keyed::problem(&cells);
        let build = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let new = protect(&problem, &params);
        let time = started.elapsed().as_secs_f64();
        assert!(new.unprotected.is_empty());
        assert!(tally_sdc::audit(&problem, &params, &new.status).exposed.is_empty());
        println!(
            "{first} | top-down + LP audit ({} subtables; relations built in {build:.2} s) | {time:.2} s | {:.2} s | {} | {} + {} | {} |",
            new.stats.subtables,
            new.stats.audit_time.as_secs_f64(),
            summary(&|i| new.status[i].hidden()),
            new.stats.protect_lps,
            new.stats.audit_lps,
            new.stats.repairs,
        );

        let mut counts = vec![1usize, 3, shape.periods];
        counts.retain(|&p| p <= shape.periods);
        counts.dedup();
        for periods in counts {
            let (changed_cells, changed) = change(&cells, periods);
            let problem = keyed::problem(&changed_cells);
            let started = Instant::now();
            let again = reprotect(&problem, &new, &changed, &params);
            let time = started.elapsed().as_secs_f64();
            assert!(again.unprotected.is_empty());
            let hidden = again.status.iter().filter(|s| s.hidden()).count();
            println!(
                "{first} | reprotect, {periods} period(s) changed ({} subtables redone) | {time:.2} s | {:.2} s | {hidden} ({:.1}%) | | | {} + {} | {} |",
                again.stats.subtables,
                again.stats.audit_time.as_secs_f64(),
                pct(hidden),
                again.stats.protect_lps,
                again.stats.audit_lps,
                again.stats.repairs,
            );
            let _ = again.count(Status::Primary);
        }
    }
}

/// Move 3 units between two large leaves of one office in each of the first `periods` periods,
/// with every total above them.
fn change(cells: &[Keyed], periods: usize) -> (Vec<Keyed>, Vec<usize>) {
    let mut out = cells.to_vec();
    let mut changed = Vec::new();
    for p in 0..periods {
        let group = format!("p{p:03}");
        let leaves: Vec<usize> = (0..out.len())
            .filter(|&i| {
                out[i].key.group == group
                    && out[i].key.levels == 0b1111
                    && out[i].cell.value >= 40.0
            })
            .take(2)
            .collect();
        if leaves.len() < 2 {
            continue;
        }
        for (leaf, delta) in [(leaves[0], 3.0), (leaves[1], -3.0)] {
            let key = out[leaf].key.clone();
            for (i, k) in out.iter_mut().enumerate() {
                let above = k.key.group == key.group
                    && k.key.levels & key.levels == k.key.levels
                    && (0..4)
                        .filter(|&c| k.key.levels & (1 << c) != 0)
                        .all(|c| k.key.coords[c] == key.coords[c]);
                if above {
                    k.cell.value += delta;
                    k.cell.rows += delta as i64;
                    changed.push(i);
                }
            }
        }
    }
    changed.sort_unstable();
    changed.dedup();
    (out, changed)
}
