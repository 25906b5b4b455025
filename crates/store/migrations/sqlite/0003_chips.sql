-- Chip location verification (issue 5): enrolled chips, landmarks, landmark-signed
-- measurements, each chip's verdict history and alerts.
--
-- Times are integers: microseconds since the Unix epoch (UTC). Booleans are 0/1.

-- A chip enrolled for location verification: its identity key and where it is licensed to be
-- (Chip Security Act §4(c)(2): "the location and current end-user of each such product").
CREATE TABLE chips (
    id                 TEXT    PRIMARY KEY,
    public_key         TEXT    NOT NULL,          -- `ed25519:<hex>` or `p384:<hex>`
    model              TEXT    NOT NULL,          -- catalog model (e.g. H100-SXM5-80GB)
    owner              TEXT    NOT NULL,
    site_lat           REAL    NOT NULL,
    site_lon           REAL    NOT NULL,
    site_country       TEXT    NOT NULL,          -- ISO 3166-1 alpha-2
    export_ref         TEXT,                      -- the export (licence, ledger entry) it left under
    checkin_interval_s INTEGER NOT NULL,          -- a chip silent for longer raises an alert
    enrolled_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX chips_public_key ON chips (public_key);

-- A trusted landmark at a known place, with the key it signs challenges and measurements with.
CREATE TABLE landmarks (
    id          TEXT    PRIMARY KEY,
    public_key  TEXT    NOT NULL,
    lat         REAL    NOT NULL,
    lon         REAL    NOT NULL,
    enrolled_at INTEGER NOT NULL
);

-- One landmark-signed measurement, stored once by its id (idempotent under redelivery).
CREATE TABLE chip_measurements (
    id          TEXT    PRIMARY KEY,              -- measurement id, 32 hex digits
    chip_id     TEXT    NOT NULL REFERENCES chips (id),
    landmark_id TEXT    NOT NULL REFERENCES landmarks (id),
    min_rtt_ns  INTEGER NOT NULL CHECK (min_rtt_ns > 0),
    rounds      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    spoofing    INTEGER NOT NULL,                 -- forged + replayed + unsolicited + misaddressed responses
    measured_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        BLOB    NOT NULL,                 -- the signed binary encoding, kept as evidence
    sha256      TEXT    NOT NULL                  -- of body: a redelivery must match it exactly
);
CREATE INDEX chip_measurements_chip_time ON chip_measurements (chip_id, measured_at);

-- Each re-verification of a chip; the latest row is its current verdict.
CREATE TABLE chip_verdicts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    chip_id            TEXT    NOT NULL REFERENCES chips (id),
    measurement_id     TEXT    NOT NULL,
    verdict            TEXT    NOT NULL CHECK (verdict IN ('verified', 'inconclusive', 'violation')),
    outside_prohibited INTEGER NOT NULL,
    claim_consistent   INTEGER NOT NULL,
    max_radius_km      REAL,
    centroid_lat       REAL,
    centroid_lon       REAL,
    landmarks_used     INTEGER NOT NULL,
    reason             TEXT,
    decided_at         INTEGER NOT NULL
);
CREATE INDEX chip_verdicts_chip ON chip_verdicts (chip_id, id);

-- Alerts. At most one open alert per chip and category; a repeat bumps its count.
CREATE TABLE chip_alerts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    chip_id        TEXT    NOT NULL REFERENCES chips (id),
    category       TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    measurement_id TEXT,
    raised_at      INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    occurrences    INTEGER NOT NULL DEFAULT 1,
    resolved_at    INTEGER
);
CREATE UNIQUE INDEX chip_alerts_one_open ON chip_alerts (chip_id, category) WHERE resolved_at IS NULL;
