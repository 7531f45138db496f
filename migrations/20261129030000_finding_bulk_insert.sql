-- bulk ingest, continued: a 100k-finding first report spends most of its time in PostgreSQL
-- maintaining what each inserted finding row touches.
--
-- the keys to workload and namespace were checked for every inserted row, although findings
-- only ever get their ids from the same transaction's upserts. what they carried is the
-- cascade: findings go when their workload or namespace goes. a statement-level trigger does
-- that once per deleting statement.
alter table finding
    drop constraint finding_cluster_id_workload_id_fkey,
    drop constraint finding_cluster_id_namespace_id_fkey;

create function workload_delete_findings() returns trigger language plpgsql as $$
begin
    delete from finding f using gone g
    where f.cluster_id = g.cluster_id and f.workload_id = g.id;
    return null;
end;
$$;
create trigger workload_delete_findings after delete on workload
    referencing old table as gone
    for each statement execute function workload_delete_findings();

create function namespace_delete_findings() returns trigger language plpgsql as $$
begin
    delete from finding f using gone g
    where f.cluster_id = g.cluster_id and f.namespace_id = g.id;
    return null;
end;
$$;
create trigger namespace_delete_findings after delete on namespace
    referencing old table as gone
    for each statement execute function namespace_delete_findings();

-- the open-by-severity index served nothing the other keys do not: the overview counts read
-- every open finding of the fleet or of a cluster (the primary key leads with the cluster).
drop index finding_open_severity_idx;

-- deleting a workload finds its findings by this key (it was the foreign key's job).
create index finding_workload_idx on finding (cluster_id, workload_id) where workload_id is not null;
