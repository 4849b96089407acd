//! Property tests on random hierarchical tables (1 to 3 dimensions, each a 2- or 3-level
//! hierarchy; random sizes, values, thresholds, counts or sums): an independent attacker cannot
//! narrow any hidden primary cell below its protection, no shown cell is primary, and the
//! pattern is deterministic and independent of the order of the cells.

mod common;

use common::{assert_safe, random_table, Spec};
use proptest::prelude::*;
use tally_sdc::keyed::{self, Keyed};
use tally_sdc::synthetic::Rng;
use tally_sdc::Params;

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(prop::collection::vec(1usize..=4, 1..=2), 1..=3),
        3i64..=15,
        any::<bool>(),
        0.05f64..0.5,
        any::<u64>(),
    )
        .prop_map(|(fanouts, threshold, counts, small_share, seed)| Spec {
            fanouts,
            threshold,
            counts,
            small_share,
            seed,
        })
}

fn shuffled(cells: &[Keyed], seed: u64) -> (Vec<Keyed>, Vec<usize>) {
    let mut order: Vec<usize> = (0..cells.len()).collect();
    let mut rng = Rng::new(seed);
    for i in (1..order.len()).rev() {
        let j = rng.range(0, i as i64 + 1) as usize;
        order.swap(i, j);
    }
    (order.iter().map(|&i| cells[i].clone()).collect(), order)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_attacker_narrows_a_hidden_small_cell(spec in spec()) {
        let cells = random_table(&spec, 300);
        let params = Params::new(spec.threshold);
        let pattern = keyed::protect_keyed(&cells, &params);
        assert_safe(&keyed::problem(&cells), &params, &pattern);
        if std::env::var("SDC_TRACE").is_ok() {
            eprintln!("TRACE cells {} primary {} secondary {} repairs {} {:?}", cells.len(), pattern.count(tally_sdc::Status::Primary), pattern.count(tally_sdc::Status::Secondary), pattern.stats.repairs, spec);
        }
    }

    #[test]
    fn the_pattern_is_deterministic_and_order_free(spec in spec(), seed in any::<u64>()) {
        let cells = random_table(&spec, 150);
        let params = Params::new(spec.threshold);
        let first = keyed::protect_keyed(&cells, &params);
        let again = keyed::protect_keyed(&cells, &params);
        prop_assert_eq!(&first.status, &again.status);
        prop_assert_eq!(&first.intervals, &again.intervals);
        let (other, order) = shuffled(&cells, seed);
        let permuted = keyed::protect_keyed(&other, &params);
        for (at, &i) in order.iter().enumerate() {
            prop_assert_eq!(permuted.status[at], first.status[i]);
        }
        // Single-threaded gives the same answer as the workers.
        let alone = keyed::protect_keyed(&cells, &Params { threads: 1, ..params.clone() });
        prop_assert_eq!(&alone.status, &first.status);
    }
}
