//! HTTP routes. Handlers parse, call the domain and storage, and answer;
//! they hold no SQL and no HTTP-client calls.

mod body;
mod health;
mod internal;
mod reset;
pub mod service_auth;

use actix_web::{HttpResponse, web};

use crate::error::ApiError;

pub use body::json_config;

/// The public paths, each served with and without the trailing slash (the
/// Django clients this service replaces send the slash).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", web::get().to(health::healthz)))
        .service(resource("/readyz", web::get().to(health::readyz)))
        .service(resource(
            "/api/auth/forgot-password",
            web::post().to(reset::forgot_password),
        ))
        .service(resource(
            "/api/auth/reset-password/validate",
            web::post().to(reset::validate_token),
        ))
        .service(resource(
            "/api/auth/reset-password",
            web::post().to(reset::reset_password),
        ))
        .service(
            web::scope("/internal")
                .wrap(actix_web::middleware::from_fn(
                    service_auth::require_service_key,
                ))
                .configure(internal::configure)
                .default_service(web::to(not_found)),
        );
}

fn resource(path: &str, route: actix_web::Route) -> actix_web::Resource {
    let paths = if path.starts_with("/api/") {
        vec![path.to_owned(), format!("{path}/")]
    } else {
        vec![path.to_owned()]
    };
    web::resource(paths)
        .route(route)
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
