-- Review of potential matches and holds (issue 11, item 4). Every potential match of a
-- proposal's parties is a review item of the proposal's organisation; false-match decisions
-- are remembered per party and list entry; a proposal with a match under review is held until
-- a second person releases it.
CREATE TABLE review_items (
    id           TEXT    PRIMARY KEY,
    owner_org    TEXT    NOT NULL,
    proposal_id  TEXT    NOT NULL REFERENCES proposals (id),
    party        TEXT    NOT NULL,          -- the party's id in the proposal
    party_name   TEXT    NOT NULL,
    party_key    TEXT    NOT NULL,          -- name and country as a decision remembers them
    entity_id    TEXT    NOT NULL,
    entity_name  TEXT    NOT NULL,
    match_key    TEXT    NOT NULL,          -- the entry as a decision remembers it
    list         TEXT    NOT NULL,
    score        REAL    NOT NULL,
    status       TEXT    NOT NULL,          -- open | false_match | true_match
    remembered   INTEGER NOT NULL,          -- 1: cleared by an earlier decision
    reason_code  TEXT,
    note         TEXT,
    decided_by   TEXT,
    decided_at   INTEGER,
    ledger_index INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX review_items_owner ON review_items (owner_org, status, id);
CREATE INDEX review_items_proposal ON review_items (proposal_id);

CREATE TABLE match_decisions (
    owner_org    TEXT    NOT NULL,
    party_key    TEXT    NOT NULL,
    match_key    TEXT    NOT NULL,
    decision     TEXT    NOT NULL,
    reason_code  TEXT    NOT NULL,
    decided_by   TEXT    NOT NULL,
    decided_at   INTEGER NOT NULL,
    PRIMARY KEY (owner_org, party_key, match_key)
);

CREATE TABLE holds (
    id                   TEXT    PRIMARY KEY,
    owner_org            TEXT    NOT NULL,
    subject_kind         TEXT    NOT NULL,   -- proposal (parties and shipments to come)
    subject_id           TEXT    NOT NULL,
    reason               TEXT    NOT NULL,
    status               TEXT    NOT NULL,   -- held | released
    placed_at            INTEGER NOT NULL,
    requested_by         TEXT,
    request_reason       TEXT,
    released_by          TEXT,
    release_reason       TEXT,
    released_at          INTEGER,
    ledger_index         INTEGER
);
CREATE INDEX holds_subject ON holds (subject_kind, subject_id, status);
CREATE INDEX holds_owner ON holds (owner_org, status);
