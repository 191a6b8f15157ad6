use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::Operations;
use crate::http::AppState;

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

const fn status(status: &'static str) -> Status {
    Status { status }
}

/// Liveness
///
/// The process is alive and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive: {\"status\":\"ok\"}", body = Status))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(status("ok"))
}

/// Readiness
///
/// Ready when the database answers within a second, every migration is
/// applied, the database takes writes (not full, not read-only), and the
/// outbox worker (when this process runs one) is making progress. The body
/// stays minimal; the log says which check failed.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: {\"status\":\"ready\"}", body = Status),
        (status = 503, description = "Not ready: {\"status\":\"unavailable\"} (the log says why)", body = Status),
    )
)]
pub async fn readyz(state: web::Data<AppState>, ops: web::Data<Operations>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(1), not_ready(&state, &ops)).await {
        Ok(None) => HttpResponse::Ok().json(status("ready")),
        Ok(Some(why)) => {
            log::warn!("readyz: {why}");
            HttpResponse::ServiceUnavailable().json(status("unavailable"))
        }
        Err(_) => {
            log::warn!("readyz: database did not answer within 1 s");
            HttpResponse::ServiceUnavailable().json(status("unavailable"))
        }
    }
}

/// Why this process is not ready, if it is not.
async fn not_ready(state: &AppState, ops: &Operations) -> Option<String> {
    if let Some(stalled) = worker_stalled(state, ops) {
        return Some(format!(
            "the outbox worker has made no progress for {stalled:.0} s"
        ));
    }
    let repo = &ops.repo;
    match repo.is_ready().await {
        Ok(true) => {}
        Ok(false) => return Some("migrations are not applied".into()),
        Err(e) => return Some(format!("database unavailable: {e}")),
    }
    repo.accepts_writes(ops.clock.now_naive())
        .await
        .err()
        .map(|e| format!("the database refuses writes: {e}"))
}

/// How long the worker has been silent, when that is longer than a few poll
/// intervals plus one delivery's timeouts (a slow provider is progress too:
/// the worker reports each settled row).
fn worker_stalled(state: &AppState, ops: &Operations) -> Option<f64> {
    let settings = state.settings();
    if !settings.run_outbox_worker {
        return None;
    }
    let allowed =
        settings.outbox_poll_interval * 3 + settings.mail.connect_timeout + settings.mail.timeout;
    let silent = ops.clock.unix_secs() - ops.metrics.worker_last_run();
    (silent > allowed.as_secs_f64()).then_some(silent)
}
