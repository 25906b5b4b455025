-- The proposal workflow (issue 11, item 3): each proposal's status, the agencies Commerce
-- consults on it with their opinions, and every step taken, with its actor and ledger entry.
-- Proposals stored before have been submitted.
ALTER TABLE proposals ADD COLUMN status TEXT NOT NULL DEFAULT 'submitted';
ALTER TABLE proposals ADD COLUMN review_opened_by TEXT;
CREATE INDEX proposals_status ON proposals (status, id);

CREATE TABLE proposal_consultations (
    proposal_id TEXT    NOT NULL REFERENCES proposals (id),
    agency_org  TEXT    NOT NULL REFERENCES organisations (id),
    opinion     TEXT,
    reason      TEXT,
    answered_at BIGINT,
    PRIMARY KEY (proposal_id, agency_org)
);
CREATE INDEX proposal_consultations_agency ON proposal_consultations (agency_org);

CREATE TABLE proposal_events (
    id           BIGSERIAL PRIMARY KEY,
    proposal_id  TEXT    NOT NULL REFERENCES proposals (id),
    step         TEXT    NOT NULL,
    from_status  TEXT    NOT NULL,
    to_status    TEXT    NOT NULL,
    actor_user   TEXT    NOT NULL,
    actor_org    TEXT    NOT NULL,
    detail       TEXT    NOT NULL,   -- JSON: agencies, opinion, reason
    at           BIGINT NOT NULL,
    ledger_index BIGINT NOT NULL
);
CREATE INDEX proposal_events_proposal ON proposal_events (proposal_id, id);
