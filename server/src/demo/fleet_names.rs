//! The names the scaled fleet is built from: cloud providers and their regions, the platform
//! software most clusters run, the teams and roles behind application images, and where images
//! carry secrets. Data only; [`super::fleet`] draws from it.

use super::catalogue::Family;

pub(super) const PROVIDERS: [(&str, &[&str]); 4] = [
    (
        "aws",
        &[
            "eu-west-1",
            "eu-central-1",
            "us-east-1",
            "us-west-2",
            "ap-southeast-1",
        ],
    ),
    ("gcp", &["europe-west1", "us-central1", "asia-northeast1"]),
    ("azure", &["westeurope", "northeurope", "eastus2"]),
    ("onprem", &["fra-dc2", "ams-dc1", "dal-dc3"]),
];

/// Platform software most clusters run: (repository, namespace, kind, OS, language,
/// internet-facing, privileged).
pub(super) type Platform = (
    &'static str,
    &'static str,
    &'static str,
    Option<Family>,
    Family,
    bool,
    bool,
);
pub(super) const PLATFORM: &[Platform] = &[
    (
        "registry.k8s.io/coredns/coredns",
        "kube-system",
        "Deployment",
        None,
        Family::Golang,
        false,
        false,
    ),
    (
        "registry.k8s.io/kube-proxy",
        "kube-system",
        "DaemonSet",
        Some(Family::Debian),
        Family::Golang,
        false,
        true,
    ),
    (
        "registry.k8s.io/ingress-nginx/controller",
        "ingress-nginx",
        "Deployment",
        Some(Family::Alpine),
        Family::Golang,
        true,
        false,
    ),
    (
        "registry.k8s.io/metrics-server/metrics-server",
        "kube-system",
        "Deployment",
        None,
        Family::Golang,
        false,
        false,
    ),
    (
        "quay.io/prometheus/node-exporter",
        "monitoring",
        "DaemonSet",
        None,
        Family::Golang,
        false,
        true,
    ),
    (
        "quay.io/prometheus/prometheus",
        "monitoring",
        "StatefulSet",
        None,
        Family::Golang,
        false,
        false,
    ),
    (
        "docker.io/grafana/grafana",
        "monitoring",
        "Deployment",
        Some(Family::Alpine),
        Family::Npm,
        true,
        false,
    ),
    (
        "cr.fluentbit.io/fluent/fluent-bit",
        "logging",
        "DaemonSet",
        Some(Family::Debian),
        Family::Golang,
        false,
        true,
    ),
    (
        "quay.io/jetstack/cert-manager-controller",
        "cert-manager",
        "Deployment",
        None,
        Family::Golang,
        false,
        false,
    ),
    (
        "quay.io/argoproj/argocd",
        "argocd",
        "Deployment",
        Some(Family::Debian),
        Family::Golang,
        true,
        false,
    ),
    (
        "docker.io/library/redis",
        "data",
        "StatefulSet",
        Some(Family::Debian),
        Family::Golang,
        false,
        false,
    ),
    (
        "docker.io/library/postgres",
        "data",
        "StatefulSet",
        Some(Family::Debian),
        Family::Golang,
        false,
        false,
    ),
];

pub(super) const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "orders",
    "shipping",
    "pricing",
    "reviews",
    "media",
    "billing",
    "ledger",
    "fraud",
    "loyalty",
    "messaging",
    "analytics",
    "recommend",
    "inventory",
    "support",
    "partners",
];
pub(super) const ROLES: &[&str] = &[
    "api",
    "worker",
    "web",
    "gateway",
    "consumer",
    "scheduler",
    "sync",
    "export",
    "admin",
    "cache",
];
/// Files in which images carry secrets.
pub(super) const SECRET_FILES: &[&str] = &[
    "/app/.env.production",
    "/root/.ssh/id_rsa",
    "/app/config/settings.yaml",
];
