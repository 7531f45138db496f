//! The demo fleet: five clusters on four providers, a dozen workloads each, the images they run
//! and what Trivy finds in them. Scanner reports are generated as real Trivy JSON and go
//! through the same parser and pipeline as any pushed report, so the demo exercises the product
//! rather than bypassing it. Deterministic: the same fleet every time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db;
use crate::db::estate::{ClusterSpec, WorkloadSpec};
use crate::db::tokens::IngestIdentity;
use crate::domain::image_ref::ImageRef;
use crate::domain::token::TokenSecret;
use crate::ingest::Format;
use crate::ingest::model::ImageAsset;
use crate::ingest::pipeline;

/// What the demo loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoSummary {
    /// Clusters created.
    pub clusters: usize,
    /// Reports ingested.
    pub reports: usize,
    /// Findings created.
    pub findings: u64,
}

struct DemoCluster {
    name: &'static str,
    provider: &'static str,
    region: &'static str,
    account: Option<&'static str>,
    environment: &'static str,
    criticality: i16,
}

const CLUSTERS: &[DemoCluster] = &[
    DemoCluster {
        name: "prod-eu-west-1",
        provider: "aws",
        region: "eu-west-1",
        account: Some("482177301188"),
        environment: "prod",
        criticality: 5,
    },
    DemoCluster {
        name: "prod-us-central1",
        provider: "gcp",
        region: "us-central1",
        account: Some("acme-prod-231"),
        environment: "prod",
        criticality: 5,
    },
    DemoCluster {
        name: "staging-westeurope",
        provider: "azure",
        region: "westeurope",
        account: Some("sub-staging-04"),
        environment: "staging",
        criticality: 3,
    },
    DemoCluster {
        name: "dev-onprem-lab",
        provider: "onprem",
        region: "fra-dc2",
        account: None,
        environment: "dev",
        criticality: 2,
    },
    DemoCluster {
        name: "edge-retail-0417",
        provider: "other",
        region: "store-0417",
        account: None,
        environment: "prod",
        criticality: 4,
    },
];

/// A known vulnerability in a package.
struct Vuln {
    id: &'static str,
    pkg: &'static str,
    installed: &'static str,
    fixed: &'static str,
    severity: &'static str,
    vector: &'static str,
    score: f64,
    title: &'static str,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the tables below; positional reads best there"
)]
const fn v(
    id: &'static str,
    pkg: &'static str,
    installed: &'static str,
    fixed: &'static str,
    severity: &'static str,
    vector: &'static str,
    score: f64,
    title: &'static str,
) -> Vuln {
    Vuln {
        id,
        pkg,
        installed,
        fixed,
        severity,
        vector,
        score,
        title,
    }
}

const NET_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H";
const NET_CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const LOCAL_HIGH: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";

const DEBIAN: &[Vuln] = &[
    v(
        "CVE-2023-4911",
        "libc6",
        "2.36-9+deb12u1",
        "2.36-9+deb12u3",
        "HIGH",
        LOCAL_HIGH,
        7.8,
        "glibc: buffer overflow in ld.so leading to privilege escalation",
    ),
    v(
        "CVE-2024-2961",
        "libc6",
        "2.36-9+deb12u1",
        "2.36-9+deb12u7",
        "HIGH",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        8.1,
        "glibc: out of bounds write in iconv may lead to remote code execution",
    ),
    v(
        "CVE-2023-38545",
        "libcurl4",
        "7.88.1-10+deb12u1",
        "7.88.1-10+deb12u4",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "curl: heap based buffer overflow in the SOCKS5 proxy handshake",
    ),
    v(
        "CVE-2023-5363",
        "libssl3",
        "3.0.9-1",
        "3.0.11-1~deb12u2",
        "HIGH",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        7.5,
        "openssl: incorrect cipher key and IV length processing",
    ),
    v(
        "CVE-2024-0727",
        "libssl3",
        "3.0.9-1",
        "3.0.13-1~deb12u1",
        "MEDIUM",
        "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        5.5,
        "openssl: denial of service via null dereference in PKCS12 parsing",
    ),
    v(
        "CVE-2023-52425",
        "libexpat1",
        "2.5.0-1",
        "",
        "HIGH",
        NET_HIGH,
        7.5,
        "expat: parsing large tokens can trigger a denial of service",
    ),
    v(
        "CVE-2024-45490",
        "libexpat1",
        "2.5.0-1",
        "2.5.0-1+deb12u1",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "libexpat: negative length for XML_ParseBuffer",
    ),
    v(
        "CVE-2023-45853",
        "zlib1g",
        "1:1.2.13.dfsg-1",
        "",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6",
    ),
    v(
        "CVE-2023-50495",
        "libtinfo6",
        "6.4-4",
        "",
        "MEDIUM",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        6.5,
        "ncurses: segmentation fault via _nc_wrap_entry()",
    ),
    v(
        "CVE-2011-3374",
        "apt",
        "2.6.1",
        "",
        "LOW",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N",
        3.7,
        "apt: does not correctly validate gpg keys with the release file",
    ),
    v(
        "CVE-2022-0563",
        "util-linux",
        "2.38.1-5+b1",
        "",
        "LOW",
        "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N",
        4.7,
        "util-linux: partial disclosure of arbitrary files in chfn and chsh",
    ),
    v(
        "CVE-2023-31484",
        "perl-base",
        "5.36.0-7",
        "5.36.0-7+deb12u1",
        "HIGH",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        8.1,
        "perl: CPAN.pm does not verify TLS certificates when downloading distributions",
    ),
    v(
        "CVE-2024-6387",
        "openssh-client",
        "1:9.2p1-2",
        "1:9.2p1-2+deb12u3",
        "HIGH",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        8.1,
        "openssh: regreSSHion, race condition in the signal handler of sshd",
    ),
];

