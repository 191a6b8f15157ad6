-- Postgres only (unlogged rate-limit counters); SQLite has no such tables.
-- Kept so both backends list the same migrations.
SELECT 1;
