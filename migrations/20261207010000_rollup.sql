-- what the daily rollup needs besides the posture schema: lookups by report, and a status
-- history for findings older than it.

-- after a report is stored, the snapshot refresh asks whose findings it may have changed: the
-- scopes it was the last report of, and whether it brought vex statements. both are looked up
-- by report id (and deleting a report sets null / cascades through these columns too).
create index scan_scope_last_report_idx on scan_scope (last_report_id);
create index vex_statement_report_idx on vex_statement (report_id);

-- findings stored before the status history existed: a status other than open is recorded as
-- entered when it last changed, so that the rollup does not count them open for ever (their
-- earlier changes are not known).
insert into finding_event (cluster_id, finding_id, at, status)
select f.cluster_id, f.id, greatest(f.status_changed_at, f.first_seen), f.status
from finding f
where f.status <> 'open'
  and not exists (select 1 from finding_event e
                  where e.cluster_id = f.cluster_id and e.finding_id = f.id);
