//! Reading the records of Trivy results into the report: vulnerabilities (decoded in parallel
//! by [`super::decoder`], added in report order), failed misconfiguration checks and secrets.
//! Which asset a result belongs to is decided by [`super::envelope`] before it gets here.

use serde_json::json;
use serde_json::value::RawValue;

use super::decoder::{
    DECODE_WINDOW, Decoder, PreparedVulnerability, RecordContext, prepare_vulnerability,
};
use super::envelope::Asset;
use super::schema::{Misconfiguration, ResultEntry, Secret, VulnerabilityCatalogue};
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    FindingKind, FindingRecord, ReportBuilder, VulnerabilityInfo, insert_some, parse_timestamp,
};

/// Reads the records of results into the builder.
pub(super) struct Reader<'b> {
    pub(super) b: &'b mut ReportBuilder,
    pub(super) scope: usize,
    /// The Kubernetes resource the results belong to (`trivy k8s`).
    pub(super) workload: Option<usize>,
    /// One per core, kept from result to result.
    pub(super) decoders: Vec<Decoder>,
}

impl<'b> Reader<'b> {
    pub(super) fn new(b: &'b mut ReportBuilder, scope: usize, workload: Option<usize>) -> Self {
        let lanes = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Reader {
            b,
            scope,
            workload,
            decoders: (0..lanes).map(|_| Decoder::default()).collect(),
        }
    }

