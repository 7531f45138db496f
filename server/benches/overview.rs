//! `make bench BENCH=overview`: the demo fleet at a million findings (200 clusters, 90 days of
//! history) loaded into a fresh database with the release `bulwark demo`, then `/` rendered by
//! the release server for a signed-in manager, for the whole fleet and for one cluster; the
//! same at 100,000 findings to show whether the page's cost grows with the fleet. Last, the
//! slowest SQL statement of a few more renders with its plan (auto_explain), for
//! docs/benchmarks.md.
//!
//! On the same fleets, the analyst's triage pages (issue 14), signed in as an analyst who sees
//! every cluster: `/findings` in its four worst shapes (no filter; critical + KEV; search
//! `openssl`; grouped by image), a finding's page (one of the most widespread vulnerability, so
//! "where else" is at its largest) and `/estate`; on the large fleet also the CSV export of the
//! severity with about 100,000 open findings (streamed; the server's resident memory sampled
//! while it runs) and one bulk acceptance of those findings ("all matching") through the server
//! function.
//!
//! Prints one line per figure: `bench: <name> <value> <unit>`, and writes table rows (and the
//! plan) to `$BENCH_REPORT`. `BENCH_FINDINGS=<n>` shrinks the large fleet to `n` findings (and
//! its clusters in proportion) to try the harness out; the figures' names stay the same.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark prints its figures on stdout"
)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Requests per scope that are timed, after the warm-up ones.
const REQUESTS: usize = 20;
const WARM_UP: usize = 2;
const EMAIL: &str = "bench-manager@example.com";
/// The triage pages are timed as an analyst who sees every cluster, as the issue asks.
const ANALYST_EMAIL: &str = "bench-analyst@example.com";
const PASSWORD: &str = "overview-bench-Passw0rd-long";

mod common;

use common::{drop_database, fresh_database};

