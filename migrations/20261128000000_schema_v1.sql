-- schema v1: the whole unified model of the product brief, section 3.
--
-- conventions
-- * ids are bigint identities; text enums are checked text (easier to extend than pg enums).
-- * severity is a smallint so it sorts and aggregates cheaply:
--   0 = unknown, 1 = low, 2 = medium, 3 = high, 4 = critical.
-- * every row that belongs to one cluster carries cluster_id first in its primary key, so the
--   schema can be distributed by cluster (citus) without a rewrite. rows about assets that are
--   not bound to one cluster (an image scanned in ci, a repository) use cluster_id = 0, the
--   "fleet" scope; that is why finding-like tables have no foreign key on cluster_id alone.
-- * timestamps are timestamptz; "now()" defaults are the database clock.

-- ---------------------------------------------------------------------------------------------
-- estate: cluster -> namespace -> workload -> container -> image
-- ---------------------------------------------------------------------------------------------

create table cluster (
    id              bigint generated always as identity primary key check (id > 0),
    name            text not null unique check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
    provider        text not null default 'other'
                    check (provider in ('aws', 'gcp', 'azure', 'onprem', 'other')),
    region          text,
    account         text,           -- aws account, gcp project, azure subscription
    environment     text not null default 'dev' check (environment in ('prod', 'staging', 'dev')),
    criticality     smallint not null default 3 check (criticality between 1 and 5),
    labels          jsonb not null default '{}'::jsonb,
    created_at      timestamptz not null default now(),
    last_report_at  timestamptz
);

create table namespace (
    cluster_id  bigint not null references cluster (id) on delete cascade,
    id          bigint generated always as identity,
    name        text not null,
    labels      jsonb not null default '{}'::jsonb,
    primary key (cluster_id, id),
    unique (cluster_id, name)
);

create table workload (
    cluster_id       bigint not null,
    id               bigint generated always as identity,
    namespace_id     bigint not null,
    kind             text not null,     -- Deployment, StatefulSet, DaemonSet, CronJob, Pod, ...
    name             text not null,
    internet_facing  boolean not null default false,
    privileged       boolean not null default false,
    host_mounts      boolean not null default false,
    service_account  text,
    labels           jsonb not null default '{}'::jsonb,
    first_seen       timestamptz not null default now(),
    last_seen        timestamptz not null default now(),
    primary key (cluster_id, id),
    unique (cluster_id, namespace_id, kind, name),
    foreign key (cluster_id, namespace_id) references namespace (cluster_id, id) on delete cascade
);

-- images are shared across workloads and clusters, so they are fleet-wide rows.
create table image (
    id           bigint generated always as identity primary key,
    -- identity: the manifest digest when known, else "registry/repository:tag".
    key          text not null unique,
    registry     text not null default '',
    repository   text not null,
    tag          text,
    digest       text check (digest is null or digest ~ '^[a-z0-9]+:[a-f0-9]{32,}$'),
    image_id     text,              -- config digest as reported by the runtime
    os_family    text,
    os_name      text,
    first_seen   timestamptz not null default now(),
    last_seen    timestamptz not null default now()
);
create index image_repository_idx on image (repository, tag);

create table container (
    cluster_id   bigint not null,
    id           bigint generated always as identity,
    workload_id  bigint not null,
    name         text not null,
    image_id     bigint not null references image (id),
    privileged   boolean not null default false,
    host_mounts  boolean not null default false,
    run_as_root  boolean,
    first_seen   timestamptz not null default now(),
    last_seen    timestamptz not null default now(),
    primary key (cluster_id, id),
    unique (cluster_id, workload_id, name),
    foreign key (cluster_id, workload_id) references workload (cluster_id, id) on delete cascade
);
create index container_image_idx on container (image_id);

