-- Every stored screening result and every new hit found by re-screening is appended to the
-- ledger in the same transaction as its row (issue 4, item 3); the row keeps its entry's index.
ALTER TABLE screening_results ADD COLUMN ledger_index BIGINT;
ALTER TABLE screening_new_hits ADD COLUMN ledger_index BIGINT;
