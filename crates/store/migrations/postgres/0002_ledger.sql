-- Tamper-evident ledger (issue 4): RFC 6962 leaves, every complete subtree hash, and the
-- signed checkpoints. Rows are only ever inserted; `stackport ledger verify` re-derives every
-- hash from `entry` and checks them against these tables and the signed checkpoints.

-- One leaf per decision; indexes are contiguous from 0.
CREATE TABLE IF NOT EXISTS ledger_entries (
    idx       BIGINT PRIMARY KEY,   -- 0-based leaf index
    entry     TEXT   NOT NULL,      -- RFC 8785 canonical JSON, byte for byte
    leaf_hash BYTEA  NOT NULL       -- SHA-256(0x00 || entry)
);

-- Complete subtrees of 2^level leaves (level >= 1) covering leaves
-- [idx * 2^level, (idx + 1) * 2^level): proofs read O(log n) of these, never the whole tree.
CREATE TABLE IF NOT EXISTS ledger_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed C2SP checkpoints, one per tree size signed.
CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    size      BIGINT      PRIMARY KEY,
    root      BYTEA       NOT NULL,
    note      TEXT        NOT NULL,  -- the signed note, as served
    signed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