fn main() {
    let group = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "overview".to_owned());
    if group != "overview" {
        eprintln!("overview bench: skipping group '{group}'");
        return;
    }
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL (make bench sets it)");
    let large: u64 = std::env::var("BENCH_FINDINGS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let clusters = |findings: u64| (findings * 200 / 1_000_000).max(2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut report = String::new();
    let line = |report: &mut String, name: &str, value: f64, unit: &str, runs: &str| {
        println!("bench: {name} {value:.1} {unit}");
        let _ = writeln!(report, "| `{name}` | {value:.1} {unit} | {runs} |");
    };

    // The large fleet: load, render, explain.
    let url = runtime.block_on(fresh_database(&admin_url, "bulwark_bench_overview"));
    let load_s = load_demo(&url, clusters(large), large);
    line(
        &mut report,
        "demo_1m_load_s",
        load_s,
        "s",
        &format!("{load_s:.1}"),
    );
    runtime.block_on(settle(&url));
    let (cluster, worst) = measure(&url);
    line(
        &mut report,
        "page_overview_median_ms",
        worst.median,
        "ms",
        &format!(
            "fleet {:.1}, cluster {cluster} {:.1}",
            worst.fleet.0, worst.one.0
        ),
    );
    line(
        &mut report,
        "page_overview_p95_ms",
        worst.p95,
        "ms",
        &format!("fleet {:.1}, cluster {:.1}", worst.fleet.1, worst.one.1),
    );
    let plan = runtime.block_on(slowest_statement(
        &admin_url,
        &url,
        EMAIL,
        &["/".to_owned(), format!("/?cluster={cluster}")],
    ));
    let (widespread_cluster, widespread_id) = runtime.block_on(widespread_finding(&url));
    let mut triage_paths: Vec<String> = FINDINGS_SHAPES.iter().map(|p| p.to_string()).collect();
    triage_paths.push(format!("/findings/{widespread_cluster}/{widespread_id}"));
    triage_paths.push("/estate".to_owned());
    let triage_plan = runtime.block_on(slowest_statement(
        &admin_url,
        &url,
        ANALYST_EMAIL,
        &triage_paths,
    ));
    let triage = measure_triage(&url);
    line(
        &mut report,
        "page_findings_median_ms",
        triage.findings.0,
        "ms",
        &triage.findings_runs,
    );
    line(
        &mut report,
        "page_findings_p95_ms",
        triage.findings.1,
        "ms",
        "worst of the four shapes",
    );
    line(
        &mut report,
        "page_findings_last_seen_median_ms",
        triage.last_seen.0,
        "ms",
        &format!("`/findings?sort=last_seen`, p95 {:.1}", triage.last_seen.1),
    );
    line(
        &mut report,
        "page_findings_source_median_ms",
        triage.source.0,
        "ms",
        &format!(
            "`/findings?source=` the busiest source, p95 {:.1}",
            triage.source.1
        ),
    );
    line(
        &mut report,
        "page_finding_detail_median_ms",
        triage.detail.0,
        "ms",
        &format!("p95 {:.1}", triage.detail.1),
    );
    line(
        &mut report,
        "page_estate_median_ms",
        triage.estate.0,
        "ms",
        &format!("p95 {:.1}", triage.estate.1),
    );
    line(
        &mut report,
        "csv_100k_s",
        triage.csv.seconds,
        "s",
        &format!("{} rows streamed", triage.csv.rows),
    );
    line(
        &mut report,
        "csv_rss_growth_mb",
        triage.csv.rss_growth_mb,
        "MB",
        "server resident memory above its level before the export",
    );
    line(
        &mut report,
        "bulk_accept_100k_s",
        triage.bulk_s,
        "s",
        &format!("{} findings in one request", triage.bulk_n),
    );
    runtime.block_on(drop_database(&admin_url, "bulwark_bench_overview"));

    // A tenth of it, to see whether the page's cost follows the fleet's size.
    let small = large / 10;
    let url = runtime.block_on(fresh_database(&admin_url, "bulwark_bench_overview_small"));
    load_demo(&url, clusters(small), small);
    runtime.block_on(settle(&url));
    let (_, small_worst) = measure(&url);
    let small_triage = measure_triage_pages(&url);
    line(
        &mut report,
        "page_overview_100k_median_ms",
        small_worst.median,
        "ms",
        &format!(
            "fleet {:.1}, cluster {:.1}",
            small_worst.fleet.0, small_worst.one.0
        ),
    );
    line(
        &mut report,
        "page_findings_100k_median_ms",
        small_triage.0,
        "ms",
        &small_triage.1,
    );
    line(
        &mut report,
        "page_finding_detail_100k_median_ms",
        small_triage.2,
        "ms",
        "",
    );
    line(
        &mut report,
        "page_estate_100k_median_ms",
        small_triage.3,
        "ms",
        "",
    );
    runtime.block_on(drop_database(&admin_url, "bulwark_bench_overview_small"));

    let _ = writeln!(report);
    let _ = writeln!(
        report,
        "Slowest statement of `/` at {large} findings (auto_explain, analyze on; fleet and \
         cluster scope, two renders each):"
    );
    let _ = writeln!(report);
    let _ = writeln!(report, "```");
    let _ = writeln!(report, "{}", plan.trim_end());
    let _ = writeln!(report, "```");
    let _ = writeln!(report);
    let _ = writeln!(
        report,
        "Slowest statement of the triage pages at {large} findings (the four `/findings` \
         shapes, a finding of the most widespread vulnerability and `/estate`, as the analyst; \
         auto_explain as above, two renders each):"
    );
    let _ = writeln!(report);
    let _ = writeln!(report, "```");
    let _ = writeln!(report, "{}", triage_plan.trim_end());
    let _ = writeln!(report, "```");
    if let Ok(path) = std::env::var("BENCH_REPORT") {
        let _ = std::fs::write(path, report);
    }
}

/// Resident memory of process `pid` in KiB (0 if it cannot be read).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Migrates `url` and loads the demo fleet; returns the seconds `bulwark demo` took.
fn load_demo(url: &str, clusters: u64, findings: u64) -> f64 {
    let status = bulwark(url, &["migrate"])
        .status()
        .expect("bulwark migrate");
    assert!(status.success(), "bulwark migrate failed");
    eprintln!("loading the demo fleet: {clusters} clusters, {findings} findings, 90 days...");
    let started = Instant::now();
    let status = bulwark(
        url,
        &[
            "demo",
            "--clusters",
            &clusters.to_string(),
            "--findings",
            &findings.to_string(),
            "--days",
            "90",
            "--seed",
            "7",
        ],
    )
    .env("RUST_LOG", "info")
    .status()
    .expect("bulwark demo");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(status.success(), "bulwark demo failed");
    eprintln!("  loaded in {elapsed:.1}s");
    for (email, role, name) in [
        (EMAIL, "manager", "Bench manager"),
        (ANALYST_EMAIL, "analyst", "Bench analyst"),
    ] {
        let mut child = bulwark(
            url,
            &[
                "user",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--name",
                name,
                "--password-stdin",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("bulwark user create");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "{PASSWORD}");
        }
        assert!(child.wait().expect("user create").success());
    }
    elapsed
}

