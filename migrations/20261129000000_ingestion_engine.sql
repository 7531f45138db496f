-- ingestion engine: what the multi-format pipeline, vex and risk ranking need on top of v1.

-- an unchanged re-scan is recognised by the hash of what it reports per scope, so it touches
-- no finding or observation row; a report older than the newest one applied is not applied.
alter table scan_scope
    add column content_hash bytea,
    add column last_generated_at timestamptz;

-- vex statements (openvex, cyclonedx analysis). kept so that findings reported after the
-- statement are suppressed too. the newest statement for a (vulnerability, product) wins.
create table vex_statement (
    id                bigint generated always as identity primary key,
    source_id         bigint not null references source (id) on delete cascade,
    report_id         bigint references report (id) on delete cascade,
    vulnerability_id  text not null,
    component_key     text,     -- component.key the statement is about; null = any
    image_key         text,     -- image.key the statement is about; null = any
    status            text not null check (status in ('not_affected', 'affected', 'fixed', 'under_investigation')),
    justification     text,
    statement         text,
    issued_at         timestamptz,
    created_at        timestamptz not null default now()
);
create index vex_statement_vulnerability_idx on vex_statement (vulnerability_id, created_at desc);

-- runtime signal for risk: recent events per workload.
create index runtime_event_workload_idx on runtime_event (cluster_id, workload_id, time desc)
    where workload_id is not null;

-- decisions in force per finding are looked up when a finding returns or a vex arrives.
create index finding_decision_active_idx on finding_decision (cluster_id, finding_id, created_at desc)
    where revoked_at is null;

-- intel imports keep their catalogue version and time, for the ui and for idempotence.
alter table intel_kev add column catalog_version text;

-- default risk weights (points added by each factor; see server/src/domain/risk.rs).
insert into setting (key, value) values ('risk.weights', '{
    "severity_per_cvss_point": 4.0,
    "kev": 20,
    "epss_max": 15,
    "fix_available": 5,
    "internet_facing": 10,
    "runtime_signal": 10,
    "environment_prod": 10,
    "environment_staging": 4,
    "environment_dev": 0,
    "environment_unknown": 4,
    "criticality_per_step": 2,
    "privileged": 5
}'::jsonb) on conflict (key) do nothing;
