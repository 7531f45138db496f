-- access control: failed sign-ins are counted per login name from the audit log, and a user's
-- sessions are found to end them all (password change, reset, role change).
create index audit_log_target_idx on audit_log (action, target_kind, target_id, at desc);
create index user_session_user_idx on user_session (user_id);