const ALPINE: &[Vuln] = &[
    v(
        "CVE-2023-5363",
        "libssl3",
        "3.1.2-r0",
        "3.1.4-r0",
        "HIGH",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        7.5,
        "openssl: incorrect cipher key and IV length processing",
    ),
    v(
        "CVE-2024-0727",
        "libcrypto3",
        "3.1.2-r0",
        "3.1.4-r5",
        "MEDIUM",
        "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        5.5,
        "openssl: denial of service via null dereference in PKCS12 parsing",
    ),
    v(
        "CVE-2022-48174",
        "busybox",
        "1.36.1-r2",
        "1.36.1-r6",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "busybox: stack overflow vulnerability in ash",
    ),
    v(
        "CVE-2023-42363",
        "busybox",
        "1.36.1-r2",
        "1.36.1-r4",
        "MEDIUM",
        "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        5.5,
        "busybox: use-after-free in awk",
    ),
];

const NODE: &[Vuln] = &[
    v(
        "CVE-2022-24999",
        "qs",
        "6.9.6",
        "6.9.7",
        "HIGH",
        NET_HIGH,
        7.5,
        "express: prototype pollution in qs leads to denial of service",
    ),
    v(
        "CVE-2024-29041",
        "express",
        "4.17.1",
        "4.19.2",
        "MEDIUM",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        6.1,
        "express: open redirect with malformed URLs",
    ),
    v(
        "CVE-2022-25883",
        "semver",
        "7.3.7",
        "7.5.2",
        "HIGH",
        NET_HIGH,
        7.5,
        "semver: regular expression denial of service",
    ),
    v(
        "CVE-2021-23337",
        "lodash",
        "4.17.20",
        "4.17.21",
        "HIGH",
        "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
        7.2,
        "lodash: command injection via template",
    ),
    v(
        "CVE-2023-26136",
        "tough-cookie",
        "4.0.0",
        "4.1.3",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "tough-cookie: prototype pollution in cookie memstore",
    ),
    v(
        "CVE-2024-4068",
        "braces",
        "3.0.2",
        "3.0.3",
        "HIGH",
        NET_HIGH,
        7.5,
        "braces: fails to limit the number of characters it can handle",
    ),
];

const JAVA: &[Vuln] = &[
    v(
        "CVE-2021-44228",
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "2.15.0",
        "CRITICAL",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        10.0,
        "log4j-core: remote code execution in Log4j 2.x when logs contain an attacker-controlled string value",
    ),
    v(
        "CVE-2021-45046",
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "2.16.0",
        "CRITICAL",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H",
        9.0,
        "log4j-core: DoS in log4j 2.x with thread context message pattern and context lookup pattern",
    ),
    v(
        "CVE-2022-22965",
        "org.springframework:spring-beans",
        "5.3.17",
        "5.3.18",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "spring-framework: RCE via data binding on JDK 9+",
    ),
    v(
        "CVE-2022-1471",
        "org.yaml:snakeyaml",
        "1.30",
        "2.0",
        "HIGH",
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        8.8,
        "snakeyaml: constructor deserialization remote code execution",
    ),
    v(
        "CVE-2022-42003",
        "com.fasterxml.jackson.core:jackson-databind",
        "2.13.3",
        "2.13.4.2",
        "HIGH",
        NET_HIGH,
        7.5,
        "jackson-databind: deep wrapper array nesting wrt UNWRAP_SINGLE_VALUE_ARRAYS",
    ),
    v(
        "CVE-2023-2976",
        "com.google.guava:guava",
        "31.1-jre",
        "32.0.0-android",
        "MEDIUM",
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
        7.1,
        "guava: insecure temporary directory creation",
    ),
];

