//! `GET /metrics`, and the middleware that counts and times every answer by
//! its matched route pattern (never the raw path, so labels stay bounded).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::Operations;
use crate::error::ApiError;

/// The text exposition format; the outbox gauges are read from the database now.
/// Prometheus metrics
///
/// The fixed metric families in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 404, description = "not_found: the peer is not in METRICS_ALLOWED_FROM (or /metrics has a listener of its own, METRICS_BIND_ADDR)", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        (status = 503, description = "unavailable: the database (for the outbox gauges)", content_type = "application/problem+json", body = crate::http::refusals::Problem),
    )
)]
pub async fn metrics(
    ops: web::Data<Operations>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // The numbers say which addresses have accounts (an email sent or not):
    // only the listed peers may read them; to others the path does not exist.
    let allowed = req
        .peer_addr()
        .is_some_and(|peer| ops.metrics_allowed_from.contains(&peer.ip()));
    if !allowed {
        return Err(ApiError::NotFound);
    }
    let now = ops.clock.now_naive();
    let (counts, oldest_due) = ops.repo.outbox_stats(now).await?;
    let oldest_due_secs = oldest_due.map_or(0.0, |due| {
        (now - due).num_milliseconds().max(0) as f64 / 1000.0
    });
    ops.metrics.set_outbox(&counts, oldest_due_secs);
    let body = ops
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

/// Counts and times every request, including refusals by other middleware.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<Operations>>()
        .map(|ops| ops.metrics.clone());
    let method = method_label(req.method());
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let (route, status) = match &result {
            Ok(res) => (res.request().match_pattern(), res.status().as_u16()),
            Err(e) => (None, e.as_response_error().status_code().as_u16()),
        };
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe_http(&route, method, status, started.elapsed().as_secs_f64());
    }
    result
}

/// Standard methods by name; anything else shares one value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
