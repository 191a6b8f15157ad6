//! What outbox rows carry. Nothing here is secret except the sealed token,
//! which is encrypted and removed once the row is settled.

use serde::{Deserialize, Serialize};

use crate::tokens::SealedToken;

#[derive(Debug, Serialize, Deserialize)]
pub struct ResetRequestPayload {
    pub email: String,
    pub ip: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    Reset,
    PasswordChanged,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EmailPayload {
    pub template: EmailTemplate,
    pub to: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_token: Option<SealedToken>,
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::PasswordChanged => "password-changed",
        }
    }
}

impl EmailPayload {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The payload without its sealed token, kept once a row is settled.
pub fn scrub(payload: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("sealed_token");
            serde_json::Value::Object(map).to_string()
        }
        _ => payload.to_owned(),
    }
}
