//! Prints, side by side, the earlier algorithm (`legacy`) and the top-down audited one on the
//! synthetic tables: time, cells hidden (% of cells and % of total value), audit time, and the
//! incremental re-protection of one, three and all periods.
//!
//! `cargo run -p tally-sdc --release --example compare [small|large|both]`

use std::time::Instant;

use tally_sdc::keyed::{self, Keyed};
use tally_sdc::synthetic::{self, Shape};
use tally_sdc::{legacy, Params, Pattern, Status};

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "both".into());
    let mut shapes = Vec::new();
    if which == "small" || which == "both" {
        shapes.push(("2-dim, 1 period", Shape::small()));
    }
    if which == "large" || which == "both" {
        shapes.push(("3-level x 3-level, 30 periods", Shape::large()));
    }
    println!(
        "| table | cells | primary | algorithm | time | hidden cells | hidden value | audit time | audit LPs | repairs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, shape) in shapes {
        let cells = synthetic::table(&shape);
        let params = Params::new(shape.min_cell_size);
        let total: f64 = cells.iter().map(|k| k.cell.value).sum();
        let primary = cells.iter().filter(|k| params.primary(&k.cell)).count();
        let pct = |n: usize| 100.0 * n as f64 / cells.len() as f64;

        let started = Instant::now();
        let old = legacy::suppress(&synthetic::legacy_cells(&cells), shape.min_cell_size);
        let old_time = started.elapsed();
        let old_value: f64 =
            cells.iter().zip(&old).filter(|(_, s)| s.hidden()).map(|(k, _)| k.cell.value).sum();
        let old_hidden = old.iter().filter(|s| s.hidden()).count();
        println!(
            "| {name} | {} | {primary} ({:.1}%) | legacy | {:.2} s | {old_hidden} ({:.1}%) | {:.1}% | (in time) | | |",
            cells.len(),
            pct(primary),
            old_time.as_secs_f64(),
            pct(old_hidden),
            100.0 * old_value / total,
        );

        let started = Instant::now();
        let new = keyed::protect_keyed(&cells, &params);
        let new_time = started.elapsed();
        row(name, &cells, &new, new_time.as_secs_f64(), total, "top-down + LP audit");

        // Incremental: change a few leaves of 1, 3 and all periods.
        let mut counts = vec![1usize, 3, shape.periods];
        counts.retain(|&p| p <= shape.periods);
        counts.dedup();
        for periods in counts {
            let (changed_cells, changed) = change(&cells, &shape, periods);
            let started = Instant::now();
            let again = keyed::reprotect_keyed(&changed_cells, &new, &changed, &params);
            let time = started.elapsed().as_secs_f64();
            let label = format!("reprotect, {periods} period(s) changed");
            row(name, &changed_cells, &again, time, total, &label);
        }
    }
}

fn row(name: &str, cells: &[Keyed], p: &Pattern, time: f64, total: f64, label: &str) {
    let hidden = p.hidden();
    let value: f64 = cells
        .iter()
        .zip(&p.status)
        .filter(|(_, s)| s.hidden())
        .map(|(k, _)| k.cell.value)
        .sum();
    let primary = p.count(Status::Primary);
    println!(
        "| {name} | {} | {primary} | {label} | {time:.2} s | {hidden} ({:.1}%) | {:.1}% | {:.2} s | {} | {} |",
        cells.len(),
        100.0 * hidden as f64 / cells.len() as f64,
        100.0 * value / total,
        p.stats.audit_time.as_secs_f64(),
        p.stats.audit_lps,
        p.stats.repairs,
    );
    assert!(p.unprotected.is_empty(), "unprotected: {:?}", p.unprotected);
}

/// Move one unit between two leaves of one office in each of the first `periods` periods
/// (every total stays, only two leaves and their item margins change).
fn change(cells: &[Keyed], shape: &Shape, periods: usize) -> (Vec<Keyed>, Vec<usize>) {
    let mut out = cells.to_vec();
    let mut changed = Vec::new();
    for p in 0..periods {
        let group = format!("p{p:03}");
        let leaf = |g: &str, i: &str| {
            out.iter().position(|k| {
                k.key.group == group
                    && k.key.levels == 0b1111
                    && k.key.coords[1].as_deref() == Some("r0o0")
                    && k.key.coords[2].as_deref() == Some(g)
                    && k.key.coords[3].as_deref() == Some(i)
            })
        };
        let (Some(a), Some(b)) = (leaf("g0", "g0i0"), leaf("g0", "g0i1")) else { continue };
        if out[b].cell.value < 1.0 {
            continue;
        }
        for (c, d) in [(a, 1.0), (b, -1.0)] {
            out[c].cell.value += d;
            out[c].cell.rows += d as i64;
            changed.push(c);
        }
        // The item margins (region r0 by item, national by item) change with them.
        for k in 0..out.len() {
            let key = &out[k].key;
            let item = key.coords[3].as_deref();
            let in_r0 = key.coords[0].is_none() || key.coords[0].as_deref() == Some("r0");
            if key.group == group && key.levels & 0b1000 != 0 && key.levels & 0b0010 == 0 && in_r0 {
                let d = match item {
                    Some("g0i0") => 1.0,
                    Some("g0i1") => -1.0,
                    _ => continue,
                };
                out[k].cell.value += d;
                out[k].cell.rows += d as i64;
                changed.push(k);
            }
        }
    }
    let _ = shape;
    (out, changed)
}
