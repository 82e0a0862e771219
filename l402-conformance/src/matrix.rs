//! The compatibility matrix: `--json` reports of several implementations as one Markdown table, a row
//! per implementation and a column per group of cases, so that the table in a README is the kit's
//! output and never typed by hand.
//!
//! A cell is `passed/run` of the group's cases, followed by the failed cases with their levels. The
//! last column says whether every `MUST` case passed.

use std::path::PathBuf;

use serde::Deserialize;

/// One report, as its JSON document has it.
#[derive(Debug, Deserialize)]
struct ReportDocument {
    cases: Vec<CaseDocument>,
}

/// One case of a report.
#[derive(Debug, Deserialize)]
struct CaseDocument {
    id: String,
    level: String,
    verdict: String,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The report.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a report of the kit.
    #[error("{path}: not a report of l402-conformance --json: {source}")]
    Parse {
        /// The report.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
}

/// The matrix of the reports in `rows` (`name`, path of its `--json` report).
pub fn from_files(rows: &[(String, PathBuf)]) -> Result<String, MatrixError> {
    let mut documents = Vec::new();
    for (name, path) in rows {
        let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Read {
            path: path.clone(),
            source,
        })?;
        let document: ReportDocument =
            serde_json::from_str(&text).map_err(|source| MatrixError::Parse {
                path: path.clone(),
                source,
            })?;
        documents.push((name.as_str(), document));
    }
    Ok(render(&documents))
}

fn render(rows: &[(&str, ReportDocument)]) -> String {
    let mut groups: Vec<&str> = Vec::new();
    for (_, document) in rows {
        for case in &document.cases {
            let group = group_of(&case.id);
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    let mut out = format!("| implementation | {} | every MUST |\n", groups.join(" | "));
    out.push_str(&format!("|---|{}---|\n", "---|".repeat(groups.len())));
    for (name, document) in rows {
        let cells: Vec<String> = groups.iter().map(|g| cell(document, g)).collect();
        let conforms = !document
            .cases
            .iter()
            .any(|c| c.level == "MUST" && c.verdict == "fail");
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            name.replace('|', "\\|"),
            cells.join(" | "),
            if conforms { "yes" } else { "**no**" }
        ));
    }
    out
}

/// One group's cell: `passed/run`, then the failed cases, `—` when the report has no such group.
fn cell(document: &ReportDocument, group: &str) -> String {
    let cases: Vec<&CaseDocument> = document
        .cases
        .iter()
        .filter(|c| group_of(&c.id) == group)
        .collect();
    if cases.is_empty() {
        return "—".to_owned();
    }
    let run = cases.iter().filter(|c| c.verdict != "skip").count();
    let passed = cases.iter().filter(|c| c.verdict == "pass").count();
    let failed: Vec<String> = cases
        .iter()
        .filter(|c| c.verdict == "fail")
        .map(|c| {
            let name = c.id.split_once('/').map_or(c.id.as_str(), |(_, n)| n);
            format!("{name} ({})", c.level)
        })
        .collect();
    let skipped = cases.len() - run;
    let mut text = format!("{passed}/{run}");
    if !failed.is_empty() {
        text.push_str(&format!("; fails {}", failed.join(", ")));
    }
    if skipped > 0 {
        text.push_str(&format!("; {skipped} skipped"));
    }
    text
}

fn group_of(id: &str) -> &str {
    id.split_once('/').map_or(id, |(group, _)| group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(cases: &[(&str, &str, &str)]) -> ReportDocument {
        ReportDocument {
            cases: cases
                .iter()
                .map(|(id, level, verdict)| CaseDocument {
                    id: (*id).into(),
                    level: (*level).into(),
                    verdict: (*verdict).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_row_per_implementation_a_column_per_group() {
        let ours = document(&[
            ("dialect/aperture", "MUST", "pass"),
            ("dialect/lsat-only", "SHOULD", "pass"),
            ("refuse/over-priced", "MUST", "pass"),
        ]);
        let theirs = document(&[
            ("dialect/aperture", "MUST", "pass"),
            ("dialect/lsat-only", "SHOULD", "fail"),
            ("refuse/over-priced", "MUST", "fail"),
            ("reuse/second-run", "SHOULD", "skip"),
        ]);
        let table = render(&[("ours", ours), ("theirs | v1", theirs)]);
        assert_eq!(
            table,
            "| implementation | dialect | refuse | reuse | every MUST |\n\
             |---|---|---|---|---|\n\
             | ours | 2/2 | 1/1 | — | yes |\n\
             | theirs \\| v1 | 1/2; fails lsat-only (SHOULD) | 0/1; fails over-priced (MUST) | 0/0; 1 skipped | **no** |\n"
        );
    }

    #[test]
    fn a_file_that_is_no_report_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "{\"target\": 1}").unwrap();
        let error = from_files(&[("x".into(), path.clone())]).unwrap_err();
        assert!(
            error.to_string().starts_with(&path.display().to_string()),
            "{error}"
        );
    }
}
