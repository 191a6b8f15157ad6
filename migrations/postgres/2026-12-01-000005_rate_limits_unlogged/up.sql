-- Rate-limit counters are hourly, replaceable state: written with every
-- forgot-password request (two upserts beside the request's own row), they
-- cost more WAL than the request itself. Unlogged, they skip the WAL; the
-- price is that a Postgres crash (not a clean restart) or a failover to a
-- replica starts every window afresh. docs/decisions.md says why that is
-- acceptable.
ALTER TABLE rate_limits SET UNLOGGED;
