//! SendGrid: POST /v3/mail/send with a bearer key; click and open tracking off.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint};
use crate::send_error::SendError;

pub struct Sendgrid {
    pub base_url: Url,
    pub api_key: SecretString,
}

impl ProviderApi for Sendgrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        Ok(client
            .post(endpoint(&self.base_url, "/v3/mail/send"))
            .bearer_auth(self.api_key.expose_secret())
            .json(&json!({
                "personalizations": [{ "to": [{ "email": m.to }] }],
                "from": { "email": m.from },
                "subject": m.subject,
                "content": [
                    { "type": "text/plain", "value": m.text },
                    { "type": "text/html", "value": m.html },
                ],
                "tracking_settings": {
                    "click_tracking": { "enable": false, "enable_text": false },
                    "open_tracking": { "enable": false },
                },
                "custom_args": { "outbox_id": m.id },
            })))
    }

    /// SendGrid answers 202 with an empty body and the id in a header.
    fn message_id(&self, headers: &HeaderMap, _body: &Value) -> Option<String> {
        headers
            .get("X-Message-Id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}
