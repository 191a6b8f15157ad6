-- All timestamps are UTC, stored without a zone (the same Rust type on both backends).
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE TABLE password_reset_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP,
    requested_ip TEXT
);
CREATE INDEX password_reset_tokens_user_id ON password_reset_tokens (user_id);

CREATE TABLE outbox (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    payload             TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMP NOT NULL,
    locked_until        TIMESTAMP,
    last_error          TEXT,
    provider_message_id TEXT,
    created_at          TIMESTAMP NOT NULL,
    sent_at             TIMESTAMP,
    give_up_at          TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
