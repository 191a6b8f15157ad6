//! The public reset flow: ask for a link, check a link, set the password.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::json;

use super::body::{Body, Field, Problems};
use super::state::AppState;
use crate::domain::EmailAddress;
use crate::error::ApiError;

pub const FORGOT_PASSWORD_DETAIL: &str =
    "If an account exists for this email, a password reset link has been sent.";
pub const RESET_DONE_DETAIL: &str = "Password has been reset successfully.";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotPasswordBody {
    email: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ValidateTokenBody {
    token: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetPasswordBody {
    token: Field<String>,
    new_password: Field<String>,
    confirm_password: Field<String>,
}

/// Always the same answer, after the same work: one outbox row.
pub async fn forgot_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ForgotPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let raw = problems.required("email", body.email);
    let email = problems.parsed("email", raw.as_deref().map(EmailAddress::parse));
    let email = problems.finish(email)?;
    let locale = state.requested_locale(&req);
    state
        .actions
        .request_link(&email, state.client_ip(&req), locale.as_ref())
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "detail": FORGOT_PASSWORD_DETAIL })))
}

/// Says whether a link is usable, so the SPA can show the form or an error
/// before the user types a password. Consumes nothing.
pub async fn validate_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ValidateTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let token = problems.required("token", body.token);
    let token = problems.finish(token)?;
    let link = state
        .actions
        .check_link(&token, state.client_ip(&req))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "valid": true,
        "expires_at": link.expires_at().to_rfc3339_opts(SecondsFormat::Secs, true),
    })))
}

pub async fn reset_password(
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
    state
        .actions
        .complete_reset(
            &token,
            &new_password,
            &confirm,
            state.client_ip(&req),
            locale.as_ref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "detail": RESET_DONE_DETAIL })))
}
