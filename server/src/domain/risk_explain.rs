//! A stored risk score explained in plain words: for each factor stored with a finding (points
//! per factor, see [`crate::domain::risk::Risk::points_json`]) what it measured, what it weighs
//! and why it counts, and how the factors add up to the score. Pure: the finding page's store
//! method gathers the facts.
//!
//! The score itself, and which factors a finding gets, is [`crate::domain::risk::score`]; this
//! file only reads what that wrote. The points shown are always the stored ones; the value is
//! taken from the finding's facts as they are now (the catalogue's CVSS, KEV, EPSS, the
//! cluster), falling back to what the points imply under the weights in force.

use app::model::{RiskExplained, RiskFactor, Severity};
use chrono::NaiveDate;

use crate::domain::risk::{Environment, Weights, severity_base};

/// What the explanation may name about a finding, as it is now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts<'a> {
    /// The scanner's severity.
    pub severity: Severity,
    /// The catalogue's CVSS base score.
    pub cvss_score: Option<f32>,
    /// Date added to CISA KEV.
    pub kev_added: Option<NaiveDate>,
    /// EPSS probability (0–1).
    pub epss: Option<f32>,
    /// The version that fixes it.
    pub fixed_version: Option<&'a str>,
    /// The environment of its cluster (`Unknown` at fleet level).
    pub environment: Environment,
    /// Its cluster's criticality (1–5); 0 at fleet level.
    pub criticality: i16,
}

/// Explains a stored breakdown (`{"severity": 39.2, "kev": 20, …}`) and score.
pub fn explain(
    stored: &serde_json::Value,
    score: Option<i16>,
    facts: &Facts<'_>,
    weights: &Weights,
) -> RiskExplained {
    let mut points: Vec<(&str, f64)> = stored
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    points.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let factors: Vec<RiskFactor> = points
        .iter()
        .map(|&(factor, points)| factor_words(factor, points, facts, weights))
        .collect();
    RiskExplained {
        score,
        arithmetic: arithmetic(&points, score),
        factors,
    }
}

/// One stored factor in words.
pub fn factor_words(factor: &str, points: f64, facts: &Facts<'_>, w: &Weights) -> RiskFactor {
    let signed = signed_points(points);
    let (value, weight, why) = match factor {
        "severity" => {
            let weight = format!("× {} per CVSS point", number(w.severity_per_cvss_point));
            match facts.cvss_score {
                Some(cvss) if close(f64::from(cvss) * w.severity_per_cvss_point, points) => (
                    format!("CVSS {cvss:.1}"),
                    weight,
                    format!("CVSS base score {cvss:.1} ({signed})"),
                ),
                None if close(
                    f64::from(severity_base(facts.severity)) * w.severity_per_cvss_point,
                    points,
                ) =>
                {
                    let base = severity_base(facts.severity);
                    (
                        format!("{} severity = {base:.1}", facts.severity.label()),
                        weight,
                        format!(
                            "{} severity from the scanner, no CVSS score: counted as {base:.1} \
                             ({signed})",
                            facts.severity.label()
                        ),
                    )
                }
                _ => {
                    let base = ratio(points, w.severity_per_cvss_point);
                    (
                        base.map_or_else(|| "—".to_owned(), |b| format!("{b:.1}")),
                        weight,
                        format!(
                            "Severity: base {} when scored ({signed})",
                            base.map_or_else(|| "unknown".to_owned(), |b| format!("{b:.1}"))
                        ),
                    )
                }
            }
        }
        "kev" => (
            facts
                .kev_added
                .map_or_else(|| "listed".to_owned(), |d| format!("listed {d}")),
            format!("+{}", number(w.kev)),
            match facts.kev_added {
                Some(added) => format!("In CISA KEV since {added} ({signed})"),
                None => format!("In CISA KEV when it was scored ({signed})"),
            },
        ),
        "epss" => {
            let probability = facts
                .epss
                .map(f64::from)
                .or_else(|| ratio(points, w.epss_max));
            let value = probability.map_or_else(|| "—".to_owned(), percent);
            (
                value.clone(),
                format!("× {} at 100 %", number(w.epss_max)),
                format!("EPSS: {value} chance of exploitation in the next 30 days ({signed})"),
            )
        }
        "fix" => (
            facts
                .fixed_version
                .map_or_else(|| "yes".to_owned(), |v| format!("yes: {v}")),
            format!("+{}", number(w.fix_available)),
            match facts.fixed_version {
                Some(version) => {
                    format!(
                        "A fixed version is available ({version}): it can be fixed now ({signed})"
                    )
                }
                None => format!("A fixed version is available: it can be fixed now ({signed})"),
            },
        ),
        "exposure" => (
            "internet-facing".to_owned(),
            format!("+{}", number(w.internet_facing)),
            format!("Runs in an internet-facing workload ({signed})"),
        ),
        "runtime" => (
            "detections in 7 days".to_owned(),
            format!("+{}", number(w.runtime_signal)),
            format!("Runtime detections on the same workload in the last 7 days ({signed})"),
        ),
        "environment" => {
            let environment = environment_of(points, facts.environment, w);
            let (value, why) = match environment {
                Some(Environment::Prod) => ("production", "Runs in production"),
                Some(Environment::Staging) => ("staging", "Runs in staging"),
                Some(Environment::Dev) => ("development", "Runs in development only"),
                Some(Environment::Unknown) => {
                    ("not running yet", "Not seen running in a cluster yet")
                }
                None => ("—", "Where it runs"),
            };
            let weight = environment
                .map(|e| format!("+{} for {value}", number(environment_weight(e, w))))
                .unwrap_or_else(|| "—".to_owned());
            (value.to_owned(), weight, format!("{why} ({signed})"))
        }
        "criticality" => {
            let level = criticality_of(points, facts.criticality, w);
            let value = level.map_or_else(|| "—".to_owned(), |l| format!("{l} of 5"));
            (
                value.clone(),
                format!("{} per step from 3", signed_points(w.criticality_per_step)),
                format!("Cluster criticality {value} ({signed})"),
            )
        }
        "privilege" => (
            "privileged or host mounts".to_owned(),
            format!("+{}", number(w.privileged)),
            format!("Runs privileged or with host mounts ({signed})"),
        ),
        other => (
            "—".to_owned(),
            "—".to_owned(),
            format!("{} ({signed})", other.replace('_', " ")),
        ),
    };
    RiskFactor {
        factor: factor.to_owned(),
        value,
        weight,
        points,
        why,
    }
}

