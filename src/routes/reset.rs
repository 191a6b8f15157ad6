//! The public reset flow: ask for a link, check a link, set the password.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::body::{object, string_field};
use crate::domain::EmailAddress;
use crate::error::{ApiError, FieldErrors};
use crate::outbox::{KIND_RESET_REQUEST, ResetRequestPayload};
use crate::password::HashError;
use crate::startup::AppState;
use crate::storage::outbox::NewOutboxRow;
use crate::storage::tokens::{ConsumeOutcome, TokenRow};
use crate::storage::users::User;
use crate::webhooks;

pub const FORGOT_PASSWORD_DETAIL: &str =
    "If an account exists for this email, a password reset link has been sent.";
pub const RESET_DONE_DETAIL: &str = "Password has been reset successfully.";

/// Always the same answer, after the same work: one outbox row. Whether the
/// account exists is decided later by the worker, off the request path.
pub async fn forgot_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let obj = object(&body)?;
    let mut errors = FieldErrors::new();
    let raw_email = string_field(obj, "email", &mut errors);
    let email = match raw_email.map(EmailAddress::parse) {
        Some(Ok(email)) => Some(email),
        Some(Err(message)) => {
            errors.entry("email".into()).or_default().push(message);
            None
        }
        None => None,
    };
    let Some(email) = email else {
        return Err(ApiError::Validation(errors));
    };
    let ip = state.client_ip(&req);
    state.limiter.forgot_password(ip, &email).await?;

    let payload = ResetRequestPayload {
        email: email.as_str().to_owned(),
        ip: ip.map(|ip| ip.to_string()),
    };
    let now = state.clock.now_naive();
    let row = NewOutboxRow::pending(
        KIND_RESET_REQUEST,
        serde_json::to_string(&payload).map_err(anyhow::Error::from)?,
        now,
        None,
    );
    state.repo.enqueue(&row).await?;
    // The worker is deliberately not woken here: it finds the row on its next
    // poll (OUTBOX_POLL_INTERVAL_MS), so the extra work an existing account
    // causes never runs while this response is still being sent.
    Ok(HttpResponse::Accepted().json(json!({ "detail": FORGOT_PASSWORD_DETAIL })))
}

/// Says whether a link is usable, so the SPA can show the form or an error
/// before the user types a password. Consumes nothing.
pub async fn validate_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let obj = object(&body)?;
    let mut errors = FieldErrors::new();
    let Some(jwt) = string_field(obj, "token", &mut errors) else {
        return Err(ApiError::Validation(errors));
    };
    let (row, _user) = live_token(&state, &req, jwt).await?;
    Ok(HttpResponse::Ok().json(json!({
        "valid": true,
        "expires_at": row.expires_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })))
}

pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let obj = object(&body)?;
    let mut errors = FieldErrors::new();
    let jwt = string_field(obj, "token", &mut errors);
    let new_password = string_field(obj, "new_password", &mut errors);
    let confirm = string_field(obj, "confirm_password", &mut errors);
    let (Some(jwt), Some(new_password), Some(confirm)) = (jwt, new_password, confirm) else {
        return Err(ApiError::Validation(errors));
    };
    if new_password != confirm {
        return Err(ApiError::field(
            "confirm_password",
            "The two password fields didn't match.",
        ));
    }

    let (row, user) = live_token(&state, &req, jwt).await?;

    // The policy runs before the token is touched: a refused password leaves
    // the link usable.
    let mut user_inputs = vec![state.settings.app_name.as_str()];
    let email = EmailAddress::parse(&user.email).ok();
    if let Some(email) = &email {
        user_inputs.extend(email.guessable_parts());
    }
    let password = state
        .policy
        .check(new_password, &user_inputs)
        .map_err(|problems| {
            ApiError::Validation(FieldErrors::from([("new_password".into(), problems)]))
        })?;
    let hash = state.hasher.hash(&password).await.map_err(|e| match e {
        HashError::Busy => ApiError::Busy {
            retry_after_secs: 2,
        },
        HashError::Failed(why) => ApiError::Internal(anyhow::anyhow!(why)),
    })?;

    let now = state.clock.now();
    let mut announcements = vec![crate::issue::password_changed_row(&user, now)];
    announcements.extend(webhooks::event_rows(
        &state.settings.webhooks,
        webhooks::RESET_COMPLETED,
        &user.id,
        now,
    ));
    let outcome = state
        .repo
        .consume_token_and_set_password(&row.id, &user.id, &hash, now.naive_utc(), &announcements)
        .await?;
    match outcome {
        ConsumeOutcome::PasswordChanged => {
            log::info!("password reset for user {} with token {}", user.id, row.id);
            state.wake_worker.notify_one();
            Ok(HttpResponse::Ok().json(json!({ "detail": RESET_DONE_DETAIL })))
        }
        other => {
            log::info!("reset token {} refused at consume: {other:?}", row.id);
            Err(ApiError::InvalidToken)
        }
    }
}

/// Verifies the JWT, then the row behind it, for a client not inside its
/// failure backoff. Every failure is the same `invalid_token` to the client
/// (and counts against its address); the log says which check failed.
async fn live_token(
    state: &AppState,
    req: &HttpRequest,
    jwt: &str,
) -> Result<(TokenRow, User), ApiError> {
    let ip = state.client_ip(req);
    state.limiter.check_token_attempt(ip).await?;
    let result = check_token(state, jwt).await;
    if matches!(result, Err(ApiError::InvalidToken)) {
        state.limiter.record_token_failure(ip).await?;
    }
    result
}

async fn check_token(state: &AppState, jwt: &str) -> Result<(TokenRow, User), ApiError> {
    let now = state.clock.now();
    let link = state.codec.verify(jwt, now).map_err(|why| {
        log::info!("reset token refused: {why}");
        ApiError::InvalidToken
    })?;
    let refuse = |why: &str| {
        log::info!("reset token {} refused: {why}", link.token_id);
        ApiError::InvalidToken
    };
    let found = state.repo.find_token_by_hash(&link.token.hash()).await?;
    let Some((row, user)) = found else {
        return Err(refuse("no such token (revoked or never issued)"));
    };
    if row.id != link.token_id {
        return Err(refuse("jti does not match the token row"));
    }
    if row.user_id != link.user_id {
        return Err(refuse("sub does not match the token's user"));
    }
    if row.used_at.is_some() {
        return Err(refuse("already used"));
    }
    if row.expires_at <= now.naive_utc() {
        return Err(refuse("expired"));
    }
    if user.disabled {
        return Err(refuse("user is disabled"));
    }
    Ok((row, user))
}
