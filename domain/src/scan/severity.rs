//! Severity on Harbor's scale (None, Unknown, Negligible, Low, Medium, High, Critical): from a
//! record's CVSS v3 vector (base score computed as the CVSS 3.1 specification defines it), else
//! from the database's own severity word, else Unknown.

use serde::{Deserialize, Serialize};

use super::osv::Record;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    None,
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Unknown => "Unknown",
            Self::Negligible => "Negligible",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
        }
    }

    /// The CVSS qualitative rating of a base score.
    pub fn of_score(score: f64) -> Self {
        match score {
            s if s <= 0.0 => Self::None,
            s if s < 4.0 => Self::Low,
            s if s < 7.0 => Self::Medium,
            s if s < 9.0 => Self::High,
            _ => Self::Critical,
        }
    }

    /// A database's own word (`HIGH`, `MODERATE`, `unimportant`, …).
    pub fn of_word(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Self::Critical),
            "high" | "important" => Some(Self::High),
            "medium" | "moderate" => Some(Self::Medium),
            "low" => Some(Self::Low),
            "negligible" | "unimportant" => Some(Self::Negligible),
            "none" => Some(Self::None),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// CVSS 3.x base score of a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
pub fn cvss3_base_score(vector: &str) -> Option<f64> {
    let mut rest = vector.trim();
    rest = rest
        .strip_prefix("CVSS:3.1/")
        .or_else(|| rest.strip_prefix("CVSS:3.0/"))?;
    let metric = |name: &str| -> Option<&str> {
        rest.split('/').find_map(|m| {
            let (k, v) = m.split_once(':')?;
            (k == name).then_some(v)
        })
    };
    let changed = match metric("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match metric("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match metric("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (metric("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match metric("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |name: &str| -> Option<f64> {
        match metric(name)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(roundup(raw))
}

/// CVSS 3.1's Roundup: the smallest number with one decimal that is at least the input.
fn roundup(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// A record's severity and CVSS base score (when it has a v3 vector).
pub fn of_record(record: &Record) -> (Severity, Option<f64>) {
    let vectors = record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| a.severity.iter()))
        .filter(|s| s.kind.starts_with("CVSS_V3"))
        .filter_map(|s| cvss3_base_score(&s.score));
    if let Some(score) = vectors.fold(None, |best: Option<f64>, s| {
        Some(best.map_or(s, |b| b.max(s)))
    }) {
        return (Severity::of_score(score), Some(score));
    }
    let word = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .and_then(Severity::of_word);
    (word.unwrap_or(Severity::Unknown), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores_match_the_specification_calculator() {
        for (vector, score) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(cvss3_base_score(vector), Some(score), "{vector}");
        }
        assert_eq!(cvss3_base_score("CVSS:2.0/AV:N"), None);
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None
        );
    }

    #[test]
    fn scores_and_words_map_to_harbors_scale() {
        assert_eq!(Severity::of_score(9.8), Severity::Critical);
        assert_eq!(Severity::of_score(7.0), Severity::High);
        assert_eq!(Severity::of_score(6.9), Severity::Medium);
        assert_eq!(Severity::of_score(0.1), Severity::Low);
        assert_eq!(Severity::of_score(0.0), Severity::None);
        assert_eq!(Severity::of_word("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::of_word("unimportant"), Some(Severity::Negligible));
        assert_eq!(Severity::of_word("whatever"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
    }

    #[test]
    fn records_take_the_vector_then_the_database_word() {
        let with_vector = Record::parse(r#"{"id":"A","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"database_specific":{"severity":"LOW"}}"#).unwrap();
        assert_eq!(of_record(&with_vector), (Severity::Critical, Some(9.8)));
        let with_word =
            Record::parse(r#"{"id":"B","database_specific":{"severity":"HIGH"}}"#).unwrap();
        assert_eq!(of_record(&with_word), (Severity::High, None));
        let bare = Record::parse(r#"{"id":"C"}"#).unwrap();
        assert_eq!(of_record(&bare), (Severity::Unknown, None));
    }
}