/// How the factors add up: "39.2 + 20 + 10 = 69.2, rounded to 69"; "… = 104.2, capped at
/// 100"; a negative factor is subtracted.
pub fn arithmetic(points: &[(&str, f64)], score: Option<i16>) -> String {
    let Some(score) = score else {
        return "Not scored yet.".to_owned();
    };
    if points.is_empty() {
        return format!("No factors stored; score {score}.");
    }
    let mut sum_text = String::new();
    for (i, &(_, p)) in points.iter().enumerate() {
        match (i, p < 0.0) {
            (0, _) => sum_text.push_str(&number(p)),
            (_, true) => sum_text.push_str(&format!(" − {}", number(-p))),
            (_, false) => sum_text.push_str(&format!(" + {}", number(p))),
        }
    }
    let sum: f64 = points.iter().map(|(_, p)| p).sum();
    let sum = (sum * 10.0).round() / 10.0;
    let rounded = sum.round().clamp(0.0, 100.0) as i16;
    let outcome = if sum > 100.0 {
        "capped at 100".to_owned()
    } else if sum < 0.0 {
        "raised to 0".to_owned()
    } else if sum.fract() == 0.0 {
        format!("score {rounded}")
    } else {
        format!("rounded to {rounded}")
    };
    let mut text = if points.len() == 1 {
        format!("{sum_text}, {outcome}")
    } else {
        format!("{sum_text} = {}, {outcome}", number(sum))
    };
    if rounded != score {
        text.push_str(&format!(
            " (the stored score is {score}: it is brought up to date at the next rescore)"
        ));
    }
    text.push('.');
    text
}

/// The environment the stored points stand for: the cluster's when its weight gives them,
/// else the first whose weight does.
fn environment_of(points: f64, now: Environment, w: &Weights) -> Option<Environment> {
    if close(environment_weight(now, w), points) {
        return Some(now);
    }
    [
        Environment::Prod,
        Environment::Staging,
        Environment::Unknown,
        Environment::Dev,
    ]
    .into_iter()
    .find(|&e| close(environment_weight(e, w), points))
}

