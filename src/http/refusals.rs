//! The refusals operations share, as the OpenAPI document describes them
//! (problem+json with its `code`, or the hosted pages' HTML), and the
//! router's own refusals (no such route, no such method).

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use utoipa::openapi::RefOr;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

use crate::error::{ApiError, ErrorCode};

pub(crate) async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// An RFC 9457 problem, as every refusal of the JSON API answers.
pub struct Problem;

impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .property(
                "type",
                text("urn:pwreset:problem:<code>"),
            )
            .property("title", text("A short, fixed summary of the code"))
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The HTTP status")),
            )
            .property("detail", text("What went wrong, for a person"))
            .property(
                "code",
                text("What went wrong, for a program").enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str()))),
            )
            .property(
                "errors",
                ObjectBuilder::new()
                    .description(Some(
                        "With validation_failed: each field's problems (non_field_errors for the body as a whole)",
                    ))
                    .additional_properties(Some(
                        ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)),
                    )),
            )
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .into()
    }
}

impl ToSchema for Problem {}

/// A problem+json response with `description`; `retry` adds `Retry-After`.
fn problem(description: &str, retry: bool) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "Problem",
            ))))
            .build(),
    );
    if retry {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    response.build().into()
}

/// What any JSON operation may answer besides its own outcomes.
fn shared_refusals() -> BTreeMap<String, RefOr<Response>> {
    BTreeMap::from([
        (
            "400".to_owned(),
            problem(
                "validation_failed (see errors), malformed_request, or for links invalid_token",
                false,
            ),
        ),
        (
            "408".to_owned(),
            problem("request_timeout: the body did not arrive in time", false),
        ),
        (
            "413".to_owned(),
            problem("payload_too_large: the body is over 16 KiB", false),
        ),
        (
            "415".to_owned(),
            problem(
                "unsupported_media_type: the body must be application/json",
                false,
            ),
        ),
        (
            "500".to_owned(),
            problem("internal_error: a bug; the log has the details", false),
        ),
        (
            "503".to_owned(),
            problem(
                "unavailable (the database; or, with a password handoff, the application did not \
                 take the change or another use of the link is with it: nothing changed, the link \
                 still works) or busy (password hashing is saturated)",
                true,
            ),
        ),
    ])
}

/// The refusals of the public reset API.
pub struct PublicRefusals;

impl IntoResponses for PublicRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = shared_refusals();
        responses.insert(
            "429".to_owned(),
            problem(
                "rate_limited: too many requests from this client or for this address",
                true,
            ),
        );
        responses
    }
}

/// The refusals of the internal API.
pub struct InternalRefusals;

impl IntoResponses for InternalRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = shared_refusals();
        let mut unauthorized = ResponseBuilder::new()
            .description("unauthorized: no or an unknown service key")
            .header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .build(),
            );
        if let RefOr::T(problem) = problem("", false) {
            for (media, content) in problem.content {
                unauthorized = unauthorized.content(media, content);
            }
        }
        responses.insert("401".to_owned(), unauthorized.build().into());
        responses
    }
}

/// What a hosted page's form post may answer besides its own outcome: the
/// page again, or an error page, always HTML.
pub struct FormRefusals;

impl IntoResponses for FormRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", "The form again, with what is wrong"),
            ("403", "A cross-site post"),
            ("415", "Not a URL-encoded form"),
            ("429", "Too many requests from this address"),
            (
                "503",
                "Try again later (for a new password the application did not take: the form again)",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let page = ResponseBuilder::new().description(description).content(
                "text/html",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
            (status.to_owned(), page.build().into())
        })
        .collect()
    }
}
