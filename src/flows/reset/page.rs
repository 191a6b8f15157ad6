//! The "set a new password" page: the form for a usable link (or a page
//! that says the link cannot be used), its post, and the live password
//! feedback. The same checks as the JSON API.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::{Proof, Reset};
use crate::domain::{EmailAddress, EntryProblem, FieldErrors, PasswordProblem};
use crate::error::ApiError;
use crate::flow_error::FlowError;
use crate::http::AppState;
use crate::http::page::{View, form_fields};
use crate::i18n::Locale;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LinkQuery {
    /// The JWT from the email.
    token: Option<String>,
}

/// The form for a usable link; for any other, a page that says so and
/// offers a new link or the code form. Without a token, the form for the
/// one-time code (email, code, new password). Consumes nothing.
#[utoipa::path(
    method(get, head),
    path = "/reset-password",
    tag = "pages",
    params(LinkQuery),
    responses(
        (status = 200, description = "The new-password form (without a token, the form for the one-time code; for HEAD and unusable links, a page saying the link cannot be used)", content_type = "text/html", body = String),
        (status = 429, description = "Too many invalid links from this address", content_type = "text/html", body = String),
        (status = 503, description = "Try again later", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn reset_form(
    reset: web::Data<Reset>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LinkQuery>,
) -> HttpResponse {
    let view = View::new(&state, &req);
    let Some(token) = query.token.as_deref().filter(|t| !t.is_empty()) else {
        // No link: the form for the code from the email.
        let blank = FormKind::Code {
            email: "",
            code: "",
        };
        return form_page(&view, StatusCode::OK, &blank, &FieldErrors::new(), false);
    };
    if req.method() == Method::HEAD {
        // Scanners probe with HEAD: nothing is checked, counted or consumed.
        return view.render(StatusCode::OK, "invalid.html", context! {});
    }
    match reset.check_link(token, state.client_ip(&req)).await {
        Ok(_) => reset_page(&view, StatusCode::OK, token, &FieldErrors::new(), false),
        Err(e) => view.refusal(e),
    }
}

/// Which form a post came from, to show it again: the link's (its token
/// hidden) or the code's (the email and code as typed).
enum FormKind<'a> {
    Link(&'a str),
    Code { email: &'a str, code: &'a str },
}

fn reset_page(
    view: &View<'_>,
    status: StatusCode,
    token: &str,
    errors: &FieldErrors,
    not_saved: bool,
) -> HttpResponse {
    form_page(view, status, &FormKind::Link(token), errors, not_saved)
}

fn form_page(
    view: &View<'_>,
    status: StatusCode,
    kind: &FormKind<'_>,
    errors: &FieldErrors,
    not_saved: bool,
) -> HttpResponse {
    let min_length = view.state.settings().password_min_length;
    match kind {
        FormKind::Link(token) => view.render(
            status,
            "reset.html",
            context! { token, errors, not_saved, min_length },
        ),
        FormKind::Code { email, code } => view.render(
            status,
            "code.html",
            context! { email, code, errors, not_saved, min_length },
        ),
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct ResetForm {
    /// The link's JWT; or `email` and `code` (the code form).
    token: String,
    email: String,
    code: String,
    new_password: String,
    confirm_password: String,
}

/// Set a new password from the page
#[utoipa::path(
    post,
    path = "/reset-password",
    tag = "pages",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done (or the link cannot be used)", content_type = "text/html", body = String),
        crate::http::refusals::FormRefusals,
    )
)]
pub(crate) async fn reset_submit(
    reset: web::Data<Reset>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let view = View::new(&state, &req);
    let form: ResetForm = match form_fields(&req, &body) {
        Ok(form) => form,
        Err(status) => return view.error(status, "page-error-title", None),
    };
    let by_code = form.token.is_empty() && !(form.email.is_empty() && form.code.is_empty());
    let kind = if by_code {
        FormKind::Code {
            email: &form.email,
            code: &form.code,
        }
    } else {
        FormKind::Link(&form.token)
    };
    let email;
    let proof = if by_code {
        email = match EmailAddress::parse(&form.email) {
            Ok(email) => email,
            Err(why) => {
                let errors = FieldErrors::from([("email".to_owned(), vec![why.to_string()])]);
                return form_page(&view, StatusCode::BAD_REQUEST, &kind, &errors, false);
            }
        };
        Proof::Code {
            email: &email,
            code: &form.code,
        }
    } else {
        Proof::Link(&form.token)
    };
    match reset
        .complete_reset(
            proof,
            &form.new_password,
            &form.confirm_password,
            state.client_ip(&req),
            Some(&view.locale),
        )
        .await
    {
        Ok(done) => {
            // The link's `return_to` if it is still allowed, else LOGIN_URL.
            let settings = state.settings();
            let continue_url = done
                .return_to
                .and_then(|raw| settings.return_to_allowed.check(&raw).ok())
                .map(|r| r.to_string())
                .or_else(|| settings.login_url.as_ref().map(|u| u.to_string()));
            view.render(
                StatusCode::OK,
                "done.html",
                context! { continue_url => continue_url },
            )
        }
        // The link stays usable: the form again, each reason by its field.
        Err(FlowError::WeakPassword(problems)) => {
            let errors = FieldErrors::from([(
                "new_password".to_owned(),
                PasswordProblem::messages(&problems, &view.locale),
            )]);
            form_page(&view, StatusCode::BAD_REQUEST, &kind, &errors, false)
        }
        Err(FlowError::Entry(problems)) => {
            let errors = EntryProblem::field_errors(&problems, &view.locale);
            form_page(&view, StatusCode::BAD_REQUEST, &kind, &errors, false)
        }
        // A code that does not work: the code form again, one reason for
        // every failure (wrong, used, expired, past its tries).
        Err(FlowError::InvalidLink) if by_code => {
            let errors = FieldErrors::from([(
                "code".to_owned(),
                vec![view.locale.text("page-code-refused", &[])],
            )]);
            form_page(&view, StatusCode::BAD_REQUEST, &kind, &errors, false)
        }
        // The application did not take it: nothing changed, the form again
        // to submit in a moment.
        Err(e @ (FlowError::HandoffFailed | FlowError::LinkInUse)) => {
            let mut page = form_page(
                &view,
                StatusCode::SERVICE_UNAVAILABLE,
                &kind,
                &FieldErrors::new(),
                true,
            );
            if let Some(secs) = ApiError::from(e).retry_after_secs() {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            page
        }
        Err(e) => view.refusal(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CheckBody {
    token: String,
    new_password: String,
}

/// What the policy says of a password.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PasswordVerdict {
    /// Empty when the password would be accepted; else each reason, in the
    /// reader's language.
    problems: Vec<String>,
}

/// The password policy's verdict for the page's live feedback: the same
/// check as the final post, for a usable link only. Consumes nothing.
#[utoipa::path(
    post,
    path = "/reset-password/check",
    tag = "pages",
    request_body = CheckBody,
    responses(
        (status = 200, description = "The verdict", body = PasswordVerdict),
        crate::http::refusals::PublicRefusals,
    )
)]
pub(crate) async fn check_password(
    reset: web::Data<Reset>,
    state: web::Data<AppState>,
    req: HttpRequest,
    crate::http::Json(body): crate::http::Json<CheckBody>,
) -> Result<HttpResponse, crate::error::ApiError> {
    let problems = reset
        .password_problems(&body.token, &body.new_password, state.client_ip(&req))
        .await?;
    let locale = state.requested_locale(&req).unwrap_or_else(Locale::english);
    let problems = PasswordProblem::messages(&problems, &locale);
    Ok(HttpResponse::Ok().json(PasswordVerdict { problems }))
}
