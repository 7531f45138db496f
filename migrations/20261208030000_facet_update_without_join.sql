-- The facet cube's update trigger, without joining the statement's old rows to its new rows.
--
-- The first version paired each old row with its new row to move only the findings whose facet
-- key changed. Transition tables carry no statistics, so that join's plan was a guess: once
-- `vacuum analyze` had run, PostgreSQL chose a nested loop and an update of 95,000 findings (one
-- bulk acceptance) ran for minutes. Counting every old row -1 and every new row +1 and keeping
-- the sums that are not zero gives the same deltas (an unchanged key cancels out) with two
-- scans and one hash aggregate, whatever the estimates.
create or replace function finding_facet_on_update() returns trigger language plpgsql as $$
begin
    insert into finding_facet as ff
        (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n)
    select x.cluster_id, x.namespace_id, x.severity, x.kind, x.status, x.kev, x.fix, x.exposed,
           sum(x.d)
    from (
        select o.cluster_id, coalesce(o.namespace_id, 0) as namespace_id, o.severity, o.kind,
               o.status,
               exists (select 1 from intel_kev k where k.cve_id = o.vulnerability_id) as kev,
               o.fixed_version is not null as fix,
               o.risk_factors->>'exposure' is not null as exposed, -1 as d
        from old_rows o
        union all
        select n.cluster_id, coalesce(n.namespace_id, 0), n.severity, n.kind, n.status,
               exists (select 1 from intel_kev k where k.cve_id = n.vulnerability_id),
               n.fixed_version is not null,
               n.risk_factors->>'exposure' is not null, 1
        from new_rows n
    ) x
    group by 1, 2, 3, 4, 5, 6, 7, 8
    having sum(x.d) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (cluster_id, namespace_id, severity, kind, status, kev, fix, exposed)
    do update set n = ff.n + excluded.n;
    return null;
end $$;