const GO: &[Vuln] = &[
    v(
        "CVE-2023-44487",
        "golang.org/x/net",
        "v0.10.0",
        "0.17.0",
        "HIGH",
        NET_HIGH,
        7.5,
        "HTTP/2: multiple HTTP/2 enabled web servers are vulnerable to a DDoS attack (Rapid Reset Attack)",
    ),
    v(
        "CVE-2023-39325",
        "golang.org/x/net",
        "v0.10.0",
        "0.17.0",
        "HIGH",
        NET_HIGH,
        7.5,
        "golang: net/http, x/net/http2: rapid stream resets can cause excessive work",
    ),
    v(
        "CVE-2023-45288",
        "golang.org/x/net",
        "v0.10.0",
        "0.23.0",
        "MEDIUM",
        NET_HIGH,
        7.5,
        "golang: net/http, x/net/http2: unlimited number of CONTINUATION frames causes DoS",
    ),
    v(
        "CVE-2024-24790",
        "stdlib",
        "1.20.5",
        "1.21.11",
        "CRITICAL",
        NET_CRIT,
        9.8,
        "golang: net/netip: unexpected behavior from Is methods for IPv4-mapped IPv6 addresses",
    ),
    v(
        "CVE-2023-29406",
        "stdlib",
        "1.20.5",
        "1.20.6",
        "MEDIUM",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        6.5,
        "golang: net/http: insufficient sanitization of Host header",
    ),
    v(
        "CVE-2024-45337",
        "golang.org/x/crypto",
        "v0.14.0",
        "0.31.0",
        "CRITICAL",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
        9.1,
        "golang.org/x/crypto/ssh: misuse of ServerConfig.PublicKeyCallback may cause authorization bypass",
    ),
    v(
        "CVE-2023-48795",
        "golang.org/x/crypto",
        "v0.14.0",
        "0.17.0",
        "MEDIUM",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N",
        5.9,
        "ssh: prefix truncation attack on Binary Packet Protocol (Terrapin)",
    ),
];

const INGRESS: &[Vuln] = &[v(
    "CVE-2025-1974",
    "k8s.io/ingress-nginx",
    "v1.9.4",
    "1.11.5",
    "CRITICAL",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    9.8,
    "ingress-nginx: configuration injection via unsanitized annotations (IngressNightmare)",
)];

#[derive(Clone, Copy)]
enum Base {
    Debian,
    Alpine,
    Distroless,
}

/// An image of the demo and what is in it.
struct DemoImage {
    reference: &'static str,
    base: Base,
    /// (language packages, their Trivy result type, how many to skip, how many to keep)
    lang: &'static [(&'static [Vuln], &'static str, usize, usize)],
    /// Share (per cent) of the base image's vulnerabilities present.
    base_share: u32,
    secret: bool,
}

