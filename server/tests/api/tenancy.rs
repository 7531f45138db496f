//! The tenancy matrix: two clusters, `edge` (A) and `prod` (B), each with a bound ingest token,
//! a bound read token and a manager limited to it. Whatever `edge`'s token sends — every sample
//! of every ingest format, both intel feeds, OpenVEX, a rewritten catalogue entry, a report
//! about an image of `prod` — leaves everything `prod`'s people can read exactly as it was, and
//! adds to what `edge`'s people can read only `edge`'s own rows.
//!
//! What a tenant's people can read is a [`View`], taken as data (status and JSON, or CSV rows)
//! before and after `edge` sends: the read API, every server function of
//! [`server::routes::UI_ACCESS`] (the data of every page) called with arguments that show
//! everything, and the audit log as CSV. A failure names the case and lists, part by part, the
//! rows and values that differ.
//!
//! This file owns the cases and the comparison; requests, users and tokens are `helpers.rs`'s,
//! the enumeration of samples is `samples.rs`'s. Single-purpose regressions of the tenancy bugs
//! belong with the tests of the code that fixes them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use app::model::Role;
use serde_json::{Value, json};
use server::auth::AuthSettings;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, trivy_image_report};
use crate::samples::{reports_under, shared_samples};

/// One cluster's people and tokens.
struct Tenant {
    cluster: &'static str,
    /// Bound ingest token (source `<cluster>-scanner`).
    ingest: String,
    /// Bound read token, made on the tokens page by the cluster's manager.
    read: String,
    /// The read token's name.
    reader: String,
    /// Session of the manager limited to the cluster.
    cookie: String,
}

impl Tenant {
    async fn new(app: &TestApp, cluster: &'static str) -> Tenant {
        let ingest = app
            .token(&format!("{cluster}-scanner"), Some(cluster))
            .await;
        let cookie = app
            .limited_session(
                &format!("{cluster}-manager@example.com"),
                Role::Manager,
                cluster,
            )
            .await;
        let reader = format!("{cluster}-reader");
        let read = app.read_token_as(&cookie, &reader, cluster).await;
        Tenant {
            cluster,
            ingest,
            read,
            reader,
            cookie,
        }
    }
}

/// The server and both tenants.
struct World {
    app: TestApp,
    edge: Tenant,
    prod: Tenant,
}

/// Both views at one moment.
struct Snapshot {
    prod: View,
    edge: View,
}

impl World {
    async fn new(pool: PgPool) -> World {
        // every sample of a format through one token: more than the default 120 a minute
        let auth = AuthSettings {
            ingest_reports_per_minute: 100_000,
            ..AuthSettings::default()
        };
        let app = TestApp::spawn_with_auth(pool, auth).await;
        let edge = Tenant::new(&app, "edge").await;
        let prod = Tenant::new(&app, "prod").await;
        World { app, edge, prod }
    }

    async fn snapshot(&self) -> Snapshot {
        // the overview reads the daily rollup, which the ingests queued work for
        self.app.settle().await;
        Snapshot {
            prod: view(&self.app, &self.prod, &self.edge).await,
            edge: view(&self.app, &self.edge, &self.prod).await,
        }
    }

    /// Sends a report; a refusal is a failure of the case's setup.
    async fn send(&self, format: &str, token: &str, name: &str, body: &[u8]) {
        let response = self.app.ingest(format, token, body.to_vec()).await;
        assert!(
            response.status.is_success(),
            "{format} {name}: {} {}",
            response.status,
            response.text()
        );
    }

    /// Every way `after` breaks the promise, headed by `case` (none: it holds): `prod`'s view
    /// must be exactly as it was, `edge`'s may grow only by rows of `edge` and, when
    /// `fleet_rows` (CI scanned the same images), by fleet-level findings on images that
    /// edge's own findings are on.
    fn verdict(
        &self,
        case: &str,
        before: &Snapshot,
        after: &Snapshot,
        fleet_rows: bool,
    ) -> Vec<String> {
        // not vacuous: prod's people see prod's reports (its scanner's coverage has a report)
        let coverage = &before.prod[OVERVIEW]["body"]["coverage"];
        assert!(
            coverage
                .as_array()
                .is_some_and(|r| r.iter().any(|c| c["source"].is_string())),
            "{case}: prod's overview shows none of prod's scanners: {coverage}"
        );
        // not vacuous either: every part answers, but those naming the other cluster
        for (tenant, view, other) in [
            ("prod", &before.prod, "edge"),
            ("edge", &before.edge, "prod"),
        ] {
            for (part, answer) in view {
                if !part.ends_with(&format!("={other}")) {
                    assert_eq!(answer["status"], 200, "{case}: {tenant}'s {part}: {answer}");
                }
            }
        }
        let mut problems = Vec::new();
        let same = compare_views(&before.prod, &after.prod, Rule::Same);
        if !same.is_empty() {
            problems.push(format!(
                "{case}: prod's view changed (it must stay exactly as it was):"
            ));
            problems.extend(same);
        }
        let owner = Owner {
            cluster: self.edge.cluster,
            other: self.prod.cluster,
            fleet_images: fleet_rows.then(|| images_of(&after.edge, self.edge.cluster)),
        };
        let grown = compare_views(&before.edge, &after.edge, Rule::Grow(&owner));
        if !grown.is_empty() {
            problems.push(format!(
                "{case}: edge's view changed beyond edge's own rows:"
            ));
            problems.extend(grown);
        }
        problems
    }

