//! The handler of `POST /internal/v1/password-checks`.

use std::net::IpAddr;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Account, SignIn};
use crate::domain::{EmailAddress, UserId};
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::body::rfc3339 as time;
use crate::http::body::{Body, Field, Problems};
use crate::http::refusals::InternalRefusals;
use crate::http::service_auth::ServiceCaller;

/// The longest password a check reads (bcrypt uses the first 72 bytes).
const MAX_PASSWORD_CHARS: usize = 4096;

/// Exactly one of `email` and `user_id`, and the password.
#[derive(Deserialize, Default, ToSchema)]
pub struct PasswordCheckBody {
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    #[serde(default)]
    user_id: Field<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    #[serde(default)]
    password: Field<String>,
    /// The person's address as the calling service saw it; the caller's own
    /// address counts when it is absent.
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    #[serde(default)]
    client_ip: Field<String>,
}

/// The password matches a live account.
#[derive(Serialize, ToSchema)]
pub struct PasswordMatched {
    #[schema(value_type = String)]
    user_id: UserId,
    /// When the password was last set through pwreset (null for a hash
    /// provisioned or imported and never changed here).
    #[schema(format = DateTime)]
    password_changed_at: Option<String>,
}

/// Check a password (sign-in)
///
/// Whether the password is right for a live account. Every failure (a
/// wrong password, an unknown or disabled account, one with no password
/// yet) is the same 401 `invalid_credentials`, after the same work. Wrong
/// passwords are limited per account and client network
/// (`RATE_LIMIT_SIGNIN_FAILURES`), per account (`RATE_LIMIT_SIGNIN_FAILURES_MAX`)
/// and per client IP (`RATE_LIMIT_SIGNIN_FAILURES_PER_IP`): 429 before any
/// hash is computed. A stored hash below `BCRYPT_COST` is upgraded on a match.
#[utoipa::path(
    post,
    path = "/internal/v1/password-checks",
    tag = "internal",
    operation_id = "check_password_for_sign_in",
    security(("service_key" = [])),
    request_body = PasswordCheckBody,
    responses(
        (status = 200, description = "The password matches", body = PasswordMatched),
        (status = 401, description = "invalid_credentials (or unauthorized: no valid service key)", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn check_password(
    state: web::Data<AppState>,
    flow: web::Data<SignIn>,
    caller: web::ReqData<ServiceCaller>,
    req: HttpRequest,
    Body(body): Body<PasswordCheckBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let account = match (body.email.is_given(), body.user_id.is_given()) {
        (true, false) => {
            let raw = problems.required("email", body.email);
            problems
                .parsed("email", raw.as_deref().map(EmailAddress::parse))
                .map(Account::Email)
        }
        (false, true) => {
            let raw = problems.required("user_id", body.user_id);
            problems
                .parsed("user_id", raw.as_deref().map(UserId::parse))
                .map(Account::Id)
        }
        _ => {
            problems.add(
                "non_field_errors",
                "Give exactly one of `email` and `user_id`.",
            );
            None
        }
    };
    let password = problems
        .required("password", body.password)
        .filter(|password| {
            let fits = !password.is_empty() && password.chars().count() <= MAX_PASSWORD_CHARS;
            if !fits {
                problems.add(
                    "password",
                    format!("Must be 1 to {MAX_PASSWORD_CHARS} characters."),
                );
            }
            fits
        });
    let client_ip = problems
        .optional("client_ip", body.client_ip)
        .and_then(|raw| match raw.map(|raw| raw.trim().parse::<IpAddr>()) {
            None => Some(None),
            Some(Ok(ip)) => Some(Some(ip)),
            Some(Err(_)) => {
                problems.add("client_ip", "Must be an IPv4 or IPv6 address.");
                None
            }
        });
    let (account, password, client_ip) =
        problems.finish((|| Some((account?, password?, client_ip?)))())?;
    let ip = client_ip.or_else(|| state.client_ip(&req));
    let matched = flow.check(&account, &password, ip).await?;
    log::info!(
        "internal API: {} checked a password for user {}: match",
        caller.0,
        matched.user_id
    );
    Ok(HttpResponse::Ok().json(PasswordMatched {
        user_id: matched.user_id,
        password_changed_at: matched.password_changed_at.map(time),
    }))
}
