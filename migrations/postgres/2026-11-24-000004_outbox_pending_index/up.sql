-- The worker's claim reads the oldest due pending rows. A partial index
-- holds just those, in order, so the claim stays a short index scan however
-- many settled rows the table keeps and however stale the planner's
-- statistics are after a burst (the (status, next_attempt_at) index let
-- Postgres choose a scan and sort of every pending row).
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