    /// Fails the test unless [`Self::verdict`] finds nothing.
    fn judge(&self, case: &str, before: &Snapshot, after: &Snapshot, fleet_rows: bool) {
        holds(self.verdict(case, before, after, fleet_rows));
    }
}

/// The images that findings of `cluster` in `view` are on.
fn images_of(view: &View, cluster: &str) -> HashSet<String> {
    fn walk(value: &Value, cluster: &str, out: &mut HashSet<String>) {
        match value {
            Value::Object(o) => {
                if o.get("cluster").and_then(Value::as_str) == Some(cluster)
                    && let Some(image) = o.get("image").and_then(Value::as_str)
                {
                    out.insert(image.to_owned());
                }
                o.values().for_each(|v| walk(v, cluster, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, cluster, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    view.values().for_each(|v| walk(v, cluster, &mut out));
    out
}

/// Fails the test, listing every problem.
fn holds(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// views
// ---------------------------------------------------------------------------------------------

/// What one tenant's people can read: each request (`"GET /api/v1/findings?..."`) with its
/// answer as data, `{"status": 200, "body": ...}`.
type View = BTreeMap<String, Value>;

/// The overview's part of a view.
const OVERVIEW: &str = "POST /rpc/overview/posture";

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// The arguments that show all of a server function's data to `me`: no filter, and for the
/// lists each cluster (their own and the other) and each severity, so that rows beyond a
/// page's first hundred are compared too.
fn server_fn_args(path: &str, me: &Tenant, other: &Tenant) -> Vec<String> {
    let clusters = [me.cluster, other.cluster];
    // A filter argument needs one field in the form to exist; an empty text matches everything.
    let all = |field: &str| format!("filter%5B{field}%5D=");
    match path {
        "/rpc/session/viewer"
        | "/rpc/session/options"
        | "/rpc/tokens/list"
        | "/rpc/settings/sla"
        | "/rpc/settings/approval"
        | "/rpc/approvals/list"
        | "/rpc/views/list" => vec![String::new()],
        "/rpc/audit/list" => vec![all("actor")],
        // reads nothing: it only sets the caller's theme cookie
        "/rpc/theme/set" => vec!["theme=system".to_owned()],
        "/rpc/overview/posture" => std::iter::once(all("provider"))
            .chain(clusters.map(|c| format!("filter%5Bcluster%5D={c}")))
            .collect(),
        // a write, not a view: saving the policy is covered by the overview tests
        "/rpc/settings/sla/save" => Vec::new(),
        // writes, not views: decisions and their scope are covered by the decisions tests
        "/rpc/settings/approval/save"
        | "/rpc/triage/accept"
        | "/rpc/triage/false-positive"
        | "/rpc/triage/reopen"
        | "/rpc/triage/assign"
        | "/rpc/triage/comment"
        | "/rpc/triage/decide"
        | "/rpc/triage/approve"
        | "/rpc/triage/reject" => Vec::new(),
        // writes, not views: saved views and their scope rule are covered by the views tests
        "/rpc/views/save" | "/rpc/views/delete" => Vec::new(),
        // one finding by its key: there is no argument that shows all of its data, and the
        // keys differ per run; its boundary (404 for another cluster's finding, nothing of
        // another cluster in "where else") is tested in finding_page.rs
        "/rpc/findings/detail" => Vec::new(),
        // the whole estate, and each cluster drilled into (the other's is a 404)
        "/rpc/estate/view" => std::iter::once(all("cluster"))
            .chain(clusters.map(|c| format!("filter%5Bcluster%5D={c}")))
            .collect(),
        // one image by its id: ids differ per run; its boundary (404 for an image that runs
        // only in another cluster, nothing of another cluster on it) is tested in estate.rs
        "/rpc/estate/image" => Vec::new(),
        // CVEs the samples carry (the Trivy Kubernetes fixture's among them)
        "/rpc/estate/where-running" => ["CVE-2020-27350", "CVE-2021-44228", "CVE-2022-0778"]
            .map(|cve| format!("cve={cve}"))
            .to_vec(),
        // who may own what each filter selects (the other cluster's is a 404); users do not
        // change with reports, and their scoping is tested in assign.rs
        "/rpc/triage/assignees" => std::iter::once(all("q"))
            .chain(clusters.map(|c| format!("filter%5Bcluster%5D={c}")))
            .collect(),
        "/rpc/findings/list" | "/rpc/events/list" => std::iter::once(all("q"))
            .chain(clusters.map(|c| format!("filter%5Bcluster%5D={c}")))
            .chain(SEVERITIES.map(|s| format!("filter%5Bseverity%5D={s}")))
            .collect(),
        other => panic!(
            "the tenancy matrix does not know how to call {other}: add the arguments that show \
             all of its data to server_fn_args"
        ),
    }
}

/// Everything `me`'s people can read.
async fn view(app: &TestApp, me: &Tenant, other: &Tenant) -> View {
    let mut view = View::new();
    let bearer = format!("Bearer {}", me.read);
    for query in [
        "limit=1000".to_owned(),
        format!("limit=1000&cluster={}", me.cluster),
        format!("limit=1000&cluster={}", other.cluster),
    ] {
        let path = format!("/api/v1/findings?{query}");
        let response = app
            .request("GET", &path, &[("authorization", &bearer)], Vec::new())
            .await;
        view.insert(format!("GET {path}"), answer(&response));
    }
    for (path, _) in server::routes::UI_ACCESS
        .iter()
        .filter(|(p, _)| p.starts_with("/rpc/"))
    {
        for args in server_fn_args(path, me, other) {
            let response = app.post_form_as(&me.cookie, path, &args).await;
            let key = if args.is_empty() || args.ends_with("%5D=") {
                format!("POST {path}")
            } else {
                format!("POST {path} {args}")
            };
            let mut answer = answer(&response);
            if *path == "/rpc/overview/posture" {
                leak_relevant(&mut answer["body"]);
            }
            if *path == "/rpc/findings/list"
                && let Value::Object(o) = &mut answer["body"]
            {
                // rows and totals name and count data; the facets are counts of those rows
                // (their scope is asserted by the explorer's tests) and `next` a page position
                // that moves with the owner's own rows. Rows past the first page are read
                // through the read API above (limit=1000).
                o.retain(|k, _| k == "rows" || k == "total" || k == "groups");
            }
            view.insert(key, answer);
        }
    }
    for path in ["/audit.csv", "/findings.csv", "/findings.csv?status=fixed"] {
        let csv = app.get_as(&me.cookie, path).await;
        view.insert(
            format!("GET {path}"),
            json!({"status": csv.status.as_u16(), "body": csv_rows(&csv)}),
        );
    }
    // Reading through the read token is the snapshot's own footprint (its `last_used_at`),
    // not anything another tenant did; every other field stays.
    if let Some(tokens) = view
        .get_mut("POST /rpc/tokens/list")
        .and_then(|t| t["body"].as_array_mut())
    {
        for token in tokens
            .iter_mut()
            .filter(|t| t["name"] == me.reader.as_str())
        {
            token["last_used_at"] = json!("(read by the snapshot itself)");
        }
    }
    view
}

/// The overview's answer reduced to what names or counts data: its rows and counts by
/// severity and kind. Derived figures (score, trend, MTTR, the rollup's day) and scanner
/// timestamps move with anything the owner does and say nothing another tenant could not.
fn leak_relevant(overview: &mut Value) {
    let Value::Object(o) = overview else { return };
    o.retain(|k, _| {
        [
            "open",
            "by_kind",
            "top_risks",
            "worst_clusters",
            "worst_workloads",
            "coverage",
            "options",
            "includes_fleet_level",
        ]
        .contains(&k.as_str())
    });
    if let Some(rows) = o.get_mut("coverage").and_then(Value::as_array_mut) {
        for row in rows.iter_mut().filter_map(Value::as_object_mut) {
            row.retain(|k, _| k == "cluster" || k == "source");
        }
    }
}

fn answer(response: &Response) -> Value {
    let mut body: Value =
        serde_json::from_slice(&response.body).unwrap_or_else(|_| json!(response.text()));
    // A problem's request id is new with every request: volatile, and no one's data.
    if let Some(id) = body.get_mut("request_id") {
        *id = json!("(this request's id)");
    }
    json!({"status": response.status.as_u16(), "body": body})
}

/// A CSV answer as rows of cells (the header is the first row).
fn csv_rows(response: &Response) -> Value {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(response.body.as_slice());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("CSV: {e}"))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    json!(rows)
}

// ---------------------------------------------------------------------------------------------
// comparison
// ---------------------------------------------------------------------------------------------

/// Whose rows may appear in a view that may grow.
struct Owner {
    cluster: &'static str,
    other: &'static str,
    /// Images on which fleet-level findings (no cluster: CI's) may appear too: those the
    /// owner's own findings are on. `None`: no fleet-level finding may appear.
    fleet_images: Option<HashSet<String>>,
}

impl Owner {
    /// Whether a row belongs to the owner: findings, events, reports and tokens by their
    /// cluster, a cluster's line by its name, a findings CSV row by its cluster cell, anything
    /// else (audit entries, audit CSV rows, action names) when it does not name the other
    /// cluster.
    fn owns(&self, row: &Value) -> bool {
        match row {
            Value::Object(o) if o.contains_key("cluster") => match &o["cluster"] {
                Value::String(c) => c == self.cluster,
                Value::Null => self.fleet_images.as_ref().is_some_and(|images| {
                    o.contains_key("vulnerability")
                        && o.get("image")
                            .and_then(Value::as_str)
                            .is_some_and(|i| images.contains(i))
                }),
                _ => false,
            },
            Value::Object(o) if o.contains_key("provider") => o["name"] == self.cluster,
            // a row of /findings.csv: by its cluster cell (fleet-level rows have none)
            Value::Array(cells)
                if cells.len() == server::export::COLUMNS.len()
                    && cells
                        .last()
                        .and_then(Value::as_str)
                        .is_some_and(|link| link.starts_with("/findings/")) =>
            {
                cells[0] == self.cluster
            }
            // an estate provider: the owner's when every cluster under it is
            Value::Object(o) if o.contains_key("clusters") && o.contains_key("totals") => {
                o["clusters"]
                    .as_array()
                    .is_some_and(|clusters| clusters.iter().all(|c| self.owns(c)))
            }
            other => !compact(other).contains(self.other),
        }
    }
}

#[derive(Clone, Copy)]
enum Rule<'a> {
    /// Exactly as it was.
    Same,
    /// Rows of the owner may appear, change or go; counts may grow; nothing else changes.
    Grow(&'a Owner),
}

/// Most differences listed per part of a view.
const SHOWN: usize = 12;

fn compare_views(before: &View, after: &View, rule: Rule<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (part, b) in before {
        let Some(a) = after.get(part) else {
            out.push(format!("  [{part}] missing after"));
            continue;
        };
        let mut found = Vec::new();
        compare("", b, a, rule, &mut found);
        let more = found.len().saturating_sub(SHOWN);
        out.extend(
            found
                .into_iter()
                .take(SHOWN)
                .map(|d| format!("  [{part}] {d}")),
        );
        if more > 0 {
            out.push(format!("  [{part}] ... and {more} more differences"));
        }
    }
    out
}

fn compare(path: &str, before: &Value, after: &Value, rule: Rule<'_>, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, bv) in b {
                match a.get(key) {
                    Some(av) => compare(&format!("{path}.{key}"), bv, av, rule, out),
                    None => out.push(format!("{path}.{key} gone (was {})", compact(bv))),
                }
            }
            for (key, av) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                out.push(format!("{path}.{key} new: {}", compact(av)));
            }
        }
        (Value::Array(b), Value::Array(a)) => compare_rows(path, b, a, rule, out),
        (Value::Number(b), Value::Number(a))
            if matches!(rule, Rule::Grow(_)) && a.as_f64() >= b.as_f64() => {}
        _ => out.push(format!(
            "{}: {} -> {}",
            display(path),
            compact(before),
            compact(after)
        )),
    }
}

/// Compares lists: rows with an identity (an `id`, a cluster's name, a CSV row's id cell) by
/// identity, anything else as a multiset.
fn compare_rows(
    path: &str,
    before: &[Value],
    after: &[Value],
    rule: Rule<'_>,
    out: &mut Vec<String>,
) {
    let (Some(b), Some(a)) = (keyed(before), keyed(after)) else {
        return compare_bags(path, before, after, rule, out);
    };
    let in_after: HashMap<&str, &Value> = a.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let in_before: HashMap<&str, &Value> = b.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let start = out.len();
    let owns = |row: &Value| matches!(rule, Rule::Grow(owner) if owner.owns(row));
    let mut gone = Vec::new();
    // field → (rows where it changed, the first change)
    let mut changed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (key, row) in &b {
        match in_after.get(key.as_str()) {
            None if owns(row) => {}
            None => gone.push(*row),
            Some(now) if owns(now) && owns(row) => {}
            Some(now) => {
                let mut fields = Vec::new();
                compare("", row, now, Rule::Same, &mut fields);
                for field in fields {
                    let (name, change) = field.split_once(": ").unwrap_or((&field, ""));
                    let entry = changed
                        .entry(name.to_owned())
                        .or_insert_with(|| (0, format!("[{key}] {change}")));
                    entry.0 += 1;
                }
            }
        }
    }
    for (field, (rows, first)) in changed {
        out.push(format!(
            "{path}[*]{field}: changed in {rows} rows, e.g. {first}"
        ));
    }
    let new: Vec<&Value> = a
        .iter()
        .filter(|(k, row)| !in_before.contains_key(k.as_str()) && !owns(row))
        .map(|(_, row)| *row)
        .collect();
    summarize(path, "gone", &gone, out);
    summarize(path, &new_rows(rule), &new, out);
    let order = |rows: &[(String, &Value)], other: &HashMap<&str, &Value>| -> Vec<String> {
        rows.iter()
            .filter(|(k, _)| other.contains_key(k.as_str()))
            .map(|(k, _)| k.clone())
            .collect()
    };
    if out.len() == start && order(&b, &in_after) != order(&a, &in_before) {
        out.push(format!("{}: the same rows in another order", display(path)));
    }
}

/// What rows that may not appear are called.
fn new_rows(rule: Rule<'_>) -> String {
    match rule {
        Rule::Same => "new".to_owned(),
        Rule::Grow(owner) => format!("new, not {}'s", owner.cluster),
    }
}

/// One line for rows that are `what`: how many, by cluster when they name one, and the
/// first two.
fn summarize(path: &str, what: &str, rows: &[&Value], out: &mut Vec<String>) {
    if rows.is_empty() {
        return;
    }
    let mut clusters: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows {
        if let Some(cluster) = row.get("cluster") {
            *clusters.entry(compact(cluster)).or_default() += 1;
        }
    }
    let by_cluster = if clusters.is_empty() {
        String::new()
    } else {
        let tally: Vec<String> = clusters.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        format!(" (by cluster: {})", tally.join(", "))
    };
    let examples: Vec<String> = rows.iter().take(2).map(|r| compact(r)).collect();
    out.push(format!(
        "{}: {} {what}{by_cluster}, e.g. {}",
        display(path),
        rows.len(),
        examples.join(" | ")
    ));
}

/// `(identity, row)` for every row, if every row has a distinct identity.
fn keyed(rows: &[Value]) -> Option<Vec<(String, &Value)>> {
    let keyed: Vec<(String, &Value)> = rows
        .iter()
        .map(|row| identity(row).map(|k| (k, row)))
        .collect::<Option<_>>()?;
    let mut keys: Vec<&str> = keyed.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    (keys.len() == keyed.len()).then_some(keyed)
}

fn identity(row: &Value) -> Option<String> {
    match row {
        Value::Object(o) => match (o.get("id"), o.get("name")) {
            (Some(id), _) => Some(match o.get("cluster") {
                Some(c) => format!("id={id} cluster={}", compact(c)),
                None => format!("id={id}"),
            }),
            (None, Some(Value::String(name))) if o.contains_key("provider") => {
                Some(format!("name={name}"))
            }
            // an estate provider, by its name
            (None, Some(Value::String(name))) if o.contains_key("clusters") => {
                Some(format!("provider={name}"))
            }
            _ => None,
        },
        // a CSV row: its first cell is the entry's id (the header's is "id")
        Value::Array(cells) => cells.first()?.as_str().map(|id| format!("id={id}")),
        _ => None,
    }
}

/// Lists without identities (counts by severity, action names, scopes) as multisets; counts of
/// the same length may grow under [`Rule::Grow`].
fn compare_bags(
    path: &str,
    before: &[Value],
    after: &[Value],
    rule: Rule<'_>,
    out: &mut Vec<String>,
) {
    let numbers = |v: &[Value]| v.iter().all(Value::is_number);
    if before.len() == after.len() && numbers(before) && numbers(after) {
        for (i, (b, a)) in before.iter().zip(after).enumerate() {
            compare(&format!("{path}[{i}]"), b, a, rule, out);
        }
        return;
    }
    let mut gone: Vec<&Value> = before.iter().collect();
    let mut added = Vec::new();
    for value in after {
        match gone.iter().position(|g| *g == value) {
            Some(i) => {
                gone.swap_remove(i);
            }
            None => added.push(value),
        }
    }
    let start = out.len();
    summarize(path, "gone", &gone, out);
    let added: Vec<&Value> = added
        .into_iter()
        .filter(|value| !matches!(rule, Rule::Grow(owner) if owner.owns(value)))
        .collect();
    summarize(path, &new_rows(rule), &added, out);
    if out.len() == start && matches!(rule, Rule::Same) {
        out.push(format!(
            "{}: the same items in another order",
            display(path)
        ));
    }
}

fn display(path: &str) -> &str {
    if path.is_empty() {
        "(whole answer)"
    } else {
        path
    }
}

/// One line of JSON, cut at 240 characters.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(240) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// every ingest format
// ---------------------------------------------------------------------------------------------

/// Every sample of `format`: the shared samples, then the vendored fixtures that are not among
/// them, as (where it came from, bytes).
fn samples_of(format: &str) -> Vec<(String, Vec<u8>)> {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (origin, root) in [("shared", shared_samples()), ("fixture", fixtures)] {
        for (_, file) in reports_under(&root)
            .into_iter()
            .filter(|(f, _)| f == format)
        {
            let body = std::fs::read(&file).unwrap();
            if out.iter().all(|(_, known)| *known != body) {
                let name = file.file_name().unwrap().to_string_lossy();
                out.push((format!("{origin} {name}"), body));
            }
        }
    }
    assert!(!out.is_empty(), "no samples of {format}");
    out
}

/// What was sent before `edge` sends the same samples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    /// `prod`'s bound token sent them.
    Prod,
    /// An unbound CI token sent them, then `prod`'s bound token.
    CiThenProd,
}

