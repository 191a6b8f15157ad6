//! What every handler gets: the settings and the hosted pages' templates.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;

use super::page::Pages;
use crate::config::Settings;
use crate::i18n::Locale;

/// Shared by all HTTP workers.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pages: Pages,
}

impl AppState {
    pub fn settings(&self) -> &Settings {
        &self.settings
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
