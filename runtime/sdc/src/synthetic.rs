//! Synthetic hierarchical tables for the benchmarks and tests: a count table of location
//! (national > regions > offices) crossed with category (all > groups > items), per period,
//! with every total stored. Deterministic for a seed.

use crate::keyed::{Key, Keyed};
use crate::legacy;
use crate::model::Cell;

/// The size and shape of a synthetic table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub regions: usize,
    /// Offices per region.
    pub offices: usize,
    pub groups: usize,
    /// Items per group.
    pub items: usize,
    pub periods: usize,
    /// The share of leaf cells drawn below `min_cell_size` rows.
    pub small_share: f64,
    /// A further share of leaf cells that are zero.
    pub zero_share: f64,
    /// The share of offices (per period) that are tiny: every leaf 0 to 3 rows, so their
    /// category subtotals are small too and suppression starts above the leaves.
    pub tiny_share: f64,
    pub min_cell_size: i64,
    pub seed: u64,
}

impl Shape {
    /// 111 locations x 31 categories x 30 periods = 103,230 cells, about 10% of them primary
    /// (mostly leaves; 5% of offices are tiny, so some of their subtotals are primary too).
    pub fn large() -> Shape {
        Shape {
            regions: 10,
            offices: 10,
            groups: 5,
            items: 5,
            periods: 30,
            small_share: 0.10,
            zero_share: 0.03,
            tiny_share: 0.05,
            min_cell_size: 11,
            seed: 14,
        }
    }

    /// 46 locations x 16 categories in one period: 736 cells.
    pub fn small() -> Shape {
        Shape { regions: 5, offices: 8, groups: 3, items: 4, periods: 1, ..Shape::large() }
    }

    pub fn cells(&self) -> usize {
        (1 + self.regions + self.regions * self.offices)
            * (1 + self.groups + self.groups * self.items)
            * self.periods
    }
}

/// SplitMix64: a small, well-mixed deterministic stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo).max(1) as u64) as i64
    }
}

/// The table of a shape: every (location node, category node) of every period, the stage of a
/// cell being its depth (region 1, office 2, group 1, item 2, summed). Columns: region, office,
/// group, item.
pub fn table(shape: &Shape) -> Vec<Keyed> {
    let mut rng = Rng::new(shape.seed);
    let n = shape.min_cell_size;
    // Location nodes: (levels, region, office); category nodes likewise on bits 2 and 3.
    let mut locations: Vec<(u64, Option<usize>, Option<usize>)> = vec![(0, None, None)];
    for r in 0..shape.regions {
        locations.push((0b01, Some(r), None));
        for o in 0..shape.offices {
            locations.push((0b11, Some(r), Some(o)));
        }
    }
    let mut categories: Vec<(u64, Option<usize>, Option<usize>)> = vec![(0, None, None)];
    for g in 0..shape.groups {
        categories.push((0b0100, Some(g), None));
        for i in 0..shape.items {
            categories.push((0b1100, Some(g), Some(i)));
        }
    }
    let mut out = Vec::with_capacity(shape.cells());
    for period in 0..shape.periods {
        // Leaf rows by (region, office, group, item).
        let per_office = shape.groups * shape.items;
        let mut leaf = vec![0i64; shape.regions * shape.offices * per_office];
        let mut tiny = false;
        for (k, rows) in leaf.iter_mut().enumerate() {
            if k % per_office == 0 {
                tiny = rng.unit() < shape.tiny_share;
            }
            let u = rng.unit();
            *rows = if tiny {
                rng.range(0, 4)
            } else if u < shape.small_share {
                rng.range(1, n)
            } else if u < shape.small_share + shape.zero_share {
                0
            } else {
                let t = rng.unit();
                n + (t * t * 400.0) as i64
            };
        }
        let index = |r: usize, o: usize, g: usize, i: usize| {
            ((r * shape.offices + o) * shape.groups + g) * shape.items + i
        };
        for &(loc_levels, region, office) in &locations {
            for &(cat_levels, group, item) in &categories {
                let mut rows = 0;
                for r in region.map_or(0..shape.regions, |r| r..r + 1) {
                    for o in office.map_or(0..shape.offices, |o| o..o + 1) {
                        for g in group.map_or(0..shape.groups, |g| g..g + 1) {
                            for i in item.map_or(0..shape.items, |i| i..i + 1) {
                                rows += leaf[index(r, o, g, i)];
                            }
                        }
                    }
                }
                let key = Key {
                    group: format!("p{period:03}"),
                    levels: loc_levels | cat_levels,
                    coords: vec![
                        region.map(|r| format!("r{r}")),
                        office.map(|o| format!("r{}o{o}", region.unwrap_or(0))),
                        group.map(|g| format!("g{g}")),
                        item.map(|i| format!("g{}i{i}", group.unwrap_or(0))),
                    ],
                };
                let stage = key.depth();
                out.push(Keyed { key, cell: Cell::new(rows as f64, rows, true, stage) });
            }
        }
    }
    out
}

/// The same cells as the runtime's earlier suppression took them.
pub fn legacy_cells(cells: &[Keyed]) -> Vec<legacy::Cell> {
    cells
        .iter()
        .map(|k| legacy::Cell {
            group: k.key.group.clone(),
            levels: k.key.levels,
            coords: k.key.coords.clone(),
            value: Some(k.cell.value),
            rows: k.cell.rows,
            counts: k.cell.counts,
        })
        .collect()
}
