//! Risk ranking: a 0–100 score per finding from factors that explain themselves.
//!
//! Every factor adds points and says why; the UI shows the list next to the score ("why #1").
//! Weights are configurable (setting `risk.weights`); the defaults put a KEV-listed, internet-
//! facing vulnerability in production at the top and a low-severity, unfixable finding in a dev
//! cluster at the bottom. Pure: no I/O; the callers gather the inputs.
//!
//! Two paths score findings: ingestion (a report's findings as they are stored) and the
//! recompute after an input changed (KEV/EPSS imports, runtime signal, a cluster's settings).
//! Both turn a finding into [`Inputs`] through [`inputs`] and [`Exposures::of`], so a finding
//! scores and explains itself the same whichever path scored it last.

use std::collections::HashMap;

use app::model::Severity;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::report::FindingKind;

/// How many points each factor is worth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    /// Points per CVSS base point (0–10), so severity weighs at most 10× this.
    pub severity_per_cvss_point: f64,
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub kev: f64,
    /// Points at an EPSS probability of 1 (scaled linearly).
    pub epss_max: f64,
    /// A fixed version exists: the finding is actionable.
    pub fix_available: f64,
    /// The workload is reachable from the internet.
    pub internet_facing: f64,
    /// Runtime detections on the same workload in the last seven days.
    pub runtime_signal: f64,
    /// Runs in a production cluster.
    pub environment_prod: f64,
    /// Runs in a staging cluster.
    pub environment_staging: f64,
    /// Runs in a development cluster.
    pub environment_dev: f64,
    /// Not known to run anywhere yet (an image scanned in CI).
    pub environment_unknown: f64,
    /// Points per criticality step above (or below) the middle (3 of 1–5).
    pub criticality_per_step: f64,
    /// Privileged container or host mounts.
    pub privileged: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            severity_per_cvss_point: 4.0,
            kev: 20.0,
            epss_max: 15.0,
            fix_available: 5.0,
            internet_facing: 10.0,
            runtime_signal: 10.0,
            environment_prod: 10.0,
            environment_staging: 4.0,
            environment_dev: 0.0,
            environment_unknown: 4.0,
            criticality_per_step: 2.0,
            privileged: 5.0,
        }
    }
}

/// Where an asset runs.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Not known to run in any cluster.
    #[default]
    Unknown,
    /// Development.
    Dev,
    /// Staging.
    Staging,
    /// Production.
    Prod,
}

impl Environment {
    /// From `cluster.environment`.
    pub fn parse(value: &str) -> Environment {
        match value {
            "prod" => Environment::Prod,
            "staging" => Environment::Staging,
            "dev" => Environment::Dev,
            _ => Environment::Unknown,
        }
    }
}

/// Where and how an asset runs: the worst case over every place it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exposure {
    /// The most important environment it runs in.
    pub environment: Environment,
    /// The highest cluster criticality (1–5); 0 when unknown.
    pub criticality: i16,
    /// Some workload running it is internet-facing.
    pub internet_facing: bool,
    /// Some workload running it is privileged or mounts host paths.
    pub privileged: bool,
    /// Runtime detections on a workload running it in the last seven days.
    pub runtime_signal: bool,
}

impl Exposure {
    /// The worse of two exposures, factor by factor.
    pub fn worst(self, other: Exposure) -> Exposure {
        Exposure {
            environment: self.environment.max(other.environment),
            criticality: self.criticality.max(other.criticality),
            internet_facing: self.internet_facing || other.internet_facing,
            privileged: self.privileged || other.privileged,
            runtime_signal: self.runtime_signal || other.runtime_signal,
        }
    }
}

/// Everything the score depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// The scanner's severity (used when there is no CVSS vector).
    pub severity: Severity,
    /// CVSS base score from the vector, when there is one.
    pub cvss: Option<f32>,
    /// The vector it came from, for the explanation.
    pub cvss_vector: Option<String>,
    /// Date added to CISA KEV, when listed.
    pub kev_added: Option<NaiveDate>,
    /// EPSS probability (0–1), when known.
    pub epss: Option<f32>,
    /// A fixed version exists.
    pub fix_available: bool,
    /// Where it runs.
    pub exposure: Exposure,
}

