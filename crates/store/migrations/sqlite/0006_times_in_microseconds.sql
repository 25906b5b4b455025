-- One time representation across the store (issue 10, item 10): every time column holds
-- INTEGER microseconds since the Unix epoch, UTC, as the chip tables always have (0003). This
-- converts the RFC 3339 text columns of screening (0001) and of the ledger's checkpoints
-- (0002), and the milliseconds of proposals (0005), keeping every stored value.
--
-- SQLite cannot change a column's type, and rebuilding a table would not do here: dropping
-- screening_snapshots to rename a copy cascades to its entities and sources. So each text
-- column is replaced in place: a new INTEGER column is added and filled from the text, the text
-- column is dropped and the new one takes its name. ALTER TABLE ADD COLUMN wants a default for
-- a NOT NULL column, hence DEFAULT 0; every insert of the store sets the time itself.

-- Every stored text time once, with its value in microseconds. The text is
-- `YYYY-MM-DDTHH:MM:SS[.fraction]Z` as the store wrote it (six fraction digits; three for the
-- checkpoints' strftime default). The whole seconds come from strftime('%s') of the first 19
-- characters alone and the fraction from its digits: SQLite's date functions keep only
-- milliseconds, and given the fraction they round it (…:01.999999 would become :02).
CREATE TEMP TABLE time_text (text TEXT PRIMARY KEY, us INTEGER);
INSERT INTO time_text (text)
    SELECT loaded_at FROM screening_snapshots
    UNION SELECT rescreened_at FROM screening_snapshots
    UNION SELECT first_screened FROM screening_parties
    UNION SELECT last_screened FROM screening_parties
    UNION SELECT screened_at FROM screening_results
    UNION SELECT found_at FROM screening_new_hits
    UNION SELECT signed_at FROM ledger_checkpoints;
DELETE FROM time_text WHERE text IS NULL;
UPDATE time_text SET us = CAST(strftime('%s', substr(text, 1, 19)) AS INTEGER) * 1000000
    + CASE WHEN substr(text, 20, 1) = '.'
        THEN CAST(substr(substr(text, 21, length(text) - 21) || '000000', 1, 6) AS INTEGER) ELSE 0 END;

ALTER TABLE screening_snapshots ADD COLUMN loaded_at_us INTEGER NOT NULL DEFAULT 0;
UPDATE screening_snapshots SET loaded_at_us = (SELECT us FROM time_text WHERE text = loaded_at);
ALTER TABLE screening_snapshots DROP COLUMN loaded_at;
ALTER TABLE screening_snapshots RENAME COLUMN loaded_at_us TO loaded_at;

ALTER TABLE screening_snapshots ADD COLUMN rescreened_at_us INTEGER;
UPDATE screening_snapshots SET rescreened_at_us = (SELECT us FROM time_text WHERE text = rescreened_at);
ALTER TABLE screening_snapshots DROP COLUMN rescreened_at;
ALTER TABLE screening_snapshots RENAME COLUMN rescreened_at_us TO rescreened_at;

ALTER TABLE screening_parties ADD COLUMN first_screened_us INTEGER NOT NULL DEFAULT 0;
UPDATE screening_parties SET first_screened_us = (SELECT us FROM time_text WHERE text = first_screened);
ALTER TABLE screening_parties DROP COLUMN first_screened;
ALTER TABLE screening_parties RENAME COLUMN first_screened_us TO first_screened;

ALTER TABLE screening_parties ADD COLUMN last_screened_us INTEGER NOT NULL DEFAULT 0;
UPDATE screening_parties SET last_screened_us = (SELECT us FROM time_text WHERE text = last_screened);
ALTER TABLE screening_parties DROP COLUMN last_screened;
ALTER TABLE screening_parties RENAME COLUMN last_screened_us TO last_screened;

ALTER TABLE screening_results ADD COLUMN screened_at_us INTEGER NOT NULL DEFAULT 0;
UPDATE screening_results SET screened_at_us = (SELECT us FROM time_text WHERE text = screened_at);
ALTER TABLE screening_results DROP COLUMN screened_at;
ALTER TABLE screening_results RENAME COLUMN screened_at_us TO screened_at;

ALTER TABLE screening_new_hits ADD COLUMN found_at_us INTEGER NOT NULL DEFAULT 0;
UPDATE screening_new_hits SET found_at_us = (SELECT us FROM time_text WHERE text = found_at);
ALTER TABLE screening_new_hits DROP COLUMN found_at;
ALTER TABLE screening_new_hits RENAME COLUMN found_at_us TO found_at;

ALTER TABLE ledger_checkpoints ADD COLUMN signed_at_us INTEGER NOT NULL DEFAULT 0;
UPDATE ledger_checkpoints SET signed_at_us = (SELECT us FROM time_text WHERE text = signed_at);
ALTER TABLE ledger_checkpoints DROP COLUMN signed_at;
ALTER TABLE ledger_checkpoints RENAME COLUMN signed_at_us TO signed_at;

DROP TABLE time_text;

-- Proposals: milliseconds to microseconds.
UPDATE proposals SET created_at = created_at * 1000, updated_at = updated_at * 1000;
UPDATE proposal_reevaluations SET at = at * 1000;
