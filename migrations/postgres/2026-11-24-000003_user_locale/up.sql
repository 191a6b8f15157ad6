-- The language a user's emails are written in (a tag pwreset has
-- translations for, e.g. de); NULL: the language of the request.
ALTER TABLE users ADD COLUMN locale TEXT;
