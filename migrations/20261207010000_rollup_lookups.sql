-- after a report is stored, the snapshot refresh asks whose findings it may have changed: the
-- scopes it was the last report of, and whether it brought vex statements. both are looked up
-- by report id (and deleting a report sets null / cascades through these columns too).
create index scan_scope_last_report_idx on scan_scope (last_report_id);
create index vex_statement_report_idx on vex_statement (report_id);