/// `prod` sends every sample of `format` (after CI, for [`Before::CiThenProd`]); then `edge`
/// sends the same samples: prod's view stays as it was, edge's grows by edge's rows only.
async fn format_case(pool: PgPool, format: &str, before: Before) {
    let samples = samples_of(format);
    let world = World::new(pool).await;
    if before == Before::CiThenProd {
        let ci = world.app.token("ci-pipeline", None).await;
        for (name, body) in &samples {
            world.send(format, &ci, name, body).await;
        }
    }
    for (name, body) in &samples {
        world.send(format, &world.prod.ingest, name, body).await;
    }
    let snapshot = world.snapshot().await;
    for (name, body) in &samples {
        world.send(format, &world.edge.ingest, name, body).await;
    }
    let after = world.snapshot().await;
    let case = match before {
        Before::Prod => format!("{format} ({} samples) from edge", samples.len()),
        Before::CiThenProd => format!(
            "{format} ({} samples) from edge, over the same scans from CI and prod",
            samples.len()
        ),
    };
    let mut problems = world.verdict(&case, &snapshot, &after, before == Before::CiThenProd);
    problems.extend(mirrored(&case, &snapshot.prod, &after.edge));
    holds(problems);
}

/// What edge's people read after edge sent the samples that prod sent matches what prod's
/// read before: as many open findings, by severity, and runtime events. Edge's reports carry
/// what prod's carried, so each cluster's people see the same amount of their own.
fn mirrored(case: &str, prod: &View, edge: &View) -> Vec<String> {
    type Measure = (&'static str, fn(&Value) -> Value);
    let measures: [Measure; 3] = [
        ("GET /api/v1/findings?limit=1000", |a| {
            a["body"]["total"].clone()
        }),
        (OVERVIEW, |a| a["body"]["open"].clone()),
        ("POST /rpc/events/list", |a| {
            json!(a["body"]["rows"].as_array().map_or(0, Vec::len))
        }),
    ];
    let mut problems = Vec::new();
    for (part, measure) in measures {
        let (theirs, ours) = (measure(&prod[part]), measure(&edge[part]));
        if theirs != ours {
            problems.push(format!(
                "{case}: edge's people do not read what edge sent: [{part}] prod's read {theirs} \
                 after sending the samples, edge's read {ours}"
            ));
        }
    }
    problems
}

macro_rules! format_cases {
    (
        bound { $($bound:ident => $format:literal,)* }
        ci { $($ci:ident => $ci_format:literal,)* }
    ) => {
        /// The formats with a case of their own.
        const MATRIX_FORMATS: &[&str] = &[$($format),*];

        $(
            #[sqlx::test(migrator = "server::MIGRATOR")]
            async fn $bound(pool: PgPool) {
                format_case(pool, $format, Before::Prod).await;
            }
        )*
        $(
            #[sqlx::test(migrator = "server::MIGRATOR")]
            async fn $ci(pool: PgPool) {
                format_case(pool, $ci_format, Before::CiThenProd).await;
            }
        )*
    };
}

format_cases! {
    bound {
        trivy_from_edge_leaves_prod_as_it_was => "trivy",
        trivy_operator_from_edge_leaves_prod_as_it_was => "trivy-operator",
        grype_from_edge_leaves_prod_as_it_was => "grype",
        anchore_from_edge_leaves_prod_as_it_was => "anchore",
        clair_from_edge_leaves_prod_as_it_was => "clair",
        sarif_from_edge_leaves_prod_as_it_was => "sarif",
        cyclonedx_from_edge_leaves_prod_as_it_was => "cyclonedx",
        openvex_from_edge_leaves_prod_as_it_was => "openvex",
        falco_from_edge_leaves_prod_as_it_was => "falco",
        kube_bench_from_edge_leaves_prod_as_it_was => "kube-bench",
        kubescape_from_edge_leaves_prod_as_it_was => "kubescape",
        polaris_from_edge_leaves_prod_as_it_was => "polaris",
        checkov_from_edge_leaves_prod_as_it_was => "checkov",
        kube_hunter_from_edge_leaves_prod_as_it_was => "kube-hunter",
    }
    ci {
        trivy_from_edge_over_ci_scans_leaves_prod_as_it_was => "trivy",
        grype_from_edge_over_ci_scans_leaves_prod_as_it_was => "grype",
        anchore_from_edge_over_ci_scans_leaves_prod_as_it_was => "anchore",
        clair_from_edge_over_ci_scans_leaves_prod_as_it_was => "clair",
        sarif_from_edge_over_ci_scans_leaves_prod_as_it_was => "sarif",
        cyclonedx_from_edge_over_ci_scans_leaves_prod_as_it_was => "cyclonedx",
    }
}

#[test]
fn every_ingest_format_has_a_case_in_the_matrix() {
    let all: Vec<&str> = server::ingest::Format::ALL
        .iter()
        .map(|f| f.as_str())
        .collect();
    assert_eq!(MATRIX_FORMATS, all.as_slice());
}

#[test]
fn the_comparison_finds_changes_and_lets_a_view_grow_only_by_its_owners_rows() {
    let owner = Owner {
        cluster: "edge",
        other: "prod",
        fleet_images: None,
    };
    let row =
        |id: i64, cluster: &str, risk: i64| json!({"id": id, "cluster": cluster, "risk": risk});
    let list = |rows: Vec<Value>| -> View {
        let total = rows.len();
        View::from([(
            "list".to_owned(),
            json!({"status": 200, "body": {"rows": rows, "total": total}}),
        )])
    };
    let before = list(vec![row(1, "prod", 50)]);
    assert!(compare_views(&before, &before, Rule::Same).is_empty());
    let rescored = list(vec![row(1, "prod", 72)]);
    let found = compare_views(&before, &rescored, Rule::Same);
    assert_eq!(
        found,
        ["  [list] .body.rows[*].risk: changed in 1 rows, e.g. [id=1 cluster=\"prod\"] 50 -> 72"]
    );
    let grown = list(vec![row(1, "prod", 50), row(2, "edge", 10)]);
    assert!(compare_views(&before, &grown, Rule::Grow(&owner)).is_empty());
    assert_eq!(compare_views(&before, &grown, Rule::Same).len(), 2);
    let leaked = list(vec![row(1, "prod", 50), row(3, "prod", 10)]);
    assert_eq!(
        compare_views(&before, &leaked, Rule::Grow(&owner)),
        [
            "  [list] .body.rows: 1 new, not edge's (by cluster: \"prod\": 1), e.g. \
             {\"cluster\":\"prod\",\"id\":3,\"risk\":10}"
        ]
    );
    // from nothing: edge's rows may come, prod's may not
    let empty = list(Vec::new());
    assert!(compare_views(&empty, &list(vec![row(2, "edge", 1)]), Rule::Grow(&owner)).is_empty());
    assert_eq!(
        compare_views(&empty, &leaked, Rule::Grow(&owner)).len(),
        1,
        "{:?}",
        compare_views(&empty, &leaked, Rule::Grow(&owner))
    );
    assert_eq!(
        compare_views(&before, &rescored, Rule::Grow(&owner)).len(),
        1,
        "another cluster's row may not change in a growing view"
    );
    // CI's fleet-level findings may appear only on images edge's own findings are on
    let ci = Owner {
        fleet_images: Some(HashSet::from(["acme/a:1".to_owned()])),
        ..owner
    };
    let fleet = |id: i64, image: &str| json!({"id": id, "cluster": null, "image": image, "vulnerability": "CVE-1"});
    let with_fleet = list(vec![
        row(1, "prod", 50),
        fleet(4, "acme/a:1"),
        fleet(5, "acme/b:1"),
    ]);
    let found = compare_views(&before, &with_fleet, Rule::Grow(&ci));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("acme/b:1") && !found[0].contains("acme/a:1"),
        "{found:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// intel, VEX, the catalogue, another cluster's image
// ---------------------------------------------------------------------------------------------

/// The image that runs in `prod`.
const PROD_IMAGE: &str = "acme/shop:1.0";

/// The CVE ids a shared intel sample names, at most `n`.
fn intel_cves(feed: &str, n: usize) -> Vec<String> {
    let dir = shared_samples().join(feed);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("shared {feed} samples at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let text = String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).into_owned();
    let mut cves: Vec<String> = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        if word.starts_with("CVE-") && !cves.iter().any(|c| c == word) {
            cves.push(word.to_owned());
        }
        if cves.len() == n {
            break;
        }
    }
    assert!(!cves.is_empty(), "no CVE ids in {}", files[0].display());
    cves
}

/// `prod` runs an image with the intel sample's CVEs; `edge`'s token posts every sample of the
/// feed: refused (4xx), and nothing anyone of prod (or edge) can read changes.
async fn intel_case(pool: PgPool, feed: &str) {
    let world = World::new(pool).await;
    let cves = intel_cves(feed, 8);
    let packages: Vec<String> = (0..cves.len()).map(|i| format!("lib{i}")).collect();
    let vulns: Vec<(&str, &str, &str)> = cves
        .iter()
        .zip(&packages)
        .map(|(c, p)| (c.as_str(), p.as_str(), "1.0"))
        .collect();
    let report = trivy_image_report(PROD_IMAGE, "2026-11-01T00:00:00Z", &vulns);
    world
        .send(
            "trivy",
            &world.prod.ingest,
            "prod's scan",
            report.as_bytes(),
        )
        .await;
    let before = world.snapshot().await;
    let mut problems = Vec::new();
    let dir = shared_samples().join(feed);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let auth = format!("Bearer {}", world.edge.ingest);
    for file in &files {
        let response = world
            .app
            .request(
                "POST",
                &format!("/api/v1/intel/{feed}"),
                &[("authorization", &auth)],
                std::fs::read(file).unwrap(),
            )
            .await;
        if !response.status.is_client_error() {
            problems.push(format!(
                "{} from edge's token answered {} (a cluster-bound token must be refused): {}",
                file.file_name().unwrap().to_string_lossy(),
                response.status,
                compact(&answer(&response)["body"])
            ));
        }
    }
    let after = world.snapshot().await;
    problems.extend(world.verdict(
        &format!("intel feed {feed} from edge"),
        &before,
        &after,
        false,
    ));
    holds(problems);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn kev_from_edge_is_refused_and_leaves_prod_as_it_was(pool: PgPool) {
    intel_case(pool, "kev").await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn epss_from_edge_is_refused_and_leaves_prod_as_it_was(pool: PgPool) {
    intel_case(pool, "epss").await;
}

/// An OpenVEX document with one `not_affected` statement.
fn not_affected(cve: &str, purl: &str) -> String {
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://vex.example.com/edge-1",
        "author": "edge team",
        "timestamp": "2026-11-02T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": cve},
            "products": [{"@id": purl}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path"
        }],
    })
    .to_string()
}

