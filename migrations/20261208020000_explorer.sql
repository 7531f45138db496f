-- The findings explorer: facet counts that do not grow with the number of findings, and indexes
-- for its filters, search and keyset pages.
--
-- finding_facet counts every finding once, by the values the explorer's facets filter on. A
-- filter on these values is answered by summing at most a few tens of thousands of rows instead
-- of counting a million findings. It is kept exact by statement-level triggers on `finding`
-- (one aggregation over the statement's changed rows, however many) and by `finding_facet_kev`
-- after the KEV catalogue changes (KEV is a join, not a column of the finding).

create table finding_facet (
    cluster_id   bigint not null,
    namespace_id bigint not null,            -- 0: no namespace (images, nodes, CI)
    severity     smallint not null,
    kind         text not null,
    status       text not null,
    kev          boolean not null,           -- its vulnerability is in CISA KEV
    fix          boolean not null,           -- a fixed version exists
    exposed      boolean not null,           -- the risk score has an exposure factor
    n            bigint not null,
    primary key (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
);

-- Each trigger aggregates the statement's rows by facet key and adds the counts (taken away
-- for old rows). Keys are applied in primary-key order, so concurrent statements lock facet
-- rows in the same order. Transition tables are visible only in their trigger's function,
-- hence one function per event.
create function finding_facet_on_insert() returns trigger language plpgsql as $$
begin
    insert into finding_facet as ff
        (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select r.cluster_id, coalesce(r.namespace_id, 0), r.severity, r.kind, r.status,
           k.cve_id is not null, r.fixed_version is not null,
           r.risk_factors->>'exposure' is not null, count(*)
    from new_rows r
    left join intel_kev k on k.cve_id = r.vulnerability_id
    group by 1, 2, 3, 4, 5, 6, 7, 8
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

create function finding_facet_on_delete() returns trigger language plpgsql as $$
begin
    insert into finding_facet as ff
        (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select r.cluster_id, coalesce(r.namespace_id, 0), r.severity, r.kind, r.status,
           k.cve_id is not null, r.fixed_version is not null,
           r.risk_factors->>'exposure' is not null, -count(*)
    from old_rows r
    left join intel_kev k on k.cve_id = r.vulnerability_id
    group by 1, 2, 3, 4, 5, 6, 7, 8
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

-- Only rows whose facet key changed move: a rescore that keeps the exposure, or a bookkeeping
-- update, changes no facet row.
create function finding_facet_on_update() returns trigger language plpgsql as $$
begin
    insert into finding_facet as ff
        (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select x.cluster_id, x.namespace_id, x.severity, x.kind, x.status, x.kev, x.fix, x.exposed,
           sum(x.d)
    from (
        select o.cluster_id, coalesce(o.namespace_id, 0) as namespace_id, o.severity, o.kind,
               o.status, ko.cve_id is not null as kev, o.fixed_version is not null as fix,
               o.risk_factors->>'exposure' is not null as exposed, -1 as d
        from old_rows o
        join new_rows n on n.cluster_id = o.cluster_id and n.id = o.id
        left join intel_kev ko on ko.cve_id = o.vulnerability_id
        where (o.namespace_id, o.severity, o.kind, o.status, o.fixed_version is not null,
               o.risk_factors->>'exposure' is not null, o.vulnerability_id)
              is distinct from
              (n.namespace_id, n.severity, n.kind, n.status, n.fixed_version is not null,
               n.risk_factors->>'exposure' is not null, n.vulnerability_id)
        union all
        select n.cluster_id, coalesce(n.namespace_id, 0), n.severity, n.kind,
               n.status, kn.cve_id is not null, n.fixed_version is not null,
               n.risk_factors->>'exposure' is not null, 1
        from old_rows o
        join new_rows n on n.cluster_id = o.cluster_id and n.id = o.id
        left join intel_kev kn on kn.cve_id = n.vulnerability_id
        where (o.namespace_id, o.severity, o.kind, o.status, o.fixed_version is not null,
               o.risk_factors->>'exposure' is not null, o.vulnerability_id)
              is distinct from
              (n.namespace_id, n.severity, n.kind, n.status, n.fixed_version is not null,
               n.risk_factors->>'exposure' is not null, n.vulnerability_id)
    ) x
    group by 1, 2, 3, 4, 5, 6, 7, 8
    having sum(x.d) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;

create trigger finding_facet_insert after insert on finding
    referencing new table as new_rows for each statement execute function finding_facet_on_insert();
create trigger finding_facet_update after update on finding
    referencing old table as old_rows new table as new_rows
    for each statement execute function finding_facet_on_update();
create trigger finding_facet_delete after delete on finding
    referencing old table as old_rows for each statement execute function finding_facet_on_delete();

-- The whole table from the findings: for a database that has findings already, and after the
-- KEV catalogue changed. Returns the number of facet rows.
create function finding_facet_rebuild() returns bigint language plpgsql as $$
declare
    written bigint;
begin
    lock table finding_facet in exclusive mode;
    delete from finding_facet;
    insert into finding_facet (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
           k.cve_id is not null, f.fixed_version is not null,
           f.risk_factors->>'exposure' is not null, count(*)
    from finding f
    left join intel_kev k on k.cve_id = f.vulnerability_id
    group by 1, 2, 3, 4, 5, 6, 7, 8;
    get diagnostics written = row_count;
    return written;
end $$;

select finding_facet_rebuild();

-- Search: titles by trigram (the explorer's `q`), packages by their own index. Both partial on
-- what the explorer shows by default (open and reopened findings).
create extension if not exists pg_trgm;
create index finding_title_trgm_idx on finding using gin (title gin_trgm_ops)
    where status in ('open', 'reopened');
create index finding_component_idx on finding (component_id)
    where component_id is not null and status in ('open', 'reopened');

-- Keyset pages in the explorer's orders (riskiest first is the default). Every column descends,
-- so a page's start is one row comparison the index answers. (The overview keeps its own
-- `finding_risk_idx`.)
create index finding_explorer_risk_idx on finding
    ((coalesce(risk_score, -1)) desc, severity desc, cluster_id desc, id desc)
    where status in ('open', 'reopened');
create index finding_explorer_severity_idx on finding
    (severity desc, (coalesce(risk_score, -1)) desc, cluster_id desc, id desc)
    where status in ('open', 'reopened');
create index finding_explorer_first_seen_idx on finding (first_seen desc, cluster_id desc, id desc)
    where status in ('open', 'reopened');
