//! Writing generated rows as landing files: CSV with the source's options (delimiter, quote,
//! null text, header, lines to skip), JSON lines, Parquet, which an in-process DuckDB
//! writes from a CSV file of the same rows, and spreadsheets (xlsx, with rust_xlsxwriter). Every value is written as the loader reads it: the
//! plan's validation accepts exactly these spellings on both engines.

use crate::backend::{Backend as _, DuckDb};
use crate::error::{codes, Error, Result};
use crate::plan::{Csv as CsvSpec, LandingFormat, SourcePlan as SourceSpec};
use chrono::{NaiveDate, NaiveDateTime};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

/// One generated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Str(String),
    Int(i64),
    /// `units / 10^scale`.
    Dec {
        units: i64,
        scale: u8,
    },
    Bool(bool),
    Date(NaiveDate),
    Ts(NaiveDateTime),
    /// Text written as is, whatever the column's type: the deliberately bad values.
    Raw(String),
}

impl Val {
    /// The text form, `None` for NULL.
    pub fn text(&self) -> Option<String> {
        Some(match self {
            Val::Null => return None,
            Val::Str(s) | Val::Raw(s) => s.clone(),
            Val::Int(i) => i.to_string(),
            Val::Dec { units, scale } => decimal_text(*units, *scale),
            Val::Bool(b) => b.to_string(),
            Val::Date(d) => d.format("%Y-%m-%d").to_string(),
            Val::Ts(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        })
    }

    pub fn as_ts(&self) -> Option<NaiveDateTime> {
        match self {
            Val::Ts(t) => Some(*t),
            Val::Date(d) => Some(d.and_time(chrono::NaiveTime::MIN)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn decimal_text(units: i64, scale: u8) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let divisor = 10u64.pow(u32::from(scale));
    format!(
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = usize::from(scale)
    )
}

/// Writes one landing file of `source` at `path` (its directory is created).
pub fn write_file(source: &SourceSpec, path: &Path, rows: &[Vec<Val>]) -> Result<u64> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| cannot_write(dir, &e))?;
    }
    match source.landing.format {
        LandingFormat::Jsonl => write_jsonl(source, path, rows)?,
        LandingFormat::Parquet => write_parquet(source, path, rows)?,
        LandingFormat::Xlsx => write_xlsx(source, path, rows)?,
        LandingFormat::Csv => {
            let default_csv = CsvSpec {
                delimiter: ",".to_owned(),
                header: true,
                quote: "\"".to_owned(),
                null: String::new(),
                skip: 0,
            };
            let csv = source.landing.csv.as_ref().unwrap_or(&default_csv);
            write_csv(source, csv, path, rows)?;
        }
    }
    Ok(rows.len() as u64)
}

fn cannot_write(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::new(codes::GEN_DATA_OUTPUT, format!("cannot write {}: {e}", path.display()))
        .help("pass an output directory that can be written with --out DIR")
}

fn write_csv(source: &SourceSpec, csv: &CsvSpec, path: &Path, rows: &[Vec<Val>]) -> Result<()> {
    let file = fs::File::create(path).map_err(|e| cannot_write(path, &e))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut text = String::new();
    // The lines a `skip` option drops: a banner, as exports often carry.
    for i in 0..csv.skip {
        let _ = writeln!(text, "# synthetic data written by tally gen-data ({})", i + 1);
    }
    if csv.header {
        let names: Vec<String> = source.columns.iter().map(|c| csv_field(&c.name, csv)).collect();
        text.push_str(&names.join(&csv.delimiter));
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(|e| cannot_write(path, &e))?;
    for row in rows {
        text.clear();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                text.push_str(&csv.delimiter);
            }
            match value.text() {
                Some(v) => text.push_str(&csv_field(&v, csv)),
                None => text.push_str(&csv.null),
            }
        }
        text.push('\n');
        out.write_all(text.as_bytes()).map_err(|e| cannot_write(path, &e))?;
    }
    out.flush().map_err(|e| cannot_write(path, &e))
}

/// A CSV field, quoted when it holds the delimiter, the quote, a line break, or could be
/// read as the null text.
fn csv_field(value: &str, csv: &CsvSpec) -> String {
    let needs = value.contains(csv.delimiter.as_str())
        || value.contains(csv.quote.as_str())
        || value.contains(['\n', '\r'])
        || value == csv.null;
    if needs && !csv.quote.is_empty() {
        let doubled = value.replace(csv.quote.as_str(), &csv.quote.repeat(2));
        format!("{q}{doubled}{q}", q = csv.quote)
    } else {
        value.to_owned()
    }
}

