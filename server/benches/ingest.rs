//! `make bench BENCH=ingest`: a generated Trivy report with 100,000 distinct findings, posted
//! over HTTP to the release server, and a raw `COPY` of the same normalized rows into the
//! findings table as the baseline, measured in the same run.
//!
//! Prints one line per figure: `bench: <name> <value> <unit>`. Each figure is the median of
//! `BENCH_ROUNDS` rounds (default 3); every round starts from an empty database.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark prints its figures on stdout"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const FINDINGS: usize = 100_000;
const PACKAGES: usize = 10_000;
const CVE_POOL: usize = 30_000;

mod common;

use common::{drop_database, fresh_database};

fn main() {
    let group = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "ingest".to_owned());
    if group != "ingest" {
        eprintln!("ingest bench: skipping group '{group}'");
        return;
    }
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL (make bench sets it)");
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    eprintln!("generating reports ({FINDINGS} findings)...");
    let first = trivy_report(0, "2026-11-01T00:00:00Z", 0);
    let unchanged = trivy_report(0, "2026-11-02T00:00:00Z", 0);
    let churn = trivy_report(FINDINGS / 10, "2026-11-03T00:00:00Z", 0);
    eprintln!(
        "report size: {:.1} MB (first), {:.1} MB (churn)",
        first.len() as f64 / 1e6,
        churn.len() as f64 / 1e6
    );

    let mut figures: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        let db = format!("bulwark_bench_{round}");
        let url = runtime.block_on(fresh_database(&admin_url, &db));
        let server = Server::start(&url);
        let token = server.token(&url);
        // Start from a quiet database: nothing of the setup left to flush.
        runtime.block_on(checkpoint(&admin_url));

        let t = post(&server, &token, &first);
        figures
            .entry("ingest_first_findings_per_s")
            .or_default()
            .push(FINDINGS as f64 / t);
        let t = post(&server, &token, &unchanged);
        figures
            .entry("ingest_unchanged_findings_per_s")
            .or_default()
            .push(FINDINGS as f64 / t);
        let t = post(&server, &token, &churn);
        figures
            .entry("ingest_churn_findings_per_s")
            .or_default()
            .push(FINDINGS as f64 / t);
        figures
            .entry("ingest_peak_rss_mb")
            .or_default()
            .push(server.peak_rss_mb());
        server.stop();

        runtime.block_on(drop_database(&admin_url, &db));

        let copy_db = format!("bulwark_bench_copy_{round}");
        let copy_url = runtime.block_on(fresh_database(&admin_url, &copy_db));
        let rate = runtime.block_on(copy_baseline(&copy_url, &admin_url));
        runtime.block_on(drop_database(&admin_url, &copy_db));
        figures
            .entry("copy_baseline_rows_per_s")
            .or_default()
            .push(rate);
        eprintln!("round {} of {rounds} done", round + 1);
    }

    let median = |name: &str| median(figures.get(name).map_or(&[][..], Vec::as_slice));
    let ratio = median("ingest_first_findings_per_s") / median("copy_baseline_rows_per_s");
    let lines = [
        (
            "ingest_first_findings_per_s",
            median("ingest_first_findings_per_s"),
            "findings/s",
        ),
        (
            "ingest_unchanged_findings_per_s",
            median("ingest_unchanged_findings_per_s"),
            "findings/s",
        ),
        (
            "ingest_churn_findings_per_s",
            median("ingest_churn_findings_per_s"),
            "findings/s",
        ),
        (
            "ingest_peak_rss_mb",
            max(&figures["ingest_peak_rss_mb"]),
            "MB",
        ),
        (
            "copy_baseline_rows_per_s",
            median("copy_baseline_rows_per_s"),
            "rows/s",
        ),
        ("ingest_vs_copy_ratio", ratio, "ratio"),
    ];
    let mut report = String::new();
    for (name, value, unit) in lines {
        let value = if unit == "ratio" {
            format!("{value:.3}")
        } else {
            format!("{value:.0}")
        };
        println!("bench: {name} {value} {unit}");
        let runs: Vec<String> = figures
            .get(name)
            .map(|v| v.iter().map(|x| format!("{x:.0}")).collect())
            .unwrap_or_default();
        let _ = writeln!(
            report,
            "| `{name}` | {value} {unit} | {} |",
            runs.join(", ")
        );
    }
    if let Ok(path) = std::env::var("BENCH_REPORT") {
        let _ = std::fs::write(path, report);
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
}

/// Flushes everything written so far, so that a measurement does not pay for the setup's writes.
async fn checkpoint(admin_url: &str) {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    sqlx::raw_sql("checkpoint")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
}

