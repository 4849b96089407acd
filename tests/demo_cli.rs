//! `tally demo`, the README's main command, run as a user runs it: the real binary from the
//! repository root, on a fresh directory, at a small scale. It must compile, generate, migrate,
//! run and then print every dashboard with its headline metrics and its source systems; the
//! warehouse it leaves must verify its audit trail.

mod common;

use common::cli::{stderr, succeeded, tally};

#[test]
fn the_demo_runs_end_to_end_and_names_every_dashboard_s_sources() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("demo");
    let output =
        tally().args(["demo", "--scale", "0.001", "--dir"]).arg(&dir).output().expect("runs");
    let stdout = succeeded(&output);
    for step in [
        "== compile the EMIS-EDW definitions",
        "== generate synthetic landing files (fake people only)",
        "== migrate a fresh DuckDB warehouse",
        "== dashboards: headline metrics, fiscal year, national",
    ] {
        assert!(stdout.contains(step), "no {step:?} in\n{stdout}");
    }
    // The eight dashboards of Appendix A and Qlik AMO's of Appendix D, each followed by the
    // systems its numbers come from.
    for title in [
        "AMO operations against targets",
        "BorderStat",
        "Airport Wait Time",
        "Western Hemisphere Travel Initiative (WHTI)",
        "Workload Staffing Model (WSM)",
        "Manager's Dashboard",
        "Targeting & Analysis Systems Program Directorate (TASPD) Security",
        "Cargo Enforcement Reporting and Tracking System (CERTS)",
        "Centers of Excellence and Expertise (CEE)",
    ] {
        assert!(stdout.lines().any(|l| l == title), "no dashboard {title:?} in\n{stdout}");
    }
    let sources: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("  Source systems: ")).collect();
    assert_eq!(sources.len(), 9, "{stdout}");
    assert!(
        stdout.contains("  Source systems: Seized Currency and Asset Tracking System (SEACATS)"),
        "{stdout}"
    );
    // Every headline is one its reader may see: TASPD Security is read by the security officer.
    assert!(!stdout.contains("error["), "{stdout}");
    // A metric without time (importer accounts as they are now) has its value, not "no data".
    let accounts = stdout.lines().find(|l| l.contains("CEE importer accounts")).expect("listed");
    assert!(accounts.contains(" now ") && !accounts.contains("no data"), "{accounts}");
    // The synthetic data holds what the definitions look for: travelers by their two-letter
    // citizenship, flights whose passengers queue together.
    for headline in [
        "WHTI compliance rate, U.S. travelers",
        "WHTI compliance rate, Canadian travelers",
        "Flights with More than 3% of passengers having wait time greater than 60 minutes",
    ] {
        let line = stdout.lines().find(|l| l.contains(headline)).expect("listed");
        assert!(!line.contains("no data"), "{line}");
    }
    assert!(dir.join("warehouse.duckdb").is_file());
    // A second run empties its own directory and starts again.
    let again =
        tally().args(["demo", "--scale", "0.001", "--dir"]).arg(&dir).output().expect("runs");
    assert!(again.status.success(), "{}", stderr(&again));
    let verify = tally()
        .args(["audit", "verify", "--db"])
        .arg(dir.join("warehouse.duckdb"))
        .arg("--generated")
        .arg(dir.join("generated"))
        .output()
        .expect("runs");
    succeeded(&verify);
}
