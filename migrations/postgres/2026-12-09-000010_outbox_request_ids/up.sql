-- The id of the request that queued a row, so the worker's log lines about
-- it can be followed back to that request (absent for older rows and rows
-- queued outside any request).
ALTER TABLE outbox ADD COLUMN request_id TEXT;
