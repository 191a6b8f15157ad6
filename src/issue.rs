//! Issuing a reset token: the same steps whether a user asked through
//! forgot-password (the worker) or a service asked through the internal API.

use chrono::{DateTime, TimeDelta, Utc};

use crate::outbox::{EmailPayload, EmailTemplate, KIND_EMAIL};
use crate::storage::outbox::NewOutboxRow;
use crate::storage::tokens::NewToken;
use crate::storage::users::User;
use crate::tokens::{ResetToken, SealError, TokenCodec};

pub struct IssuedToken {
    pub id: String,
    pub token: ResetToken,
    pub hash: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl IssuedToken {
    pub fn new(now: DateTime<Utc>, ttl: std::time::Duration) -> Result<Self, getrandom::Error> {
        let token = ResetToken::generate()?;
        // Whole seconds, so the JWT's `exp` equals the row's `expires_at`.
        let issued_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = issued_at + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::hours(1));
        Ok(Self {
            id: uuid::Uuid::new_v4().to_string(),
            hash: token.hash(),
            token,
            issued_at,
            expires_at,
        })
    }

    pub fn row<'a>(&'a self, user_id: &'a str, requested_ip: Option<&'a str>) -> NewToken<'a> {
        NewToken {
            id: &self.id,
            user_id,
            token_hash: &self.hash,
            created_at: self.issued_at.naive_utc(),
            expires_at: self.expires_at.naive_utc(),
            requested_ip,
        }
    }

    /// The JWT for the link (support tools get it directly).
    pub fn jwt(
        &self,
        codec: &TokenCodec,
        user_id: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        codec.mint(
            user_id,
            &self.id,
            &self.token,
            self.issued_at,
            self.expires_at,
        )
    }

    /// The outbox row that emails the link. The token travels sealed; the
    /// row gives up when the link expires.
    pub fn email_row(
        &self,
        codec: &TokenCodec,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<NewOutboxRow, SealError> {
        let email = EmailPayload {
            template: EmailTemplate::Reset,
            to: user.email.clone(),
            user_id: user.id.clone(),
            token_id: Some(self.id.clone()),
            sealed_token: Some(codec.seal(&self.token, &self.id)?),
        };
        Ok(NewOutboxRow::pending(
            KIND_EMAIL,
            email.to_json(),
            now.naive_utc(),
            Some(self.expires_at.naive_utc()),
        ))
    }
}

/// The "your password was changed" notice.
pub fn password_changed_row(user: &User, now: DateTime<Utc>) -> NewOutboxRow {
    let notice = EmailPayload {
        template: EmailTemplate::PasswordChanged,
        to: user.email.clone(),
        user_id: user.id.clone(),
        token_id: None,
        sealed_token: None,
    };
    NewOutboxRow::pending(KIND_EMAIL, notice.to_json(), now.naive_utc(), None)
}
