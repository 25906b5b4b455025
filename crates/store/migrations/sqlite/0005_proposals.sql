-- Program proposals (issue 9): the proposal as submitted, its last review, the party keys that
-- re-evaluation screens again, and one row per re-evaluation. Every stored review is appended to
-- the ledger in the same transaction as its row; the row keeps its entry's index.
--
-- Times are INTEGER unix milliseconds (UTC) on both backends. JSON bodies are text.

CREATE TABLE proposals (
    id                    TEXT    PRIMARY KEY,      -- the proposal's own id
    consortium            TEXT    NOT NULL,
    date                  TEXT    NOT NULL,         -- the day the exports are assessed for, YYYY-MM-DD
    verdict               TEXT    NOT NULL,         -- of the last review
    input                 TEXT    NOT NULL,         -- the proposal JSON as submitted
    review                TEXT    NOT NULL,         -- the last review, JSON, byte for byte as served
    review_digest         TEXT    NOT NULL,         -- SHA-256 of `review`, hex (also in the ledger entry)
    parties               TEXT    NOT NULL,         -- JSON array of PartyKey (name, country, hit ids)
    list_snapshot_id      INTEGER NOT NULL,         -- the list snapshot the last review screened against
    checked_snapshot_id   INTEGER NOT NULL,         -- the last snapshot the parties' hits were compared on
    rulebook_version      TEXT    NOT NULL,
    program_rules_version TEXT    NOT NULL,
    ledger_index          INTEGER NOT NULL,         -- ledger entry of the last review
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX proposals_checked_snapshot ON proposals (checked_snapshot_id);

-- What changed when a stored proposal was reviewed again after a new list snapshot or a new
-- rulebook version was loaded.
CREATE TABLE proposal_reevaluations (
    id           INTEGER PRIMARY KEY,
    proposal_id  TEXT    NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    trigger_kind TEXT    NOT NULL CHECK (trigger_kind IN ('list_snapshot', 'rulebook')),
    from_version TEXT,                              -- snapshot id, or rulebook and program-rules versions
    to_version   TEXT    NOT NULL,
    changes      TEXT    NOT NULL,                  -- JSON: stackport_program::reevaluate::Changes
    ledger_index INTEGER NOT NULL,                  -- ledger entry of the re-review
    at           INTEGER NOT NULL
);
CREATE INDEX proposal_reevaluations_by_proposal ON proposal_reevaluations (proposal_id, id);
