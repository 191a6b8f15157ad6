//! The public reset API: check a link (`validate`), set the password.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Proof, Reset};
use crate::domain::EmailAddress;
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::body::{Body, Detail, Field, Problems};
use crate::http::refusals::PublicRefusals;

pub const RESET_DONE_DETAIL: &str = "Password has been reset successfully.";

/// The link or the code: `token`, or `email` and `code`, never both.
#[derive(Deserialize, Default, ToSchema)]
pub struct ValidateTokenBody {
    /// The JWT from the link (its `token` query parameter); or send `email`
    /// and `code` instead.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    #[serde(default)]
    token: Field<String>,
    /// With `code`, instead of `token`: the account's email address.
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    /// With `email`, instead of `token`: the one-time code from the email
    /// (spaces and dashes ignored). A wrong code counts as a try.
    #[schema(value_type = Option<String>, example = "1234 5678")]
    #[serde(default)]
    code: Field<String>,
}

/// The link or the code (`token`, or `email` and `code`, never both) and
/// the new password.
#[derive(Deserialize, Default, ToSchema)]
pub struct ResetPasswordBody {
    /// The JWT from the link; or send `email` and `code` instead.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    #[serde(default)]
    token: Field<String>,
    /// With `code`, instead of `token`: the account's email address.
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    /// With `email`, instead of `token`: the one-time code from the email.
    #[schema(value_type = Option<String>, example = "1234 5678")]
    #[serde(default)]
    code: Field<String>,
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
    let proof = ProofInput::read(&mut problems, body.token, body.email, body.code);
    let proof = problems.finish(proof)?;
    let link = reset.check(proof.as_proof(), state.client_ip(&req)).await?;
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
    let proof = ProofInput::read(&mut problems, body.token, body.email, body.code);
    let new_password = problems.required("new_password", body.new_password);
    let confirm = problems.required("confirm_password", body.confirm_password);
    let (proof, new_password, confirm) =
        problems.finish((|| Some((proof?, new_password?, confirm?)))())?;
    let locale = state.requested_locale(&req);
    reset
        .complete_reset(
            proof.as_proof(),
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

/// A body's proof, owned: the link's JWT, or an email and a code.
pub(crate) enum ProofInput {
    Link(String),
    Code(EmailAddress, String),
}

impl ProofInput {
    /// `token`, or `email` and `code`; each problem by its field.
    pub(crate) fn read(
        problems: &mut Problems,
        token: Field<String>,
        email: Field<String>,
        code: Field<String>,
    ) -> Option<Self> {
        let by_code = !matches!(email, Field::Missing) || !matches!(code, Field::Missing);
        if !by_code {
            return problems.required("token", token).map(Self::Link);
        }
        if !matches!(token, Field::Missing) {
            problems.add("token", "Send either token, or email and code, not both.");
            return None;
        }
        let raw = problems.required("email", email);
        let email = problems.parsed("email", raw.as_deref().map(EmailAddress::parse));
        let code = problems.required("code", code);
        Some(Self::Code(email?, code?))
    }

    pub(crate) fn as_proof(&self) -> Proof<'_> {
        match self {
            Self::Link(jwt) => Proof::Link(jwt),
            Self::Code(email, code) => Proof::Code { email, code },
        }
    }
}