/// `edge` says `not_affected` for a CVE and package of prod's image, first while the image
/// runs only in prod, then (another CVE) once edge runs it too: prod's findings stay open
/// either way; edge's own finding may go.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn openvex_from_edge_about_prod_packages_leaves_prod_as_it_was(pool: PgPool) {
    let world = World::new(pool).await;
    let vulns = [
        ("CVE-2024-1", "openssl", "3.0.1"),
        ("CVE-2024-2", "zlib", "1.2.13"),
    ];
    let scan = trivy_image_report(PROD_IMAGE, "2026-11-01T00:00:00Z", &vulns);
    world
        .send("trivy", &world.prod.ingest, "prod's scan", scan.as_bytes())
        .await;

    let before = world.snapshot().await;
    let vex = not_affected("CVE-2024-1", "pkg:deb/debian/openssl@3.0.1");
    world
        .send("openvex", &world.edge.ingest, "edge's VEX", vex.as_bytes())
        .await;
    let after = world.snapshot().await;
    let mut problems = world.verdict(
        "OpenVEX from edge about a package only prod runs",
        &before,
        &after,
        false,
    );

    let scan = trivy_image_report(PROD_IMAGE, "2026-11-03T00:00:00Z", &vulns);
    world
        .send("trivy", &world.edge.ingest, "edge's scan", scan.as_bytes())
        .await;
    let before = world.snapshot().await;
    let vex = not_affected("CVE-2024-2", "pkg:deb/debian/zlib@1.2.13");
    world
        .send(
            "openvex",
            &world.edge.ingest,
            "edge's second VEX",
            vex.as_bytes(),
        )
        .await;
    let after = world.snapshot().await;
    // edge's statement is about edge's own finding too: that one is suppressed (edge's view
    // shrinks, by edge's own report), prod's stays exactly as it was
    let case = "OpenVEX from edge about a package both clusters run";
    let same = compare_views(&before.prod, &after.prod, Rule::Same);
    if !same.is_empty() {
        problems.push(format!("{case}: prod's view changed:"));
        problems.extend(same);
    }
    let list = "POST /rpc/findings/list";
    assert_eq!(
        before.edge[list]["body"]["total"], 1,
        "{case}: {}",
        before.edge[list]
    );
    assert_eq!(
        after.edge[list]["body"]["total"], 0,
        "{case}: {}",
        after.edge[list]
    );
    holds(problems);
}

