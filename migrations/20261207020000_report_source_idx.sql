-- the overview's coverage asks for each source's newest report.
create index report_source_received_idx on report (source_id, received_at desc);
