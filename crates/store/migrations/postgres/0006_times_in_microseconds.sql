-- One time representation across the store (issue 10, item 10): every time column holds
-- BIGINT microseconds since the Unix epoch, UTC, as the chip tables always have (0003). This
-- converts the TIMESTAMPTZ columns of screening (0001) and of the ledger's checkpoints (0002),
-- and the milliseconds of proposals (0005), keeping every stored value. EXTRACT(EPOCH FROM …)
-- is exact (numeric) and TIMESTAMPTZ keeps microseconds, so no value moves.
--
-- screening_results.hit_count becomes BIGINT as on SQLite (the store reads and writes an i64).

ALTER TABLE screening_snapshots
    ALTER COLUMN loaded_at TYPE BIGINT USING (EXTRACT(EPOCH FROM loaded_at) * 1000000)::BIGINT,
    ALTER COLUMN rescreened_at TYPE BIGINT USING (EXTRACT(EPOCH FROM rescreened_at) * 1000000)::BIGINT;

ALTER TABLE screening_parties
    ALTER COLUMN first_screened TYPE BIGINT USING (EXTRACT(EPOCH FROM first_screened) * 1000000)::BIGINT,
    ALTER COLUMN last_screened TYPE BIGINT USING (EXTRACT(EPOCH FROM last_screened) * 1000000)::BIGINT;

ALTER TABLE screening_results
    ALTER COLUMN screened_at TYPE BIGINT USING (EXTRACT(EPOCH FROM screened_at) * 1000000)::BIGINT,
    ALTER COLUMN hit_count TYPE BIGINT;

ALTER TABLE screening_new_hits
    ALTER COLUMN found_at TYPE BIGINT USING (EXTRACT(EPOCH FROM found_at) * 1000000)::BIGINT;

ALTER TABLE ledger_checkpoints
    ALTER COLUMN signed_at DROP DEFAULT,
    ALTER COLUMN signed_at TYPE BIGINT USING (EXTRACT(EPOCH FROM signed_at) * 1000000)::BIGINT;

-- Proposals: milliseconds to microseconds.
UPDATE proposals SET created_at = created_at * 1000, updated_at = updated_at * 1000;
UPDATE proposal_reevaluations SET at = at * 1000;