    pub(super) fn result(&mut self, pointer: &str, raw: &RawValue, asset: &Asset) {
        match serde_json::from_str::<ResultEntry<'_>>(raw.get()) {
            Ok(entry) => self.entry(pointer, entry, asset),
            Err(e) => self.b.warn(pointer, format!("result skipped: {e}")),
        }
    }

    pub(super) fn entry(&mut self, pointer: &str, entry: ResultEntry<'_>, asset: &Asset) {
        let target = entry.target.unwrap_or_default();
        let ecosystem = entry.kind.or(entry.class).unwrap_or_default();
        let asset_key = if asset.per_target {
            format!("{}#{target}", asset.key)
        } else {
            asset.key.clone()
        };
        let cx = RecordContext {
            target: &target,
            ecosystem: &ecosystem,
            asset_key: &asset_key,
        };
        let raws = entry.vulnerabilities.unwrap_or_default();
        self.vulnerabilities(pointer, &raws, &cx, asset);
        for (j, raw) in entry
            .misconfigurations
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("{pointer}/Misconfigurations/{j}");
            self.b.record();
            match serde_json::from_str::<Misconfiguration>(raw.get()) {
                Ok(m) => self.misconfiguration(&at, m, &target, &asset_key, asset),
                Err(e) => self.b.warn(at, format!("misconfiguration skipped: {e}")),
            }
        }
        for (j, raw) in entry.secrets.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{pointer}/Secrets/{j}");
            self.b.record();
            match serde_json::from_str::<Secret>(raw.get()) {
                Ok(s) => self.secret(&at, s, &target, &asset_key, asset),
                Err(e) => self.b.warn(at, format!("secret skipped: {e}")),
            }
        }
    }

    /// Decodes vulnerability records and adds them in report order. A large list is decoded by
    /// one thread per core, window by window in turn, while this thread adds the windows already
    /// decoded (at most one waiting per decoder, so decoded records never pile up).
    pub(super) fn vulnerabilities(
        &mut self,
        pointer: &str,
        raws: &[&RawValue],
        cx: &RecordContext<'_>,
        asset: &Asset,
    ) {
        let windows: Vec<&[&RawValue]> = raws.chunks(DECODE_WINDOW).collect();
        let lanes = self.decoders.len().min(windows.len());
        if lanes < 2 {
            for (i, raw) in raws.iter().enumerate() {
                let prepared = prepare_vulnerability(raw, cx, &mut self.decoders[0]);
                self.add_vulnerability(pointer, i, prepared, cx.target, asset);
            }
            return;
        }
        let mut decoders = std::mem::take(&mut self.decoders);
        std::thread::scope(|scope| {
            let receivers: Vec<_> = decoders
                .iter_mut()
                .take(lanes)
                .enumerate()
                .map(|(lane, decoder)| {
                    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
                    let windows = &windows;
                    scope.spawn(move || {
                        for window in windows.iter().skip(lane).step_by(lanes) {
                            let prepared: Vec<_> = window
                                .iter()
                                .map(|raw| prepare_vulnerability(raw, cx, decoder))
                                .collect();
                            if sender.send(prepared).is_err() {
                                return;
                            }
                        }
                    });
                    receiver
                })
                .collect();
            for w in 0..windows.len() {
                // A decoder that stopped early panicked; the scope passes the panic on.
                let Ok(prepared) = receivers[w % lanes].recv() else {
                    break;
                };
                for (i, prepared) in prepared.into_iter().enumerate() {
                    let index = w * DECODE_WINDOW + i;
                    self.add_vulnerability(pointer, index, prepared, cx.target, asset);
                }
            }
        });
        self.decoders = decoders;
    }

    pub(super) fn add_vulnerability(
        &mut self,
        pointer: &str,
        index: usize,
        prepared: Result<PreparedVulnerability, String>,
        target: &str,
        asset: &Asset,
    ) {
        self.b.record();
        match prepared {
            Ok(p) => self.vulnerability(pointer, index, p, target, asset),
            Err(message) => self
                .b
                .warn(format!("{pointer}/Vulnerabilities/{index}"), message),
        }
    }

    pub(super) fn vulnerability(
        &mut self,
        pointer: &str,
        index: usize,
        p: PreparedVulnerability,
        target: &str,
        asset: &Asset,
    ) {
        let at = || format!("{pointer}/Vulnerabilities/{index}");
        let PreparedVulnerability {
            id,
            title,
            severity,
            severity_warning,
            component,
            component_key,
            fingerprint,
            fixed_version,
            catalogue,
            details,
        } = p;
        if let Some(message) = severity_warning {
            self.b.warn(at(), message);
        }
        let component = self.b.component_keyed(component_key, component);
        if !self.b.knows_vulnerability(&id) {
            let catalogue = match catalogue {
                Some(Ok(catalogue)) => catalogue,
                Some(Err(e)) => {
                    self.b
                        .warn(at(), format!("{id}: catalogue details skipped: {e}"));
                    VulnerabilityCatalogue::default()
                }
                None => VulnerabilityCatalogue::default(),
            };
            let cvss_vectors = catalogue
                .cvss
                .iter()
                .flatten()
                .flat_map(|(source, c)| {
                    [&c.v40_vector, &c.v3_vector, &c.v2_vector]
                        .into_iter()
                        .flatten()
                        .filter(|vector| !vector.trim().is_empty())
                        .map(move |vector| (source.clone(), vector.clone()))
                })
                .collect();
            self.b.vulnerability(VulnerabilityInfo {
                id: id.clone(),
                aliases: Vec::new(),
                title: title.clone(),
                description: catalogue.description,
                severity,
                cvss_vectors,
                cwe: catalogue.cwe_ids.unwrap_or_default(),
                published_at: catalogue
                    .published_date
                    .as_deref()
                    .and_then(parse_timestamp),
                modified_at: catalogue
                    .last_modified_date
                    .as_deref()
                    .and_then(parse_timestamp),
                references: catalogue.references.unwrap_or_default(),
            });
        }

        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Vulnerability,
            severity,
            title: title.unwrap_or_else(|| id.clone()),
            vulnerability_id: Some(id),
            component: Some(component),
            rule_id: None,
            image: asset.image,
            workload: if asset.image.is_some() {
                None
            } else {
                self.workload
            },
            in_cluster: asset.image.is_none() && self.workload.is_some(),
            resource: (!target.is_empty()).then(|| target.to_owned()),
            fixed_version,
            scope: self.scope,
            details,
        });
    }

    pub(super) fn misconfiguration(
        &mut self,
        at: &str,
        m: Misconfiguration,
        target: &str,
        asset_key: &str,
        asset: &Asset,
    ) {
        let status = m.status.as_deref().unwrap_or("FAIL");
        if !status.eq_ignore_ascii_case("fail") {
            return; // passed or excepted checks are not findings
        }
        let Some(rule_id) = m.avd_id.or(m.id).filter(|r| !r.trim().is_empty()) else {
            return self.b.warn(at, "misconfiguration skipped: no ID or AVDID");
        };
        let severity = self.b.severity(at, m.severity.as_deref());
        let cause = m.cause_metadata;
        let cause_resource = cause.as_ref().and_then(|c| c.resource.clone());
        // A check on a Kubernetes resource is about the resource; elsewhere about a file.
        let (resource, in_cluster) = match (self.workload, asset.image) {
            (Some(w), None) => (self.b.workload_at(w).key(), true),
            _ => match &cause_resource {
                Some(r) if !r.is_empty() => (format!("{target}#{r}"), false),
                _ => (target.to_owned(), false),
            },
        };
        let fingerprint = Fingerprint::misconfiguration(&rule_id, &resource, asset_key);
        let title = m
            .title
            .or_else(|| m.message.clone())
            .unwrap_or_else(|| rule_id.clone());
        let mut details = json!({ "scanner": "trivy", "target": target });
        insert_some(&mut details, "message", m.message);
        insert_some(&mut details, "description", m.description);
        insert_some(&mut details, "resolution", m.resolution);
        insert_some(&mut details, "primary_url", m.primary_url);
        if let Some(c) = cause {
            insert_some(&mut details, "start_line", c.start_line);
            insert_some(&mut details, "end_line", c.end_line);
        }
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Misconfiguration,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule_id),
            image: asset.image,
            workload: if in_cluster { self.workload } else { None },
            in_cluster,
            resource: Some(resource),
            fixed_version: None,
            scope: self.scope,
            details: details.into(),
        });
    }

    pub(super) fn secret(
        &mut self,
        at: &str,
        s: Secret,
        target: &str,
        asset_key: &str,
        asset: &Asset,
    ) {
        if s.rule_id.trim().is_empty() {
            return self.b.warn(at, "secret skipped: empty RuleID");
        }
        let severity = self.b.severity(at, s.severity.as_deref());
        let matched = s.matched.unwrap_or_default();
        let location = format!("{target}\n{matched}");
        let fingerprint = Fingerprint::secret(&s.rule_id, &location, asset_key);
        let title = s
            .title
            .unwrap_or_else(|| format!("Secret matched by rule {}", s.rule_id));
        let mut details = json!({ "scanner": "trivy", "target": target, "match": matched });
        insert_some(&mut details, "category", s.category);
        insert_some(&mut details, "start_line", s.start_line);
        insert_some(&mut details, "end_line", s.end_line);
        let in_cluster = asset.image.is_none() && self.workload.is_some();
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Secret,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(s.rule_id),
            image: asset.image,
            workload: if in_cluster { self.workload } else { None },
            in_cluster,
            resource: Some(target.to_owned()),
            fixed_version: None,
            scope: self.scope,
            details: details.into(),
        });
    }
}
