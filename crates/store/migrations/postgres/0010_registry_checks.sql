-- Registry hardening (issue 10, item 4).
--
-- A measurement is stored first and verified after; `verified_at` says the verdict that
-- covers it was committed. One left NULL by a crash between the two is verified again on
-- redelivery or at start-up, so no verdict is lost. Rows from before were verified.
ALTER TABLE chip_measurements ADD COLUMN verified_at BIGINT;
UPDATE chip_measurements SET verified_at = received_at;
CREATE INDEX chip_measurements_unverified ON chip_measurements (received_at) WHERE verified_at IS NULL;

-- Every verdict and every alert resolution is a decision in the ledger.
ALTER TABLE chip_verdicts ADD COLUMN ledger_index BIGINT;
ALTER TABLE chip_alerts ADD COLUMN resolved_ledger_index BIGINT;

-- Landmarks measure each other with the chip protocol (the measured landmark answers with its
-- own key): the round trips the cross-check needs (location.md §2.5).
CREATE TABLE landmark_measurements (
    id          TEXT    PRIMARY KEY,
    landmark_id TEXT    NOT NULL REFERENCES landmarks (id),   -- the measuring landmark
    target_id   TEXT    NOT NULL REFERENCES landmarks (id),   -- the measured landmark
    min_rtt_ns  BIGINT    NOT NULL CHECK (min_rtt_ns > 0),
    measured_at BIGINT    NOT NULL,
    received_at BIGINT    NOT NULL,
    body        BYTEA   NOT NULL,
    sha256      TEXT    NOT NULL
);
CREATE INDEX landmark_measurements_time ON landmark_measurements (measured_at);

-- A landmark whose stated place contradicts its round trips to others. Its measurements are
-- left out of every verdict while it is flagged; at most one open alert per landmark and
-- category.
CREATE TABLE landmark_alerts (
    id           BIGSERIAL PRIMARY KEY,
    landmark_id  TEXT    NOT NULL REFERENCES landmarks (id),
    category     TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    raised_at    BIGINT    NOT NULL,
    last_seen_at BIGINT    NOT NULL,
    occurrences  BIGINT    NOT NULL DEFAULT 1,
    resolved_at  BIGINT
);
CREATE UNIQUE INDEX landmark_alerts_one_open ON landmark_alerts (landmark_id, category) WHERE resolved_at IS NULL;
