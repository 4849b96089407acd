//! Spreadsheet landing files (`landing "..." as xlsx`): one sheet of a workbook, written as the
//! CSV the load statements read ([`tally_contract::plan::Xlsx::converted`]), so every engine
//! loads, validates and rejects its rows as it does a CSV file's.
//!
//! - **The sheet**: the one the source names (`sheet = "..."`), else the first.
//! - **The header row**: the first row with a value at or below row `skip + 1`. Columns are
//!   found by their header (exact, else as a name: `Decided On` is `decided_on`), in any order;
//!   other columns are ignored; a source column the header lacks fails the file (R0205).
//! - **Rows**: every row below the header, as its sheet row number (`_tally_row`, the first
//!   field: rejects name the row a person sees in the spreadsheet); a row with no value at all
//!   is not a record and is left out.
//! - **Values** as text, as the CSV of an export would have them: numbers in their shortest
//!   form (`3`, not `3.0`), dates `YYYY-MM-DD` and date-times `YYYY-MM-DD HH:MM:SS[.fff]`,
//!   booleans `true`/`false`, an empty cell no value. A formula error (`#DIV/0!`) is its text,
//!   which a typed column rejects with its reason.

use std::io::{Cursor, Write};
use std::path::PathBuf;

use calamine::{Data, Reader};
use sha2::{Digest, Sha256};

use crate::error::{codes, Error, Result};
use crate::plan::{ColumnType, SourcePlan, Xlsx};

use super::landing::LandedFile;

/// A converted sheet: the CSV file the engine reads, in a scratch directory removed on drop.
#[derive(Debug)]
pub struct Converted {
    _scratch: tempfile::TempDir,
    pub csv: PathBuf,
    /// Records written (rows with a value below the header).
    pub rows: u64,
}

