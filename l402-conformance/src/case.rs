//! The case model: what one check is (its id, level and the clause it checks) and what running it found
//! (a verdict and what was seen).

use std::fmt;

use serde::Serialize;

/// How binding a case is, in the words of RFC 2119. Only a failed `MUST` makes the kit exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Interoperation breaks without it.
    Must,
    /// Expected of a good implementation; some deployed ones differ.
    Should,
    /// Allowed by the specification; implementations differ.
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

/// What a case found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The implementation behaved as the clause asks.
    Pass,
    /// It did not.
    Fail,
    /// The case could not run (a step it needs failed, or it does not apply); the detail says why.
    Skip,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        })
    }
}

/// A [`CaseSpec`] constant: `case!("group", "name", Must, "§ 5.2", "what it checks")`.
macro_rules! case {
    ($group:literal, $name:literal, $level:ident, $clause:literal, $checks:literal) => {
        $crate::case::CaseSpec {
            id: concat!($group, "/", $name),
            level: $crate::case::Level::$level,
            clause: $clause,
            checks: $checks,
        }
    };
}
pub(crate) use case;

/// One case of the kit's table: `<group>/<name>`, its level, the clause it checks and what it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseSpec {
    /// `<group>/<name>`, stable: scripts and `--only` name cases by it.
    pub id: &'static str,
    /// How binding the clause is.
    pub level: Level,
    /// The clause checked, as a section of the repository's docs/PROTOCOL.md or of the L402 specification.
    pub clause: &'static str,
    /// What the case checks, in one sentence.
    pub checks: &'static str,
}

impl CaseSpec {
    /// The group: the part of the id before the `/`.
    pub fn group(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(group, _)| group)
    }

    /// Whether `--only <selector>` selects this case: the selector is its id or its group.
    pub fn selected_by(&self, selector: &str) -> bool {
        selects(selector, self.id)
    }
}

/// Whether `selector` (a case id, or a group) selects the case `id`.
pub fn selects(selector: &str, id: &str) -> bool {
    id == selector
        || id
            .split_once('/')
            .is_some_and(|(group, _)| group == selector)
}

/// The verdict of one case and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Pass, fail or skip.
    pub verdict: Verdict,
    /// What was seen (statuses, header values, the reason for a skip).
    pub detail: String,
}

impl Outcome {
    /// A pass, with what was seen.
    pub fn pass(detail: impl Into<String>) -> Self {
        Self::new(Verdict::Pass, detail)
    }

    /// A failure, with what was seen.
    pub fn fail(detail: impl Into<String>) -> Self {
        Self::new(Verdict::Fail, detail)
    }

    /// A skip, with the reason.
    pub fn skip(detail: impl Into<String>) -> Self {
        Self::new(Verdict::Skip, detail)
    }

    /// Pass when `ok`, else fail; the same detail either way.
    pub fn check(ok: bool, detail: impl Into<String>) -> Self {
        Self::new(if ok { Verdict::Pass } else { Verdict::Fail }, detail)
    }

    fn new(verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            verdict,
            detail: detail.into(),
        }
    }
}

/// A case with its outcome: one row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case's id.
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// The clause it checks.
    pub clause: &'static str,
    /// What it found.
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
}

impl CaseResult {
    /// The row for `spec` with `outcome`.
    pub fn new(spec: &CaseSpec, outcome: Outcome) -> Self {
        Self {
            id: spec.id,
            level: spec.level,
            clause: spec.clause,
            verdict: outcome.verdict,
            detail: outcome.detail,
        }
    }
}
