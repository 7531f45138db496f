//! Real-world inputs end to end: every vendored fixture, and every file of the team's
//! `shared/samples/` (beside the repository in CI; a missing folder fails), goes through
//! `POST /api/v1/ingest/{format}` and through format detection on `POST /api/v1/ingest`.

use std::path::{Path, PathBuf};

use server::auth::AuthSettings;
use sqlx::PgPool;

use crate::helpers::TestApp;

/// The format a directory of samples holds (`kube_hunter` → `kube-hunter`), if it is one the
/// ingest API reads. Intel feeds (`kev`, `epss`) have their own endpoints and tests.
fn format_of(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?.replace('_', "-");
    server::ingest::Format::from_name(&name).map(|f| f.as_str().to_owned())
}

/// `(format, file)` for every report file under `root/<format>/`.
pub(crate) fn reports_under(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Some(format) = format_of(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.ends_with("PROVENANCE.md"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (format.clone(), f)));
    }
    out
}

/// Ingests each file twice: through its format's endpoint, and (as another source, so the
/// replay check does not short-circuit) through detection, which must pick the same format.
async fn ingest_all(app: &TestApp, files: &[(String, PathBuf)]) {
    let direct = app.token("samples-direct", None).await;
    let detected = app.token("samples-detected", None).await;
    let auth = format!("Bearer {detected}");
    let mut failures = Vec::new();
    for (format, file) in files {
        let body = std::fs::read(file).unwrap();
        let name = file.display();
        let response = app.ingest(format, &direct, body.clone()).await;
        if !response.status.is_success() {
            failures.push(format!("{name}: {} {}", response.status, response.text()));
            continue;
        }
        let report = response.json();
        assert!(report["report_id"].as_i64().is_some(), "{name}: {report}");
        let response = app
            .request("POST", "/api/v1/ingest", &[("authorization", &auth)], body)
            .await;
        if matches!(body_trimmed(file).as_slice(), b"null" | b"[]" | b"{}") {
            // Nothing in it says which tool wrote it: detection must say so, not guess.
            let problem = response.json();
            if response.status != http::StatusCode::BAD_REQUEST
                || problem["type"] != "urn:bulwark:problem:empty-document"
            {
                failures.push(format!("{name} (empty, detection): {problem}"));
            }
            continue;
        }
        if !response.status.is_success() {
            failures.push(format!(
                "{name} (detection): {} {}",
                response.status,
                response.text()
            ));
            continue;
        }
        let chosen = response.json()["format"].as_str().unwrap_or("").to_owned();
        if &chosen != format {
            failures.push(format!("{name}: detected as '{chosen}', not '{format}'"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn body_trimmed(file: &Path) -> Vec<u8> {
    std::fs::read(file).unwrap().trim_ascii().to_vec()
}

/// One token sends every sample, faster than the default 120 reports a minute allow.
fn unthrottled() -> AuthSettings {
    AuthSettings {
        ingest_reports_per_minute: 100_000,
        ..AuthSettings::default()
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_vendored_fixture_ingests_and_is_detected(pool: PgPool) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let files = reports_under(&root);
    let formats: std::collections::BTreeSet<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    assert!(formats.len() >= 6, "fixtures for only {formats:?}");
    let app = TestApp::spawn_with_auth(pool, unthrottled()).await;
    ingest_all(&app, &files).await;
}

/// `shared/samples/` beside the repository (or `BULWARK_SAMPLES`): the published scanner
/// outputs this project was built against. Not part of the repository but always present in CI,
/// so a missing folder fails the test, naming the path.
pub(crate) fn shared_samples() -> PathBuf {
    let root = std::env::var_os("BULWARK_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples"));
    assert!(
        root.is_dir(),
        "no shared samples at {}: the team's samples must be in shared/samples beside the \
         repository, or named by BULWARK_SAMPLES",
        root.display()
    );
    root
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_shared_sample_ingests_and_is_detected(pool: PgPool) {
    let root = shared_samples();
    let files = reports_under(&root);
    let app = TestApp::spawn_with_auth(pool, unthrottled()).await;
    ingest_all(&app, &files).await;
}

/// The intel files among the shared samples (CISA KEV as JSON and CSV, FIRST EPSS CSV) load
/// through `POST /api/v1/intel/{feed}` and say how many entries they held.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_shared_intel_sample_imports(pool: PgPool) {
    let root = shared_samples();
    let app = TestApp::spawn_with_auth(pool, unthrottled()).await;
    let token = app.intel_token("intel").await;
    let auth = format!("Bearer {token}");
    for feed in ["kev", "epss"] {
        let dir = root.join(feed);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("shared {feed} samples at {}: {e}", dir.display()));
        for file in entries {
            let file = file.unwrap().path();
            let body = std::fs::read(&file).unwrap();
            let response = app
                .request(
                    "POST",
                    &format!("/api/v1/intel/{feed}"),
                    &[("authorization", &auth)],
                    body,
                )
                .await;
            assert!(
                response.status.is_success(),
                "{}: {} {}",
                file.display(),
                response.status,
                response.text()
            );
            let outcome = response.json();
            assert!(
                outcome["entries"].as_u64().unwrap_or(0) > 0,
                "{}: {outcome}",
                file.display()
            );
        }
    }
}
