//! Against a running Spark Connect server (`TALLY_TEST_SPARK=sc://127.0.0.1:PORT`).

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use tally_spark_connect::{Client, ErrorKind};

fn server() -> String {
    std::env::var("TALLY_TEST_SPARK").unwrap_or_else(|_| {
        panic!(
            "TALLY_TEST_SPARK is not set: start a Spark Connect server (see docs/runtime.md, \
             \"Spark\") and set TALLY_TEST_SPARK=sc://127.0.0.1:15002"
        )
    })
}

#[test]
fn statements_run_and_queries_return_arrow_rows() {
    let mut client = Client::connect(&server()).expect("connects");
    client
        .execute("CREATE OR REPLACE TEMPORARY VIEW sc_test_v AS SELECT id FROM range(5)")
        .expect("runs");
    let answer =
        client.query("SELECT sum(id) AS total, count(*) AS n FROM sc_test_v").expect("queries");
    let schema = answer.schema.expect("schema");
    assert_eq!(schema.field(0).name(), "total");
    let rows: usize = answer.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1);
    let total = answer.batches[0].column(0).as_primitive::<Int64Type>().value(0);
    assert_eq!(total, 10);
    let error = client.query("SELECT * FROM no_such_table_anywhere").expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Statement);
    assert!(error.message.contains("no_such_table_anywhere"), "{}", error.message);
    // The session survives an error.
    let answer = client.query("SELECT 1 AS one WHERE 1 = 0").expect("queries");
    assert_eq!(answer.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

#[test]
fn an_unreachable_server_is_a_connect_error() {
    let error = Client::connect("sc://127.0.0.1:1").expect_err("nothing listens on port 1");
    assert_eq!(error.kind, ErrorKind::Connect);
}