const IMAGES: &[DemoImage] = &[
    DemoImage {
        reference: "ghcr.io/acme/storefront:2.14.1",
        base: Base::Debian,
        lang: &[(NODE, "node-pkg", 0, 6)],
        base_share: 90,
        secret: true,
    },
    DemoImage {
        reference: "ghcr.io/acme/storefront:2.15.0",
        base: Base::Debian,
        lang: &[(NODE, "node-pkg", 0, 2)],
        base_share: 50,
        secret: false,
    },
    DemoImage {
        reference: "ghcr.io/acme/payments-api:1.9.0",
        base: Base::Debian,
        lang: &[(JAVA, "jar", 0, 6)],
        base_share: 80,
        secret: false,
    },
    DemoImage {
        reference: "ghcr.io/acme/payments-api:1.10.2",
        base: Base::Debian,
        lang: &[(JAVA, "jar", 5, 1)],
        base_share: 40,
        secret: false,
    },
    DemoImage {
        reference: "ghcr.io/acme/checkout:3.2.0",
        base: Base::Distroless,
        lang: &[(GO, "gobinary", 0, 4)],
        base_share: 0,
        secret: false,
    },
    DemoImage {
        reference: "registry.k8s.io/ingress-nginx/controller:v1.9.4",
        base: Base::Alpine,
        lang: &[(GO, "gobinary", 0, 5), (INGRESS, "gobinary", 0, 1)],
        base_share: 100,
        secret: false,
    },
    DemoImage {
        reference: "docker.io/library/postgres:15.4",
        base: Base::Debian,
        lang: &[(GO, "gobinary", 0, 2)],
        base_share: 100,
        secret: false,
    },
    DemoImage {
        reference: "docker.io/library/redis:7.0.11",
        base: Base::Debian,
        lang: &[(GO, "gobinary", 0, 1)],
        base_share: 70,
        secret: false,
    },
    DemoImage {
        reference: "docker.io/grafana/grafana:10.0.3",
        base: Base::Alpine,
        lang: &[(GO, "gobinary", 0, 6), (NODE, "node-pkg", 0, 3)],
        base_share: 100,
        secret: false,
    },
    DemoImage {
        reference: "quay.io/prometheus/prometheus:v2.45.0",
        base: Base::Alpine,
        lang: &[(GO, "gobinary", 0, 5)],
        base_share: 50,
        secret: false,
    },
    DemoImage {
        reference: "quay.io/prometheus/node-exporter:v1.6.1",
        base: Base::Alpine,
        lang: &[(GO, "gobinary", 0, 3)],
        base_share: 50,
        secret: false,
    },
    DemoImage {
        reference: "registry.k8s.io/coredns/coredns:v1.10.1",
        base: Base::Distroless,
        lang: &[(GO, "gobinary", 0, 3)],
        base_share: 0,
        secret: false,
    },
];

