//! The test suite's identity provider as a process, for the browser tests:
//! `FAKE_IDP_ADDR=127.0.0.1:4000 cargo run --release --example fake_idp`. Client id
//! `bulwark-e2e`, secret from `FAKE_IDP_CLIENT_SECRET`. Never for production.

#![expect(clippy::unwrap_used, reason = "a test fixture fails loudly")]

#[path = "../tests/api/fake_idp.rs"]
mod fake_idp;

use fake_idp::IdpUser;

#[tokio::main]
async fn main() {
    let addr = std::env::var("FAKE_IDP_ADDR").unwrap_or_else(|_| "127.0.0.1:4000".to_owned());
    let secret =
        std::env::var("FAKE_IDP_CLIENT_SECRET").unwrap_or_else(|_| "e2e-secret".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let users = vec![
        IdpUser::new("olivia", "olivia@example.com", "Olivia Ops", &["secops"]),
        IdpUser::new("nora", "nora@example.com", "Nora Nobody", &["contractors"]),
    ];
    let issuer = fake_idp::start(listener, "bulwark-e2e", &secret, users).await;
    eprintln!("fake identity provider at {issuer}");
    std::future::pending::<()>().await;
}
