//! Spreadsheet landing files on every engine: a workbook as a daily export arrives (a title
//! row, the header in other words and order than the source's, an extra column, an empty row,
//! typed cells), loaded, validated and rejected row by row with the sheet's row numbers; a
//! missing column fails the file with its code and leaves it to load once fixed.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use support::{compile, write_tree, Engine};
use tally_runtime::error::codes;
use tally_runtime::etl::{self, Quiet, RunOptions};
use tally_runtime::generated::Generated;
use tally_runtime::{migrate, Backend};

const PROJECT: &str = r#"
retention standard {
  keep 7 years
}

/// Fear claims, as the partner agency's daily spreadsheet has them.
source claims {
  title "Fear claims"
  refresh daily at 06:00
  landing "uscis/*.xlsx" as xlsx (sheet = "Claims", skip = 1)
  load append
  key claim_id
  retention standard
  columns {
    claim_id   string
    decided_on date not null
    outcome    string
    amount     decimal(10, 2)
    opened_at  timestamp
  }
}
"#;

fn time(text: &str) -> chrono::NaiveDateTime {
    etl::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The export: title on row 1, header on row 3 (other order, other words, one extra column),
/// records on rows 4, 6, 7, 8 (row 5 empty).
fn export(path: &Path, with_outcome: bool) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Claims").expect("a sheet name");
    sheet.write_string(0, 0, "Daily export").expect("a title");
    let mut header = vec!["Opened At", "Claim ID", "Decided On", "Notes", "Amount"];
    if with_outcome {
        header.push("Outcome");
    }
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(2, c as u16, *h).expect("a header");
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let day = |text: &str| ExcelDateTime::parse_from_str(text).expect("a date");
    // Row 4: every cell typed.
    sheet.write_datetime_with_format(3, 0, day("2024-02-27 08:15:00"), &stamp).expect("stamp");
    sheet.write_string(3, 1, "A-1").expect("text");
    sheet.write_datetime_with_format(3, 2, day("2024-03-01"), &date).expect("date");
    sheet.write_string(3, 3, "first, \"quoted\"").expect("text");
    sheet.write_number(3, 4, 12.5).expect("number");
    // Row 6: an impossible date typed as text.
    sheet.write_string(5, 1, "A-2").expect("text");
    sheet.write_string(5, 2, "2024-02-30").expect("text");
    // Row 7: no decision date (required).
    sheet.write_string(6, 1, "A-3").expect("text");
    sheet.write_number(6, 4, 3.0).expect("number");
    // Row 8: a date written as text, a whole amount.
    sheet.write_string(7, 1, "A-4").expect("text");
    sheet.write_string(7, 2, "2024-03-01").expect("text");
    sheet.write_number(7, 4, 40.0).expect("number");
    if with_outcome {
        sheet.write_string(3, 5, "positive").expect("text");
        sheet.write_string(7, 5, "negative").expect("text");
    }
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    book.save(path).expect("the workbook");
}

fn rows(db: &mut dyn Backend, sql: &str) -> Vec<String> {
    let rows = db.query(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let mut out: Vec<String> = rows
        .rows
        .iter()
        .map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "))
        .collect();
    out.sort();
    out
}

fn a_daily_spreadsheet(engine: &Engine) {
    on(engine.open());
}

/// The scenario on an open, empty database of any engine.
fn on(mut db: Box<dyn Backend>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = BTreeMap::from([
        ("tally.yaml".to_owned(), "name: spreadsheets\ndialect: duckdb\npaths: [.]\n".to_owned()),
        ("main.tally".to_owned(), PROJECT.to_owned()),
    ]);
    let files = compile(&project, &BTreeMap::new());
    let generated_dir = dir.path().join("generated");
    write_tree(&generated_dir, &files);
    let landing = dir.path().join("landing");
    let generated = Generated::load(&generated_dir, db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    migrate::migrate(db.as_mut(), &generated.migrations, time("2024-03-01"), false)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = |now: &str| RunOptions {
        landing: landing.clone(),
        now: time(now),
        sources: Vec::new(),
        fault: None,
    };

    // Without the outcome column the file fails, loads nothing, and says what is missing.
    export(&landing.join("uscis/2024-03-01.xlsx"), false);
    let report = etl::run_once(db.as_mut(), &generated, &options("2024-03-01 06:00"), &mut Quiet)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.failed(), "{report}");
    let failure = report.to_string();
    assert!(failure.contains(codes::LANDING_SHEET.as_str()), "{failure}");
    assert!(failure.contains("no column `outcome`") && failure.contains("row 3"), "{failure}");
    assert_eq!(rows(db.as_mut(), "SELECT count(*) FROM cur_claims"), ["0"]);

    // Fixed and landed again under the same name: loads, with the sheet's row numbers.
    export(&landing.join("uscis/2024-03-01.xlsx"), true);
    let report = etl::run_once(db.as_mut(), &generated, &options("2024-03-02 06:00"), &mut Quiet)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.failed(), "{report}");
    assert_eq!(
        rows(
            db.as_mut(),
            "SELECT claim_id, decided_on, outcome, amount, opened_at FROM cur_claims"
        ),
        [
            "A-1 | 2024-03-01 | positive | 12.50 | 2024-02-27 08:15:00",
            "A-4 | 2024-03-01 | negative | 40.00 | NULL",
        ]
    );
    assert_eq!(
        rows(db.as_mut(), "SELECT file, line, column_name, value, reason FROM etl_rejects"),
        [
            "uscis/2024-03-01.xlsx | 6 | decided_on | 2024-02-30 | not a valid date",
            "uscis/2024-03-01.xlsx | 7 | decided_on | NULL | missing value",
        ]
    );
    assert_eq!(
        rows(
            db.as_mut(),
            "SELECT path, rows_read, rows_loaded, rows_rejected FROM etl_file_ledger"
        ),
        ["uscis/2024-03-01.xlsx | 4 | 2 | 2"]
    );
}

on_both_engines!(a_daily_spreadsheet);

mod spark {
    /// On Spark the converted sheet is read by the server from the same scratch file
    /// (`local` mode shares the file system).
    #[test]
    fn a_daily_spreadsheet() {
        let spark = tally_runtime::testing::SparkDatabase::create("xlsx");
        super::on(spark.open());
    }
}
