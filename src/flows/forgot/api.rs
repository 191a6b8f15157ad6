//! `POST /api/auth/forgot-password/`: the SPA's (and the seed's Django
//! clients') way to ask for a link.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Forgot;
use crate::domain::{EmailAddress, ReturnTo};
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::body::{Body, Detail, Field, Problems};
use crate::http::refusals::PublicRefusals;

pub const FORGOT_PASSWORD_DETAIL: &str =
    "If an account exists for this email, a password reset link has been sent.";

#[derive(Deserialize, Default, ToSchema)]
pub struct ForgotPasswordBody {
    /// The address someone typed; whether an account has it is never said.
    #[schema(value_type = String, required = true, format = Email, min_length = 1, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    /// Where to send the person after the reset: an absolute URL under an
    /// entry of `RETURN_TO_ALLOWED`, else 400 (never silently replaced).
    #[schema(value_type = Option<String>, format = "uri", max_length = 1024)]
    #[serde(default)]
    return_to: Field<String>,
}

/// Ask for a reset link
///
/// Always the same answer, after the same work (one queued row), whether or
/// not an account has the address.
#[utoipa::path(
    post,
    path = "/api/auth/forgot-password",
    tag = "reset",
    request_body = ForgotPasswordBody,
    responses(
        (status = 202, description = "Accepted; an email follows if an account has the address", body = Detail),
        PublicRefusals,
    )
)]
pub async fn forgot_password(
    forgot: web::Data<Forgot>,
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ForgotPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let raw = problems.required("email", body.email);
    let email = problems.parsed("email", raw.as_deref().map(EmailAddress::parse));
    let return_to = problems
        .optional("return_to", body.return_to)
        .and_then(|raw| match raw {
            None => Some(None),
            Some(raw) => problems
                .parsed("return_to", Some(checked_return_to(&state, &raw)))
                .map(Some),
        });
    let (email, return_to) = problems.finish((|| Some((email?, return_to?)))())?;
    let locale = state.requested_locale(&req);
    forgot
        .request_link(
            &email,
            state.client_ip(&req),
            locale.as_ref(),
            return_to.as_ref(),
        )
        .await?;
    Ok(HttpResponse::Accepted().json(Detail {
        detail: FORGOT_PASSWORD_DETAIL,
    }))
}

/// A `return_to` checked against `RETURN_TO_ALLOWED`, the refusal in words.
pub(super) fn checked_return_to(state: &AppState, raw: &str) -> Result<ReturnTo, String> {
    state
        .settings()
        .return_to_allowed
        .check(raw)
        .map_err(|why| format!("return_to {why}."))
}
