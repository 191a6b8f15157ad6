//! The internal API for backend services: provision users, start resets,
//! revoke links. Callers are authenticated (service_auth), so unlike the
//! public API these answers may say whether a user exists.

mod reset_requests;
mod users;

use actix_web::web;
use chrono::SecondsFormat;

use crate::domain::UserId;
use crate::error::ApiError;

pub(crate) use reset_requests::{
    __path_create_reset_request, __path_reset_request_record, create_reset_request,
    reset_request_record,
};
pub(crate) use users::{
    __path_delete_user, __path_put_user, __path_revoke_tokens, delete_user, put_user, revoke_tokens,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/users/{id}")
            .route(web::put().to(put_user))
            .route(web::delete().to(delete_user))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/v1/users/{id}/reset-tokens")
            .route(web::delete().to(revoke_tokens))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/v1/reset-requests")
            .route(web::post().to(create_reset_request))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/v1/reset-requests/{id}")
            .route(web::get().to(reset_request_record))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// A stored UTC time as the internal API shows it (RFC 3339, seconds).
pub(super) fn time(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn path_user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|why| ApiError::field("id", why.to_string()))
}
