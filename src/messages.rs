//! What the outbox carries, as types: the flows (`flows/`) enqueue an
//! `OutboxMessage`, storage derives the row's kind and status from it, and
//! each kind's job (in its flow, run by `worker/`) reads the payload back.
//! Below both, so neither imports the other for these. Nothing here is secret except the sealed token, which
//! is encrypted and removed once its row is settled.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{OutboxId, TokenId, UserId};
use crate::log_context::{self, RequestId};
use crate::tokens::SealedToken;

/// Stores a fieldless enum as TEXT through its `as_str`/`parse` pair.
macro_rules! text_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::domain::ids::text_sql!($name, |v: &$name| v.as_str(), |raw: String| {
            $name::parse(&raw).ok_or_else(|| format!(concat!("unknown ", stringify!($name), " {:?}"), raw))
        });
    };
}

text_enum!(OutboxKind {
    ResetRequest = "reset_request",
    Email = "email",
    Webhook = "webhook",
});

text_enum!(OutboxStatus {
    Pending = "pending",
    Sent = "sent",
    Done = "done",
    Dead = "dead",
});

text_enum!(WebhookEvent {
    ResetCompleted = "password.reset.completed",
    ResetRequested = "password.reset.requested",
    DeliveryFailed = "email.delivery.failed",
});

/// Someone typed an address into forgot-password. Whether it has an account
/// is decided by the worker, off the request path.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResetRequest {
    pub email: String,
    pub ip: Option<String>,
    /// The language of the request (`Accept-Language`), for the email when
    /// the account has none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Where to send the person after the reset (checked against
    /// `RETURN_TO_ALLOWED` before it was queued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    Reset,
    PasswordChanged,
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::PasswordChanged => "password-changed",
        }
    }
}

/// The link a reset email carries: its token row, and the token sealed so
/// that the link can be rebuilt at send time.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkToken {
    pub token_id: TokenId,
    pub sealed_token: SealedToken,
    /// The one-time code shown beside the link (none in rows queued before
    /// codes existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_code: Option<SealedToken>,
    /// An allowed `return_to`, for the link's `rtn` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Email {
    pub template: EmailTemplate,
    pub to: String,
    pub user_id: UserId,
    /// The language to write it in; English when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub link: Option<LinkToken>,
}

impl Email {
    /// The payload kept once the email is settled: without its sealed token.
    pub fn scrubbed(&self) -> Self {
        Self {
            template: self.template,
            to: self.to.clone(),
            user_id: self.user_id.clone(),
            locale: self.locale.clone(),
            link: None,
        }
    }
}

/// One event for one receiver. `body` is the exact bytes signed and sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub msg_id: String,
    pub body: String,
}

/// A payload of one kind of outbox row: the `kind` column it is stored
/// under, and its JSON.
pub trait OutboxPayload: Serialize + for<'de> Deserialize<'de> {
    const KIND: OutboxKind;
}

impl OutboxPayload for ResetRequest {
    const KIND: OutboxKind = OutboxKind::ResetRequest;
}

impl OutboxPayload for Email {
    const KIND: OutboxKind = OutboxKind::Email;
}

impl OutboxPayload for Webhook {
    const KIND: OutboxKind = OutboxKind::Webhook;
}

/// Everything that can be put in the outbox.
#[derive(Debug)]
pub enum OutboxMessage {
    ResetRequest(ResetRequest),
    Email(Email),
    Webhook(Webhook),
}

impl OutboxMessage {
    pub fn kind(&self) -> OutboxKind {
        match self {
            Self::ResetRequest(_) => OutboxKind::ResetRequest,
            Self::Email(_) => OutboxKind::Email,
            Self::Webhook(_) => OutboxKind::Webhook,
        }
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::ResetRequest(m) => serde_json::to_string(m),
            Self::Email(m) => serde_json::to_string(m),
            Self::Webhook(m) => serde_json::to_string(m),
        }
    }

    /// Reads a stored payload back as the message its kind says it is.
    pub fn from_json(kind: OutboxKind, payload: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            OutboxKind::ResetRequest => Self::ResetRequest(serde_json::from_str(payload)?),
            OutboxKind::Email => Self::Email(serde_json::from_str(payload)?),
            OutboxKind::Webhook => Self::Webhook(serde_json::from_str(payload)?),
        })
    }

    /// The user a row's payload is a reset email to; None for any other row
    /// (another kind, another template). A payload that cannot be read is an
    /// error: the row may well be an emailed reset, so None would be a guess.
    pub fn reset_email_user(
        kind: OutboxKind,
        payload: &str,
    ) -> Result<Option<UserId>, serde_json::Error> {
        if kind != OutboxKind::Email {
            return Ok(None);
        }
        let email: Email = serde_json::from_str(payload)?;
        Ok((email.template == EmailTemplate::Reset).then_some(email.user_id))
    }
}

/// A message ready to be written: its id, when it gives up.
#[derive(Debug)]
pub struct Outgoing {
    pub id: OutboxId,
    pub message: OutboxMessage,
    /// A reset email stops being worth sending when its link expires.
    pub give_up_at: Option<chrono::NaiveDateTime>,
    /// The request in force when it was built (`log_context`): the row
    /// remembers it, so the worker's lines about it name that request.
    pub request_id: Option<RequestId>,
}

impl Outgoing {
    pub fn new(message: OutboxMessage) -> Self {
        Self {
            id: OutboxId::random(),
            message,
            give_up_at: None,
            request_id: log_context::current().request_id,
        }
    }

    pub fn giving_up_at(mut self, at: chrono::NaiveDateTime) -> Self {
        self.give_up_at = Some(at);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_statuses_and_events_round_trip_through_their_text() {
        for kind in OutboxKind::ALL {
            assert_eq!(OutboxKind::parse(kind.as_str()), Some(*kind));
        }
        for status in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(
            WebhookEvent::parse("password.reset.completed"),
            Some(WebhookEvent::ResetCompleted)
        );
        assert_eq!(OutboxStatus::parse("lost"), None);
    }

    #[test]
    fn a_scrubbed_email_keeps_no_token() {
        let email = Email {
            template: EmailTemplate::Reset,
            to: "a@example.test".into(),
            user_id: UserId::from_trusted("u-1".into()),
            locale: None,
            link: Some(LinkToken {
                token_id: TokenId::random(),
                sealed_token: SealedToken {
                    kid: "k".into(),
                    sealed: "secret-bytes".into(),
                },
                sealed_code: None,
                return_to: None,
            }),
        };
        let full = OutboxMessage::Email(email);
        let json = full.to_json().unwrap();
        assert!(json.contains("secret-bytes") && json.contains("token_id"));
        let OutboxMessage::Email(email) =
            OutboxMessage::from_json(OutboxKind::Email, &json).unwrap()
        else {
            panic!("an email reads back as an email");
        };
        let scrubbed = OutboxMessage::Email(email.scrubbed()).to_json().unwrap();
        assert!(!scrubbed.contains("secret-bytes") && !scrubbed.contains("token_id"));
    }
}
