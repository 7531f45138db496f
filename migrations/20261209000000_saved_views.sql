-- saved views of the findings explorer: a name and the explorer's query string (its filters,
-- order and grouping, never a page position), kept per user, private or shared with the team.
--
-- query is the normalised query string (`severity=critical&group=image`, no leading '?'), as
-- the server re-renders it after checking it; the link of a view is `/findings?<query>`.
-- cluster_name and workload_cluster_id repeat the clusters the query names (its `cluster=`
-- value and the cluster id of its `workload=` value), so that listing can hide a shared view
-- naming a cluster from a viewer who may not see that cluster, without parsing the query in SQL.
create table saved_view (
    id                   bigint generated always as identity primary key,
    owner_id             bigint not null references app_user (id) on delete cascade,
    name                 text not null check (length(name) between 1 and 80),
    query                text not null check (length(query) <= 2000),
    shared               boolean not null default false,
    cluster_name         text,
    workload_cluster_id  bigint,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

-- one name per owner, whatever its case: saving the same name again replaces the view.
create unique index saved_view_owner_name_idx on saved_view (owner_id, lower(name));

-- the team's shared views, listed by name.
create index saved_view_shared_idx on saved_view (lower(name)) where shared;