fn environment_weight(environment: Environment, w: &Weights) -> f64 {
    match environment {
        Environment::Prod => w.environment_prod,
        Environment::Staging => w.environment_staging,
        Environment::Dev => w.environment_dev,
        Environment::Unknown => w.environment_unknown,
    }
}

/// The criticality (1–5) the stored points stand for: the cluster's when it gives them.
fn criticality_of(points: f64, now: i16, w: &Weights) -> Option<i16> {
    if (1..=5).contains(&now) && close(f64::from(now - 3) * w.criticality_per_step, points) {
        return Some(now);
    }
    let steps = ratio(points, w.criticality_per_step)?.round();
    let level = 3.0 + steps;
    (1.0..=5.0).contains(&level).then_some(level as i16)
}

/// `points / weight`, when the weight is not zero.
fn ratio(points: f64, weight: f64) -> Option<f64> {
    (weight != 0.0).then(|| points / weight)
}

/// Equal once rounded to the tenth the score stores.
fn close(a: f64, b: f64) -> bool {
    ((a * 10.0).round() - (b * 10.0).round()).abs() < 0.5
}

/// "20", "39.2", "-4": a tenth at most, no trailing zero.
fn number(value: f64) -> String {
    let tenths = (value * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}")
    } else {
        format!("{tenths:.1}")
    }
}

/// "+20", "+39.2", "−4".
fn signed_points(points: f64) -> String {
    if points < 0.0 {
        format!("−{}", number(-points))
    } else {
        format!("+{}", number(points))
    }
}

