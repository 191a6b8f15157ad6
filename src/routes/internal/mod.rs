//! The internal API for backend services: its table (the users' routes are
//! `flows::provision`'s), and starting resets. Callers are authenticated (service_auth), so unlike the
//! public API these answers may say whether a user exists.

mod reset_requests;

use actix_web::web;

use crate::flows::provision::api::{delete_user, put_user, revoke_tokens};

pub(crate) use reset_requests::{
    __path_create_reset_request, __path_reset_request_record, create_reset_request,
    reset_request_record,
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
