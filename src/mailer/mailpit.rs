//! Mailpit's HTTP send API (POST /api/v1/send), for docker-compose and local
//! development: the message lands in Mailpit's web inbox.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};

pub const DEFAULT_BASE_URL: &str = "http://localhost:8025";

pub struct Mailpit {
    pub base_url: String,
    /// Sent as basic-auth password (user `pwreset`) when Mailpit's API is protected.
    pub api_key: Option<String>,
}

impl ProviderApi for Mailpit {
    fn name(&self) -> &'static str {
        "mailpit"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> RequestBuilder {
        let request = client
            .post(endpoint(&self.base_url, "/api/v1/send"))
            .json(&json!({
                "From": { "Email": m.from },
                "To": [{ "Email": m.to }],
                "Subject": m.subject,
                "Text": m.text,
                "HTML": m.html,
                "Headers": { "X-Pwreset-Outbox-Id": m.id },
            }));
        match &self.api_key {
            Some(key) => request.basic_auth("pwreset", Some(key)),
            None => request,
        }
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "ID")
    }
}
