//! Resend: POST /emails with a bearer key and `Idempotency-Key` = outbox id,
//! so a retry after a lost answer never sends twice.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};

pub const DEFAULT_BASE_URL: &str = "https://api.resend.com";

pub struct Resend {
    pub base_url: String,
    pub api_key: String,
}

impl ProviderApi for Resend {
    fn name(&self) -> &'static str {
        "resend"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> RequestBuilder {
        client
            .post(endpoint(&self.base_url, "/emails"))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", &m.id)
            .json(&json!({
                "from": m.from,
                "to": [m.to],
                "subject": m.subject,
                "text": m.text,
                "html": m.html,
            }))
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "id")
    }
}
