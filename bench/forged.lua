-- A forged link posted to validate: a real link's header and claims with a
-- signature made by another key (BENCH_FORGED, written by bench/run), so
-- the service has to compute the HMAC to refuse it.
wrk.method = "POST"
wrk.path = "/api/auth/reset-password/validate/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"token":"%s"}', os.getenv("BENCH_FORGED"))
