//! The internal API for backend services: provision users, start resets,
//! revoke links. Callers are authenticated (service_auth), so unlike the
//! public API these answers may say whether a user exists.

use actix_web::{HttpResponse, web};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{Body, Field, FieldValue, Problems};
use super::service_auth::ServiceCaller;
use super::state::AppState;
use crate::domain::{EmailAddress, UserId};
use crate::error::ApiError;
use crate::i18n::Locale;
use crate::reset::{Delivery, NewUserRequest, Target};
use crate::storage::users::User;

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

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PutUserBody {
    email: Field<String>,
    /// A bcrypt hash the service computed; never a plain password.
    password_hash: Field<String>,
    disabled: Field<bool>,
    /// The language of the user's emails (en, de, fr, es, ...).
    locale: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetRequestBody {
    email: Field<String>,
    user_id: Field<String>,
    delivery: Field<DeliveryField>,
    ttl_seconds: Field<u64>,
}

pub struct DeliveryField(Delivery);

impl FieldValue for DeliveryField {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        match value.as_str() {
            Some("email") => Ok(Self(Delivery::Email)),
            Some("link") => Ok(Self(Delivery::Link)),
            _ => Err("Must be \"email\" or \"link\"."),
        }
    }
}

fn user_json(user: &User) -> Value {
    let time = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "id": user.id,
        "email": user.email,
        "disabled": user.disabled,
        "has_password": user.password_hash.is_some(),
        "locale": user.locale,
        "password_changed_at": user.password_changed_at.map(time),
        "created_at": time(user.created_at),
        "updated_at": time(user.updated_at),
    })
}

fn path_user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|why| ApiError::field("id", why.to_string()))
}

/// A bcrypt hash in modular crypt format (`$2b$12$...`, 60 characters).
fn is_bcrypt_hash(hash: &str) -> bool {
    hash.len() == 60
        && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
        && hash.parse::<bcrypt::HashParts>().is_ok()
}

async fn put_user(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
    Body(body): Body<PutUserBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_user_id(&path)?;
    let mut problems = Problems::default();
    let raw_email = problems.required("email", body.email);
    let email = problems.parsed("email", raw_email.as_deref().map(EmailAddress::parse));
    let password_hash = match body.password_hash {
        Field::Given(hash) if is_bcrypt_hash(&hash) => Some(Some(hash)),
        Field::Missing => Some(None),
        _ => {
            problems.add(
                "password_hash",
                "Must be a bcrypt hash ($2b$..., 60 characters), never a plain password.",
            );
            None
        }
    };
    let disabled = problems.optional("disabled", body.disabled);
    let locale = match body.locale {
        Field::Missing => Some(None),
        Field::Given(raw) if Locale::parse(&raw).is_some() => Some(Locale::parse(&raw)),
        _ => {
            problems.add(
                "locale",
                format!(
                    "Must be one of: {}.",
                    Locale::all()
                        .iter()
                        .map(Locale::tag)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            None
        }
    };
    let (email, password_hash, disabled, locale) =
        problems.finish((|| Some((email?, password_hash?, disabled?, locale?)))())?;
    let request = NewUserRequest {
        id,
        email,
        password_hash,
        disabled,
        locale,
    };
    let done = state.actions.provision_user(&request).await?;
    log::info!(
        "internal API: {} {} user {}{}",
        caller.0,
        if done.created { "created" } else { "updated" },
        request.id,
        if done.links_revoked {
            "; outstanding reset links revoked"
        } else {
            ""
        }
    );
    let body = user_json(&done.user);
    Ok(if done.created {
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
    let id = path_user_id(&path)?;
    state.actions.delete_user(&id).await?;
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
    let id = path_user_id(&path)?;
    let revoked = state.actions.revoke_links(&id).await?;
    log::info!(
        "internal API: {} revoked {revoked} reset link(s) of user {id}",
        caller.0
    );
    Ok(HttpResponse::NoContent().finish())
}

async fn create_reset_request(
    state: web::Data<AppState>,
    caller: web::ReqData<ServiceCaller>,
    Body(body): Body<ResetRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let target = match (body.email.is_given(), body.user_id.is_given()) {
        (true, false) => {
            let raw = problems.required("email", body.email);
            problems
                .parsed("email", raw.as_deref().map(EmailAddress::parse))
                .map(Target::Email)
        }
        (false, true) => {
            let raw = problems.required("user_id", body.user_id);
            problems
                .parsed("user_id", raw.as_deref().map(UserId::parse))
                .map(Target::Id)
        }
        _ => {
            problems.add(
                "non_field_errors",
                "Give exactly one of `email` and `user_id`.",
            );
            None
        }
    };
    let delivery = problems
        .optional("delivery", body.delivery)
        .map(|d| d.map_or(Delivery::Email, |d| d.0));
    let settings = state.settings();
    let max_ttl = settings.reset_token_max_ttl.as_secs();
    let ttl = match body.ttl_seconds {
        Field::Missing => Some(settings.reset_token_ttl),
        Field::Given(secs) if (60..=max_ttl).contains(&secs) => {
            Some(std::time::Duration::from_secs(secs))
        }
        _ => {
            problems.add(
                "ttl_seconds",
                format!("Must be a whole number of seconds from 60 to {max_ttl}."),
            );
            None
        }
    };
    let (target, delivery, ttl) = problems.finish((|| Some((target?, delivery?, ttl?)))())?;

    let issued = state.actions.issue_link(&target, delivery, ttl).await?;
    log::info!(
        "internal API: {} started a reset for user {} (delivery {}, token {})",
        caller.0,
        issued.user_id,
        match delivery {
            Delivery::Email => "email",
            Delivery::Link => "link",
        },
        issued.token_id
    );
    let expires_at = issued.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    match issued.link {
        None => Ok(HttpResponse::Accepted().json(json!({
            "detail": "A password reset link has been sent.",
            "user_id": issued.user_id,
            "expires_at": expires_at,
        }))),
        Some((jwt, reset_url)) => Ok(HttpResponse::Created().json(json!({
            "user_id": issued.user_id,
            "reset_url": reset_url,
            "token": jwt,
            "expires_at": expires_at,
        }))),
    }
}
