-- Counters shared by every replica: one row per limited key (an IP, an
-- email address), reset when its window is over.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    count        INTEGER NOT NULL,
    last_at      TIMESTAMP NOT NULL
);
CREATE INDEX rate_limits_last_at ON rate_limits (last_at);
