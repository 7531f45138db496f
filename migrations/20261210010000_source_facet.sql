-- The explorer's `source` facet, and its `last_seen` order.
--
-- A finding's sources are the sources of the scopes that observed it (`observation` →
-- `scan_scope.source_id`); two scanners that report the same problem give one finding with two
-- sources. `finding_source_facet` counts each (finding, source) pair once, by the finding's
-- facet key (the key of `finding_facet`), so that "findings this source saw" is answered under
-- any facet filter by summing the table, as `finding_facet` answers the other facets.
--
-- It is kept exact by statement-level triggers:
-- - observations inserted: a pair counts when the statement brought its first observation
--   (a source can observe one finding in several scopes);
-- - observations deleted: a pair leaves when its last observation went (a finding's own
--   deletion is counted by the row trigger below, before its observations cascade away);
-- - findings updated: the findings whose key changed move, for each of their sources;
-- - the KEV catalogue changed: `finding_facet_rebuild()` recounts both tables.
-- An observation never changes its finding or scope, so its updates move nothing.
--
-- Every lookup goes from the finding's key to its observations (the primary key's prefix),
-- then to each observation's scope by id, whatever the statistics say, and the functions run
-- with `enable_seqscan = off`: statistics that call `observation` empty (a fresh install after
-- a vacuum) once made the per-pair lookup a sequential scan, and an insert of 100,000
-- observations ran for ten minutes instead of one second. A source with thousands of scopes
-- (one per image) is never walked scope by scope either.
--
-- One race is left: two transactions that each bring a first observation of the same existing
-- finding by the same source, in two different scopes, both count the pair (neither sees the
-- other's row). Ingest locks a report's scopes, not the findings it observes, so this needs
-- two concurrent reports of one source sharing a finding across scopes. The recount after each
-- KEV import (daily) repairs any such drift.

create table finding_source_facet (
    source_id    bigint not null,
    cluster_id   bigint not null,
    namespace_id bigint not null,            -- 0: no namespace
    severity     smallint not null,
    kind         text not null,
    status       text not null,
    kev          boolean not null,
    fix          boolean not null,
    exposed      boolean not null,
    n            bigint not null,
    primary key (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
);

create function finding_source_facet_on_observation_insert() returns trigger
language plpgsql set enable_seqscan = off as $$
begin
    insert into finding_source_facet as ff
        (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select p.source_id, f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
           exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id),
           f.fixed_version is not null, f.risk_factors->>'exposure' is not null, count(*)
    from (select n.cluster_id, n.finding_id, s.source_id, array_agg(n.scope_id) as scopes
          from new_rows n join scan_scope s on s.id = n.scope_id
          group by 1, 2, 3) p
    join finding f on f.cluster_id = p.cluster_id and f.id = p.finding_id
    -- no observation of the pair but the new ones: the pair is new (the scope of another
    -- observation is looked up only when there is one)
    where not exists (select 1 from observation o
                      where o.cluster_id = p.cluster_id and o.finding_id = p.finding_id
                        and o.scope_id <> all(p.scopes)
                        and (select s.source_id from scan_scope s where s.id = o.scope_id)
                            = p.source_id)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

create function finding_source_facet_on_observation_delete() returns trigger
language plpgsql set enable_seqscan = off as $$
begin
    insert into finding_source_facet as ff
        (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select p.source_id, f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
           exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id),
           f.fixed_version is not null, f.risk_factors->>'exposure' is not null, -count(*)
    from (select distinct o.cluster_id, o.finding_id, s.source_id
          from old_rows o join scan_scope s on s.id = o.scope_id) p
    -- a finding being deleted is not there any more: its row trigger counted it
    join finding f on f.cluster_id = p.cluster_id and f.id = p.finding_id
    where not exists (select 1 from observation o
                      where o.cluster_id = p.cluster_id and o.finding_id = p.finding_id
                        and (select s.source_id from scan_scope s where s.id = o.scope_id)
                            = p.source_id)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

-- As `finding_facet_on_update`: every old row -1 and every new row +1 per finding and key, so
-- only the findings whose key changed remain (no join of the two transition tables), and only
-- those look up their sources.
create function finding_source_facet_on_finding_update() returns trigger
language plpgsql set enable_seqscan = off as $$
begin
    insert into finding_source_facet as ff
        (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select src.source_id, m.cluster_id, m.namespace_id, m.severity, m.kind, m.status, m.kev,
           m.fix, m.exposed, sum(m.d)
    from (
        select x.cluster_id, x.id, x.namespace_id, x.severity, x.kind, x.status, x.kev, x.fix,
               x.exposed, sum(x.d) as d
        from (
            select o.cluster_id, o.id, coalesce(o.namespace_id, 0) as namespace_id, o.severity,
                   o.kind, o.status,
                   exists (select 1 from intel_kev k where k.cve_id = o.vulnerability_id) as kev,
                   o.fixed_version is not null as fix,
                   o.risk_factors->>'exposure' is not null as exposed, -1 as d
            from old_rows o
            union all
            select n.cluster_id, n.id, coalesce(n.namespace_id, 0), n.severity, n.kind, n.status,
                   exists (select 1 from intel_kev k where k.cve_id = n.vulnerability_id),
                   n.fixed_version is not null, n.risk_factors->>'exposure' is not null, 1
            from new_rows n
        ) x
        group by 1, 2, 3, 4, 5, 6, 7, 8, 9
        having sum(x.d) <> 0
    ) m
    cross join lateral (
        select distinct (select s.source_id from scan_scope s where s.id = o.scope_id)
               as source_id
        from observation o
        where o.cluster_id = m.cluster_id and o.finding_id = m.id
    ) src
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    having sum(m.d) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

-- Row by row, but findings are deleted only by hand or by a cascade (a workload, an image, a
-- namespace removed): never on the ingest or triage paths.
create function finding_source_facet_on_finding_delete() returns trigger
language plpgsql set enable_seqscan = off as $$
begin
    insert into finding_source_facet as ff
        (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select distinct (select s.source_id from scan_scope s where s.id = o.scope_id),
           old.cluster_id, coalesce(old.namespace_id, 0), old.severity, old.kind, old.status,
           exists (select 1 from intel_kev k where k.cve_id = old.vulnerability_id),
           old.fixed_version is not null, old.risk_factors->>'exposure' is not null, -1::bigint
    from observation o
    where o.cluster_id = old.cluster_id and o.finding_id = old.id
    on conflict (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return old;
end $$;

create trigger finding_source_facet_observation_insert after insert on observation
    referencing new table as new_rows
    for each statement execute function finding_source_facet_on_observation_insert();
create trigger finding_source_facet_observation_delete after delete on observation
    referencing old table as old_rows
    for each statement execute function finding_source_facet_on_observation_delete();
create trigger finding_source_facet_finding_update after update on finding
    referencing old table as old_rows new table as new_rows
    for each statement execute function finding_source_facet_on_finding_update();
create trigger finding_source_facet_finding_delete before delete on finding
    for each row execute function finding_source_facet_on_finding_delete();

-- Both facet tables from the findings: for a database that has findings already, and after the
-- KEV catalogue changed. Returns the number of rows of `finding_facet`.
create or replace function finding_facet_rebuild() returns bigint language plpgsql as $$
declare
    written bigint;
begin
    lock table finding_facet in exclusive mode;
    lock table finding_source_facet in exclusive mode;
    delete from finding_facet;
    insert into finding_facet (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
           k.cve_id is not null, f.fixed_version is not null,
           f.risk_factors->>'exposure' is not null, count(*)
    from finding f
    left join intel_kev k on k.cve_id = f.vulnerability_id
    group by 1, 2, 3, 4, 5, 6, 7, 8;
    get diagnostics written = row_count;
    delete from finding_source_facet;
    insert into finding_source_facet
        (source_id, cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select p.source_id, f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
           k.cve_id is not null, f.fixed_version is not null,
           f.risk_factors->>'exposure' is not null, count(*)
    from (select distinct o.cluster_id, o.finding_id, s.source_id
          from observation o join scan_scope s on s.id = o.scope_id) p
    join finding f on f.cluster_id = p.cluster_id and f.id = p.finding_id
    left join intel_kev k on k.cve_id = f.vulnerability_id
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
    return written;
end $$;

select finding_facet_rebuild();

-- The `last_seen` order walks the scopes newest first (a finding's last sighting is the newest
-- `last_seen_at` of the scopes that still see it, so that a rescan rewrites no finding), then
-- each scope's active observations.
create index scan_scope_last_seen_idx on scan_scope (last_seen_at desc, id desc);

-- The namespace facet across clusters (`/findings?namespace=logging`): without it, a namespace
-- of a few thousand findings is found by walking the risk order through every open finding.
-- Partial on open findings, like the explorer's other indexes, so that a decision that closes
-- findings writes nothing to it.
create index finding_namespace_idx on finding (namespace_id)
    where status in ('open', 'reopened') and namespace_id is not null;
