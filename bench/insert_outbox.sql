-- pgbench: one single-row INSERT transaction into an outbox-shaped table,
-- the row forgot-password writes (a queued reset request).
INSERT INTO bench_outbox (id, kind, payload, status, attempts, next_attempt_at, created_at)
VALUES (gen_random_uuid()::text, 'reset_request',
        '{"email":"bench@example.com","ip":"10.0.0.1","locale":null}',
        'pending', 0, now(), now());
