-- Identity and tenancy (issue 11): organisations, their users, the users' API tokens, and the
-- owning organisation of proposals and chips. Credentials are stored only as SHA-256 hashes;
-- passwords only as argon2id PHC strings. Times are microseconds since the Unix epoch.
CREATE TABLE organisations (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organisations (id),
    email         TEXT    NOT NULL UNIQUE,   -- lower-cased
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_tokens (
    id          TEXT    PRIMARY KEY,
    hash        TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    role        TEXT    NOT NULL,           -- the token's scope: the user's role or auditor
    label       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One row, ever: the first organisation and admin are created once (`admin bootstrap`).
CREATE TABLE identity_bootstrap (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    at      BIGINT NOT NULL
);

-- Objects stored before owners were recorded belong to the platform (NULL).
ALTER TABLE proposals ADD COLUMN owner_org TEXT;
ALTER TABLE chips ADD COLUMN owner_org TEXT;
