//! Where people are sent: the reset link (`FRONTEND_URL`,
//! `RESET_LINK_TEMPLATE`), and the way back after a reset (`LOGIN_URL`,
//! `RETURN_TO_ALLOWED`).

use url::Url;

use super::reader::{Reader, parse_http_url};
use super::vars;
use crate::domain::{AllowedPrefix, ReturnToAllowList};

/// How reset links are built: from configuration only, never from request headers.
#[derive(Clone, Debug)]
pub enum LinkBase {
    /// `{FRONTEND_URL}/reset-password?token=<jwt>`.
    Frontend(Url),
    /// `RESET_LINK_TEMPLATE`, with `{token}` replaced.
    Template(String),
}

/// `FRONTEND_URL` and `RESET_LINK_TEMPLATE`.
pub(super) fn read_links(r: &mut Reader<'_>) -> LinkBase {
    let frontend_raw = r.text(&vars::FRONTEND_URL);
    let frontend = parse_http_url(&frontend_raw)
        .filter(|u| u.query().is_none() && u.fragment().is_none() && !frontend_raw.contains(' '));
    if frontend.is_none() {
        r.problem(format!(
            "FRONTEND_URL={frontend_raw:?}: expected an http(s) URL without query or fragment, \
             e.g. https://app.example.com"
        ));
    }
    if let Some(template) = r.raw(&vars::RESET_LINK_TEMPLATE) {
        let usable = template.matches("{token}").count() == 1
            && parse_http_url(&template.replace("{token}", "t")).is_some();
        if usable {
            return LinkBase::Template(template);
        }
        r.problem(format!(
            "RESET_LINK_TEMPLATE={template:?}: expected an http(s) URL containing {{token}} once, \
             e.g. https://app.example.com/reset#token={{token}}"
        ));
    }
    LinkBase::Frontend(frontend.unwrap_or_else(|| {
        Url::parse("http://127.0.0.1:8080").unwrap_or_else(|e| unreachable!("{e}"))
    }))
}

/// `LOGIN_URL`: the done page's "Continue to sign in".
pub(super) fn read_login_url(r: &mut Reader<'_>) -> Option<Url> {
    r.url(&vars::LOGIN_URL)
}

/// `RETURN_TO_ALLOWED`: the prefixes a `return_to` must be under.
pub(super) fn read_return_to_allowed(r: &mut Reader<'_>) -> ReturnToAllowList {
    let mut entries = Vec::new();
    for raw in r.list(&vars::RETURN_TO_ALLOWED) {
        match AllowedPrefix::parse(&raw) {
            Ok(entry) => entries.push(entry),
            Err(why) => r.problem(format!("RETURN_TO_ALLOWED entry {why}")),
        }
    }
    ReturnToAllowList::new(entries)
}
