//! A generic JSON provider for in-house mail services: POST to
//! MAIL_API_BASE_URL with `from`, `to`, `subject`, `text`, `html`,
//! `idempotency_key` (also sent as the `Idempotency-Key` header), and a bearer
//! key when MAIL_API_KEY is set. A JSON answer's `id` is kept.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, json_str};
use crate::send_error::SendError;

pub struct GenericHttp {
    pub url: Url,
    pub api_key: Option<SecretString>,
}

impl ProviderApi for GenericHttp {
    fn name(&self) -> &'static str {
        "http"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        let request = client
            .post(self.url.clone())
            .header("Idempotency-Key", &m.id)
            .json(&json!({
                "from": m.from,
                "to": m.to,
                "subject": m.subject,
                "text": m.text,
                "html": m.html,
                "idempotency_key": m.id,
            }));
        Ok(match &self.api_key {
            Some(key) => request.bearer_auth(key.expose_secret()),
            None => request,
        })
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "id")
    }
}
