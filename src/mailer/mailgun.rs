//! Mailgun: POST /v3/{domain}/messages as a form, basic auth `api:KEY`;
//! click and open tracking off.

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};
use crate::send_error::SendError;

pub struct Mailgun {
    pub base_url: Url,
    pub api_key: SecretString,
    pub domain: String,
}

impl ProviderApi for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        Ok(client
            .post(endpoint(
                &self.base_url,
                &format!("/v3/{}/messages", self.domain),
            ))
            .basic_auth("api", Some(self.api_key.expose_secret()))
            .form(&[
                ("from", m.from.as_str()),
                ("to", m.to.as_str()),
                ("subject", m.subject.as_str()),
                ("text", m.text.as_str()),
                ("html", m.html.as_str()),
                ("o:tracking-clicks", "no"),
                ("o:tracking-opens", "no"),
                ("v:outbox_id", m.id.as_str()),
            ]))
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "id")
    }
}
