-- Cluster boundaries (README, "Tenancy"): what a cluster-bound token sends stays in its
-- cluster; fleet-wide data changes only through unbound tokens with that permission.

-- A VEX statement reaches the findings of the cluster whose token sent it; a statement from an
-- unbound token (null) reaches the whole fleet.
alter table vex_statement add column cluster_id bigint references cluster (id) on delete cascade;
update vex_statement v set cluster_id = s.cluster_id from source s where s.id = v.source_id;
create index vex_statement_cluster_idx on vex_statement (cluster_id) where cluster_id is not null;

-- "Image X runs in cluster C" is evidence only when C's own inventory has a container running
-- X. Links that came from a report merely naming the image (a bound scanner's claim) go.
delete from cluster_image ci
where not exists (select 1 from container ct
                  where ct.cluster_id = ci.cluster_id and ct.image_id = ci.image_id);

-- Threat intelligence is fleet-wide: it is imported with a token carrying the 'intel' scope,
-- which a token bound to a cluster cannot carry.
alter table api_token add constraint api_token_intel_unbound_check
    check (not ('intel' = any (scopes)) or cluster_id is null);

-- Token revocations were recorded without the token's cluster, so users scoped to other
-- clusters saw them. The log is append-only; this one correction of attribution is the only
-- change ever made to written entries.
alter table audit_log disable trigger audit_log_no_update;
update audit_log a set cluster_id = t.cluster_id
from api_token t
where a.action = 'token.revoke' and a.target_kind = 'token' and a.target_id = t.id::text
  and a.cluster_id is null and t.cluster_id is not null;
alter table audit_log enable trigger audit_log_no_update;
