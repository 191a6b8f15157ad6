//! The handlers of `/internal/v1/reset-requests`: start a reset (emailed, or a link for a
//! support tool), and read back what became of an emailed one.

use actix_web::{HttpResponse, web};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{Delivery, DeliveryRecord, DeliveryState, ResetRequests, Target};
use crate::domain::{EmailAddress, OutboxId, UserId};
use crate::error::ApiError;
use crate::http::AppState;
use crate::http::body::rfc3339 as time;
use crate::http::body::{Body, Field, FieldValue, Problems};
use crate::http::refusals::InternalRefusals;
use crate::http::service_auth::ServiceCaller;

/// Exactly one of `email` and `user_id`.
#[derive(Deserialize, Default, ToSchema)]
pub struct ResetRequestBody {
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    #[serde(default)]
    email: Field<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    #[serde(default)]
    user_id: Field<String>,
    /// `email` (default): sent through the outbox. `link`: returned, nothing
    /// is emailed (support tools).
    #[schema(value_type = Option<DeliveryName>)]
    #[serde(default)]
    delivery: Field<DeliveryField>,
    /// From 60 to RESET_TOKEN_MAX_TTL_SECS; default RESET_TOKEN_TTL_SECS.
    #[schema(value_type = Option<u64>, minimum = 60)]
    #[serde(default)]
    ttl_seconds: Field<u64>,
}

/// How a reset link reaches the user.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // the document's name for `Delivery`'s wire values
pub enum DeliveryName {
    Email,
    Link,
}

/// A reset started by email.
#[derive(Serialize, ToSchema)]
pub struct ResetEmailQueued {
    /// Names the delivery record: `GET /internal/v1/reset-requests/{id}`.
    #[schema(value_type = String, format = "uuid")]
    id: OutboxId,
    detail: &'static str,
    #[schema(value_type = String)]
    user_id: crate::domain::UserId,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// A link for a support tool: give it to the user yourself.
#[derive(Serialize, ToSchema)]
pub struct ResetLink {
    #[schema(value_type = String)]
    user_id: crate::domain::UserId,
    reset_url: String,
    token: String,
    #[schema(format = DateTime)]
    expires_at: String,
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

/// Start a reset for a user
///
/// By email (sent through the outbox) or as a link returned to the caller.
#[utoipa::path(
    post,
    path = "/internal/v1/reset-requests",
    tag = "internal",
    request_body = ResetRequestBody,
    security(("service_key" = [])),
    responses(
        (status = 201, description = "delivery link: the link, nothing emailed", body = ResetLink),
        (status = 202, description = "delivery email: queued", body = ResetEmailQueued),
        (status = 404, description = "user_not_found", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        (status = 409, description = "user_disabled", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn create_reset_request(
    state: web::Data<AppState>,
    flow: web::Data<ResetRequests>,
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

    let issued = flow.issue_link(&target, delivery, ttl).await?;
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
        None => Ok(HttpResponse::Accepted().json(ResetEmailQueued {
            id: issued
                .email_id
                .ok_or_else(|| anyhow::anyhow!("an emailed reset without its email"))?,
            detail: "A password reset link has been sent.",
            user_id: issued.user_id,
            expires_at,
        })),
        Some((jwt, reset_url)) => Ok(HttpResponse::Created().json(ResetLink {
            user_id: issued.user_id,
            reset_url: reset_url.to_string(),
            token: jwt,
            expires_at,
        })),
    }
}

/// Where an emailed reset stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Queued,
    /// Accepted by the email provider.
    Sent,
    /// Given up; `reason` says why.
    Dead,
}

/// What became of an emailed reset. Never the token, the link or the address.
#[derive(Serialize, ToSchema)]
pub struct ResetRequestRecord {
    #[schema(value_type = String, format = "uuid")]
    id: OutboxId,
    status: DeliveryStatus,
    #[schema(value_type = String)]
    user_id: UserId,
    #[schema(format = DateTime)]
    created_at: String,
    /// Delivery attempts so far.
    attempts: i32,
    /// `queued`: when the next attempt is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
    /// `sent`: when the provider accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    sent_at: Option<String>,
    /// `sent`: the provider's id for the message (SMTP: its Message-ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_message_id: Option<String>,
    /// `dead`: why it was given up; `queued`: why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn record_view(record: DeliveryRecord) -> ResetRequestRecord {
    let mut view = ResetRequestRecord {
        id: record.id,
        status: DeliveryStatus::Queued,
        user_id: record.user_id,
        created_at: time(record.created_at),
        attempts: record.attempts,
        next_attempt_at: None,
        sent_at: None,
        provider_message_id: None,
        reason: None,
    };
    match record.state {
        DeliveryState::Queued {
            next_attempt_at,
            last_error,
        } => {
            view.next_attempt_at = Some(time(next_attempt_at));
            view.reason = last_error;
        }
        DeliveryState::Sent {
            at,
            provider_message_id,
        } => {
            view.status = DeliveryStatus::Sent;
            view.sent_at = Some(time(at));
            view.provider_message_id = provider_message_id;
        }
        DeliveryState::Dead { reason } => {
            view.status = DeliveryStatus::Dead;
            view.reason = Some(reason);
        }
    }
    view
}

/// What became of an emailed reset
///
/// The id is the one `POST /internal/v1/reset-requests` answered with 202.
/// Records are kept for RETENTION_SECS after they settle.
#[utoipa::path(
    get,
    path = "/internal/v1/reset-requests/{id}",
    tag = "internal",
    params(("id" = String, Path, description = "The id the 202 answered", format = "uuid")),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "The delivery record", body = ResetRequestRecord),
        (status = 404, description = "reset_request_not_found: no emailed reset has this id (or it was pruned)", content_type = "application/problem+json", body = crate::http::refusals::Problem),
        InternalRefusals,
    )
)]
pub(crate) async fn reset_request_record(
    flow: web::Data<ResetRequests>,
    caller: web::ReqData<ServiceCaller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = OutboxId::parse(&path).ok_or(ApiError::ResetRequestNotFound)?;
    let record = flow
        .reset_email_record(&id)
        .await?
        .ok_or(ApiError::ResetRequestNotFound)?;
    log::info!(
        "internal API: {} read the delivery record of reset request {id}",
        caller.0
    );
    Ok(HttpResponse::Ok().json(record_view(record)))
}