/// The shapes of `/findings` the issue names; the worst one counts.
const FINDINGS_SHAPES: [&str; 4] = [
    "/findings",
    "/findings?severity=critical&kev=yes",
    "/findings?q=openssl",
    "/findings?group=image",
];

struct Triage {
    findings: (f64, f64),
    findings_runs: String,
    /// `/findings?sort=last_seen` (median, p95).
    last_seen: (f64, f64),
    /// `/findings?source=` the source with the most findings (median, p95).
    source: (f64, f64),
    detail: (f64, f64),
    estate: (f64, f64),
    csv: Export,
    bulk_s: f64,
    bulk_n: i64,
}

/// One streamed CSV export.
struct Export {
    seconds: f64,
    rows: u64,
    rss_growth_mb: f64,
}

/// The smaller fleet's triage pages: the findings shapes' worst median and each shape's median
/// in words, a finding's page and the estate.
fn measure_triage_pages(url: &str) -> (f64, String, f64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (cluster, id) = runtime.block_on(widespread_finding(url));
    let server = Server::start(url);
    let cookie = server.login_as(ANALYST_EMAIL);
    runtime.block_on(wait_idle(url));
    let (median, _, runs) = time_shapes(&server, &cookie);
    let detail = server.time(&format!("/findings/{cluster}/{id}"), &cookie);
    let estate = server.time("/estate", &cookie);
    server.stop();
    (median, runs, detail.0, estate.0)
}

fn time_shapes(server: &Server, cookie: &str) -> (f64, f64, String) {
    let mut worst = (0.0_f64, 0.0_f64);
    let mut runs = Vec::new();
    for path in FINDINGS_SHAPES {
        let (median, p95) = server.time(path, cookie);
        worst = (worst.0.max(median), worst.1.max(p95));
        runs.push(format!("`{path}` {median:.1}"));
    }
    (worst.0, worst.1, runs.join(", "))
}

/// The triage figures of the large fleet: the list's shapes, a finding's page, and a bulk
/// acceptance of about 100,000 findings.
fn measure_triage(url: &str) -> Triage {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (cluster, id) = runtime.block_on(widespread_finding(url));
    let server = Server::start(url);
    let cookie = server.login_as(ANALYST_EMAIL);
    runtime.block_on(wait_idle(url));
    let (median, p95, runs) = time_shapes(&server, &cookie);
    let last_seen = server.time("/findings?sort=last_seen", &cookie);
    let source = runtime.block_on(busiest_source(url));
    let source = server.time(&format!("/findings?source={source}"), &cookie);
    let detail = server.time(&format!("/findings/{cluster}/{id}"), &cookie);
    let estate = server.time("/estate", &cookie);
    // the severity whose open count is nearest 100,000: exported, then accepted "all matching"
    let (severity, count) = runtime.block_on(nearest_100k(url));
    let csv = server.export(&format!("/findings.csv?severity={severity}"), &cookie);
    eprintln!(
        "  export of {} rows: {:.2} s, server RSS +{:.1} MB",
        csv.rows, csv.seconds, csv.rss_growth_mb
    );
    assert_eq!(csv.rows as i64, count, "the export has every matching row");
    let body = format!(
        "action=accept&matching={count}&filter%5Bseverity%5D={severity}\
         &justification=bench&expires={}&next=%2Ffindings",
        (chrono::Utc::now() + chrono::Duration::days(30)).date_naive()
    );
    let started = Instant::now();
    let status = server.post("/rpc/triage/decide", &cookie, &body);
    let bulk_s = started.elapsed().as_secs_f64();
    assert!(status < 400, "bulk accept: {status}");
    if status == 0 {
        eprintln!("  bulk accept did not finish: the figure is the time waited");
    }
    eprintln!("  bulk accept of {count} {severity} findings: {bulk_s:.1} s");
    server.stop();
    Triage {
        findings: (median, p95),
        findings_runs: runs,
        last_seen,
        source,
        detail,
        estate,
        csv,
        bulk_s,
        bulk_n: count,
    }
}

