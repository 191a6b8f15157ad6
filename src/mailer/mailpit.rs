//! Mailpit's HTTP send API (POST /api/v1/send), for docker-compose and local
//! development: the message lands in Mailpit's web inbox.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};
use crate::send_error::SendError;

pub struct Mailpit {
    pub base_url: Url,
    /// Sent as basic-auth password (user `pwreset`) when Mailpit's API is protected.
    pub api_key: Option<SecretString>,
}

impl ProviderApi for Mailpit {
    fn name(&self) -> &'static str {
        "mailpit"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
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
        Ok(match &self.api_key {
            Some(key) => request.basic_auth("pwreset", Some(key.expose_secret())),
            None => request,
        })
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "ID")
    }
}
