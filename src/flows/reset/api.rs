//! The public reset API: check a link (`validate`), set the password.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reset;
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::body::{Body, Detail, Field, Problems};
use crate::http::refusals::PublicRefusals;

pub const RESET_DONE_DETAIL: &str = "Password has been reset successfully.";

#[derive(Deserialize, Default, ToSchema)]
pub struct ValidateTokenBody {
    /// The JWT from the link (its `token` query parameter).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    #[serde(default)]
    token: Field<String>,
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ResetPasswordBody {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    #[serde(default)]
    token: Field<String>,
    /// Checked against the password policy (PASSWORD_MIN_LENGTH, strength,
    /// breached passwords when configured).
    #[schema(value_type = String, required = true, min_length = 1)]
    #[serde(default)]
    new_password: Field<String>,
    /// Must equal new_password.
    #[schema(value_type = String, required = true, min_length = 1)]
    #[serde(default)]
    confirm_password: Field<String>,
}

/// A usable link.
#[derive(Serialize, ToSchema)]
pub struct LinkStatus {
    /// Always true (an unusable link is a 400 invalid_token).
    valid: bool,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Check a link
///
/// Says whether a link is usable, so the SPA can show the form or an error
/// before the user types a password. Consumes nothing.
#[utoipa::path(
    post,
    path = "/api/auth/reset-password/validate",
    tag = "reset",
    request_body = ValidateTokenBody,
    responses(
        (status = 200, description = "The link is usable", body = LinkStatus),
        PublicRefusals,
    )
)]
pub async fn validate_token(
    reset: web::Data<Reset>,
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ValidateTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let token = problems.required("token", body.token);
    let token = problems.finish(token)?;
    let link = reset.check_link(&token, state.client_ip(&req)).await?;
    Ok(HttpResponse::Ok().json(LinkStatus {
        valid: true,
        expires_at: link.expires_at().to_rfc3339_opts(SecondsFormat::Secs, true),
    }))
}

/// Set a new password
///
/// Consumes the link: a second use is a 400 invalid_token.
#[utoipa::path(
    post,
    path = "/api/auth/reset-password",
    tag = "reset",
    request_body = ResetPasswordBody,
    responses(
        (status = 200, description = "The password was changed; the user's other links are revoked", body = Detail),
        PublicRefusals,
    )
)]
pub async fn reset_password(
    reset: web::Data<Reset>,
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ResetPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let token = problems.required("token", body.token);
    let new_password = problems.required("new_password", body.new_password);
    let confirm = problems.required("confirm_password", body.confirm_password);
    let (token, new_password, confirm) =
        problems.finish((|| Some((token?, new_password?, confirm?)))())?;
    let locale = state.requested_locale(&req);
    reset
        .complete_reset(
            &token,
            &new_password,
            &confirm,
            state.client_ip(&req),
            locale.as_ref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(Detail {
        detail: RESET_DONE_DETAIL,
    }))
}
