CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
