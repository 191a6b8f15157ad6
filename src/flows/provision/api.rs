//! `/internal/v1/users/...`: create, update and delete users, revoke their links.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{NewUserRequest, Provision};
use crate::domain::EmailAddress;
use crate::error::{ApiError, KEEPS_NO_HASHES};
use crate::hasher::formats::{ACCEPTED, StoredHash};
use crate::http::body::{Body, Field, Problems};
use crate::http::body::{path_user_id, rfc3339 as time};
use crate::http::refusals::InternalRefusals;
use crate::http::service_auth::ServiceCaller;
use crate::i18n::Locale;
use crate::storage::users::User;

#[derive(Deserialize, Default, ToSchema)]
pub struct PutUserBody {
    #[schema(value_type = String, required = true, format = Email, min_length = 1, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    /// A password hash the service computed, never a plain password: bcrypt
    /// (`$2a$`, `$2b$`, `$2y$`); Django's `pbkdf2_sha256$`, `pbkdf2_sha1$`,
    /// `bcrypt_sha256$`, `bcrypt$`, `argon2$argon2id$`, `argon2$argon2i$`,
    /// `scrypt$`; PHC `$argon2id$`, `$argon2i$`; passlib's
    /// `$pbkdf2-sha256$`. Costs are bounded (bcrypt 4 to 15, PBKDF2 at most
    /// 2,000,000 iterations, argon2 at most 256 MiB, scrypt at most 256 MiB
    /// and N·r·p 2^21). A hash that is not bcrypt at `BCRYPT_COST` is
    /// replaced at the user's next successful password check. Absent: the
    /// user has no password yet.
    #[schema(value_type = Option<String>, min_length = 60, max_length = 512)]
    #[serde(default)]
    password_hash: Field<String>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    disabled: Field<bool>,
    /// The language of the user's emails and pages.
    #[schema(value_type = Option<String>, example = "de")]
    #[serde(default)]
    locale: Field<String>,
}

/// A user as the internal API shows it (never its hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String)]
    id: crate::domain::UserId,
    email: String,
    disabled: bool,
    has_password: bool,
    locale: Option<String>,
    #[schema(format = DateTime)]
    password_changed_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id.clone(),
        email: user.email.clone(),
        disabled: user.disabled,
        has_password: user.password_hash.is_some(),
        locale: user.locale.clone(),
        password_changed_at: user.password_changed_at.map(time),
        created_at: time(user.created_at),
        updated_at: time(user.updated_at),
    }
}

/// Create or update a user
///
/// Changing the email, disabling, or a new hash revokes the user's
/// outstanding links.
#[utoipa::path(
    put,
    path = "/internal/v1/users/{id}",
    tag = "internal",
    params(("id" = String, Path, description = "Your system's user id", min_length = 1, max_length = 255)),
    request_body = PutUserBody,
    security(("service_key" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 201, description = "Created", body = UserView),
        (status = 409, description = "email_taken: another user has the address", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn put_user(
    provision: web::Data<Provision>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
    Body(body): Body<PutUserBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_user_id(&path)?;
    let mut problems = Problems::default();
    let raw_email = problems.required("email", body.email);
    let email = problems.parsed("email", raw_email.as_deref().map(EmailAddress::parse));
    let password_hash = problems
        .optional("password_hash", body.password_hash)
        .and_then(|hash| match hash.as_deref().map(StoredHash::parse) {
            Some(_) if !provision.keeps_hashes() => {
                problems.add("password_hash", KEEPS_NO_HASHES);
                None
            }
            Some(Err(why)) => {
                problems.add(
                    "password_hash",
                    format!(
                        "Must be a password hash in an accepted format, never a plain password \
                         ({why}). Accepted: {ACCEPTED}."
                    ),
                );
                None
            }
            _ => Some(hash),
        });
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
    let done = provision.provision_user(&request).await?;
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
    let body = user_view(&done.user);
    Ok(if done.created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// Delete a user and its links
#[utoipa::path(
    delete,
    path = "/internal/v1/users/{id}",
    tag = "internal",
    params(("id" = String, Path, description = "Your system's user id", min_length = 1, max_length = 255)),
    security(("service_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "user_not_found", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn delete_user(
    provision: web::Data<Provision>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_user_id(&path)?;
    provision.delete_user(&id).await?;
    log::info!(
        "internal API: {} deleted user {id} and its reset links",
        caller.0
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Revoke every outstanding link of a user
#[utoipa::path(
    delete,
    path = "/internal/v1/users/{id}/reset-tokens",
    tag = "internal",
    params(("id" = String, Path, description = "Your system's user id", min_length = 1, max_length = 255)),
    security(("service_key" = [])),
    responses(
        (status = 204, description = "Revoked (also when there was none)"),
        (status = 404, description = "user_not_found", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn revoke_tokens(
    provision: web::Data<Provision>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_user_id(&path)?;
    let revoked = provision.revoke_links(&id).await?;
    log::info!(
        "internal API: {} revoked {revoked} reset link(s) of user {id}",
        caller.0
    );
    Ok(HttpResponse::NoContent().finish())
}