-- which images are known to be present in which cluster: from containers, and from reports
-- sent with a cluster-bound token. answers "which image findings concern cluster x" cheaply.
create table cluster_image (
    cluster_id  bigint not null references cluster (id) on delete cascade,
    image_id    bigint not null references image (id) on delete cascade,
    first_seen  timestamptz not null default now(),
    last_seen   timestamptz not null default now(),
    primary key (cluster_id, image_id)
);
create index cluster_image_image_idx on cluster_image (image_id);

-- ---------------------------------------------------------------------------------------------
-- catalogue: vulnerabilities, components, threat intelligence
-- ---------------------------------------------------------------------------------------------

create table vulnerability (
    id             text primary key check (id <> ''),   -- CVE-2021-44228, GHSA-..., ALAS-...
    aliases        text[] not null default '{}',
    title          text,
    description    text,
    severity       smallint not null default 0 check (severity between 0 and 4),
    -- the vector and score chosen for ranking (v4 > v3.x > v2, nvd before vendors).
    cvss_vector    text,
    cvss_score     real check (cvss_score is null or cvss_score between 0 and 10),
    -- every vector seen, by source: {"nvd": {"v3": "CVSS:3.1/..."}, "redhat": {...}}
    cvss           jsonb not null default '{}'::jsonb,
    cwe            text[] not null default '{}',
    published_at   timestamptz,
    modified_at    timestamptz,
    reference_urls text[] not null default '{}',
    updated_at     timestamptz not null default now()
);
create index vulnerability_aliases_idx on vulnerability using gin (aliases);

-- cisa known exploited vulnerabilities; kept apart from the catalogue so that an import does not
-- create vulnerabilities nobody reported.
create table intel_kev (
    cve_id              text primary key,
    vendor              text,
    product             text,
    name                text,
    date_added          date not null,
    due_date            date,
    ransomware_use      text,
    notes               text,
    imported_at         timestamptz not null default now()
);

-- first epss scores (about 250k rows per daily file).
create table intel_epss (
    cve_id       text primary key,
    score        real not null check (score between 0 and 1),
    percentile   real not null check (percentile between 0 and 1),
    score_date   date,
    imported_at  timestamptz not null default now()
);

create table component (
    id          bigint generated always as identity primary key,
    -- identity across scanners: "<ecosystem>/<name>@<version>" (purl type, no qualifiers).
    key         text not null unique,
    ecosystem   text not null,
    name        text not null,
    version     text not null,
    purl        text
);

-- ---------------------------------------------------------------------------------------------
-- people: users, scopes, sessions, tokens, audit log
-- ---------------------------------------------------------------------------------------------

create table app_user (
    id             bigint generated always as identity primary key,
    email          text not null,
    display_name   text not null default '',
    password_hash  text,                 -- argon2id phc string; null for sso-only accounts
    role           text not null check (role in ('admin', 'manager', 'analyst', 'executive')),
    oidc_issuer    text,
    oidc_subject   text,
    disabled_at    timestamptz,
    created_at     timestamptz not null default now(),
    last_login_at  timestamptz,
    unique (oidc_issuer, oidc_subject)
);
create unique index app_user_email_idx on app_user (lower(email));

-- a user limited to some providers, environments or clusters sees nothing else.
create table user_scope (
    user_id  bigint not null references app_user (id) on delete cascade,
    kind     text not null check (kind in ('provider', 'environment', 'cluster')),
    value    text not null,
    primary key (user_id, kind, value)
);

create table user_session (
    id            text primary key,       -- hash of the session id, never the id itself
    user_id       bigint references app_user (id) on delete cascade,
    data          jsonb not null default '{}'::jsonb,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null
);
create index user_session_expires_idx on user_session (expires_at);

-- a source is one scanner install (a trivy operator in cluster x, a ci pipeline, ...).
create table source (
    id          bigint generated always as identity primary key,
    name        text not null unique check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
    cluster_id  bigint references cluster (id) on delete cascade,
    created_at  timestamptz not null default now()
);

