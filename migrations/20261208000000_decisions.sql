-- triage decisions with approval: an acceptance the policy (setting 'triage.approval') reserves
-- for a manager's approval is recorded as pending and changes no status until a manager other
-- than the requester approves it; a rejected or expired pending acceptance never applies.
-- assignments name their assignee.

-- the review of an acceptance: null when none was needed (it applied at once), else pending,
-- approved, rejected, or expired (its expiry passed while it was pending: void).
alter table finding_decision
    add column approval     text check (approval in ('pending', 'approved', 'rejected', 'expired')),
    add column rejected_by  bigint references app_user (id) on delete set null,
    add column rejected_at  timestamptz,
    add column review_note  text,
    add column assignee_id  bigint references app_user (id) on delete set null;

alter table finding_decision
    add constraint finding_decision_approval_kind_check
        check (approval is null or decision = 'accepted'),
    add constraint finding_decision_assignee_kind_check
        check (assignee_id is null or decision = 'assigned');

-- acceptances approved before this migration (approved_at set) count as approved.
update finding_decision set approval = 'approved'
where decision = 'accepted' and approved_at is not null;

-- the managers' queue: pending acceptances, oldest first.
create index finding_decision_pending_idx on finding_decision (created_at, cluster_id, id)
    where approval = 'pending' and revoked_at is null;
