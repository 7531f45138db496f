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

-- Image findings that cluster-bound scanners stored at fleet level move into their clusters:
-- one copy per cluster whose scopes observed the finding, with that cluster's observations and
-- the decisions taken on it; the fleet-level finding keeps only what unbound senders observed,
-- and goes when nothing is left of it. Scores are carried over; the next report of each scope
-- or the next recompute brings them up to date with the cluster's exposure.
create temporary table moving on commit drop as
select distinct f.id as old_id, s.cluster_id as new_cluster
from finding f
join observation o on o.cluster_id = 0 and o.finding_id = f.id
join scan_scope s on s.id = o.scope_id
where f.cluster_id = 0 and s.cluster_id is not null;

insert into finding (cluster_id, fingerprint, kind, status, severity, title, vulnerability_id,
                     component_id, rule_id, image_id, resource, fixed_version, first_seen,
                     status_changed_at, fixed_at, sla_due_at, risk_score, risk_factors, details)
select m.new_cluster, f.fingerprint, f.kind,
       case when f.status in ('open', 'reopened') and not exists (
                select 1 from observation o join scan_scope s on s.id = o.scope_id
                where o.cluster_id = 0 and o.finding_id = f.id and o.active
                  and s.cluster_id = m.new_cluster)
            then 'fixed' else f.status end,
       f.severity, f.title, f.vulnerability_id, f.component_id, f.rule_id, f.image_id,
       f.resource, f.fixed_version, f.first_seen, f.status_changed_at, f.fixed_at, f.sla_due_at,
       f.risk_score, f.risk_factors, f.details
from moving m join finding f on f.cluster_id = 0 and f.id = m.old_id
on conflict (cluster_id, fingerprint) do nothing;

create temporary table moved on commit drop as
select m.old_id, m.new_cluster, n.id as new_id
from moving m
join finding f on f.cluster_id = 0 and f.id = m.old_id
join finding n on n.cluster_id = m.new_cluster and n.fingerprint = f.fingerprint;

update observation o set cluster_id = mv.new_cluster, finding_id = mv.new_id
from moved mv, scan_scope s
where o.cluster_id = 0 and o.finding_id = mv.old_id
  and s.id = o.scope_id and s.cluster_id = mv.new_cluster;

insert into finding_decision (cluster_id, finding_id, decision, justification, decided_by,
                              approved_by, approved_at, expires_at, vex_source, created_at,
                              revoked_at)
select mv.new_cluster, mv.new_id, d.decision, d.justification, d.decided_by, d.approved_by,
       d.approved_at, d.expires_at, d.vex_source, d.created_at, d.revoked_at
from moved mv
join finding_decision d on d.cluster_id = 0 and d.finding_id = mv.old_id;

-- what is left at fleet level: gone when no unbound sender observed it, else its status
-- follows the observations it keeps
delete from finding f
where f.cluster_id = 0 and f.id in (select old_id from moved)
  and not exists (select 1 from observation o where o.cluster_id = 0 and o.finding_id = f.id);
update finding f set status = 'fixed', fixed_at = now(), status_changed_at = now()
where f.cluster_id = 0 and f.id in (select old_id from moved)
  and f.status in ('open', 'reopened')
  and not exists (select 1 from observation o
                  where o.cluster_id = 0 and o.finding_id = f.id and o.active);
