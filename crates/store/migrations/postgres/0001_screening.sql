-- Restricted-party screening: list snapshots, their entities, screened parties, results and
-- the new hits found by re-screening after a list update. Same shape as the SQLite migration,
-- with native types (TIMESTAMPTZ, JSONB, BOOLEAN).

-- One stored snapshot: every entity read from one directory of list files.
-- At most one snapshot is active (the one screening uses); see the partial unique index.
CREATE TABLE screening_snapshots (
    id            BIGSERIAL   PRIMARY KEY,
    hash          TEXT        NOT NULL,           -- Snapshot::hash(): SHA-256 over the sorted source hashes
    loaded_at     TIMESTAMPTZ NOT NULL,
    entity_count  BIGINT      NOT NULL,
    active        BOOLEAN     NOT NULL DEFAULT FALSE,
    rescreened_at TIMESTAMPTZ                     -- when stored parties were re-screened against this snapshot's changes
);
CREATE UNIQUE INDEX screening_snapshots_one_active ON screening_snapshots (active) WHERE active;
CREATE INDEX screening_snapshots_hash ON screening_snapshots (hash);

-- The files a snapshot was read from, with their hashes, data dates and record counts.
CREATE TABLE screening_snapshot_sources (
    snapshot_id BIGINT  NOT NULL REFERENCES screening_snapshots (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    path        TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    data_date   TEXT,
    records     BIGINT  NOT NULL,
    warnings    JSONB   NOT NULL DEFAULT '[]', -- what the parser skipped
    PRIMARY KEY (snapshot_id, position)
);

-- Entities of a snapshot, in the order the parsers produced them. `seq` rather than the entity
-- id is the key so that a snapshot is stored exactly as read, even if a list repeats an id.
CREATE TABLE screening_entities (
    snapshot_id BIGINT  NOT NULL REFERENCES screening_snapshots (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    entity_id   TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,                 -- Entity::fingerprint()
    body        JSONB   NOT NULL,                 -- the Entity as JSON
    PRIMARY KEY (snapshot_id, seq)
);
CREATE INDEX screening_entities_id ON screening_entities (snapshot_id, entity_id);

-- Parties screened before, kept for re-screening. The id is derived from the party's content
-- (name, type, country, date of birth, identifiers), so screening the same party again updates
-- `last_screened` instead of adding a row.
CREATE TABLE screening_parties (
    id             TEXT             PRIMARY KEY,
    name           TEXT             NOT NULL,
    party_type     TEXT,
    country        TEXT,
    dob            TEXT,
    identifiers    JSONB            NOT NULL DEFAULT '[]',
    threshold      DOUBLE PRECISION NOT NULL,     -- threshold of the latest screening, reused when re-screening
    first_screened TIMESTAMPTZ      NOT NULL,
    last_screened  TIMESTAMPTZ      NOT NULL
);

-- Every screening result, as returned.
CREATE TABLE screening_results (
    id          BIGSERIAL        PRIMARY KEY,
    party_id    TEXT             NOT NULL REFERENCES screening_parties (id),
    snapshot_id BIGINT           NOT NULL REFERENCES screening_snapshots (id),
    threshold   DOUBLE PRECISION NOT NULL,
    algorithm   TEXT             NOT NULL,
    hit_count   INTEGER          NOT NULL,
    hits        JSONB            NOT NULL,        -- array of hits with their explanations
    screened_at TIMESTAMPTZ      NOT NULL
);
CREATE INDEX screening_results_party ON screening_results (party_id, id);

-- Hits found by re-screening a stored party against the entries added or changed by a new
-- snapshot. Unique per (party, snapshot, entity), so that re-running a re-screen is harmless.
CREATE TABLE screening_new_hits (
    id               BIGSERIAL        PRIMARY KEY,
    party_id         TEXT             NOT NULL REFERENCES screening_parties (id),
    from_snapshot_id BIGINT           NOT NULL REFERENCES screening_snapshots (id),
    to_snapshot_id   BIGINT           NOT NULL REFERENCES screening_snapshots (id),
    entity_id        TEXT             NOT NULL,
    change           TEXT             NOT NULL CHECK (change IN ('added', 'changed')),
    score            DOUBLE PRECISION NOT NULL,
    hit              JSONB            NOT NULL,   -- the hit with its explanation
    found_at         TIMESTAMPTZ      NOT NULL,
    UNIQUE (party_id, to_snapshot_id, entity_id)
);
CREATE INDEX screening_new_hits_to ON screening_new_hits (to_snapshot_id, id);
