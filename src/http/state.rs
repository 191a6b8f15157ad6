//! What every handler gets: the actions (and through them the settings).

use std::net::IpAddr;

use actix_web::HttpRequest;

use super::page::Pages;
use crate::config::Settings;
use crate::i18n::Locale;
use crate::reset::Actions;

/// Shared by all HTTP workers.
pub struct AppState {
    pub actions: Actions,
    pub pages: Pages,
}

impl AppState {
    pub fn settings(&self) -> &Settings {
        self.actions.settings()
    }

    /// The language the client asked for (`Accept-Language`), if it asked.
    pub fn requested_locale(&self, req: &HttpRequest) -> Option<Locale> {
        req.headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(|v| Locale::negotiate(Some(v)))
    }

    /// The client's address (see `client_ip`): for limits and the token row.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        self.settings().trusted_proxies.client_ip(req)
    }
}