/// Exploitation intelligence for one vulnerability.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Intel {
    /// Date added to CISA KEV.
    pub kev_added: Option<NaiveDate>,
    /// EPSS probability.
    pub epss: Option<f32>,
}

/// Where a finding sits, as far as its risk is concerned: the asset ids stored on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Its cluster; `0` for fleet-level findings (an image scanned in CI, a report that names
    /// no cluster).
    pub cluster_id: i64,
    /// The workload it is on, within its cluster.
    pub workload_id: Option<i64>,
    /// The image it is in.
    pub image_id: Option<i64>,
}

/// The exposures known for the findings being scored, gathered from the estate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposures {
    /// Per `(cluster, workload)`: the workload's cluster and its own flags.
    pub workloads: HashMap<(i64, i64), Exposure>,
    /// Per `(cluster, image)`: the worst over the workloads of that cluster that run it.
    pub images: HashMap<(i64, i64), Exposure>,
    /// Per cluster: its environment and criticality.
    pub clusters: HashMap<i64, Exposure>,
}

impl Exposures {
    /// The exposure that counts for a finding at `placement`:
    /// - on a workload of a cluster: the workload's; its cluster's when the workload is not
    ///   known;
    /// - on an image in a cluster: the worst over the cluster's workloads that run it; the
    ///   cluster's when none of them is known;
    /// - anywhere else in a cluster (the cluster, a node, a resource): the cluster's;
    /// - at fleet level: none. A fleet-level finding is ranked on what it is, never on one
    ///   cluster's estate, so that no cluster moves what another's users see
    ///   ([`crate::domain::tenancy`]).
    pub fn of(&self, placement: Placement) -> Exposure {
        let cluster = || {
            self.clusters
                .get(&placement.cluster_id)
                .copied()
                .unwrap_or_default()
        };
        match placement {
            Placement {
                cluster_id: 1..,
                workload_id: Some(workload),
                ..
            } => self
                .workloads
                .get(&(placement.cluster_id, workload))
                .copied()
                .unwrap_or_else(cluster),
            Placement {
                cluster_id: 1..,
                image_id: Some(image),
                ..
            } => self
                .images
                .get(&(placement.cluster_id, image))
                .copied()
                .unwrap_or_else(cluster),
            Placement {
                cluster_id: 1.., ..
            } => cluster(),
            _ => Exposure::default(),
        }
    }
}

/// What a finding's score depends on that is stored with the finding itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FindingFacts<'a> {
    /// Its kind: only vulnerabilities have fixed versions that count.
    pub kind: FindingKind,
    /// The scanner's severity.
    pub severity: Severity,
    /// The version that fixes it, when known.
    pub fixed_version: Option<&'a str>,
    /// Where it sits.
    pub placement: Placement,
}

/// What a finding's score depends on that belongs to its vulnerability (none for the other
/// kinds): the catalogue's CVSS and the threat intelligence.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VulnerabilityFacts<'a> {
    /// The catalogue's CVSS vector.
    pub cvss_vector: Option<&'a str>,
    /// The catalogue's CVSS base score.
    pub cvss_score: Option<f32>,
    /// KEV and EPSS.
    pub intel: Intel,
}

/// The scoring inputs of one finding: the one rule both scoring paths follow.
pub fn inputs(
    finding: &FindingFacts<'_>,
    vulnerability: &VulnerabilityFacts<'_>,
    exposures: &Exposures,
) -> Inputs {
    Inputs {
        severity: finding.severity,
        cvss: vulnerability.cvss_score,
        cvss_vector: vulnerability.cvss_vector.map(str::to_owned),
        kev_added: vulnerability.intel.kev_added,
        epss: vulnerability.intel.epss,
        fix_available: finding.kind == FindingKind::Vulnerability
            && finding.fixed_version.is_some(),
        exposure: exposures.of(finding.placement),
    }
}

/// One line of the explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Stable name: severity, kev, epss, fix, exposure, runtime, environment, criticality,
    /// privilege.
    pub factor: String,
    /// For people: "CVSS 9.8 (CVSS:3.1/...)", "in CISA KEV since 2021-12-10", ...
    pub detail: String,
    /// Points added (negative for a below-average criticality).
    pub points: f64,
}

