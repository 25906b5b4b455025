-- The snapshot each stored party was last screened or re-screened against (issue 10, item 2):
-- re-screening after a list load compares each party from the snapshot it last saw, not from
-- the one loaded before the new one, so that going back to an earlier snapshot and forward
-- again misses no change. NULL for parties stored before this column: re-screening compares
-- them from the snapshot loaded before (the old rule) until it has covered them once.
ALTER TABLE screening_parties ADD COLUMN last_snapshot_id BIGINT REFERENCES screening_snapshots (id);
CREATE INDEX screening_parties_last_snapshot ON screening_parties (last_snapshot_id);