/// A Trivy image report whose one vulnerability carries a description and a severity.
fn described(
    image: &str,
    created_at: &str,
    cve: &str,
    description: &str,
    severity: &str,
) -> String {
    json!({
        "SchemaVersion": 2,
        "CreatedAt": created_at,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}},
        "Results": [{"Target": format!("{image} (debian 12.4)"), "Class": "os-pkgs",
                     "Type": "debian",
                     "Vulnerabilities": [{
                         "VulnerabilityID": cve, "PkgName": "libxml2",
                         "InstalledVersion": "2.9.14", "FixedVersion": "2.9.15",
                         "Severity": severity, "Title": format!("{cve} in libxml2"),
                         "Description": description,
                         "CVSS": {"nvd": {"V3Score": 5.3,
                                  "V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}}
                     }]}],
    })
    .to_string()
}

/// `edge` reports a CVE that prod's findings carry, with another description, severity and
/// score, on an image of its own: the catalogue as prod reads it does not change.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_catalogue_entry_edge_describes_otherwise_leaves_prod_as_it_was(pool: PgPool) {
    let world = World::new(pool).await;
    let cve = "CVE-2024-7";
    let original = described(
        PROD_IMAGE,
        "2026-11-01T00:00:00Z",
        cve,
        "A heap overflow in the XML parser.",
        "MEDIUM",
    );
    world
        .send(
            "trivy",
            &world.prod.ingest,
            "prod's scan",
            original.as_bytes(),
        )
        .await;
    let before = world.snapshot().await;
    let rewritten = described(
        "acme/edge:1.0",
        "2026-11-02T00:00:00Z",
        cve,
        "Rewritten by edge: nothing to see here.",
        "LOW",
    )
    .replace("\"V3Score\":5.3", "\"V3Score\":1.0");
    world
        .send(
            "trivy",
            &world.edge.ingest,
            "edge's scan",
            rewritten.as_bytes(),
        )
        .await;
    let after = world.snapshot().await;
    world.judge(
        "a catalogue entry described otherwise by edge",
        &before,
        &after,
        false,
    );
}