create table api_token (
    id            bigint generated always as identity primary key,
    name          text not null,
    -- sha-256 of the secret; the secret itself is shown once and never stored.
    token_hash    bytea not null unique check (length(token_hash) = 32),
    token_prefix  text not null,           -- first characters, to recognise a token in lists
    scopes        text[] not null default '{ingest}',
    source_id     bigint references source (id) on delete cascade,
    cluster_id    bigint references cluster (id) on delete cascade,
    created_by    bigint references app_user (id) on delete set null,
    created_at    timestamptz not null default now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    check (not ('ingest' = any (scopes)) or source_id is not null)
);

-- append-only: every change anyone makes. updates and deletes are refused by a trigger.
create table audit_log (
    id              bigint generated always as identity primary key,
    at              timestamptz not null default now(),
    actor_user_id   bigint references app_user (id) on delete set null,
    actor_token_id  bigint references api_token (id) on delete set null,
    actor           text not null,          -- display form, kept when the user is gone
    action          text not null,          -- login, login_failed, token.create, finding.accept, ...
    target_kind     text,
    target_id       text,
    cluster_id      bigint,
    ip              inet,
    details         jsonb not null default '{}'::jsonb
);
create index audit_log_at_idx on audit_log (at desc);
create index audit_log_action_idx on audit_log (action, at desc);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only';
end;
$$;
create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();

-- key/value settings: risk weights, sla policy, retention, notifications.
create table setting (
    key         text primary key,
    value       jsonb not null,
    updated_at  timestamptz not null default now(),
    updated_by  bigint references app_user (id) on delete set null
);

-- ---------------------------------------------------------------------------------------------
-- reports and lifecycle scopes
-- ---------------------------------------------------------------------------------------------

-- one row per accepted ingest. the same bytes from the same source are the same report.
create table report (
    id              bigint generated always as identity primary key,
    source_id       bigint not null references source (id) on delete cascade,
    cluster_id      bigint references cluster (id) on delete set null,
    token_id        bigint references api_token (id) on delete set null,
    format          text not null,          -- trivy, grype, falco, ...
    kind            text not null default 'findings'
                    check (kind in ('findings', 'runtime', 'controls', 'inventory', 'vex', 'intel')),
    scanner         text,
    scanner_version text,
    artifact        text,                   -- what was scanned, as the report names it
    scope_id        bigint,                 -- lifecycle scope, see scan_scope
    digest          bytea not null check (length(digest) = 32),   -- sha-256 of the decoded body
    body_bytes      bigint not null,
    generated_at    timestamptz,            -- when the scanner says it ran
    received_at     timestamptz not null default now(),
    record_count    integer not null default 0,
    counts          jsonb not null default '{}'::jsonb,   -- new, unchanged, fixed, reopened, ...
    warnings        jsonb not null default '[]'::jsonb,
    unique (source_id, digest)
);
create index report_received_idx on report (received_at desc);
create index report_cluster_idx on report (cluster_id, received_at desc);

