//! Suppression benchmarks: the earlier algorithm (`legacy`) against the top-down audited one on
//! the synthetic tables, and the incremental re-protection as the change grows. The side-by-side
//! table of cells hidden is printed by `examples/compare.rs`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tally_sdc::keyed::{self, Keyed};
use tally_sdc::synthetic::{self, Shape};
use tally_sdc::{legacy, protect, reprotect, Params};

fn tables(c: &mut Criterion) {
    for (name, shape, samples) in [("small", Shape::small(), 20), ("large", Shape::large(), 10)] {
        let cells = synthetic::table(&shape);
        let old = synthetic::legacy_cells(&cells);
        let problem = keyed::problem(&cells);
        let params = Params::new(shape.min_cell_size);
        let mut group = c.benchmark_group(format!("suppress/{name}/{}-cells", cells.len()));
        group.sample_size(samples);
        group.bench_function("legacy", |b| b.iter(|| legacy::suppress(&old, shape.min_cell_size)));
        group.bench_function("relations", |b| b.iter(|| keyed::problem(&cells)));
        group.bench_function("protect", |b| b.iter(|| protect(&problem, &params)));
        group.finish();
    }
}

/// Bump one large leaf (and every total above it) in each of the first `periods` periods.
fn change(cells: &[Keyed], periods: usize) -> (Vec<Keyed>, Vec<usize>) {
    let mut out = cells.to_vec();
    let mut changed = Vec::new();
    for p in 0..periods {
        let group = format!("p{p:03}");
        let Some(leaf) = (0..out.len()).find(|&i| {
            out[i].key.group == group && out[i].key.levels == 0b1111 && out[i].cell.value >= 40.0
        }) else {
            continue;
        };
        let key = out[leaf].key.clone();
        for (i, k) in out.iter_mut().enumerate() {
            let above = k.key.group == key.group
                && k.key.levels & key.levels == k.key.levels
                && (0..4)
                    .filter(|&c| k.key.levels & (1 << c) != 0)
                    .all(|c| k.key.coords[c] == key.coords[c]);
            if above {
                k.cell.value += 5.0;
                k.cell.rows += 5;
                changed.push(i);
            }
        }
    }
    (out, changed)
}

fn incremental(c: &mut Criterion) {
    let shape = Shape::large();
    let cells = synthetic::table(&shape);
    let params = Params::new(shape.min_cell_size);
    let previous = protect(&keyed::problem(&cells), &params);
    let mut group = c.benchmark_group("reprotect/large");
    group.sample_size(10);
    for periods in [1, 3, 10, 30] {
        let (changed_cells, changed) = change(&cells, periods);
        let problem = keyed::problem(&changed_cells);
        group.bench_function(format!("{periods}-periods-changed"), |b| {
            b.iter_batched(
                || (),
                |()| reprotect(&problem, &previous, &changed, &params),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, tables, incremental);
criterion_main!(benches);
