//! Postmark: POST /email with the server token; link and open tracking off.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};
use crate::send_error::SendError;

pub struct Postmark {
    pub base_url: Url,
    pub server_token: SecretString,
}

impl ProviderApi for Postmark {
    fn name(&self) -> &'static str {
        "postmark"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        Ok(client
            .post(endpoint(&self.base_url, "/email"))
            .header("Accept", "application/json")
            .header("X-Postmark-Server-Token", self.server_token.expose_secret())
            .json(&json!({
                "From": m.from,
                "To": m.to,
                "Subject": m.subject,
                "TextBody": m.text,
                "HtmlBody": m.html,
                "MessageStream": "outbound",
                "TrackLinks": "None",
                "TrackOpens": false,
                "Metadata": { "outbox_id": m.id },
            })))
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "MessageID")
    }
}
