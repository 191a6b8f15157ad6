//! The "send me a link" page: the same request as the JSON API's
//! forgot-password, answered with the same page whatever the account.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::Forgot;
use super::api::checked_return_to;
use crate::domain::{EmailAddress, FieldErrors, ReturnTo};
use crate::http::AppState;
use crate::http::page::{View, form_fields};

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct ForgotForm {
    email: String,
    /// Carried from `?return_to=` in a hidden field.
    return_to: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ForgotQuery {
    return_to: String,
}

/// The forgot-password page
#[utoipa::path(
    method(get, head),
    path = "/forgot-password",
    tag = "pages",
    responses((status = 200, description = "The form", content_type = "text/html", body = String))
)]
pub(crate) async fn forgot_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ForgotQuery>,
) -> HttpResponse {
    let view = View::new(&state, &req);
    if page_return_to(&state, &query.return_to).is_err() {
        return return_to_refused(&view);
    }
    view.render(
        StatusCode::OK,
        "forgot.html",
        context! { email => "", return_to => query.return_to, errors => context! {} },
    )
}

/// The page's `return_to` (empty: none), checked.
fn page_return_to(state: &AppState, raw: &str) -> Result<Option<ReturnTo>, ()> {
    if raw.is_empty() {
        return Ok(None);
    }
    checked_return_to(state, raw).map(Some).map_err(|why| {
        log::info!(
            "hosted page: refused a return_to ({})",
            crate::log_safe::clean(&why)
        );
    })
}

/// The page that refuses a `return_to`; nothing was queued.
fn return_to_refused(view: &View<'_>) -> HttpResponse {
    view.error(
        StatusCode::BAD_REQUEST,
        "page-return-to-title",
        Some("page-return-to-body"),
    )
}

/// Ask for a link from the page
///
/// The same page whatever the account (and the same work: one queued row).
/// A same-origin form post (a cross-site one is refused).
#[utoipa::path(
    post,
    path = "/forgot-password",
    tag = "pages",
    request_body(content = ForgotForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The same page for every address: check your email", content_type = "text/html", body = String),
        crate::http::refusals::FormRefusals,
    )
)]
pub(crate) async fn forgot_submit(
    forgot: web::Data<Forgot>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let view = View::new(&state, &req);
    let form: ForgotForm = match form_fields(&req, &body) {
        Ok(form) => form,
        Err(status) => return view.error(status, "page-error-title", None),
    };
    let Ok(return_to) = page_return_to(&state, &form.return_to) else {
        return return_to_refused(&view);
    };
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(why) => {
            let errors = FieldErrors::from([("email".to_owned(), vec![why.to_string()])]);
            return view.render(
                StatusCode::BAD_REQUEST,
                "forgot.html",
                context! { email => form.email, return_to => form.return_to, errors => errors },
            );
        }
    };
    match forgot
        .request_link(
            &email,
            state.client_ip(&req),
            Some(&view.locale),
            return_to.as_ref(),
        )
        .await
    {
        Ok(()) => view.render(StatusCode::OK, "sent.html", context! {}),
        Err(e) => view.refusal(e),
    }
}
