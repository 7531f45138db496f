//! Spawns the real router on 127.0.0.1:0 against a fresh database (from `#[sqlx::test]`) and
//! talks to it over real HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;

use http::{HeaderMap, StatusCode};
use leptos::config::LeptosOptions;
use server::config::TokenCreateArgs;
use server::{AppState, Limits};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    agent: ureq::Agent,
    _shutdown: oneshot::Sender<()>,
}

/// A response, read completely.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, Limits::default()).await
    }

    pub async fn spawn_with(pool: PgPool, limits: Limits) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let leptos = LeptosOptions::builder()
            .output_name("bulwark")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let state = AppState {
            pool: pool.clone(),
            leptos,
            limits,
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        TestApp {
            addr,
            pool,
            agent,
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request over HTTP and reads the whole response.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Response {
        let mut request = http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).unwrap();
        let agent = self.agent.clone();
        tokio::task::spawn_blocking(move || {
            let mut response = agent.run(request).unwrap();
            let body = response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_vec()
                .unwrap();
            Response {
                status: response.status(),
                headers: response.headers().clone(),
                body,
            }
        })
        .await
        .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], Vec::new()).await
    }

    /// `POST /api/v1/ingest/{format}` with a bearer token.
    pub async fn ingest(&self, format: &str, token: &str, body: impl Into<Vec<u8>>) -> Response {
        self.ingest_with(format, token, &[], body).await
    }

    /// Like [`Self::ingest`], with extra headers.
    pub async fn ingest_with(
        &self,
        format: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Response {
        let auth = format!("Bearer {token}");
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        self.request("POST", &format!("/api/v1/ingest/{format}"), &all, body)
            .await
    }

    /// An ingest token for `source`, optionally in `cluster` (created as `prod` on `aws`).
    pub async fn token(&self, source: &str, cluster: Option<&str>) -> String {
        let args = TokenCreateArgs {
            source: source.to_owned(),
            cluster: cluster.map(str::to_owned),
            provider: cluster.map(|_| server::config::Provider::Aws),
            environment: cluster.map(|_| server::config::Environment::Prod),
            ..TokenCreateArgs::default()
        };
        let issued = server::cli::issue_ingest_token(&self.pool, &args)
            .await
            .unwrap();
        issued.secret.expose().to_owned()
    }

    /// Rows in each table that a report writes to.
    pub async fn row_counts(&self) -> RowCounts {
        let count = |table: &'static str| {
            let pool = self.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        RowCounts {
            reports: count("report").await,
            images: count("image").await,
            vulnerabilities: count("vulnerability").await,
            components: count("component").await,
            findings: count("finding").await,
            observations: count("observation").await,
            scopes: count("scan_scope").await,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowCounts {
    pub reports: i64,
    pub images: i64,
    pub vulnerabilities: i64,
    pub components: i64,
    pub findings: i64,
    pub observations: i64,
    pub scopes: i64,
}

pub fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}

/// The URL of the database behind `pool`, for running the binary against it.
pub fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

/// A minimal Trivy image report with the given (vulnerability id, package, version) triples.
pub fn trivy_image_report(image: &str, created_at: &str, vulns: &[(&str, &str, &str)]) -> String {
    let vulns: Vec<serde_json::Value> = vulns
        .iter()
        .map(|(id, pkg, version)| {
            serde_json::json!({
                "VulnerabilityID": id, "PkgName": pkg, "InstalledVersion": version,
                "FixedVersion": "99.0", "Severity": "HIGH", "Title": format!("{id} in {pkg}"),
            })
        })
        .collect();
    serde_json::json!({
        "SchemaVersion": 2,
        "CreatedAt": created_at,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}},
        "Results": [{"Target": format!("{image} (debian 12.4)"), "Class": "os-pkgs", "Type": "debian",
                     "Vulnerabilities": vulns}],
    })
    .to_string()
}