/// "94.0 %", "0.04 %".
fn percent(probability: f64) -> String {
    let pct = probability * 100.0;
    if pct > 0.0 && pct < 0.1 {
        format!("{pct:.2} %")
    } else {
        format!("{pct:.1} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::risk::{self, Exposure, Inputs};
    use serde_json::json;

    fn kev_prod_facts() -> Facts<'static> {
        Facts {
            severity: Severity::Critical,
            cvss_score: Some(9.8),
            kev_added: NaiveDate::from_ymd_opt(2024, 3, 2),
            epss: Some(0.94),
            fixed_version: Some("3.0.2"),
            environment: Environment::Prod,
            criticality: 5,
        }
    }

    fn why(explained: &RiskExplained, factor: &str) -> String {
        explained
            .factors
            .iter()
            .find(|f| f.factor == factor)
            .map(|f| f.why.clone())
            .unwrap_or_else(|| panic!("no {factor} in {explained:?}"))
    }

    #[test]
    fn every_factor_says_why_with_its_points() {
        let stored = json!({"severity": 39.2, "kev": 20, "epss": 14.1, "fix": 5,
                            "exposure": 10, "environment": 10, "criticality": 4,
                            "privilege": 5, "runtime": 10});
        let e = explain(&stored, Some(100), &kev_prod_facts(), &Weights::default());
        assert_eq!(why(&e, "kev"), "In CISA KEV since 2024-03-02 (+20)");
        assert_eq!(why(&e, "severity"), "CVSS base score 9.8 (+39.2)");
        assert_eq!(
            why(&e, "epss"),
            "EPSS: 94.0 % chance of exploitation in the next 30 days (+14.1)"
        );
        assert_eq!(why(&e, "environment"), "Runs in production (+10)");
        assert_eq!(why(&e, "criticality"), "Cluster criticality 5 of 5 (+4)");
        assert_eq!(
            why(&e, "fix"),
            "A fixed version is available (3.0.2): it can be fixed now (+5)"
        );
        assert_eq!(
            why(&e, "exposure"),
            "Runs in an internet-facing workload (+10)"
        );
        // biggest first, each with its value and weight
        assert_eq!(e.factors[0].factor, "severity");
        assert_eq!(e.factors[0].value, "CVSS 9.8");
        assert_eq!(e.factors[0].weight, "× 4 per CVSS point");
        let kev = e.factors.iter().find(|f| f.factor == "kev").unwrap();
        assert_eq!(
            (kev.value.as_str(), kev.weight.as_str()),
            ("listed 2024-03-02", "+20")
        );
        assert!(e.arithmetic.ends_with("capped at 100."), "{}", e.arithmetic);
    }

    #[test]
    fn the_arithmetic_adds_up_to_the_stored_score() {
        let points = [
            ("severity", 30.0),
            ("environment", 4.0),
            ("criticality", -4.0),
        ];
        assert_eq!(arithmetic(&points, Some(30)), "30 + 4 − 4 = 30, score 30.");
        let points = [("severity", 39.2), ("kev", 20.0), ("environment", 10.0)];
        assert_eq!(
            arithmetic(&points, Some(69)),
            "39.2 + 20 + 10 = 69.2, rounded to 69."
        );
        assert!(arithmetic(&points, Some(50)).contains("the stored score is 50"));
        assert_eq!(arithmetic(&[], None), "Not scored yet.");
        assert_eq!(arithmetic(&[("severity", 10.0)], Some(10)), "10, score 10.");
    }

    #[test]
    fn a_finding_without_cvss_is_explained_by_its_severity() {
        let facts = Facts {
            severity: Severity::High,
            ..Facts::default()
        };
        let e = explain(
            &json!({"severity": 30, "environment": 4}),
            Some(34),
            &facts,
            &Weights::default(),
        );
        assert_eq!(
            why(&e, "severity"),
            "High severity from the scanner, no CVSS score: counted as 7.5 (+30)"
        );
        // staging and "not running yet" weigh the same by default: the cluster decides
        assert_eq!(
            why(&e, "environment"),
            "Not seen running in a cluster yet (+4)"
        );
        let staging = Facts {
            environment: Environment::Staging,
            ..facts
        };
        let e = explain(
            &json!({"environment": 4}),
            Some(4),
            &staging,
            &Weights::default(),
        );
        assert_eq!(why(&e, "environment"), "Runs in staging (+4)");
    }

    #[test]
    fn a_low_criticality_subtracts() {
        let facts = Facts {
            criticality: 1,
            environment: Environment::Dev,
            ..Facts::default()
        };
        let e = explain(
            &json!({"criticality": -4}),
            Some(0),
            &facts,
            &Weights::default(),
        );
        assert_eq!(why(&e, "criticality"), "Cluster criticality 1 of 5 (−4)");
        assert_eq!(e.factors[0].weight, "+2 per step from 3");
        assert_eq!(e.arithmetic, "-4, raised to 0.");
    }

    #[test]
    fn values_the_facts_no_longer_give_are_read_from_the_points() {
        // scored when the CVSS was 7.5; the catalogue says 9.8 now
        let e = explain(
            &json!({"severity": 30, "kev": 20, "epss": 1.5}),
            Some(52),
            &Facts {
                cvss_score: Some(9.8),
                ..Facts::default()
            },
            &Weights::default(),
        );
        assert_eq!(why(&e, "severity"), "Severity: base 7.5 when scored (+30)");
        assert_eq!(why(&e, "kev"), "In CISA KEV when it was scored (+20)");
        assert_eq!(
            why(&e, "epss"),
            "EPSS: 10.0 % chance of exploitation in the next 30 days (+1.5)"
        );
        let unknown = explain(
            &json!({"moon_phase": 2}),
            Some(2),
            &Facts::default(),
            &Weights::default(),
        );
        assert_eq!(unknown.factors[0].why, "moon phase (+2)");
    }

    #[test]
    fn what_the_score_stores_is_what_the_page_explains() {
        // the same inputs through the scorer and the explanation: every factor worded, and
        // the arithmetic arrives at the score
        let inputs = Inputs {
            severity: Severity::Critical,
            cvss: Some(9.8),
            cvss_vector: None,
            kev_added: NaiveDate::from_ymd_opt(2024, 3, 2),
            epss: Some(0.5),
            fix_available: true,
            exposure: Exposure {
                environment: Environment::Staging,
                criticality: 2,
                ..Exposure::default()
            },
        };
        let weights = Weights::default();
        let risk = risk::score(&inputs, &weights);
        let facts = Facts {
            severity: Severity::Critical,
            cvss_score: Some(9.8),
            kev_added: inputs.kev_added,
            epss: Some(0.5),
            fixed_version: Some("2.0"),
            environment: Environment::Staging,
            criticality: 2,
        };
        let e = explain(&risk.points_value(), Some(risk.score), &facts, &weights);
        assert_eq!(e.factors.len(), risk.factors.len());
        assert!(
            e.factors.iter().all(|f| !f.why.starts_with(&f.factor)),
            "{e:?}"
        );
        assert!(!e.arithmetic.contains("stored score"), "{}", e.arithmetic);
        assert_eq!(why(&e, "environment"), "Runs in staging (+4)");
        assert_eq!(why(&e, "criticality"), "Cluster criticality 2 of 5 (−2)");
    }
}
