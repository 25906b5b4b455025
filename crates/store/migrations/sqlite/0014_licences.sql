-- Licences and shipments (issue 11, item 5): a licence master per organisation (licences,
-- licence exceptions and NLR recorded the same way), drawn down by shipments. The draw-down is
-- one conditional UPDATE, so concurrent shipments, from any number of instances, never take a
-- licence past its limits. Money in whole US cents; times in microseconds; dates YYYY-MM-DD.
CREATE TABLE licences (
    id              TEXT    PRIMARY KEY,
    owner_org       TEXT    NOT NULL REFERENCES organisations (id),
    number          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,            -- licence | licence_exception | nlr
    eccns           TEXT    NOT NULL,            -- JSON array
    destination     TEXT    NOT NULL,            -- ISO 3166-1 alpha-2
    parties         TEXT    NOT NULL,            -- JSON array of party names
    valid_from      TEXT    NOT NULL,
    valid_to        TEXT    NOT NULL,
    value_limit     INTEGER,                     -- cents; NULL: no value limit
    quantity_limit  INTEGER,                     -- NULL: no quantity limit
    value_used      INTEGER NOT NULL DEFAULT 0 CHECK (value_limit IS NULL OR value_used <= value_limit),
    quantity_used   INTEGER NOT NULL DEFAULT 0 CHECK (quantity_limit IS NULL OR quantity_used <= quantity_limit),
    created_at      INTEGER NOT NULL,
    ledger_index    INTEGER NOT NULL,
    UNIQUE (owner_org, number)
);

CREATE TABLE shipments (
    id              TEXT    PRIMARY KEY,
    licence_id      TEXT    NOT NULL REFERENCES licences (id),
    owner_org       TEXT    NOT NULL,
    eccn            TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    party           TEXT    NOT NULL,
    value           INTEGER NOT NULL,            -- cents
    quantity        INTEGER NOT NULL,
    ship_date       TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,            -- drawn | blocked
    reason          TEXT,                        -- the code of a block
    actor_user      TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    ledger_index    INTEGER NOT NULL
);
CREATE INDEX shipments_licence ON shipments (licence_id, at);
