//! Spawns the real router on 127.0.0.1:0 against a fresh database (from `#[sqlx::test]`) and
//! talks to it over real HTTP.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use app::model::Role;
use http::{HeaderMap, StatusCode};
use leptos::config::LeptosOptions;
use server::auth::AuthSettings;
use server::auth::oidc::{Oidc, OidcSettings};
use server::config::TokenCreateArgs;
use server::{AppState, Limits};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

/// The state a test server at `addr` runs with.
pub fn app_state(pool: PgPool, addr: SocketAddr, limits: Limits, auth: AuthSettings) -> AppState {
    let leptos = LeptosOptions::builder()
        .output_name("bulwark")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    AppState::new(pool, leptos, limits, auth)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    agent: ureq::Agent,
    _shutdown: oneshot::Sender<()>,
}

/// With `RUST_LOG` set, the servers' logs go to the output of the test that caused them
/// (shown when it fails, or always with `--nocapture`).
fn log_when_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
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
        Self::spawn_full(pool, limits, AuthSettings::default()).await
    }

    pub async fn spawn_with_auth(pool: PgPool, auth: AuthSettings) -> TestApp {
        Self::spawn_full(pool, Limits::default(), auth).await
    }

    pub async fn spawn_full(pool: PgPool, limits: Limits, auth: AuthSettings) -> TestApp {
        Self::spawn_custom(pool, limits, auth, None).await
    }

    /// A server with single sign-on: `oidc` gets the server's address (for the callback URL).
    pub async fn spawn_with_oidc(
        pool: PgPool,
        oidc: impl FnOnce(SocketAddr) -> OidcSettings + Send + 'static,
    ) -> TestApp {
        Self::spawn_custom(
            pool,
            Limits::default(),
            AuthSettings::default(),
            Some(Box::new(oidc)),
        )
        .await
    }

    async fn spawn_custom(
        pool: PgPool,
        limits: Limits,
        auth: AuthSettings,
        oidc: Option<Box<dyn FnOnce(SocketAddr) -> OidcSettings + Send>>,
    ) -> TestApp {
        log_when_asked();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut state = app_state(pool.clone(), addr, limits, auth);
        if let Some(oidc) = oidc {
            state = state.with_oidc(Oidc::new(oidc(addr)).unwrap());
        }
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        // A request that never gets its answer fails the test, naming the request, instead of
        // stalling the whole run.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
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
        self.fetch(method, &self.url(path), headers, body).await
    }

    /// Like [`Self::request`], to any URL (another server in the test).
    pub async fn fetch(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Response {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).unwrap();
        let agent = self.agent.clone();
        let what = format!("{method} {url}");
        tokio::task::spawn_blocking(move || {
            let mut response = agent.run(request).unwrap_or_else(|e| panic!("{what}: {e}"));
            let body = response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_vec()
                .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
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

    /// An unbound token for `source` that may also import fleet-wide threat intelligence.
    pub async fn intel_token(&self, source: &str) -> String {
        let args = TokenCreateArgs {
            source: source.to_owned(),
            intel: true,
            ..TokenCreateArgs::default()
        };
        let issued = server::cli::issue_ingest_token(&self.pool, &args)
            .await
            .unwrap();
        issued.secret.expose().to_owned()
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

    /// Every route the application serves (from the router builder itself).
    pub fn route_table(&self) -> Vec<server::routes::RouteEntry> {
        let leptos = LeptosOptions::builder()
            .output_name("bulwark")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .site_addr(self.addr)
            .build();
        let state = AppState::new(
            self.pool.clone(),
            leptos,
            Limits::default(),
            AuthSettings::default(),
        );
        server::routes::router_with_table(state).unwrap().1
    }

    /// The origin of this server, as a browser would name it.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a local user and returns their password.
    pub async fn user(&self, email: &str, role: Role) -> String {
        let password = format!("pw-{email}-long-enough");
        server::cli::create_user(&self.pool, email, "", role, &password)
            .await
            .unwrap();
        password
    }

    /// Posts the sign-in form; returns the response.
    pub async fn login_response(
        &self,
        email: &str,
        password: &str,
        cookie: Option<&str>,
    ) -> Response {
        let body = format!(
            "email={}&password={}&next=%2F",
            urlencode(email),
            urlencode(password)
        );
        let origin = self.origin();
        let mut headers = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", origin.as_str()),
        ];
        if let Some(c) = cookie {
            headers.push(("cookie", c));
        }
        self.request("POST", "/login", &headers, body).await
    }

    /// Like [`Self::request`], but from the client address `from` (any `127.x.y.z`: Linux
    /// routes all of 127.0.0.0/8 to the loopback interface, so the test binds its end of the
    /// connection there and the server sees `from` as the client's address). One raw HTTP/1.1
    /// exchange on its own connection.
    pub async fn request_from(
        &self,
        from: IpAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Response {
        let body = body.into();
        let what = format!("{method} {path} from {from}");
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from, 0))
            .unwrap_or_else(|e| panic!("{what}: binding {from}: {e}"));
        let mut stream = socket
            .connect(self.addr)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(120),
            stream.read_to_end(&mut raw),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        parse_http_response(&raw).unwrap_or_else(|| {
            panic!(
                "{what}: not an HTTP response: {}",
                String::from_utf8_lossy(&raw)
            )
        })
    }

    /// Posts the sign-in form from the client address `from`.
    pub async fn login_from(&self, from: IpAddr, email: &str, password: &str) -> Response {
        let body = format!(
            "email={}&password={}&next=%2F",
            urlencode(email),
            urlencode(password)
        );
        let origin = self.origin();
        self.request_from(
            from,
            "POST",
            "/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", origin.as_str()),
            ],
            body,
        )
        .await
    }

    /// Signs in and returns the `Cookie` header value of the new session.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self.login_response(email, password, None).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "{}",
            response.text()
        );
        session_cookie(&response).expect("a session cookie")
    }

    /// A user with this role, signed in: the cookie.
    pub async fn session(&self, role: Role) -> String {
        let email = format!("{}@example.com", role.as_str());
        let password = self.user(&email, role).await;
        self.login(&email, &password).await
    }

    /// A user with this role limited to `cluster`, signed in: the cookie.
    pub async fn limited_session(&self, email: &str, role: Role, cluster: &str) -> String {
        let password = self.user(email, role).await;
        let id: i64 = sqlx::query_scalar("select id from app_user where email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        server::db::users::set_scope(&mut conn, id, &[], &[], &[cluster.to_owned()])
            .await
            .unwrap();
        drop(conn);
        self.login(email, &password).await
    }

    /// A `read` token bound to `cluster`, created on the tokens page by the manager signed in
    /// with `cookie`: the secret.
    pub async fn read_token_as(&self, cookie: &str, name: &str, cluster: &str) -> String {
        let body = format!(
            "name={}&scope=read&cluster={}",
            urlencode(name),
            urlencode(cluster)
        );
        let created = self
            .post_form_as(cookie, "/settings/tokens/new", &body)
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text());
        let html = created.text();
        let marker = "data-testid=\"new-token\" class=\"secret\">";
        let at = html
            .find(marker)
            .unwrap_or_else(|| panic!("no token in {html}"))
            + marker.len();
        let len = html[at..].find('<').unwrap();
        html[at..at + len].to_owned()
    }

    /// Runs every due background job (the daily rollup after ingests) to the end, as the
    /// server's worker would: test servers start no background work of their own.
    pub async fn settle(&self) {
        while server::jobs::work_one(&self.pool)
            .await
            .expect("the job queue answers")
            .is_some()
        {}
    }

    /// `POST` a server function with a form body as the signed-in `cookie`, as the hydrated
    /// page does.
    pub async fn rpc_as(&self, cookie: &str, path: &str, body: &str) -> Response {
        let origin = self.origin();
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", cookie),
                ("origin", &origin),
            ],
            body.to_owned(),
        )
        .await
    }

    /// A GET with a session cookie.
    pub async fn get_as(&self, cookie: &str, path: &str) -> Response {
        self.request("GET", path, &[("cookie", cookie)], Vec::new())
            .await
    }

    /// A same-origin form POST with a session cookie.
    pub async fn post_form_as(&self, cookie: &str, path: &str, body: &str) -> Response {
        let origin = self.origin();
        self.request(
            "POST",
            path,
            &[
                ("cookie", cookie),
                ("origin", origin.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.to_owned(),
        )
        .await
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

/// A whole HTTP/1.1 response as read from a connection the server closed; `None` when it is
/// not one. Understands `content-length` and chunked bodies.
fn parse_http_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            http::HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[end + 2..];
            if size == 0 {
                break body;
            }
            body.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
    } else {
        rest.to_vec()
    };
    Some(Response {
        status: StatusCode::from_u16(status).ok()?,
        headers,
        body,
    })
}

/// `name=value` of the session cookie a response sets, if it sets one (not a removal).
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("bulwark_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .next()
}

/// Percent-encodes a form value (the app's own encoder).
pub use app::components::format::query_value as urlencode;
