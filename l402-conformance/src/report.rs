//! The report of a run: one table for people, one JSON document for scripts, and the exit code.
//!
//! The JSON document is `{"target": …, "cases": [{"id", "level", "clause", "verdict", "detail"}, …],
//! "passed": N, "failed": N, "skipped": N}`. The run passes when no `MUST` case failed.

use serde::Serialize;

use crate::case::{CaseResult, Level, Verdict};

/// Everything one run found about one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was tested (the URL of a server, the command of a client).
    pub target: String,
    /// The cases, in the order they ran.
    pub cases: Vec<CaseResult>,
    /// How many cases passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
    /// How many were skipped.
    pub skipped: usize,
}

impl Report {
    /// The report of `cases` run against `target`.
    pub fn new(target: impl Into<String>, cases: Vec<CaseResult>) -> Self {
        let count = |verdict| cases.iter().filter(|c| c.verdict == verdict).count();
        Self {
            target: target.into(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            skipped: count(Verdict::Skip),
            cases,
        }
    }

    /// Whether every `MUST` case that ran passed or was skipped (a skipped `MUST` is always the
    /// consequence of an earlier failed one, or of a part of the target that was not asked for).
    pub fn conforms(&self) -> bool {
        !self
            .cases
            .iter()
            .any(|c| c.level == Level::Must && c.verdict == Verdict::Fail)
    }

    /// The case with this id, if it ran.
    pub fn case(&self, id: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|c| c.id == id)
    }

    /// The ids of the failed cases of `level`.
    pub fn failed_ids(&self, level: Level) -> Vec<&'static str> {
        self.cases
            .iter()
            .filter(|c| c.level == level && c.verdict == Verdict::Fail)
            .map(|c| c.id)
            .collect()
    }

    /// The JSON document, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// The table: case, level, verdict, what was seen; then the totals.
    pub fn to_table(&self) -> String {
        let id_width = self.cases.iter().map(|c| c.id.len()).max().unwrap_or(4);
        let mut out = format!("L402 conformance: {}\n\n", self.target);
        out.push_str(&format!(
            "{:<id_width$}  {:<6}  {:<7}  seen\n",
            "case", "level", "verdict"
        ));
        for case in &self.cases {
            out.push_str(&format!(
                "{:<id_width$}  {:<6}  {:<7}  {}\n",
                case.id,
                case.level.to_string(),
                case.verdict.to_string(),
                one_line(&case.detail)
            ));
        }
        out.push_str(&format!(
            "\n{} passed, {} failed, {} skipped: {}\n",
            self.passed,
            self.failed,
            self.skipped,
            if self.conforms() {
                "every MUST case passed".to_owned()
            } else {
                format!("MUST failed: {}", self.failed_ids(Level::Must).join(", "))
            }
        ));
        out
    }
}

/// `detail` on one line, so that the table stays a table whatever a server sent.
fn one_line(detail: &str) -> String {
    detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseSpec, Outcome};

    const MUST: CaseSpec = CaseSpec {
        id: "g/must",
        level: Level::Must,
        clause: "§ 1",
        checks: "a must",
    };
    const MAY: CaseSpec = CaseSpec {
        id: "g/may",
        level: Level::May,
        clause: "§ 2",
        checks: "a may",
    };

    #[test]
    fn only_a_failed_must_breaks_conformance() {
        let report = Report::new(
            "t",
            vec![
                CaseResult::new(&MUST, Outcome::pass("ok")),
                CaseResult::new(&MAY, Outcome::fail("no")),
            ],
        );
        assert!(report.conforms());
        assert_eq!((report.passed, report.failed, report.skipped), (1, 1, 0));
        let report = Report::new("t", vec![CaseResult::new(&MUST, Outcome::fail("no"))]);
        assert!(!report.conforms());
        assert_eq!(report.failed_ids(Level::Must), ["g/must"]);
        assert!(report.to_table().contains("MUST failed: g/must"));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let report = Report::new(
            "http://x",
            vec![CaseResult::new(&MUST, Outcome::skip("line\nbreak"))],
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["target"], "http://x");
        assert_eq!(json["cases"][0]["id"], "g/must");
        assert_eq!(json["cases"][0]["level"], "MUST");
        assert_eq!(json["cases"][0]["verdict"], "skip");
        assert_eq!(json["skipped"], 1);
        assert!(!report.to_table().contains("line\nbreak"));
    }
}
