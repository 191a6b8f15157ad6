-- Work the service does once at start-up after a migration asks for it, in
-- Rust because SQL cannot do it on both databases: here, re-normalizing
-- stored addresses to the case-folded key (the row is deleted when done).
CREATE TABLE pending_upgrades (
    name TEXT PRIMARY KEY
);
INSERT INTO pending_upgrades (name) VALUES ('email_case_folding');
