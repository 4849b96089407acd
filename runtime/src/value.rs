//! Query results as engine-independent values, so that the two backends can be compared row
//! for row.

use std::fmt;

/// One value of a result row. Decimals keep their exact text; dates and timestamps are ISO
/// text (`2024-01-31`, `2024-01-31 08:15:00`, fractions of a second only when present).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(String),
    Text(String),
    Date(String),
    Timestamp(String),
}

impl Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Decimal(text) => text.split('.').next()?.parse().ok(),
            Value::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) | Value::Timestamp(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Decimal(s) | Value::Text(s) | Value::Date(s) | Value::Timestamp(s) => {
                f.write_str(s)
            }
        }
    }
}

/// A query's result: column names and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    /// The value of `column` in row `row`, if both exist.
    pub fn get(&self, row: usize, column: &str) -> Option<&Value> {
        let index = self.columns.iter().position(|c| c == column)?;
        self.rows.get(row)?.get(index)
    }

    /// The first column of the first row, when there is one.
    pub fn scalar(&self) -> Option<&Value> {
        self.rows.first()?.first()
    }
}

/// A timestamp as the runtime writes and compares it: microseconds shown only when present.
pub fn timestamp_text(t: chrono::NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// A decimal's text with trailing fractional zeros kept as the engine wrote them, but a
/// leading `+` and leading integer zeros removed, so that both engines print alike.
pub fn decimal_text(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    match frac {
        Some(frac) => format!("{sign}{int}.{frac}"),
        None => format!("{sign}{int}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_alike() {
        assert_eq!(decimal_text("+007.50"), "7.50");
        assert_eq!(decimal_text("-0.5"), "-0.5");
        assert_eq!(decimal_text(".5"), "0.5");
        assert_eq!(decimal_text("12"), "12");
    }

    #[test]
    fn timestamps_show_fractions_only_when_present() {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 31)
            .and_then(|d| d.and_hms_micro_opt(8, 15, 0, 0))
            .expect("valid");
        assert_eq!(timestamp_text(t), "2024-01-31 08:15:00");
        let t = t + chrono::Duration::microseconds(250);
        assert_eq!(timestamp_text(t), "2024-01-31 08:15:00.000250");
    }
}
