//! `class.csv`: one row per student, for a spreadsheet or a grade book.
//!
//! Columns: `student`, `L1` … `L6` (points per level, empty above the graded
//! level), `total`, `max`, `status` (`graded` or `not_gradable`) and
//! `reason`. Rows are sorted by student id, so re-grades diff cleanly.

use std::fmt::Write as _;

use crate::result::StudentResult;

/// The class CSV (RFC 4180 quoting, LF line ends).
pub fn class_csv(results: &[StudentResult]) -> String {
    let mut rows: Vec<&StudentResult> = results.iter().collect();
    rows.sort_by(|a, b| a.student.cmp(&b.student));
    let mut s = String::from("student,L1,L2,L3,L4,L5,L6,total,max,status,reason\n");
    for r in rows {
        let mut fields = vec![r.student.clone()];
        for level in 1..=6u8 {
            let cell = r
                .levels
                .iter()
                .find(|l| l.level == level)
                .map(|l| number(l.score))
                .unwrap_or_default();
            fields.push(cell);
        }
        fields.push(number(r.score));
        fields.push(number(r.max_score));
        fields.push(r.status.as_str().to_owned());
        fields.push(r.reason.clone().unwrap_or_default());
        let line: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        let _ = writeln!(s, "{}", line.join(","));
    }
    s
}

/// A number without a needless `.0`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Quotes a field if it holds a comma, a quote or a line break.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(number(30.0), "30");
        assert_eq!(number(6.67), "6.67");
    }
}
