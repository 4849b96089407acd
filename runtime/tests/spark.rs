//! The Spark backend against a real Spark Connect server (`TALLY_TEST_SPARK`).

use tally_runtime::testing::SparkDatabase;
use tally_runtime::value::Value;

/// A replacement interrupted after its scratch table was written is finished when the
/// warehouse is opened: the target holds the scratch table's rows and the scratch table is
/// gone.
#[test]
fn an_interrupted_replacement_is_rolled_forward_on_open() {
    let spark = SparkDatabase::create("roll_forward");
    let mut db = spark.open();
    db.execute("CREATE TABLE t (id BIGINT, name STRING) USING PARQUET").expect("creates");
    db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')").expect("inserts");
    // Step 1 of a delete of id 2, then the "crash": steps 2 and 3 never ran.
    db.execute("CREATE TABLE _tally_rw__t USING PARQUET AS SELECT name, id FROM t WHERE id <> 2")
        .expect("scratch");
    drop(db);
    let mut db = spark.open();
    assert!(!db.table_exists("_tally_rw__t").expect("asks"), "the scratch table is dropped");
    let rows = db.query("SELECT id, name FROM t ORDER BY id").expect("reads");
    assert_eq!(
        rows.rows,
        [
            vec![Value::Int(1), Value::Text("a".into())],
            vec![Value::Int(3), Value::Text("c".into())]
        ]
    );
    assert_eq!(rows.columns, ["id", "name"]);
}

/// Values arrive as the other backends give them: decimals as text, timestamps in UTC.
#[test]
fn values_read_as_on_the_other_engines() {
    let spark = SparkDatabase::create("values");
    let mut db = spark.open();
    let rows = db
        .query(
            "SELECT CAST(1.50 AS DECIMAL(38, 6)) AS d, TIMESTAMP '2024-03-15 12:00:00' AS t, \
             DATE '2024-02-29' AS day, TRUE AS b, CAST(NULL AS STRING) AS n, 2.5D AS f",
        )
        .expect("reads");
    assert_eq!(
        rows.rows[0],
        [
            Value::Decimal("1.500000".into()),
            Value::Timestamp("2024-03-15 12:00:00".into()),
            Value::Date("2024-02-29".into()),
            Value::Bool(true),
            Value::Null,
            Value::Float(2.5),
        ]
    );
}
