-- outbox_due (status, next_attempt_at) has had no reader since the claim
-- moved to the partial index outbox_pending (migration 000004): the
-- metrics count every row anyway, pruning looks for settled rows by age,
-- and the oldest due row is the partial index's first entry. Every insert
-- and every status change still paid for it; forgot-password writes one
-- row per request and the worker changes it once more.
DROP INDEX outbox_due;