/// `edge` names an image that runs only in prod: first in an empty report (a claim that it runs
/// in edge), then with a new CVE. Prod's view does not change, and edge's people see no row of
/// prod's.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn reports_from_edge_about_a_prod_image_leave_prod_as_it_was(pool: PgPool) {
    let world = World::new(pool).await;
    let scan = trivy_image_report(
        PROD_IMAGE,
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-1", "openssl", "3.0.1"),
            ("CVE-2024-2", "zlib", "1.2.13"),
        ],
    );
    world
        .send("trivy", &world.prod.ingest, "prod's scan", scan.as_bytes())
        .await;
    let before = world.snapshot().await;
    let empty = trivy_image_report(PROD_IMAGE, "2026-11-02T00:00:00Z", &[]);
    world
        .send(
            "trivy",
            &world.edge.ingest,
            "edge's empty scan",
            empty.as_bytes(),
        )
        .await;
    let after = world.snapshot().await;
    let mut problems = world.verdict(
        "an empty report from edge naming prod's image",
        &before,
        &after,
        false,
    );

    let before = after;
    let new_cve = trivy_image_report(
        PROD_IMAGE,
        "2026-11-03T00:00:00Z",
        &[("CVE-2024-8", "curl", "8.0.0")],
    );
    world
        .send(
            "trivy",
            &world.edge.ingest,
            "edge's scan",
            new_cve.as_bytes(),
        )
        .await;
    let after = world.snapshot().await;
    problems.extend(world.verdict(
        "a report from edge with a new CVE on prod's image",
        &before,
        &after,
        false,
    ));
    holds(problems);
}