/// Converts `file` of `source` (an xlsx landing) to CSV, after checking that its bytes are the
/// ones the ledger recorded.
pub fn convert(source: &SourcePlan, file: &LandedFile) -> Result<Converted> {
    let bytes = std::fs::read(&file.absolute).map_err(|e| {
        Error::new(
            codes::LANDING_UNREADABLE,
            format!("cannot read {}: {e}", file.absolute.display()),
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != file.sha256 || bytes.len() as u64 != file.size {
        return Err(Error::new(
            codes::LANDED_FILE_CHANGED,
            format!("{} changed while it was being loaded", file.path),
        )
        .help(
            "land files under a temporary name (starting with `.`) and rename them when complete",
        ));
    }
    let scratch = tempfile::tempdir().map_err(|e| {
        Error::new(codes::LANDING_UNREADABLE, format!("cannot create a scratch directory: {e}"))
    })?;
    let csv = scratch.path().join(format!("{}.csv", source.name));
    let default = Xlsx { sheet: None, skip: 0 };
    let options = source.landing.xlsx.as_ref().unwrap_or(&default);
    let columns: Vec<(&str, bool)> =
        source.columns.iter().map(|c| (c.name.as_str(), c.ty == ColumnType::Timestamp)).collect();
    let text = sheet_csv(&bytes, options, &columns, &file.path)?;
    std::fs::File::create(&csv).and_then(|mut f| f.write_all(text.csv.as_bytes())).map_err(
        |e| Error::new(codes::LANDING_UNREADABLE, format!("cannot write {}: {e}", csv.display())),
    )?;
    Ok(Converted { _scratch: scratch, csv, rows: text.rows })
}

/// The CSV text of one sheet and how many records it holds.
#[derive(Debug, PartialEq)]
pub struct SheetCsv {
    pub csv: String,
    pub rows: u64,
}

/// The sheet of `workbook` (its bytes) that `options` names, as CSV: a header line
/// (`_tally_row` and `columns`), then one line per record. Each column says whether it is a
/// timestamp (a date cell there is a date-time, midnight included).
pub fn sheet_csv(
    workbook: &[u8],
    options: &Xlsx,
    columns: &[(&str, bool)],
    path: &str,
) -> Result<SheetCsv> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::new(
            codes::LANDING_UNREADABLE,
            format!("{path} is not a readable xlsx workbook: {e}"),
        )
        .help("save the spreadsheet as an Excel workbook (.xlsx)")
    };
    let mut book = calamine::Xlsx::new(Cursor::new(workbook)).map_err(|e| unreadable(&e))?;
    let names = book.sheet_names();
    let sheet = match &options.sheet {
        Some(name) => names.iter().find(|n| *n == name).cloned().ok_or_else(|| {
            Error::new(
                codes::LANDING_SHEET,
                format!("{path} has no sheet named `{name}`; its sheets: {}", names.join(", ")),
            )
            .help("name one of its sheets in the source's `landing ... as xlsx (sheet = \"...\")`")
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::new(codes::LANDING_SHEET, format!("{path} has no sheet")))?,
    };
    let range = book.worksheet_range(&sheet).map_err(|e| unreadable(&e))?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    // Rows as (sheet row number, 1-based; cells from column `first_col`).
    let rows =
        range.rows().enumerate().map(|(i, cells)| (u64::from(first_row) + i as u64 + 1, cells));
    let mut rows = rows.skip_while(|(number, cells)| {
        *number <= options.skip || cells.iter().all(|c| matches!(c, Data::Empty))
    });
    let Some((header_row, header)) = rows.next() else {
        return Err(Error::new(
            codes::LANDING_SHEET,
            format!("sheet `{sheet}` of {path} has no header row below row {}", options.skip),
        )
        .help("the first row with a value after the skipped rows names the columns"));
    };
    let heads: Vec<String> = header.iter().map(|c| text(c, false).unwrap_or_default()).collect();
    let mut positions = Vec::with_capacity(columns.len());
    for &(column, _) in columns {
        let exact = heads.iter().position(|h| h == column);
        let loose = || heads.iter().position(|h| loose_name(h) == loose_name(column));
        match exact.or_else(loose) {
            Some(p) => positions.push(p),
            None => {
                return Err(Error::new(
                    codes::LANDING_SHEET,
                    format!(
                        "sheet `{sheet}` of {path} has no column `{column}`: its header (row \
                         {header_row}) is {}",
                        heads
                            .iter()
                            .filter(|h| !h.is_empty())
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .help("the header row names each column of the source; add the missing one"));
            }
        }
    }
    let mut csv = String::new();
    csv.push_str("_tally_row");
    for (column, _) in columns {
        csv.push(',');
        csv.push_str(&field(column));
    }
    csv.push('\n');
    let mut count = 0;
    for (number, cells) in rows {
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        count += 1;
        csv.push_str(&number.to_string());
        for (&p, &(_, timestamp)) in positions.iter().zip(columns) {
            csv.push(',');
            if let Some(value) = cells.get(p).and_then(|c| text(c, timestamp)) {
                csv.push_str(&field(&value));
            }
        }
        csv.push('\n');
    }
    Ok(SheetCsv { csv, rows: count })
}

/// A header as a column name: lower case, every run of other characters than letters and
/// digits one `_` (`Decided On` is `decided_on`).
fn loose_name(header: &str) -> String {
    let mut out = String::new();
    for word in header.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// A cell as the text a CSV export would hold; `None` for no value. A date-time at midnight
/// is a date, unless the column is a timestamp.
fn text(cell: &Data, timestamp: bool) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::String(s) if s.is_empty() => None,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(number(*f)),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(dt) if dt.is_datetime() => Some(match dt.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN && !timestamp => {
                at.format("%Y-%m-%d").to_string()
            }
            Some(at) if at.and_utc().timestamp_subsec_millis() == 0 => {
                at.format("%Y-%m-%d %H:%M:%S").to_string()
            }
            Some(at) => at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            None => number(dt.as_f64()),
        }),
        // A duration: its length in days, as Excel keeps it.
        Data::DateTime(dt) => Some(number(dt.as_f64())),
        Data::Error(e) => Some(e.to_string()),
    }
}

/// A number in its shortest form: whole numbers without a fraction.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// A CSV field, quoted when it must be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn workbook() -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("Claims").expect("a sheet name");
        sheet.write_string(0, 0, "USCIS export, daily").expect("a title");
        // Header on row 3, columns in another order than the source's, one extra.
        for (c, h) in ["Decided On", "claim_id", "notes", "Outcome", "Amount"].iter().enumerate() {
            sheet.write_string(2, c as u16, *h).expect("a header");
        }
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let day = ExcelDateTime::parse_from_str("2024-03-01").expect("a date");
        sheet.write_datetime_with_format(3, 0, &day, &date).expect("a date cell");
        sheet.write_string(3, 1, "A-1").expect("text");
        sheet.write_string(3, 3, "positive, \"credible\"").expect("text");
        sheet.write_number(3, 4, 3.0).expect("a number");
        // Row 5 empty: not a record. Row 6: a fraction, no date, a formula error.
        sheet.write_string(5, 1, "A-2").expect("text");
        sheet.write_number(5, 4, 2.5).expect("a number");
        sheet.write_formula(5, 3, "=1/0").expect("a formula");
        book.save_to_buffer().expect("a workbook")
    }

    #[test]
    fn a_sheet_as_csv_with_its_row_numbers() {
        let options = Xlsx { sheet: Some("Claims".into()), skip: 1 };
        let got = sheet_csv(
            &workbook(),
            &options,
            &[("claim_id", false), ("outcome", false), ("decided_on", false), ("amount", false)],
            "x.xlsx",
        )
        .expect("converted");
        assert_eq!(got.rows, 2);
        let lines: Vec<&str> = got.csv.lines().collect();
        assert_eq!(lines[0], "_tally_row,claim_id,outcome,decided_on,amount");
        assert_eq!(lines[1], "4,A-1,\"positive, \"\"credible\"\"\",2024-03-01,3");
        // A formula is the value the workbook keeps for it; the row keeps its sheet number.
        assert!(lines[2].starts_with("6,A-2,"), "{}", lines[2]);
        assert!(lines[2].ends_with(",,2.5"), "{}", lines[2]);
    }

    #[test]
    fn a_missing_sheet_or_column_names_what_there_is() {
        let missing = Xlsx { sheet: Some("Fear".into()), skip: 0 };
        let e = sheet_csv(&workbook(), &missing, &[("claim_id", false)], "x.xlsx")
            .expect_err("no sheet");
        assert_eq!(e.code, codes::LANDING_SHEET);
        assert!(e.to_string().contains("its sheets: Claims"), "{e}");
        let options = Xlsx { sheet: None, skip: 1 };
        let e = sheet_csv(&workbook(), &options, &[("a_number", false)], "x.xlsx")
            .expect_err("no column");
        assert_eq!(e.code, codes::LANDING_SHEET);
        assert!(e.to_string().contains("row 3"), "{e}");
        let e = sheet_csv(b"not a zip", &options, &[("a", false)], "x.xlsx").expect_err("not xlsx");
        assert_eq!(e.code, codes::LANDING_UNREADABLE);
    }
}
