-- The password handoff (PASSWORD_HANDOFF_URL): each change of a user's
-- password gets the next number of that user's sequence, so the application
-- can refuse a stale one; a link being handed off is claimed until the
-- handoff's answer (or its timeout) so a second use of it waits its turn.
ALTER TABLE users ADD COLUMN password_sequence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE password_reset_tokens ADD COLUMN claimed_until TIMESTAMP;
