ALTER TABLE password_reset_tokens DROP COLUMN claimed_until;
ALTER TABLE users DROP COLUMN password_sequence;