/// A Trivy image report: `FINDINGS` distinct (CVE, package) pairs over `PACKAGES` packages;
/// `shift` replaces that many findings with new ones (the churn variant).
fn trivy_report(shift: usize, created_at: &str, seed: usize) -> Vec<u8> {
    let mut out = String::with_capacity(FINDINGS * 700);
    let digest = hex::encode(Sha256::digest(format!("bench image {seed}").as_bytes()));
    let _ = write!(
        out,
        r#"{{"SchemaVersion":2,"CreatedAt":"{created_at}","ArtifactName":"registry.example.com/bench/app:1.0","ArtifactType":"container_image","Metadata":{{"OS":{{"Family":"debian","Name":"12.5"}},"RepoDigests":["registry.example.com/bench/app@sha256:{digest}"]}},"Results":[{{"Target":"registry.example.com/bench/app:1.0 (debian 12.5)","Class":"os-pkgs","Type":"debian","Vulnerabilities":["#
    );
    let severities = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "MEDIUM", "LOW", "HIGH"];
    for i in 0..FINDINGS {
        // the churn variant drops the first `shift` findings and adds as many new ones
        let n = if i < shift { FINDINGS + i } else { i };
        let package = n % PACKAGES;
        let cve = (n / PACKAGES * 7919 + package * 31) % CVE_POOL + (n / FINDINGS) * CVE_POOL;
        let severity = severities[cve % severities.len()];
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"VulnerabilityID":"CVE-2024-{cve:05}","PkgID":"lib{package}@1.{p}.0-1","PkgName":"lib{package}","PkgIdentifier":{{"PURL":"pkg:deb/debian/lib{package}@1.{p}.0-1?arch=amd64&distro=debian-12.5"}},"InstalledVersion":"1.{p}.0-1","FixedVersion":"1.{p}.1-1","Status":"fixed","Layer":{{"DiffID":"sha256:{digest}"}},"SeveritySource":"nvd","PrimaryURL":"https://avd.aquasec.com/nvd/cve-2024-{cve:05}","Title":"lib{package}: memory corruption in parser (variant {cve})","Description":"A flaw was found in lib{package}. A remote attacker could send crafted input that triggers an out-of-bounds write, leading to a crash or possibly code execution.","Severity":"{severity}","CweIDs":["CWE-787"],"CVSS":{{"nvd":{{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H","V3Score":8.8}}}},"References":["https://nvd.nist.gov/vuln/detail/CVE-2024-{cve:05}"],"PublishedDate":"2024-03-01T10:15:00Z","LastModifiedDate":"2024-06-01T10:15:00Z"}}"#,
            p = package % 97,
        );
    }
    out.push_str("]}]}");
    out.into_bytes()
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
            .env("BULWARK_MAX_REPORT_BYTES", (512 * 1024 * 1024).to_string())
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("start bulwark");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if agent
                .get(format!("http://{addr}/readyz"))
                .call()
                .is_ok_and(|r| r.status() == 200)
            {
                return Server { child, addr, agent };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("bulwark did not become ready");
    }

    fn token(&self, url: &str) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_bulwark"))
            .args(["token", "create", "--source", "bench"])
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("token create");
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .lines()
            .last()
            .expect("token")
            .to_owned()
    }

    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts a report; returns the seconds it took until the answer was complete.
fn post(server: &Server, token: &str, body: &[u8]) -> f64 {
    let started = Instant::now();
    let mut response = server
        .agent
        .post(format!("http://{}/api/v1/ingest/trivy", server.addr))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .expect("post report");
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(status == 201, "ingest failed ({status}): {text}");
    eprintln!(
        "  {status} in {elapsed:.2}s: {}",
        text.chars().take(200).collect::<String>()
    );
    elapsed
}

/// The baseline: the same normalized rows COPY'd straight into the findings table of a
/// freshly migrated database (no parsing, no HTTP, no merge).
async fn copy_baseline(url: &str, admin_url: &str) -> f64 {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    server::MIGRATOR.run(&pool).await.expect("migrate");
    checkpoint(admin_url).await;
    let mut conn = pool.acquire().await.expect("connection");
    let image_id: i64 = sqlx::query_scalar(
        "insert into image (key, repository) values ('sha256:bench', 'bench/app') returning id",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("image");
    let mut rows = String::with_capacity(FINDINGS * 300);
    for i in 0..FINDINGS {
        let fingerprint = hex::encode(Sha256::digest(i.to_le_bytes()));
        let package = i % PACKAGES;
        let _ = writeln!(
            rows,
            "0\t\\\\x{fingerprint}\tvulnerability\topen\t3\tlib{package}: memory corruption in parser\t\\N\t\\N\t{image_id}\tlib{package}\t1.{}.1-1\t54\t[{{\"factor\": \"severity\", \"points\": 35.2}}]",
            package % 97
        );
    }
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(
            "copy finding (cluster_id, fingerprint, kind, status, severity, title, vulnerability_id,
                           component_id, image_id, resource, fixed_version, risk_score, risk_factors)
             from stdin",
        )
        .await
        .expect("copy");
    copy.send(rows.as_bytes()).await.expect("send");
    let copied = copy.finish().await.expect("finish");
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(copied as usize, FINDINGS);
    drop(conn);
    pool.close().await;
    FINDINGS as f64 / elapsed
}
