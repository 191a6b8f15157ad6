use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::state::AppState;

/// The process is alive and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers within a second, every migration is applied, and
/// the outbox worker (when this process runs one) is making progress.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if let Some(stalled) = worker_stalled(&state) {
        log::warn!("readyz: the outbox worker has made no progress for {stalled:.0} s");
        return HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}));
    }
    match tokio::time::timeout(Duration::from_secs(1), state.actions.repo().is_ready()).await {
        Ok(Ok(true)) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Ok(Ok(false)) => {
            log::warn!("readyz: migrations are not applied");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}))
        }
        Ok(Err(e)) => {
            log::warn!("readyz: database unavailable: {e}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}))
        }
        Err(_) => {
            log::warn!("readyz: database did not answer within 1 s");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}))
        }
    }
}

/// How long the worker has been silent, when that is longer than a few poll
/// intervals plus one delivery's timeouts (a slow provider is progress too:
/// the worker reports each settled row).
fn worker_stalled(state: &AppState) -> Option<f64> {
    let settings = state.settings();
    if !settings.run_outbox_worker {
        return None;
    }
    let allowed =
        settings.outbox_poll_interval * 3 + settings.mail.connect_timeout + settings.mail.timeout;
    let now = state.actions.clock().now();
    let now = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    let silent = now - state.actions.metrics().worker_last_run();
    (silent > allowed.as_secs_f64()).then_some(silent)
}