/// (namespace, kind, name, image index, internet-facing, privileged + host mounts)
type DemoWorkload = (&'static str, &'static str, &'static str, usize, bool, bool);

fn workloads(cluster: &str) -> Vec<DemoWorkload> {
    let storefront = if cluster.starts_with("prod") || cluster.starts_with("edge") {
        0
    } else {
        1
    };
    let payments = if cluster.starts_with("prod") { 2 } else { 3 };
    let mut list = vec![
        ("web", "Deployment", "storefront", storefront, true, false),
        ("data", "StatefulSet", "redis", 7, false, false),
        ("kube-system", "DaemonSet", "node-exporter", 10, false, true),
    ];
    if !cluster.starts_with("edge") {
        list.extend([
            (
                "payments",
                "Deployment",
                "payments-api",
                payments,
                false,
                false,
            ),
            (
                "ingress-nginx",
                "DaemonSet",
                "ingress-nginx-controller",
                5,
                true,
                false,
            ),
            ("data", "StatefulSet", "postgres", 6, false, false),
            ("kube-system", "Deployment", "coredns", 11, false, false),
        ]);
    }
    if !cluster.starts_with("dev") && !cluster.starts_with("edge") {
        list.extend([
            ("checkout", "Deployment", "checkout", 4, false, false),
            ("monitoring", "StatefulSet", "prometheus", 9, false, false),
        ]);
    }
    if cluster == "prod-eu-west-1" || cluster.starts_with("dev") {
        list.push(("monitoring", "Deployment", "grafana", 8, true, false));
    }
    list
}

/// Loads the demo fleet, unless the database already holds data (then `None`).
pub async fn load(pool: &PgPool) -> anyhow::Result<Option<DemoSummary>> {
    let mut conn = pool.acquire().await?;
    if !db::estate::is_empty(&mut conn).await? {
        return Ok(None);
    }
    drop(conn);
    let mut summary = DemoSummary::default();
    let mut rng = StdRng::seed_from_u64(0x0b01_3a4c);

    // The estate.
    let mut tx = pool.begin().await?;
    let assets: Vec<ImageAsset> = IMAGES.iter().map(image_asset).collect::<Result<_, _>>()?;
    let image_ids = db::estate::upsert_images(&mut tx, &assets).await?;
    let mut cluster_ids = Vec::new();
    for c in CLUSTERS {
        let cluster_id = db::estate::upsert_cluster(
            &mut tx,
            &ClusterSpec {
                name: c.name,
                provider: Some(c.provider),
                environment: Some(c.environment),
                region: Some(c.region),
                account: c.account,
                criticality: Some(c.criticality),
            },
        )
        .await?;
        for (namespace, kind, name, image, internet_facing, privileged) in workloads(c.name) {
            let namespace_id = db::estate::ensure_namespace(&mut tx, cluster_id, namespace).await?;
            let workload_id = db::estate::upsert_workload(
                &mut tx,
                cluster_id,
                namespace_id,
                &WorkloadSpec {
                    kind,
                    name,
                    internet_facing,
                    privileged,
                    host_mounts: privileged,
                    service_account: Some(name),
                },
            )
            .await?;
            db::estate::upsert_container(
                &mut tx,
                cluster_id,
                workload_id,
                name,
                image_ids[image],
                privileged,
            )
            .await?;
        }
        cluster_ids.push(cluster_id);
        summary.clusters += 1;
    }
    tx.commit().await?;

    // What the in-cluster scanners report: every image a cluster runs, scanned by the cluster's
    // Trivy. The first round is a week-old scan with a few more findings, so the current round
    // shows fixes.
    for (c, cluster_id) in CLUSTERS.iter().zip(&cluster_ids) {
        let identity = demo_identity(
            pool,
            &format!("trivy-operator/{}", c.name),
            Some(*cluster_id),
        )
        .await?;
        let mut images: Vec<usize> = workloads(c.name).iter().map(|w| w.3).collect();
        images.sort_unstable();
        images.dedup();
        for image in images {
            for round in [Round::Previous, Round::Current] {
                let body = trivy_report(&IMAGES[image], round, &mut rng);
                summary.findings += ingest(pool, &identity, &body).await?;
                summary.reports += 1;
            }
        }
    }
    // And a CI pipeline scanning the company's own images before they ship.
    let ci = demo_identity(pool, "github-actions/acme", None).await?;
    for image in IMAGES
        .iter()
        .filter(|i| i.reference.starts_with("ghcr.io/acme/"))
    {
        let body = trivy_report(image, Round::Current, &mut rng);
        summary.findings += ingest(pool, &ci, &body).await?;
        summary.reports += 1;
    }
    Ok(Some(summary))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Round {
    Previous,
    Current,
}

async fn ingest(pool: &PgPool, identity: &IngestIdentity, body: &[u8]) -> anyhow::Result<u64> {
    let digest: [u8; 32] = Sha256::digest(body).into();
    let parsed = Format::Trivy
        .parse(body)
        .map_err(|e| anyhow::anyhow!("demo report does not parse: {e}"))?;
    let outcome = pipeline::store(
        pool,
        identity,
        Format::Trivy.as_str(),
        &digest,
        body.len(),
        parsed,
    )
    .await
    .map_err(|e| anyhow::anyhow!("storing a demo report: {e}"))?;
    Ok(outcome.counts.new)
}

/// A source with a token whose secret nobody keeps: demo reports are attributed like real ones.
async fn demo_identity(
    pool: &PgPool,
    source: &str,
    cluster_id: Option<i64>,
) -> anyhow::Result<IngestIdentity> {
    let mut tx = pool.begin().await?;
    let source_id = db::tokens::ensure_source(&mut tx, source, cluster_id).await?;
    let secret = TokenSecret::generate()?;
    let token_id = db::tokens::create(
        &mut tx,
        &db::tokens::NewToken {
            name: &format!("{source} (demo)"),
            hash: &secret.hash(),
            prefix: secret.display_prefix(),
            scopes: &["ingest"],
            source_id: Some(source_id),
            cluster_id,
            created_by: None,
            expires_in_days: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(IngestIdentity {
        token_id,
        source_id,
        source: source.to_owned(),
        cluster_id,
        scopes: vec!["ingest".to_owned()],
    })
}

fn digest_of(reference: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(reference.as_bytes()))
    )
}

fn image_asset(image: &DemoImage) -> anyhow::Result<ImageAsset> {
    let mut reference = ImageRef::parse(image.reference)?;
    reference.digest = Some(digest_of(image.reference));
    let mut asset = ImageAsset::new(reference, None);
    let (family, name) = os_of(image.base);
    asset.os_family = Some(family.to_owned());
    asset.os_name = Some(name.to_owned());
    Ok(asset)
}

fn os_of(base: Base) -> (&'static str, &'static str) {
    match base {
        Base::Debian => ("debian", "12.1"),
        Base::Alpine => ("alpine", "3.18.3"),
        Base::Distroless => ("debian", "12"),
    }
}

/// A Trivy JSON report of `image`. The previous round has every base vulnerability plus one
/// more language finding; the current one a deterministic share of them.
fn trivy_report(image: &DemoImage, round: Round, rng: &mut StdRng) -> Vec<u8> {
    let (family, os_name) = os_of(image.base);
    let repo = image
        .reference
        .rsplit_once(':')
        .map_or(image.reference, |(r, _)| r);
    let base_vulns: &[Vuln] = match image.base {
        Base::Debian => DEBIAN,
        Base::Alpine => ALPINE,
        Base::Distroless => &[],
    };
    let keep = |i: usize, share: u32| -> bool {
        // stable per image and vulnerability, so both rounds and every cluster agree
        let h = Sha256::digest(format!("{}#{i}", image.reference).as_bytes());
        u32::from(h[0]) * 100 / 256 < share
    };
    let share = if round == Round::Previous {
        100
    } else {
        image.base_share
    };
    let os_vulns: Vec<Value> = base_vulns
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i, share))
        .map(|(_, v)| vuln_json(v, image.base))
        .collect();
    let mut results = vec![json!({
        "Target": format!("{} ({family} {os_name})", image.reference),
        "Class": "os-pkgs",
        "Type": match image.base { Base::Alpine => "alpine", _ => "debian" },
        "Vulnerabilities": os_vulns,
    })];
    for (vulns, kind, skip, count) in image.lang {
        let count = if round == Round::Previous {
            *count + 1
        } else {
            *count
        };
        let list: Vec<Value> = vulns
            .iter()
            .skip(*skip)
            .take(count)
            .map(|v| lang_json(v, kind))
            .collect();
        let target = match *kind {
            "jar" => "app/app.jar",
            "node-pkg" => "app/node_modules",
            _ => "usr/local/bin/app",
        };
        results.push(json!({
            "Target": target, "Class": "lang-pkgs", "Type": kind, "Vulnerabilities": list,
        }));
    }
    if image.secret {
        results.push(json!({
            "Target": "/app/.env.production",
            "Class": "secret",
            "Secrets": [{
                "RuleID": "aws-access-key-id",
                "Category": "AWS",
                "Severity": "CRITICAL",
                "Title": "AWS Access Key ID",
                "StartLine": 3,
                "EndLine": 3,
                "Match": "AWS_ACCESS_KEY_ID=********************",
            }],
        }));
    }
    let age_days = if round == Round::Previous { 7 } else { 0 };
    let created = chrono::Utc::now()
        - chrono::Duration::days(age_days)
        - chrono::Duration::minutes(rng.random_range(0..600));
    let report = json!({
        "SchemaVersion": 2,
        "CreatedAt": created.to_rfc3339(),
        "ArtifactName": image.reference,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": { "Family": family, "Name": os_name },
            "ImageID": format!("sha256:{}", hex::encode(Sha256::digest(format!("config {}", image.reference).as_bytes()))),
            "RepoTags": [image.reference],
            "RepoDigests": [format!("{repo}@{}", digest_of(image.reference))],
        },
        "Results": results,
    });
    serde_json::to_vec(&report).unwrap_or_default()
}

