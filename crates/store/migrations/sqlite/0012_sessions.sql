-- Password logins (issue 11): one row per session, found by the SHA-256 hash of the session
-- secret the browser holds in its cookie (the secret itself is never stored).
CREATE TABLE sessions (
    hash        TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);
