//! HTTP routes. Handlers parse the request, call an action (`reset/`) and
//! answer; they hold no SQL and no HTTP-client calls.

mod body;
mod health;
mod internal;
mod metrics;
mod reset;
pub mod service_auth;
mod state;

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

pub use body::json_config;
pub use metrics::observe;
pub use state::AppState;

/// Every route. The public API lives under /api/auth (each path with and
/// without the trailing slash, as the Django clients this service replaces
/// send it) behind CORS for the configured SPA origins; the internal API
/// never answers CORS.
pub fn configure(cfg: &mut web::ServiceConfig, cors_origins: &[String]) {
    cfg.service(resource("/healthz", false, web::get().to(health::healthz)))
        .service(resource("/readyz", false, web::get().to(health::readyz)))
        .service(resource("/metrics", false, web::get().to(metrics::metrics)))
        .configure(crate::pages::configure)
        .service(
            web::scope("/api/auth")
                .wrap(cors(cors_origins))
                .service(resource(
                    "/forgot-password",
                    true,
                    web::post().to(reset::forgot_password),
                ))
                .service(resource(
                    "/reset-password/validate",
                    true,
                    web::post().to(reset::validate_token),
                ))
                .service(resource(
                    "/reset-password",
                    true,
                    web::post().to(reset::reset_password),
                ))
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/internal")
                .wrap(actix_web::middleware::from_fn(
                    service_auth::require_service_key,
                ))
                .configure(internal::configure)
                .default_service(web::to(not_found)),
        );
}

/// Browsers on the listed origins may POST JSON; any other origin gets no
/// `Access-Control-Allow-Origin` (its page cannot read the answer). No
/// credentials: the API uses none.
fn cors(origins: &[String]) -> Cors {
    origins.iter().fold(
        Cors::default()
            .allowed_methods(["POST"])
            .allowed_headers([header::CONTENT_TYPE, header::ACCEPT])
            .max_age(3600),
        |cors, origin| cors.allowed_origin(origin),
    )
}

fn resource(path: &str, with_slash: bool, route: actix_web::Route) -> actix_web::Resource {
    let mut paths = vec![path.to_owned()];
    if with_slash {
        paths.push(format!("{path}/"));
    }
    web::resource(paths)
        .route(route)
        .default_service(web::to(method_not_allowed))
}

pub(crate) async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
