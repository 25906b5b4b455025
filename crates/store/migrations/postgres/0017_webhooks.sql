-- Webhooks (issue 11, item 6): an organisation's endpoints, each with the events it wants and
-- the secret its deliveries are signed with (HMAC-SHA256; the server needs the secret itself to
-- sign, so it is kept as given, unlike credentials), and an outbox of deliveries retried with
-- backoff until delivered or given up.
CREATE TABLE webhooks (
    id          TEXT    PRIMARY KEY,
    owner_org   TEXT    NOT NULL REFERENCES organisations (id),
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    events      TEXT    NOT NULL,          -- JSON array of event names
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_org);

CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id),
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL,      -- pending | delivered | failed
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
