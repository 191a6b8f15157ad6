ALTER TABLE users DROP COLUMN code_failures_since;
ALTER TABLE users DROP COLUMN code_failures;
ALTER TABLE password_reset_tokens DROP COLUMN code_attempts;
ALTER TABLE password_reset_tokens DROP COLUMN code_hmac;
