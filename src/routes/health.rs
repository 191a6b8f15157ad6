use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::state::AppState;

/// The process is alive and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers within a second and every migration is applied.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
