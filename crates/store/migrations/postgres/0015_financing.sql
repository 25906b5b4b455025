-- Financing requests (issue 11, item 3): a consortium asks a federal lender (EXIM, DFC,
-- USTDA) to finance a designated package; the lender sees the requests made to it, with the
-- readiness the service computes (every item that needs a licence has one), and decides.
CREATE TABLE financing_requests (
    id                     TEXT    PRIMARY KEY,
    proposal_id            TEXT    NOT NULL REFERENCES proposals (id),
    owner_org              TEXT    NOT NULL REFERENCES organisations (id),
    lender_org             TEXT    NOT NULL REFERENCES organisations (id),
    instrument             TEXT    NOT NULL,
    amount                 BIGINT NOT NULL,          -- US cents
    status                 TEXT    NOT NULL,          -- requested | approved | declined
    reason                 TEXT,
    created_at             BIGINT NOT NULL,
    decided_at             BIGINT,
    decided_by             TEXT,
    ledger_index           BIGINT NOT NULL,
    decision_ledger_index  BIGINT
);
CREATE INDEX financing_owner ON financing_requests (owner_org, id);
CREATE INDEX financing_lender ON financing_requests (lender_org, id);