-- lifecycle unit: a finding missing from the newest report of the same source and scope is
-- fixed. the scope says what a report covers (one image, one cluster's workloads, ...).
create table scan_scope (
    id              bigint generated always as identity primary key,
    source_id       bigint not null references source (id) on delete cascade,
    scope           text not null,
    cluster_id      bigint references cluster (id) on delete cascade,
    last_report_id  bigint references report (id) on delete set null,
    last_seen_at    timestamptz not null default now(),
    unique (source_id, scope)
);
alter table report add foreign key (scope_id) references scan_scope (id) on delete set null;

-- ---------------------------------------------------------------------------------------------
-- findings: one problem on one asset, whoever reported it
-- ---------------------------------------------------------------------------------------------

create table finding (
    cluster_id        bigint not null default 0 check (cluster_id >= 0),
    id                bigint generated always as identity,
    -- sha-256 over what identifies the problem (kind, rule or vulnerability, asset); the same
    -- cve in the same package of the same image is one finding whichever scanner reports it.
    fingerprint       bytea not null check (length(fingerprint) = 32),
    kind              text not null check (kind in
                      ('vulnerability', 'misconfiguration', 'secret', 'rbac', 'control', 'runtime')),
    status            text not null default 'open' check (status in
                      ('open', 'fixed', 'reopened', 'accepted', 'false_positive', 'suppressed_by_vex')),
    severity          smallint not null default 0 check (severity between 0 and 4),
    title             text not null,
    -- what the finding is about
    vulnerability_id  text references vulnerability (id),
    component_id      bigint references component (id),
    rule_id           text,         -- check / rule / control id for non-vulnerability kinds
    -- where it is
    image_id          bigint references image (id) on delete cascade,
    namespace_id      bigint,
    workload_id       bigint,
    resource          text,         -- kind/namespace/name or file path the finding points at
    fixed_version     text,
    -- lifecycle
    -- last_seen is not stored: it is the newest last_seen_at of the scopes observing the finding,
    -- so that a re-scan that finds the same things rewrites no finding row.
    first_seen        timestamptz not null default now(),
    status_changed_at timestamptz not null default now(),
    fixed_at          timestamptz,
    sla_due_at        timestamptz,
    -- risk: 0-100 with the factors that produced it, so every rank explains itself
    risk_score        smallint check (risk_score between 0 and 100),
    risk_factors      jsonb not null default '{}'::jsonb,
    details           jsonb not null default '{}'::jsonb,
    primary key (cluster_id, id),
    unique (cluster_id, fingerprint),
    foreign key (cluster_id, workload_id) references workload (cluster_id, id) on delete cascade,
    foreign key (cluster_id, namespace_id) references namespace (cluster_id, id) on delete cascade
);
create index finding_open_severity_idx on finding (severity, cluster_id)
    where status in ('open', 'reopened');
create index finding_image_idx on finding (image_id) where image_id is not null;
create index finding_vulnerability_idx on finding (vulnerability_id) where vulnerability_id is not null;
create index finding_risk_idx on finding (risk_score desc nulls last) where status in ('open', 'reopened');

-- one scanner's sighting of a finding within one lifecycle scope. an unchanged re-send touches
-- no row here: "last seen" of an active observation is its scope's last_seen_at.
create table observation (
    cluster_id        bigint not null,
    finding_id        bigint not null,
    scope_id          bigint not null references scan_scope (id) on delete cascade,
    active            boolean not null default true,
    first_report_id   bigint references report (id) on delete set null,
    changed_report_id bigint references report (id) on delete set null,   -- last state change
    first_seen        timestamptz not null default now(),
    gone_at           timestamptz,
    severity          smallint not null default 0 check (severity between 0 and 4),  -- as scanned
    details           jsonb not null default '{}'::jsonb,                            -- evidence
    primary key (cluster_id, finding_id, scope_id),
    foreign key (cluster_id, finding_id) references finding (cluster_id, id) on delete cascade
);
create index observation_scope_idx on observation (scope_id, active);

-- triage decisions; the newest one in force is reflected in finding.status.
create table finding_decision (
    cluster_id     bigint not null,
    id             bigint generated always as identity,
    finding_id     bigint not null,
    decision       text not null check (decision in
                   ('accepted', 'false_positive', 'suppressed_by_vex', 'reopened', 'assigned', 'comment')),
    justification  text not null default '',
    decided_by     bigint references app_user (id) on delete set null,
    approved_by    bigint references app_user (id) on delete set null,
    approved_at    timestamptz,
    expires_at     timestamptz,
    vex_source     text,             -- the vex document that decided it
    created_at     timestamptz not null default now(),
    revoked_at     timestamptz,
    primary key (cluster_id, id),
    foreign key (cluster_id, finding_id) references finding (cluster_id, id) on delete cascade
);
create index finding_decision_finding_idx on finding_decision (cluster_id, finding_id);

-- ---------------------------------------------------------------------------------------------
-- runtime: events (high volume, partitioned by time) and incidents
-- ---------------------------------------------------------------------------------------------

create table runtime_event (
    cluster_id      bigint not null,
    time            timestamptz not null,
    id              bigint generated always as identity,
    rule            text not null,
    priority        smallint not null default 0 check (priority between 0 and 7),  -- syslog: 0 emergency .. 7 debug
    source          text,                 -- syscall, k8s_audit, ...
    hostname        text,
    namespace       text,
    pod             text,
    container_id    text,
    container_name  text,
    image           text,
    workload_id     bigint,
    process         text,
    output          text,
    tags            text[] not null default '{}',
    fields          jsonb not null default '{}'::jsonb,
    report_id       bigint,
    incident_id     bigint,
    primary key (cluster_id, time, id)
) partition by range (time);
-- rows outside every monthly partition land here rather than being refused.
create table runtime_event_default partition of runtime_event default;
create index runtime_event_rule_idx on runtime_event (cluster_id, rule, time desc);
create index runtime_event_incident_idx on runtime_event (incident_id) where incident_id is not null;

-- creates the monthly partitions covering [from_month, from_month + months).
create function ensure_runtime_event_partitions(from_month date, months integer) returns void
language plpgsql as $$
declare
    m date := date_trunc('month', from_month)::date;
    i integer;
    part text;
begin
    for i in 0 .. months - 1 loop
        part := format('runtime_event_%s', to_char(m, 'YYYYMM'));
        if to_regclass(part) is null then
            execute format('create table %I partition of runtime_event for values from (%L) to (%L)',
                           part, m, (m + interval '1 month')::date);
        end if;
        m := (m + interval '1 month')::date;
    end loop;
end;
$$;
select ensure_runtime_event_partitions((now() - interval '1 month')::date, 4);

create table incident (
    cluster_id       bigint not null,
    id               bigint generated always as identity,
    title            text not null,
    severity         smallint not null default 0 check (severity between 0 and 4),
    status           text not null default 'new' check (status in
                     ('new', 'acknowledged', 'investigating', 'contained', 'resolved', 'false_positive')),
    assignee_id      bigint references app_user (id) on delete set null,
    -- runtime events are grouped by rule, workload and time window into one incident.
    group_key        text,
    rule             text,
    workload_id      bigint,
    event_count      integer not null default 0,
    first_event_at   timestamptz,
    last_event_at    timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    acknowledged_at  timestamptz,
    resolved_at      timestamptz,
    sla_due_at       timestamptz,
    primary key (cluster_id, id),
    foreign key (cluster_id, workload_id) references workload (cluster_id, id) on delete set null (workload_id)
);
create index incident_open_idx on incident (cluster_id, status, severity desc);
create unique index incident_group_open_idx on incident (cluster_id, group_key)
    where status not in ('resolved', 'false_positive');

create table incident_finding (
    cluster_id          bigint not null,
    incident_id         bigint not null,
    finding_cluster_id  bigint not null,
    finding_id          bigint not null,
    primary key (cluster_id, incident_id, finding_cluster_id, finding_id),
    foreign key (cluster_id, incident_id) references incident (cluster_id, id) on delete cascade,
    foreign key (finding_cluster_id, finding_id) references finding (cluster_id, id) on delete cascade
);

create table incident_comment (
    cluster_id   bigint not null,
    id           bigint generated always as identity,
    incident_id  bigint not null,
    author_id    bigint references app_user (id) on delete set null,
    body         text not null check (body <> ''),
    created_at   timestamptz not null default now(),
    primary key (cluster_id, id),
    foreign key (cluster_id, incident_id) references incident (cluster_id, id) on delete cascade
);

-- every change to an incident, in order: the incident's timeline.
create table incident_change (
    cluster_id   bigint not null,
    id           bigint generated always as identity,
    incident_id  bigint not null,
    at           timestamptz not null default now(),
    actor_id     bigint references app_user (id) on delete set null,
    field        text not null,           -- status, assignee, severity, event, finding, ...
    old_value    text,
    new_value    text,
    primary key (cluster_id, id),
    foreign key (cluster_id, incident_id) references incident (cluster_id, id) on delete cascade
);

-- ---------------------------------------------------------------------------------------------
-- compliance: framework -> control -> result per cluster, with evidence and history
-- ---------------------------------------------------------------------------------------------

create table framework (
    id           text primary key,        -- cis-kubernetes-1.9, nsa-cisa-1.2, nist-800-190, ...
    name         text not null,
    version      text,
    description  text
);

create table control (
    framework_id  text not null references framework (id) on delete cascade,
    id            text not null,          -- "1.2.1", "C-0013", ...
    title         text not null,
    description   text,
    section       text,
    severity      smallint not null default 0 check (severity between 0 and 4),
    primary key (framework_id, id)
);

-- which scanner checks count as evidence for which control (kube-bench 1.2.1, AVD-KSV-0017, ...).
create table control_check (
    framework_id  text not null,
    control_id    text not null,
    check_source  text not null,          -- kube-bench, kubescape, trivy, polaris, checkov, ...
    check_id      text not null,
    primary key (framework_id, control_id, check_source, check_id),
    foreign key (framework_id, control_id) references control (framework_id, id) on delete cascade
);
create index control_check_lookup_idx on control_check (check_source, check_id);

-- one evaluation of one control on one cluster; history is every row, the newest one counts.
create table control_result (
    cluster_id     bigint not null,
    id             bigint generated always as identity,
    framework_id   text not null,
    control_id     text not null,
    report_id      bigint references report (id) on delete set null,
    status         text not null check (status in ('pass', 'fail', 'warn', 'info', 'manual', 'skip')),
    evaluated_at   timestamptz not null default now(),
    total_checks   integer,
    failed_checks  integer,
    details        jsonb not null default '{}'::jsonb,
    primary key (cluster_id, id),
    foreign key (framework_id, control_id) references control (framework_id, id) on delete cascade
);
create index control_result_latest_idx on control_result (cluster_id, framework_id, control_id, evaluated_at desc);

create table control_evidence (
    cluster_id          bigint not null,
    control_result_id   bigint not null,
    finding_cluster_id  bigint not null,
    finding_id          bigint not null,
    primary key (cluster_id, control_result_id, finding_cluster_id, finding_id),
    foreign key (cluster_id, control_result_id) references control_result (cluster_id, id) on delete cascade,
    foreign key (finding_cluster_id, finding_id) references finding (cluster_id, id) on delete cascade
);

-- ---------------------------------------------------------------------------------------------
-- history: daily snapshots per cluster x kind x severity, so trends are cheap to draw
-- ---------------------------------------------------------------------------------------------

create table daily_snapshot (
    cluster_id     bigint not null,       -- 0 = fleet-wide assets
    day            date not null,
    kind           text not null,
    severity       smallint not null check (severity between 0 and 4),
    open_count     integer not null default 0,
    new_count      integer not null default 0,
    fixed_count    integer not null default 0,
    overdue_count  integer not null default 0,
    primary key (cluster_id, day, kind, severity)
);

-- ---------------------------------------------------------------------------------------------
-- background jobs (for update skip locked + listen/notify)
-- ---------------------------------------------------------------------------------------------

create table job (
    id          bigint generated always as identity primary key,
    kind        text not null,
    payload     jsonb not null default '{}'::jsonb,
    run_at      timestamptz not null default now(),
    attempts    integer not null default 0,
    last_error  text,
    locked_at   timestamptz,
    created_at  timestamptz not null default now()
);
create index job_due_idx on job (run_at) where locked_at is null;