fn vuln_json(v: &Vuln, base: Base) -> Value {
    let source = match base {
        Base::Alpine => "nvd",
        _ => "debian",
    };
    json!({
        "VulnerabilityID": v.id,
        "PkgName": v.pkg,
        "InstalledVersion": v.installed,
        "FixedVersion": v.fixed,
        "Status": if v.fixed.is_empty() { "affected" } else { "fixed" },
        "Severity": v.severity,
        "SeveritySource": source,
        "PrimaryURL": format!("https://avd.aquasec.com/nvd/{}", v.id.to_lowercase()),
        "Title": v.title,
        "Description": format!("{}. See the advisory for affected versions and mitigations.", v.title),
        "CVSS": { "nvd": { "V3Vector": v.vector, "V3Score": v.score } },
        "References": [format!("https://nvd.nist.gov/vuln/detail/{}", v.id)],
        "PublishedDate": "2023-10-11T14:15:00Z",
        "LastModifiedDate": "2024-06-10T17:16:00Z",
    })
}

fn lang_json(v: &Vuln, kind: &str) -> Value {
    let mut value = vuln_json(v, Base::Distroless);
    if let Some(map) = value.as_object_mut() {
        map.insert("SeveritySource".into(), json!("ghsa"));
        map.insert("PkgPath".into(), json!(format!("{kind}/{}", v.pkg)));
    }
    value
}
