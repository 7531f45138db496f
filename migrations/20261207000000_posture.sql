-- posture over time: one clock for lifecycle writes, the status history of every finding, what
-- the daily rollup needs beyond schema v1, and a queue of background work that never doubles.

-- the clock of lifecycle writes. it is the transaction's now() unless the transaction set
-- `bulwark.now` (set_config('bulwark.now', ts, true)); only the demo fleet does, to write ninety
-- days of history through the same code as live ingestion.
create function bulwark_now() returns timestamptz
    language sql stable parallel safe
    as $$ select coalesce(nullif(current_setting('bulwark.now', true), '')::timestamptz, now()) $$;

alter table finding alter column first_seen set default bulwark_now(),
                    alter column status_changed_at set default bulwark_now();
alter table observation alter column first_seen set default bulwark_now();
alter table report alter column received_at set default bulwark_now();
alter table scan_scope alter column last_seen_at set default bulwark_now();
alter table finding_decision alter column created_at set default bulwark_now();
alter table image alter column first_seen set default bulwark_now(),
                  alter column last_seen set default bulwark_now();
alter table workload alter column first_seen set default bulwark_now(),
                     alter column last_seen set default bulwark_now();
alter table container alter column first_seen set default bulwark_now(),
                      alter column last_seen set default bulwark_now();
alter table cluster_image alter column first_seen set default bulwark_now(),
                          alter column last_seen set default bulwark_now();

-- every change of a finding's status after it was created: (at, the status it entered). a
-- finding's status from first_seen until its first event is 'open'. the daily rollup replays
-- this history, the finding page shows it.
create table finding_event (
    cluster_id  bigint not null,
    id          bigint generated always as identity,
    finding_id  bigint not null,
    at          timestamptz not null default bulwark_now(),
    status      text not null check (status in
                ('open', 'fixed', 'reopened', 'accepted', 'false_positive', 'suppressed_by_vex')),
    primary key (cluster_id, id),
    foreign key (cluster_id, finding_id) references finding (cluster_id, id) on delete cascade
);
create index finding_event_finding_idx on finding_event (cluster_id, finding_id, at);
create index finding_event_at_idx on finding_event (at);

-- the rollup also sums how long the findings fixed that day had been open, for mttr.
alter table daily_snapshot add column fix_seconds bigint not null default 0;
create index daily_snapshot_day_idx on daily_snapshot (day);

-- risk as it stands, per cluster (workload_id = 0: every open finding of the cluster once) and
-- per workload (its own findings and those of the images it runs). refreshed with today's
-- snapshot, so the overview's "worst clusters and workloads" never scans the findings.
create table risk_rollup (
    cluster_id      bigint not null,
    workload_id     bigint not null,
    open_count      integer not null default 0,
    critical_count  integer not null default 0,
    high_count      integer not null default 0,
    risk_sum        bigint not null default 0,
    risk_max        smallint not null default 0,
    refreshed_at    timestamptz not null default now(),
    primary key (cluster_id, workload_id)
);
create index risk_rollup_risk_idx on risk_rollup (risk_sum desc);

-- one pending job per (kind, payload): enqueueing work that is already waiting does nothing.
create unique index job_pending_idx on job (kind, payload) where locked_at is null;
