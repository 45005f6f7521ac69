//! `overview.html`: the class at a glance, for the instructor.
//!
//! One self-contained page (inline CSS, no scripts, no external assets, so it
//! opens from a zip or an e-mail): a summary, the failures most students
//! share (what to explain again in class), and the class × test matrix with
//! ✔ (pass), ✘ (fail) and – (skipped or not run), each test's pass rate, and
//! the students who could not be graded with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::csv::number;
use crate::result::{Status, StudentResult};

/// The overview page.
pub fn overview(results: &[StudentResult], title: &str) -> String {
    let mut rows: Vec<&StudentResult> = results.iter().collect();
    rows.sort_by(|a, b| a.student.cmp(&b.student));
    // Every test seen, in level order, then first appearance.
    let mut columns: Vec<(u8, String, bool)> = Vec::new();
    for r in &rows {
        for t in &r.tests {
            if !columns.iter().any(|c| c.1 == t.slug) {
                columns.push((t.level, t.slug.clone(), t.hidden));
            }
        }
    }
    columns.sort_by_key(|c| c.0);
    let graded: Vec<&&StudentResult> = rows.iter().filter(|r| r.status == Status::Graded).collect();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{CSS}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(title)
    );
    let mean = if graded.is_empty() {
        0.0
    } else {
        graded.iter().map(|r| r.score).sum::<f64>() / graded.len() as f64
    };
    let _ = writeln!(
        s,
        "<p>{} submissions: {} graded, {} not gradable. Mean score of graded: {:.1}.</p>",
        rows.len(),
        graded.len(),
        rows.len() - graded.len(),
        mean
    );
    if let Some(r) = rows.first() {
        let i = &r.integrity;
        let _ = writeln!(
            s,
            "<p class=\"meta\">Seed {} · level {} · {} (sha256 {}) · classroom {}</p>",
            i.seed,
            i.level,
            esc(i.harness_version.as_deref().unwrap_or("conformance")),
            &i.harness_sha256[..i.harness_sha256.len().min(12)],
            esc(&i.classroom_version)
        );
    }

    // Shared failures: tests by the number of graded students failing them.
    let mut fails: BTreeMap<&str, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    for r in &graded {
        for t in r.tests.iter().filter(|t| t.status == "fail") {
            let e = fails.entry(&t.slug).or_default();
            e.0 += 1;
            let rule = t
                .message
                .as_deref()
                .and_then(|m| m.split(':').next())
                .unwrap_or("");
            *e.1.entry(rule).or_default() += 1;
        }
    }
    let mut shared: Vec<(&str, usize, &str)> = fails
        .iter()
        .map(|(slug, (n, rules))| {
            let rule = rules
                .iter()
                .max_by_key(|(_, c)| **c)
                .map(|(r, _)| *r)
                .unwrap_or("");
            (*slug, *n, rule)
        })
        .collect();
    shared.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    s.push_str("<h2>Most shared failures</h2>\n");
    if shared.is_empty() {
        s.push_str("<p>No graded submission failed a test.</p>\n");
    } else {
        s.push_str("<ol>\n");
        for (slug, n, rule) in shared.iter().take(10) {
            let _ = writeln!(
                s,
                "<li><code>{}</code>: {} of {} graded students ({:.0}%), mostly <code>{}</code></li>",
                esc(slug),
                n,
                graded.len(),
                100.0 * *n as f64 / graded.len().max(1) as f64,
                esc(rule)
            );
        }
        s.push_str("</ol>\n");
    }

    s.push_str("<h2>Class × test matrix</h2>\n<div class=\"wrap\"><table>\n<thead><tr><th>student</th><th>status</th><th>score</th>");
    for (level, slug, hidden) in &columns {
        let _ = write!(
            s,
            "<th class=\"t\" title=\"{}\"><span>L{} {}{}</span></th>",
            esc(slug),
            level,
            esc(slug),
            if *hidden { " (hidden)" } else { "" }
        );
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &rows {
        let _ = write!(
            s,
            "<tr><th><a href=\"students/{}/report.txt\">{}</a></th><td class=\"{}\">{}</td><td>{} / {}</td>",
            esc(&r.student),
            esc(&r.student),
            r.status.as_str(),
            r.status.as_str(),
            number(r.score),
            number(r.max_score)
        );
        if r.status == Status::NotGradable {
            let _ = write!(
                s,
                "<td class=\"reason\" colspan=\"{}\">{}</td>",
                columns.len().max(1),
                esc(r.reason.as_deref().unwrap_or(""))
            );
        } else {
            for (_, slug, _) in &columns {
                let cell = match r.tests.iter().find(|t| &t.slug == slug) {
                    Some(t) if t.passed() => "<td class=\"pass\">✔</td>".to_owned(),
                    Some(t) if t.status == "fail" => format!(
                        "<td class=\"fail\" title=\"{}\">✘</td>",
                        esc(t.message.as_deref().unwrap_or(""))
                    ),
                    _ => "<td class=\"none\">–</td>".to_owned(),
                };
                s.push_str(&cell);
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n<tfoot><tr><th>pass rate</th><td></td><td></td>");
    for (_, slug, _) in &columns {
        let passed = graded
            .iter()
            .filter(|r| r.tests.iter().any(|t| &t.slug == slug && t.passed()))
            .count();
        let _ = write!(
            s,
            "<td>{:.0}%</td>",
            100.0 * passed as f64 / graded.len().max(1) as f64
        );
    }
    s.push_str("</tr></tfoot>\n</table></div>\n</body></html>\n");
    s
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em}\
.meta{color:#666}.wrap{overflow-x:auto}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ddd;padding:2px 5px;text-align:center}tbody th{text-align:left}\
th.t{height:11em;white-space:nowrap;vertical-align:bottom}th.t span{writing-mode:vertical-rl;transform:rotate(180deg)}\
.pass{background:#dfd;color:#060}.fail{background:#fdd;color:#900}.none{color:#999}\
.not_gradable,.reason{background:#ffe9c2;text-align:left}.graded{color:#060}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_stands_alone() {
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
        let page = overview(&[], "Class <1>");
        assert!(page.contains("<title>Class &lt;1&gt;</title>"));
        assert!(!page.contains("http"), "no external assets");
    }
}
