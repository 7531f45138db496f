//! Typed query-string parameters. Each page's filters are a struct deriving leptos_router's
//! `Params` (read with `use_query::<T>()`); its fields are [`Lenient`], so a value that is
//! absent, empty (as a GET form sends untouched fields) or unreadable counts as "not given"
//! instead of failing the whole struct. A bad bookmark therefore shows the unfiltered list,
//! and the filter form shows what was applied.
//!
//! This file is the pages' URL contract: every query parameter a page reads is declared here,
//! under the names bookmarks, links and tests use. Rename nothing; add fields.
//!
//! What does not belong here: the wire types sent to the store ([`super::ListFilter`],
//! [`super::AuditFilter`]); the structs here convert into them.

use std::str::FromStr;

use chrono::NaiveDate;
use leptos::Params;
use leptos_router::params::{IntoParam, Params, ParamsError};

use super::{AuditFilter, EstateFilter, Flash, ListFilter, OverviewFilter, Severity};

/// A query parameter that reads as `None` when it is absent, blank or does not parse as `T`.
/// Surrounding whitespace is ignored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<T> Lenient<T> {
    /// The value, when one was given and read.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }

    /// The value, when one was given and read.
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

impl<T: FromStr> Lenient<T> {
    /// Reads a raw parameter value.
    pub fn read(value: Option<&str>) -> Lenient<T> {
        Lenient(
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .and_then(|v| v.parse().ok()),
        )
    }
}

impl<T: FromStr> IntoParam for Lenient<T> {
    fn into_param(value: Option<&str>, _name: &str) -> Result<Self, ParamsError> {
        Ok(Lenient::read(value))
    }
}

impl<T> From<Option<T>> for Lenient<T> {
    fn from(value: Option<T>) -> Self {
        Lenient(value)
    }
}

/// `/?provider=&environment=&cluster=&days=`: the overview of some clusters and the period of
/// its MTTR.
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct OverviewQuery {
    /// Only clusters of this provider.
    pub provider: Lenient<String>,
    /// Only clusters of this environment.
    pub environment: Lenient<String>,
    /// Only this cluster (by name); absent for every cluster.
    pub cluster: Lenient<String>,
    /// The MTTR period in days (7, 30 or 90).
    pub days: Lenient<i32>,
}

impl OverviewQuery {
    /// The filter sent to the store.
    pub fn filter(&self) -> OverviewFilter {
        OverviewFilter {
            provider: self.provider.get().cloned(),
            environment: self.environment.get().cloned(),
            cluster: self.cluster.get().cloned(),
            days: self.days.get().copied(),
        }
    }
}

/// `/estate?cluster=…&namespace=…`: which part of the estate to show.
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct EstateQuery {
    /// One cluster, by name.
    pub cluster: Lenient<String>,
    /// One namespace of that cluster, by name.
    pub namespace: Lenient<String>,
}

impl EstateQuery {
    /// The filter sent to the store.
    pub fn filter(&self) -> EstateFilter {
        EstateFilter {
            cluster: self.cluster.get().cloned(),
            namespace: self.namespace.get().cloned(),
        }
    }
}

/// `/images/{id}`: the image's id as the path gives it (checked by the server).
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct ImagePath {
    /// The id.
    pub id: Option<String>,
}

/// `/findings?…`: the explorer's filters, order, grouping and page. Every field is one value;
/// the server checks each (an unknown value is a 400 that names it).
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct FindingsQuery {
    /// Only this severity (`critical`, `high`, …; scanner words such as `important` read too).
    pub severity: Lenient<Severity>,
    /// Only what concerns this cluster (by name).
    pub cluster: Lenient<String>,
    /// Only rows whose title, vulnerability id, package or image contains this.
    pub q: Lenient<String>,
    /// `overdue`: only findings past their SLA (the overview's SLA breaches link here).
    pub sla: Lenient<String>,
    /// `vulnerability`, `misconfiguration`, `secret`, …
    pub kind: Lenient<String>,
    /// `open` (the default), `reopened`, `accepted`, `false_positive`, `suppressed_by_vex`,
    /// `fixed`.
    pub status: Lenient<String>,
    /// `yes` / `no`: in CISA KEV.
    pub kev: Lenient<String>,
    /// `yes` / `no`: a fixed version exists.
    pub fix: Lenient<String>,
    /// `internet` / `internal`.
    pub exposure: Lenient<String>,
    /// A provider (`aws`, …).
    pub provider: Lenient<String>,
    /// An environment (`prod`, `staging`, `dev`).
    pub environment: Lenient<String>,
    /// A namespace name.
    pub namespace: Lenient<String>,
    /// A source (scanner install) name.
    pub source: Lenient<String>,
    /// One vulnerability id.
    pub vulnerability: Lenient<String>,
    /// One image (id).
    pub image: Lenient<String>,
    /// One workload (`cluster id:workload id`).
    pub workload: Lenient<String>,
    /// `risk` (the default), `severity`, `first_seen`, `last_seen`.
    pub sort: Lenient<String>,
    /// `vulnerability`, `image`, `workload`, `cluster`.
    pub group: Lenient<String>,
    /// The keyset position this page starts after.
    pub after: Lenient<String>,
}

