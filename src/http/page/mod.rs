//! The hosted pages' frame: their headers (CSP and the rest), form posts
//! from this service's own pages only, the stylesheet and script, and one
//! page answered in the reader's language (`View`). The pages themselves
//! (ask for a link, set a new password) belong to their flows. Plain HTML
//! forms that work without JavaScript; the script only removes the token
//! from the address bar and shows the server's password feedback as the
//! person types.
//!
//! Mail scanners open links: GET and HEAD never consume anything, and
//! nothing on these pages submits by itself; only a person's click does.

mod render;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use minijinja::{Value, context};
use serde::Deserialize;

pub use render::Pages;

use super::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::flow_error::FlowError;
use crate::i18n::Locale;

/// Only what the pages need, from the service itself.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) const FORM_LIMIT: usize = 16 * 1024;

/// The pages' stylesheet
#[utoipa::path(
    get,
    path = "/assets/pages.css",
    tag = "pages",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String))
)]
pub(crate) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .body(include_str!("assets/pages.css"))
}

/// The pages' script (live password feedback; the pages work without it)
#[utoipa::path(
    get,
    path = "/assets/pages.js",
    tag = "pages",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String))
)]
pub(crate) async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .body(include_str!("assets/pages.js"))
}

pub(crate) fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// A request's or answer's `Content-Type`, empty when absent or unreadable.
fn content_type(headers: &actix_web::http::header::HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Every refusal of a page route as the page's HTML error, in the reader's
/// language: what actix itself answers before a handler runs (a query it
/// cannot read, a form over the size limit, a method the route lacks) is
/// plain text or problem+json otherwise. A request that sent JSON (the
/// page's own script asking for live feedback) reads problem+json, as the
/// API would answer it.
pub(crate) async fn refusals_as_html(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let sent_json = content_type(req.headers()).starts_with("application/json");
    let response = next.call(req).await?;
    let status = response.status();
    let is_html = content_type(response.headers()).starts_with("text/html");
    let state = response
        .request()
        .app_data::<actix_web::web::Data<AppState>>()
        .cloned();
    match state {
        Some(state)
            if !is_html && !sent_json && (status.is_client_error() || status.is_server_error()) =>
        {
            let (request, _) = response.into_parts();
            let page = View::new(&state, &request).error(status, "page-error-title", None);
            Ok(actix_web::dev::ServiceResponse::new(request, page).map_into_right_body())
        }
        _ => Ok(response.map_into_left_body()),
    }
}

/// One page, answered in the reader's language.
pub(crate) struct View<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) locale: Locale,
}

impl<'a> View<'a> {
    pub(crate) fn new(state: &'a AppState, req: &HttpRequest) -> Self {
        Self {
            state,
            locale: state.requested_locale(req).unwrap_or_else(Locale::english),
        }
    }

    pub(crate) fn render(&self, status: StatusCode, name: &str, values: Value) -> HttpResponse {
        let app_name = &self.state.settings().app_name;
        match self
            .state
            .pages
            .render(name, &self.locale, app_name, values)
        {
            Ok(html) => HttpResponse::build(status)
                .content_type(ContentType::html())
                .body(html),
            Err(e) => {
                log::error!("{e}");
                HttpResponse::InternalServerError()
                    .content_type(ContentType::plaintext())
                    .body("Internal server error")
            }
        }
    }

    pub(crate) fn error(
        &self,
        status: StatusCode,
        title: &str,
        body: Option<&str>,
    ) -> HttpResponse {
        self.render(
            status,
            "error.html",
            context! { title => title, body => body },
        )
    }

    /// An action's refusal as a page: the status and `Retry-After` are the
    /// JSON API's (`ApiError`), the words the page's.
    pub(crate) fn refusal(&self, e: FlowError) -> HttpResponse {
        let answer = ApiError::from(e);
        let status = answer.status_code();
        let mut response = match answer.code() {
            ErrorCode::InvalidToken => self.render(status, "invalid.html", context! {}),
            ErrorCode::RateLimited => {
                self.error(status, "page-limited-title", Some("page-limited-body"))
            }
            ErrorCode::Busy | ErrorCode::Unavailable => {
                answer.log_cause();
                self.error(status, "page-busy-title", Some("page-busy-body"))
            }
            _ => {
                log::error!("hosted page: {answer:#}");
                self.error(StatusCode::INTERNAL_SERVER_ERROR, "page-error-title", None)
            }
        };
        if let Some(secs) = answer.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A form post this service's own page made: URL-encoded, and not from
/// another site (its `Origin`, when sent, names the host it was posted to).
/// A refusal is the status of the error page to answer.
pub(crate) fn form_fields<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, StatusCode> {
    let media_type = content_type(req.headers())
        .split(';')
        .next()
        .unwrap_or_default();
    if !media_type
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    if is_cross_site(req) {
        log::warn!("hosted page: refused a cross-site form post");
        return Err(StatusCode::FORBIDDEN);
    }
    serde_urlencoded::from_bytes(body).map_err(|_| StatusCode::BAD_REQUEST)
}

/// Whether a form post came from another site. Browsers say where a request
/// comes from in `Sec-Fetch-Site`; only `same-origin` (and `none`, a person's
/// own navigation) passes. Browsers without it send `Origin`, whose scheme,
/// host and port must be the ones the request was sent to (the Host header is the browser's, so
/// a page on another site cannot make the two agree). Under this service's
/// `Referrer-Policy: no-referrer` browsers send `Origin: null`, which passes
/// only with `Sec-Fetch-Site: same-origin`.
fn is_cross_site(req: &HttpRequest) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    // The scheme the request was made with: this listener's, or the one a
    // proxy in front says (a cross-site form post cannot set headers).
    let scheme = req.connection_info().scheme().to_ascii_lowercase();
    let host = header("host").unwrap_or_default();
    let Ok(ours) = url::Url::parse(&format!("{scheme}://{host}")) else {
        return true;
    };
    match url::Url::parse(origin) {
        Ok(theirs) => {
            theirs.scheme() != ours.scheme()
                || theirs.host_str() != ours.host_str()
                || theirs.port_or_known_default() != ours.port_or_known_default()
        }
        // `Origin: null` (without Sec-Fetch-Site) and garbage.
        Err(_) => true,
    }
}