/// A score and its explanation.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    /// 0–100.
    pub score: i16,
    /// The factors, biggest first.
    pub factors: Vec<Factor>,
}

impl Risk {
    /// The breakdown as stored with a finding: points per factor, e.g.
    /// `{"severity":39.2,"kev":20,"environment":10}`. The wording of each factor is derived from
    /// the finding's inputs when shown, so the stored form stays small.
    pub fn points_json(&self) -> String {
        self.points_value().to_string()
    }

    /// The breakdown as stored, as a JSON value.
    pub fn points_value(&self) -> serde_json::Value {
        self.factors
            .iter()
            .map(|f| (f.factor.clone(), serde_json::json!(f.points)))
            .collect::<serde_json::Map<String, serde_json::Value>>()
            .into()
    }
}

/// The CVSS-like base a scanner severity stands for, when there is no vector.
pub fn severity_base(severity: Severity) -> f32 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 7.5,
        Severity::Medium => 5.0,
        Severity::Low => 2.5,
        Severity::Unknown => 4.0,
    }
}

/// Scores one finding.
pub fn score(inputs: &Inputs, weights: &Weights) -> Risk {
    let mut factors = Vec::new();
    // A factor worth nothing once rounded (an EPSS of 0.04 %, say) explains nothing.
    let mut add = |factor: &str, detail: String, points: f64| {
        let points = (points * 10.0).round() / 10.0;
        if points != 0.0 {
            factors.push(Factor {
                factor: factor.to_owned(),
                detail,
                points,
            });
        }
    };

    let (base, detail) = match (inputs.cvss, &inputs.cvss_vector) {
        (Some(cvss), Some(vector)) => (cvss, format!("CVSS {cvss:.1} ({vector})")),
        (Some(cvss), None) => (cvss, format!("CVSS {cvss:.1}")),
        _ => {
            let base = severity_base(inputs.severity);
            (
                base,
                format!("{} severity (no CVSS vector)", inputs.severity.label()),
            )
        }
    };
    add(
        "severity",
        detail,
        f64::from(base.clamp(0.0, 10.0)) * weights.severity_per_cvss_point,
    );
    if let Some(added) = inputs.kev_added {
        add(
            "kev",
            format!("exploited in the wild: in CISA KEV since {added}"),
            weights.kev,
        );
    }
    if let Some(epss) = inputs.epss {
        let epss = f64::from(epss.clamp(0.0, 1.0));
        add(
            "epss",
            format!(
                "EPSS: {:.1}% probability of exploitation in 30 days",
                epss * 100.0
            ),
            epss * weights.epss_max,
        );
    }
    if inputs.fix_available {
        add(
            "fix",
            "a fixed version is available".to_owned(),
            weights.fix_available,
        );
    }
    let exposure = inputs.exposure;
    if exposure.internet_facing {
        add(
            "exposure",
            "runs in an internet-facing workload".to_owned(),
            weights.internet_facing,
        );
    }
    if exposure.runtime_signal {
        add(
            "runtime",
            "runtime detections on the same workload in the last 7 days".to_owned(),
            weights.runtime_signal,
        );
    }
    let (environment, points) = match exposure.environment {
        Environment::Prod => ("runs in production", weights.environment_prod),
        Environment::Staging => ("runs in staging", weights.environment_staging),
        Environment::Dev => ("runs in development only", weights.environment_dev),
        Environment::Unknown => (
            "not seen running in a cluster yet",
            weights.environment_unknown,
        ),
    };
    add("environment", environment.to_owned(), points);
    if exposure.criticality > 0 {
        let steps = f64::from(exposure.criticality.clamp(1, 5) - 3);
        add(
            "criticality",
            format!(
                "cluster criticality {} of 5",
                exposure.criticality.clamp(1, 5)
            ),
            steps * weights.criticality_per_step,
        );
    }
    if exposure.privileged {
        add(
            "privilege",
            "privileged container or host mounts".to_owned(),
            weights.privileged,
        );
    }

    let total: f64 = factors.iter().map(|f| f.points).sum();
    factors.sort_by(|a, b| b.points.total_cmp(&a.points));
    Risk {
        score: total.round().clamp(0.0, 100.0) as i16,
        factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kev_internet_prod() -> Inputs {
        Inputs {
            severity: Severity::Critical,
            cvss: Some(9.8),
            cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned()),
            kev_added: NaiveDate::from_ymd_opt(2021, 12, 10),
            epss: Some(0.94),
            fix_available: true,
            exposure: Exposure {
                environment: Environment::Prod,
                criticality: 5,
                internet_facing: true,
                privileged: false,
                runtime_signal: false,
            },
        }
    }

    fn low_no_fix_dev() -> Inputs {
        Inputs {
            severity: Severity::Low,
            cvss: Some(3.1),
            cvss_vector: None,
            kev_added: None,
            epss: Some(0.0004),
            fix_available: false,
            exposure: Exposure {
                environment: Environment::Dev,
                criticality: 1,
                ..Exposure::default()
            },
        }
    }

    #[test]
    fn kev_internet_facing_prod_tops_and_low_unfixable_dev_bottoms() {
        let weights = Weights::default();
        let top = score(&kev_internet_prod(), &weights);
        let bottom = score(&low_no_fix_dev(), &weights);
        assert_eq!(top.score, 100);
        assert!(bottom.score <= 10, "{bottom:?}");
        // The explanation names what put it at the top, biggest first.
        assert_eq!(top.factors[0].factor, "severity");
        assert!(top.factors.iter().any(|f| f.factor == "kev"));
        assert!(top.factors.iter().any(|f| f.factor == "exposure"));
        let stored: serde_json::Value = serde_json::from_str(&top.points_json()).unwrap();
        assert_eq!(stored["kev"], 20.0);
        assert_eq!(stored["severity"], 39.2);
    }

    #[test]
    fn missing_vector_falls_back_to_the_scanner_severity() {
        let risk = score(
            &Inputs {
                severity: Severity::High,
                ..Inputs::default()
            },
            &Weights::default(),
        );
        assert!(risk.factors[0].detail.contains("High severity"));
        assert_eq!(risk.score, 34); // 7.5 × 4 + unknown environment 4
    }

    fn any_inputs() -> impl Strategy<Value = Inputs> {
        (
            0u8..5,
            proptest::option::of(0.0f32..=10.0),
            any::<bool>(),
            proptest::option::of(0.0f32..=1.0),
            any::<bool>(),
            0u8..4,
            0i16..=5,
            any::<(bool, bool, bool)>(),
        )
            .prop_map(
                |(sev, cvss, kev, epss, fix, env, crit, (net, privileged, runtime))| Inputs {
                    severity: Severity::from_i16(i16::from(sev)),
                    cvss,
                    cvss_vector: None,
                    kev_added: kev.then(|| NaiveDate::from_ymd_opt(2024, 1, 1)).flatten(),
                    epss,
                    fix_available: fix,
                    exposure: Exposure {
                        environment: [
                            Environment::Unknown,
                            Environment::Dev,
                            Environment::Staging,
                            Environment::Prod,
                        ][usize::from(env)],
                        criticality: crit,
                        internet_facing: net,
                        privileged,
                        runtime_signal: runtime,
                    },
                },
            )
    }

    proptest! {
        #[test]
        fn score_stays_in_range(inputs in any_inputs()) {
            let risk = score(&inputs, &Weights::default());
            prop_assert!((0..=100).contains(&risk.score));
        }

        #[test]
        fn adding_a_risk_factor_never_lowers_the_score(inputs in any_inputs()) {
            let weights = Weights::default();
            let before = score(&inputs, &weights).score;
            let mut worse = inputs.clone();
            worse.kev_added = NaiveDate::from_ymd_opt(2024, 1, 1);
            prop_assert!(score(&worse, &weights).score >= before);
            let mut worse = inputs.clone();
            worse.exposure.internet_facing = true;
            prop_assert!(score(&worse, &weights).score >= before);
            let mut worse = inputs.clone();
            worse.exposure.runtime_signal = true;
            prop_assert!(score(&worse, &weights).score >= before);
            let mut worse = inputs.clone();
            worse.exposure.environment = Environment::Prod;
            prop_assert!(score(&worse, &weights).score >= before);
            let mut worse = inputs;
            worse.cvss = Some(worse.cvss.map_or(10.0, |c| (c + 1.0).min(10.0)));
            prop_assert!(score(&worse, &weights).score >= before || worse.cvss.is_none());
        }
    }
}
