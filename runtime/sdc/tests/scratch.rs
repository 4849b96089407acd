mod common;
use common::{random_table, Spec};
use tally_sdc::keyed;
use tally_sdc::synthetic::Rng;
use tally_sdc::Params;
#[test]
fn scratch() {
    let mut rng = Rng::new(7);
    let (mut rep, mut hid, mut prim, mut total) = (0, 0, 0, 0);
    for _ in 0..100 {
        let dims = rng.range(1, 4) as usize;
        let fanouts = (0..dims).map(|_| (0..rng.range(1, 3)).map(|_| rng.range(1, 5) as usize).collect()).collect();
        let spec = Spec { fanouts, threshold: rng.range(3, 16), counts: rng.unit() < 0.5, small_share: 0.05 + 0.45 * rng.unit(), seed: rng.next_u64() };
        let cells = random_table(&spec, 300);
        let params = Params::new(spec.threshold);
        let problem = keyed::problem(&cells);
        let pattern = tally_sdc::protect(&problem, &params);
        rep += pattern.stats.repairs; hid += pattern.hidden(); prim += pattern.count(tally_sdc::Status::Primary); total += cells.len();
        assert!(pattern.unprotected.is_empty());
    }
    eprintln!("SUMMARY cells {total} primary {prim} hidden {hid} repairs {rep}");
}
