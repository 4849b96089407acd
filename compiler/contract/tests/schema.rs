//! `docs/plan.schema.json` and `docs/gendata.schema.json` are generated from the contract
//! types; this keeps the checked-in copies fresh. When one is stale the test rewrites it and
//! fails, so the next run (and the commit) has the new schema, as rust-analyzer's
//! `ensure_file_contents` does.

// The crate does no I/O (compiler/clippy.toml applies here too); this test reads and writes
// the checked-in schema.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

fn ensure_fresh(name: &str, want: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(name);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have.replace("\r\n", "\n") != want {
        std::fs::write(&path, want).expect("the schema file can be written");
        panic!(
            "docs/{name} was stale and has been regenerated from the contract types: review and \
             commit it (cargo test -p tally-contract)"
        );
    }
}

#[test]
fn plan_schema_is_fresh() {
    ensure_fresh("plan.schema.json", &tally_contract::plan::json_schema());
}

#[test]
fn gendata_schema_is_fresh() {
    ensure_fresh("gendata.schema.json", &tally_contract::gendata::json_schema());
}

#[test]
fn the_schema_describes_the_current_version() {
    let schema: serde_json::Value =
        serde_json::from_str(&tally_contract::plan::json_schema()).expect("schema is JSON");
    assert_eq!(schema["title"], "Plan");
    let required = schema["required"].as_array().expect("required members");
    for member in ["version", "sources", "metrics", "dimensions", "user_attributes", "calendar"] {
        assert!(required.iter().any(|r| r == member), "`{member}` is not required");
    }
}
