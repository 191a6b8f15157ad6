//! Resend: POST /emails with a bearer key and `Idempotency-Key` = outbox id,
//! so a retry after a lost answer never sends twice.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};
use crate::send_error::SendError;

pub struct Resend {
    pub base_url: Url,
    pub api_key: SecretString,
}

impl ProviderApi for Resend {
    fn name(&self) -> &'static str {
        "resend"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        Ok(client
            .post(endpoint(&self.base_url, "/emails"))
            .bearer_auth(self.api_key.expose_secret())
            .header("Idempotency-Key", &m.id)
            .json(&json!({
                "from": m.from,
                "to": [m.to],
                "subject": m.subject,
                "text": m.text,
                "html": m.html,
            })))
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "id")
    }
}
