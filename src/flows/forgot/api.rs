//! `POST /api/auth/forgot-password/`: the SPA's (and the seed's Django
//! clients') way to ask for a link.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Forgot;
use crate::domain::EmailAddress;
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
    let email = problems.finish(email)?;
    let locale = state.requested_locale(&req);
    forgot
        .request_link(&email, state.client_ip(&req), locale.as_ref())
        .await?;
    Ok(HttpResponse::Accepted().json(Detail {
        detail: FORGOT_PASSWORD_DETAIL,
    }))
}
