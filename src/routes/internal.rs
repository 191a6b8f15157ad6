//! The internal API for backend services: provision users, start resets,
//! revoke links. Callers are authenticated (service_auth), so unlike the
//! public API these answers may say whether a user exists.

use actix_web::{HttpResponse, web};
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use super::body::{object, string_field};
use super::service_auth::ServiceCaller;
use crate::domain::EmailAddress;
use crate::error::{ApiError, FieldErrors};
use crate::issue::IssuedToken;
use crate::startup::AppState;
use crate::storage::users::{InsertUserError, User, UserUpsert};
use crate::webhooks;

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
    );
}

fn user_json(user: &User) -> Value {
    let time = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "id": user.id,
        "email": user.email,
        "disabled": user.disabled,
        "has_password": user.password_hash.is_some(),
        "password_changed_at": user.password_changed_at.map(time),
        "created_at": time(user.created_at),
        "updated_at": time(user.updated_at),
    })
}

fn user_id(raw: &str) -> Result<&str, ApiError> {
    if raw.is_empty() || raw.len() > 255 || raw.chars().any(char::is_control) {
        return Err(ApiError::field(
            "id",
            "A user id is 1 to 255 printable characters.",
        ));
    }
    Ok(raw)
}

fn optional_bool(obj: &Map<String, Value>, name: &str, errors: &mut FieldErrors) -> Option<bool> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors
                .entry(name.into())
                .or_default()
                .push("Must be true or false.".into());
            None
        }
    }
}

/// A bcrypt hash in modular crypt format (`$2b$12$...`, 60 characters).
fn bcrypt_hash<'a>(obj: &'a Map<String, Value>, errors: &mut FieldErrors) -> Option<&'a str> {
    match obj.get("password_hash") {
        None | Some(Value::Null) => None,
        Some(Value::String(hash))
            if hash.len() == 60
                && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
                && hash.parse::<bcrypt::HashParts>().is_ok() =>
        {
            Some(hash)
        }
        Some(_) => {
            errors.entry("password_hash".into()).or_default().push(
                "Must be a bcrypt hash ($2b$..., 60 characters), never a plain password.".into(),
            );
            None
        }
    }
}

async fn put_user(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let obj = object(&body)?;
    let mut errors = FieldErrors::new();
    let email = string_field(obj, "email", &mut errors).and_then(|raw| {
        EmailAddress::parse(raw)
            .map_err(|why| errors.entry("email".into()).or_default().push(why))
            .ok()
    });
    let password_hash = bcrypt_hash(obj, &mut errors);
    let disabled = optional_bool(obj, "disabled", &mut errors);
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let change = UserUpsert {
        id,
        email: email.as_str(),
        password_hash,
        disabled,
    };
    let upserted = match state
        .repo
        .upsert_user(&change, state.clock.now_naive())
        .await
    {
        Ok(upserted) => upserted,
        Err(InsertUserError::Conflict) => return Err(ApiError::EmailTaken),
        Err(InsertUserError::Storage(e)) => return Err(e.into()),
    };
    log::info!(
        "internal API: {} {} user {}{}",
        caller.0,
        if upserted.created {
            "created"
        } else {
            "updated"
        },
        id,
        if upserted.tokens_revoked {
            "; outstanding reset links revoked"
        } else {
            ""
        }
    );
    let body = user_json(&upserted.user);
    Ok(if upserted.created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

async fn delete_user(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    if !state.repo.delete_user(id).await? {
        return Err(ApiError::UserNotFound);
    }
    log::info!(
        "internal API: {} deleted user {id} and its reset links",
        caller.0
    );
    Ok(HttpResponse::NoContent().finish())
}

async fn revoke_tokens(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let revoked = state
        .repo
        .revoke_tokens(id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    log::info!(
        "internal API: {} revoked {revoked} reset link(s) of user {id}",
        caller.0
    );
    Ok(HttpResponse::NoContent().finish())
}

async fn create_reset_request(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let obj = object(&body)?;
    let mut errors = FieldErrors::new();
    let by_email = obj.get("email").is_some_and(|v| !v.is_null());
    let by_id = obj.get("user_id").is_some_and(|v| !v.is_null());
    let target = match (by_email, by_id) {
        (true, false) => string_field(obj, "email", &mut errors).map(|e| (true, e)),
        (false, true) => string_field(obj, "user_id", &mut errors).map(|id| (false, id)),
        _ => {
            errors
                .entry("non_field_errors".into())
                .or_default()
                .push("Give exactly one of `email` and `user_id`.".into());
            None
        }
    };
    let delivery = match obj.get("delivery") {
        None | Some(Value::Null) => Some("email"),
        Some(Value::String(d)) if d == "email" || d == "link" => Some(d.as_str()),
        Some(_) => {
            errors
                .entry("delivery".into())
                .or_default()
                .push("Must be \"email\" or \"link\".".into());
            None
        }
    };
    let max_ttl = state.settings.reset_token_max_ttl;
    let ttl = match obj.get("ttl_seconds") {
        None | Some(Value::Null) => Some(state.settings.reset_token_ttl),
        Some(v) => match v.as_u64().filter(|s| (60..=max_ttl.as_secs()).contains(s)) {
            Some(secs) => Some(std::time::Duration::from_secs(secs)),
            None => {
                errors
                    .entry("ttl_seconds".into())
                    .or_default()
                    .push(format!(
                        "Must be a whole number of seconds from 60 to {}.",
                        max_ttl.as_secs()
                    ));
                None
            }
        },
    };
    let (Some((is_email, key)), Some(delivery), Some(ttl)) = (target, delivery, ttl) else {
        return Err(ApiError::Validation(errors));
    };

    let user = if is_email {
        let email = EmailAddress::parse(key).map_err(|why| ApiError::field("email", why))?;
        state.repo.find_user_by_email(email.as_str()).await?
    } else {
        state.repo.find_user_by_id(user_id(key)?).await?
    };
    let user = user.ok_or(ApiError::UserNotFound)?;
    if user.disabled {
        return Err(ApiError::UserDisabled);
    }

    let now = state.clock.now();
    let issued =
        IssuedToken::new(now, ttl).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let mut rows = Vec::new();
    if delivery == "email" {
        rows.push(
            issued
                .email_row(&state.codec, &user, now)
                .map_err(anyhow::Error::from)?,
        );
    }
    rows.extend(webhooks::event_rows(
        &state.settings.webhooks,
        webhooks::RESET_REQUESTED,
        &user.id,
        now,
    ));
    state
        .repo
        .insert_token_with_rows(&issued.row(&user.id, None), &rows)
        .await?;
    state.wake_worker.notify_one();
    log::info!(
        "internal API: {} started a reset for user {} (delivery {delivery}, token {})",
        caller.0,
        user.id,
        issued.id
    );
    let expires_at = issued.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    if delivery == "email" {
        return Ok(HttpResponse::Accepted().json(json!({
            "detail": "A password reset link has been sent.",
            "user_id": user.id,
            "expires_at": expires_at,
        })));
    }
    let jwt = issued
        .jwt(&state.codec, &user.id)
        .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Created().json(json!({
        "user_id": user.id,
        "reset_url": state.settings.reset_link(&jwt),
        "token": jwt,
        "expires_at": expires_at,
    })))
}
