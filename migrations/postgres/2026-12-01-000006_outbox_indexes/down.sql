CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
DROP INDEX outbox_pending_deliveries;
DROP INDEX outbox_pending_requests;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
