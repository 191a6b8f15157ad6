-- One-time codes beside emailed links: the code's HMAC (never the code),
-- its tries, and each account's wrong codes in the current hour.
ALTER TABLE password_reset_tokens ADD COLUMN code_hmac TEXT;
ALTER TABLE password_reset_tokens ADD COLUMN code_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN code_failures_since TIMESTAMP;