/// The source that observed the most findings.
async fn busiest_source(url: &str) -> String {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    sqlx::query_scalar(
        "select s.name from finding_source_facet x join source s on s.id = x.source_id
         where x.status in ('open', 'reopened')
         group by s.name order by sum(x.n) desc limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a source")
}

/// An open finding of the vulnerability with the most open findings.
async fn widespread_finding(url: &str) -> (i64, i64) {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    sqlx::query_as(
        "select cluster_id, id from finding
         where status in ('open', 'reopened') and vulnerability_id = (
             select vulnerability_id from finding
             where status in ('open', 'reopened') and vulnerability_id is not null
             group by 1 order by count(*) desc limit 1)
         order by risk_score desc nulls last limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a finding")
}

/// The severity whose open findings (all clusters, fleet-level included, as the explorer
/// counts them for an unlimited viewer) number nearest 100,000, and that number.
async fn nearest_100k(url: &str) -> (String, i64) {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    let (severity, count): (i16, i64) = sqlx::query_as(
        "select severity, count(*) from finding where status in ('open', 'reopened')
         group by 1 order by abs(count(*) - 100000) limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("severities");
    let word = ["unknown", "low", "medium", "high", "critical"][severity.clamp(0, 4) as usize];
    (word.to_owned(), count)
}

fn bulwark(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulwark"));
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn");
    command
}

/// After the load, what autovacuum would reach within minutes: statistics, and nothing of the
/// load left to flush.
async fn settle(url: &str) {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    for statement in ["vacuum analyze", "checkpoint"] {
        sqlx::raw_sql(statement)
            .execute(&mut conn)
            .await
            .expect(statement);
    }
}

/// Medians and 95th percentiles (ms) of the two scopes, and the worse of each.
struct Timings {
    fleet: (f64, f64),
    one: (f64, f64),
    median: f64,
    p95: f64,
}

/// Times `/` for the fleet and for its largest cluster; returns that cluster's name too.
fn measure(url: &str) -> (String, Timings) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cluster = runtime.block_on(largest_cluster(url));
    let server = Server::start(url);
    let cookie = server.login();
    runtime.block_on(wait_idle(url));
    let fleet = server.time("/", &cookie);
    let one = server.time(&format!("/?cluster={cluster}"), &cookie);
    server.stop();
    let timings = Timings {
        median: fleet.0.max(one.0),
        p95: fleet.1.max(one.1),
        fleet,
        one,
    };
    (cluster, timings)
}

/// Waits until no statement of the server runs in the database for two seconds in a row: the
/// work it starts with (the snapshot job catching up) is not what a page costs.
async fn wait_idle(url: &str) {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut quiet = 0;
    while quiet < 4 && Instant::now() < deadline {
        let busy: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid()
               and state = 'active'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_activity");
        quiet = if busy == 0 { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn largest_cluster(url: &str) -> String {
    let mut conn = PgConnection::connect(url).await.expect("connection");
    sqlx::query_scalar(
        "select c.name from cluster c join finding f on f.cluster_id = c.id
         where f.status in ('open', 'reopened') group by c.name order by count(*) desc limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a cluster")
}

/// Renders `/` a few times per scope with auto_explain on for the server's connections and
/// returns the slowest statement's log entry (duration, query and plan).
async fn slowest_statement(admin_url: &str, url: &str, email: &str, paths: &[String]) -> String {
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let mut admin = PgConnection::connect(admin_url).await.expect("admin");
    let settings = [
        ("session_preload_libraries", "auto_explain"),
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_analyze", "on"),
        ("auto_explain.log_buffers", "on"),
        ("auto_explain.log_timing", "on"),
        ("auto_explain.log_nested_statements", "on"),
    ];
    for (key, value) in settings {
        sqlx::raw_sql(&format!("alter database {name} set {key} = '{value}'"))
            .execute(&mut admin)
            .await
            .expect("auto_explain setting");
    }
    let server = Server::start(url);
    let cookie = server.login_as(email);
    wait_idle(url).await;
    // The server writes its log into its data directory (.ci/pg: server.log).
    let offset: i64 = sqlx::query_scalar("select size from pg_stat_file('server.log')")
        .fetch_one(&mut admin)
        .await
        .expect("the server log (.ci/pg writes server.log in the data directory)");
    for path in paths {
        for _ in 0..2 {
            server.get(path, &cookie);
        }
    }
    server.stop();
    sqlx::raw_sql(&format!("alter database {name} reset all"))
        .execute(&mut admin)
        .await
        .expect("reset settings");
    let log: String = sqlx::query_scalar(
        "select pg_read_file('server.log', $1, (select size from pg_stat_file('server.log')) - $1)",
    )
    .bind(offset)
    .fetch_one(&mut admin)
    .await
    .expect("read the server log");
    slowest_plan(&log).unwrap_or_else(|| "no plan was logged".to_owned())
}

/// The auto_explain entry with the longest duration in `log`: its first line from `duration:`
/// on, and its continuation lines.
fn slowest_plan(log: &str) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    let mut current: Option<(f64, String)> = None;
    let finish = |entry: Option<(f64, String)>, best: &mut Option<(f64, String)>| {
        if let Some((ms, text)) = entry
            && best.as_ref().is_none_or(|(b, _)| ms > *b)
        {
            *best = Some((ms, text));
        }
    };
    for line in log.lines() {
        if line.starts_with('\t') || line.starts_with("  ") {
            if let Some((_, text)) = current.as_mut() {
                text.push('\n');
                text.push_str(line.trim_start_matches('\t'));
            }
            continue;
        }
        finish(current.take(), &mut best);
        if let Some(at) = line.find("duration: ")
            && line.contains("plan:")
        {
            let rest = &line[at..];
            let ms = rest["duration: ".len()..]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_default();
            current = Some((ms, rest.to_owned()));
        }
    }
    finish(current.take(), &mut best);
    best.map(|(_, text)| text)
}

fn median_p95(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    // nearest rank
    let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
    (median, values[rank - 1])
}

struct Server {
    child: Child,
    addr: String,
    agent: ureq::Agent,
}

impl Server {
    fn start(url: &str) -> Server {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("addr").port()
        };
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("BULWARK_ADDR", &addr)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("start bulwark");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if agent
                .get(format!("http://{addr}/readyz"))
                .call()
                .is_ok_and(|r| r.status() == 200)
            {
                return Server { child, addr, agent };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("bulwark did not become ready");
    }

    /// Signs the manager in with the login form; returns the session cookie.
    fn login(&self) -> String {
        self.login_as(EMAIL)
    }

    fn login_as(&self, email: &str) -> String {
        let body = format!(
            "email={}&password={PASSWORD}&next=%2F",
            email.replace('@', "%40")
        );
        let response = self
            .agent
            .post(format!("http://{}/login", self.addr))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", &format!("http://{}", self.addr))
            .send(body.as_bytes())
            .expect("post /login");
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect();
        assert!(
            response.status().is_redirection() && !cookies.is_empty(),
            "sign-in failed: {}",
            response.status()
        );
        cookies.join("; ")
    }

    /// GETs `path`; returns the milliseconds until the whole page was read.
    fn get(&self, path: &str, cookie: &str) -> f64 {
        let started = Instant::now();
        let mut response = self
            .agent
            .get(format!("http://{}{path}", self.addr))
            .header("Cookie", cookie)
            .call()
            .expect("get");
        let status = response.status();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert!(status == 200, "GET {path}: {status}");
        assert!(body.contains("<html"), "GET {path} is not a page");
        elapsed
    }

    /// POSTs a form to `path` as the hydrated app does; returns the status, or 0 when no
    /// answer came within the agent's timeout (the figure is then the time waited).
    fn post(&self, path: &str, cookie: &str, body: &str) -> u16 {
        match self
            .agent
            .post(format!("http://{}{path}", self.addr))
            .header("Cookie", cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .header("Origin", &format!("http://{}", self.addr))
            .send(body.as_bytes())
        {
            Ok(response) => response.status().as_u16(),
            Err(error) => {
                eprintln!("  POST {path}: no answer ({error})");
                0
            }
        }
    }

    /// GETs the CSV at `path`, reading it as it streams; the seconds until its last byte, its
    /// records (quoted newlines are inside a record), and how far the server's resident memory
    /// rose above where it stood before the request (sampled every 5 ms).
    fn export(&self, path: &str, cookie: &str) -> Export {
        use std::io::Read as _;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let pid = self.child.id();
        let before = rss_kb(pid);
        let peak = Arc::new(AtomicU64::new(before));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let started = Instant::now();
        let mut response = self
            .agent
            .get(format!("http://{}{path}", self.addr))
            .header("Cookie", cookie)
            .call()
            .expect("get csv");
        assert!(
            response.status() == 200,
            "GET {path}: {}",
            response.status()
        );
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        let (mut records, mut quoted, mut buf) = (0_u64, false, vec![0_u8; 64 * 1024]);
        loop {
            let n = reader.read(&mut buf).expect("read csv");
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                match b {
                    b'"' => quoted = !quoted,
                    b'\n' if !quoted => records += 1,
                    _ => {}
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
        Export {
            seconds,
            // the header is a record too
            rows: records.saturating_sub(1),
            rss_growth_mb: growth as f64 / 1024.0,
        }
    }

    /// Median and 95th percentile (ms) of `REQUESTS` renders of `path` after `WARM_UP`.
    fn time(&self, path: &str, cookie: &str) -> (f64, f64) {
        for _ in 0..WARM_UP {
            self.get(path, cookie);
        }
        let mut times: Vec<f64> = (0..REQUESTS).map(|_| self.get(path, cookie)).collect();
        let (median, p95) = median_p95(&mut times);
        eprintln!("  GET {path}: median {median:.1} ms, p95 {p95:.1} ms");
        (median, p95)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