impl FindingsQuery {
    /// The filter sent to the store.
    pub fn filter(&self) -> ListFilter {
        let text = |v: &Lenient<String>| v.get().cloned();
        ListFilter {
            severity: self.severity.get().map(|s| s.slug().to_owned()),
            cluster: text(&self.cluster),
            q: text(&self.q),
            sla: text(&self.sla),
            kind: text(&self.kind),
            status: text(&self.status),
            kev: text(&self.kev),
            fix: text(&self.fix),
            exposure: text(&self.exposure),
            provider: text(&self.provider),
            environment: text(&self.environment),
            namespace: text(&self.namespace),
            source: text(&self.source),
            vulnerability: text(&self.vulnerability),
            image: text(&self.image),
            workload: text(&self.workload),
            sort: text(&self.sort),
            group: text(&self.group),
            after: text(&self.after),
        }
    }
}

/// `/events?cluster=&q=`.
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct EventsQuery {
    /// Only events of this cluster (by name).
    pub cluster: Lenient<String>,
    /// Only events whose text contains this.
    pub q: Lenient<String>,
}

impl EventsQuery {
    /// The filter sent to the store.
    pub fn filter(&self) -> ListFilter {
        ListFilter {
            cluster: self.cluster.get().cloned(),
            q: self.q.get().cloned(),
            ..ListFilter::default()
        }
    }
}

/// `/audit?action=&actor=&since=&until=` (and the same on `/audit.csv`).
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct AuditQuery {
    /// Only this action (exact).
    pub action: Lenient<String>,
    /// Only actors whose name contains this.
    pub actor: Lenient<String>,
    /// Only entries on or after this day (UTC).
    pub since: Lenient<NaiveDate>,
    /// Only entries up to the end of this day (UTC).
    pub until: Lenient<NaiveDate>,
}

impl AuditQuery {
    /// The filter sent to the store.
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            action: self.action.get().cloned(),
            actor: self.actor.get().cloned(),
            since: self.since.get().map(|d| d.format("%Y-%m-%d").to_string()),
            until: self.until.get().map(|d| d.format("%Y-%m-%d").to_string()),
        }
    }
}

/// `?flash=`: the outcome a form handler redirected back with (any page).
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct FlashQuery {
    /// The flash; unknown codes read as none.
    pub flash: Lenient<Flash>,
}

/// `/login?next=&flash=`.
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct LoginQuery {
    /// Where to go after signing in (checked with `safe_next` before use).
    pub next: Lenient<String>,
    /// The outcome of the last attempt (also of single sign-on, and why a session ended).
    pub flash: Lenient<Flash>,
}

impl LoginQuery {
    /// The message to show.
    pub fn flash(&self) -> Option<Flash> {
        self.flash.get().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_unreadable_values_count_as_not_given() {
        assert_eq!(Lenient::<Severity>::read(None), Lenient(None));
        assert_eq!(Lenient::<Severity>::read(Some("")), Lenient(None));
        assert_eq!(Lenient::<Severity>::read(Some("  ")), Lenient(None));
        assert_eq!(Lenient::<Severity>::read(Some("purple")), Lenient(None));
        assert_eq!(
            Lenient::<Severity>::read(Some(" high ")),
            Lenient(Some(Severity::High))
        );
        assert_eq!(
            Lenient::<String>::read(Some(" openssl ")),
            Lenient(Some("openssl".to_owned()))
        );
    }

    /// A query string as the router hands it over. `ParamsMap` decodes values with the
    /// browser's `decodeURIComponent` unless built for the server, so these tests run with
    /// `ssr` (as in the workspace's test run, where the server enables it).
    #[cfg(feature = "ssr")]
    fn params(pairs: &[(&'static str, &str)]) -> leptos_router::params::ParamsMap {
        let mut map = leptos_router::params::ParamsMap::new();
        for (k, v) in pairs {
            map.insert(*k, (*v).to_owned());
        }
        map
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_bad_value_drops_only_itself() {
        let query = FindingsQuery::from_map(&params(&[
            ("severity", "purple"),
            ("cluster", "prod-eu-1"),
            ("q", ""),
        ]))
        .unwrap();
        assert_eq!(
            query.filter(),
            ListFilter {
                cluster: Some("prod-eu-1".to_owned()),
                ..ListFilter::default()
            }
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn severities_reach_the_store_as_their_slug() {
        let query = FindingsQuery::from_map(&params(&[("severity", "Important")])).unwrap();
        assert_eq!(query.filter().severity.as_deref(), Some("high"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn audit_days_must_be_dates() {
        let query = AuditQuery::from_map(&params(&[
            ("since", "2026-11-01"),
            ("until", "' OR 1=1"),
            ("action", "login"),
        ]))
        .unwrap();
        assert_eq!(
            query.filter(),
            AuditFilter {
                action: Some("login".to_owned()),
                actor: None,
                since: Some("2026-11-01".to_owned()),
                until: None,
            }
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_sign_in_page_reads_its_flash_and_ignores_the_rest() {
        let query =
            LoginQuery::from_map(&params(&[("flash", "sso-no-role"), ("error", "invalid")]))
                .unwrap();
        assert_eq!(query.flash(), Some(Flash::SsoNoRole));
        let query = LoginQuery::from_map(&params(&[("error", "sso_role")])).unwrap();
        assert_eq!(query.flash(), None);
        let query = LoginQuery::from_map(&params(&[("flash", "nonsense")])).unwrap();
        assert_eq!(query.flash(), None);
    }
}
