//! What every handler gets: the actions (and through them the settings).

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::config::Settings;
use crate::reset::Actions;

/// Shared by all HTTP workers.
pub struct AppState {
    pub actions: Actions,
}

impl AppState {
    pub fn settings(&self) -> &Settings {
        self.actions.settings()
    }

    /// The client's address (see `client_ip`): for limits and the token row.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        self.settings().trusted_proxies.client_ip(req)
    }
}