/// A workbook of one sheet (the source's `sheet`, else `Sheet1`) below the source's `skip`
/// rows (a title, as exports carry): a header row, then one row per record, each value as a
/// spreadsheet keeps it (numbers, dates and times with their display format, booleans,
/// text), an empty cell for no value.
fn write_xlsx(source: &SourceSpec, path: &Path, rows: &[Vec<Val>]) -> Result<()> {
    use chrono::{Datelike as _, Timelike as _};
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| cannot_write(path, &e);
    let (name, skip) =
        source.landing.xlsx.as_ref().map_or(("Sheet1".to_owned(), 0), |x| {
            (x.sheet.clone().unwrap_or("Sheet1".into()), x.skip)
        });
    let mut book = Workbook::new();
    // A fixed creation time: the same rows give the same bytes.
    let created = ExcelDateTime::from_ymd(2000, 1, 1).map_err(failed)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = book.add_worksheet().set_name(&name).map_err(failed)?;
    if skip > 0 {
        sheet.write_string(0, 0, "synthetic data written by tally gen-data").map_err(failed)?;
    }
    let first = u32::try_from(skip).unwrap_or(u32::MAX - 1);
    for (c, column) in source.columns.iter().enumerate() {
        sheet.write_string(first, c as u16, &column.name).map_err(failed)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    const EXACT: i64 = 1 << 52;
    for (r, row) in rows.iter().enumerate() {
        let at = first + 1 + r as u32;
        for (c, value) in row.iter().enumerate() {
            let c = c as u16;
            match value {
                Val::Null => {}
                Val::Int(n) if n.abs() < EXACT => {
                    sheet.write_number(at, c, *n as f64).map_err(failed)?;
                }
                Val::Dec { units, scale } if units.abs() < EXACT && *scale <= 6 => {
                    let v = *units as f64 / 10f64.powi(i32::from(*scale));
                    sheet.write_number(at, c, v).map_err(failed)?;
                }
                Val::Bool(b) => {
                    sheet.write_boolean(at, c, *b).map_err(failed)?;
                }
                Val::Date(d) => {
                    let day =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(failed)?;
                    sheet.write_datetime_with_format(at, c, &day, &date).map_err(failed)?;
                }
                Val::Ts(t) => {
                    let moment =
                        ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
                            .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second()))
                            .map_err(failed)?;
                    sheet.write_datetime_with_format(at, c, &moment, &stamp).map_err(failed)?;
                }
                other => {
                    let text = other.text().unwrap_or_default();
                    sheet.write_string(at, c, &text).map_err(failed)?;
                }
            }
        }
    }
    book.save(path).map_err(failed)
}

fn write_jsonl(source: &SourceSpec, path: &Path, rows: &[Vec<Val>]) -> Result<()> {
    let file = fs::File::create(path).map_err(|e| cannot_write(path, &e))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let names: Vec<String> = source
        .columns
        .iter()
        .map(|c| serde_json::Value::String(c.name.clone()).to_string())
        .collect();
    let mut line = String::new();
    for row in rows {
        line.clear();
        line.push('{');
        for (i, (name, value)) in names.iter().zip(row).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(name);
            line.push(':');
            match value {
                Val::Null => line.push_str("null"),
                Val::Int(n) => line.push_str(&n.to_string()),
                Val::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
                // Decimals as strings keep their scale exactly; the loader reads text anyway.
                other => {
                    let text = other.text().unwrap_or_default();
                    line.push_str(&serde_json::Value::String(text).to_string());
                }
            }
        }
        line.push_str("}\n");
        out.write_all(line.as_bytes()).map_err(|e| cannot_write(path, &e))?;
    }
    out.flush().map_err(|e| cannot_write(path, &e))
}

/// Parquet through DuckDB: the rows as CSV in a scratch directory, then `COPY ... TO` with one
/// thread, so the same rows give the same bytes. Columns are text, as the loader stages them.
fn write_parquet(source: &SourceSpec, path: &Path, rows: &[Vec<Val>]) -> Result<()> {
    let scratch = tempfile::tempdir().map_err(|e| {
        Error::new(
            codes::GEN_DATA_PARQUET,
            format!("cannot create a scratch directory for Parquet: {e}"),
        )
    })?;
    let csv_path = scratch.path().join("rows.csv");
    let csv = CsvSpec {
        delimiter: ",".to_owned(),
        header: true,
        quote: "\"".to_owned(),
        null: String::new(),
        skip: 0,
    };
    // An empty string must survive: in this scratch CSV NULL is the unquoted empty field.
    write_csv(source, &csv, &csv_path, rows)?;
    let columns: Vec<String> =
        source.columns.iter().map(|c| format!("{}: 'VARCHAR'", sql_text(&c.name))).collect();
    let sql = format!(
        "SET threads = 1; \
         COPY (SELECT * FROM read_csv({csv}, header = true, delim = ',', quote = '\"', \
         escape = '\"', nullstr = '', auto_detect = false, columns = {{{columns}}})) \
         TO {out} (FORMAT parquet)",
        csv = sql_text(&csv_path.to_string_lossy()),
        columns = columns.join(", "),
        out = sql_text(&path.to_string_lossy()),
    );
    let mut db = DuckDb::in_memory()?;
    for statement in sql.split("; ") {
        db.execute(statement).map_err(|e| {
            Error::new(
                codes::GEN_DATA_PARQUET,
                format!("cannot write {}: {}", path.display(), e.message),
            )
        })?;
    }
    Ok(())
}

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(100, 2), "1.00");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let csv = CsvSpec {
            delimiter: "|".to_owned(),
            header: true,
            quote: "\"".to_owned(),
            null: String::new(),
            skip: 0,
        };
        assert_eq!(csv_field("plain, text", &csv), "plain, text");
        assert_eq!(csv_field("a|b", &csv), "\"a|b\"");
        assert_eq!(csv_field("say \"hi\"", &csv), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("", &csv), "\"\"");
    }
}
