//! Identifiers and hashes as types, stored and read by diesel directly, so a
//! user id can never be passed where a token id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stores a type as TEXT on both backends through a pair of conversions
/// (`to`: the text; `from`: parse the text back, or say why not).
macro_rules! text_sql {
    ($name:ident, $to:expr, $from:expr) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                let to: fn(&$name) -> &str = $to;
                to(self).to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let from: fn(String) -> Result<$name, String> = $from;
                Ok(from(String::from_sql(bytes)?)?)
            }
        }
    };
}
pub(crate) use text_sql;

/// A newtype over `String` stored as TEXT on both backends.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// The log form: escaped and cut like every request-derived value
        /// (`as_str` is the value itself).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&$crate::log_safe::clean(&self.0))
            }
        }

        $crate::domain::ids::text_sql!($name, |v: &$name| v.0.as_str(), |raw: String| Ok::<_, String>($name(raw)));
    };
}

text_id!(
    /// The caller's id for a user (1 to 255 bytes, no control or format
    /// characters).
    UserId
);
text_id!(
    /// A reset token row's id (a UUID); the JWT's `jti`.
    TokenId
);
text_id!(
    /// SHA-256 of a reset token, hex: the only form of a token that is stored.
    TokenHash
);
text_id!(
    /// An outbox row's id (a UUID); also the idempotency key sent to providers.
    OutboxId
);

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({})", self.0)
    }
}

impl fmt::Debug for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OutboxId({})", self.0)
    }
}

/// A hash is not a secret, but it is what a stolen database would be matched
/// against: Debug shows only its start.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", self.0.get(..8).unwrap_or_default())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("A user id is 1 to 255 printable characters.")]
pub struct InvalidUserId;

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, InvalidUserId> {
        if raw.trim().is_empty() || raw.len() > 255 || raw.chars().any(crate::log_safe::is_hidden) {
            return Err(InvalidUserId);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh random id, for users added without one.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl TokenId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The `jti` of a JWT whose signature was verified: trusted to be ours,
    /// still to be matched against the row.
    pub fn from_claim(jti: String) -> Self {
        Self(jti)
    }
}

impl TokenHash {
    /// Only `tokens::ResetToken::hash` makes these.
    pub(crate) fn from_hex(hex: String) -> Self {
        Self(hex)
    }
}

impl OutboxId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// An id a service sent back (`GET /internal/v1/reset-requests/{id}`):
    /// only a UUID can name a row.
    pub fn parse(raw: &str) -> Option<Self> {
        uuid::Uuid::parse_str(raw)
            .ok()
            .map(|id| Self(id.hyphenated().to_string()))
    }

    /// An id an operator typed (`pwreset outbox retry ID`); unknown ids simply match nothing.
    pub fn from_operator(raw: &str) -> Self {
        Self(raw.trim().to_owned())
    }
}

impl UserId {
    /// The `sub` of a verified JWT, or an id read back from an outbox payload.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_printable_and_bounded() {
        assert!(UserId::parse("ext-42").is_ok());
        for bad in ["", "   ", "a\nb", &"x".repeat(256)] {
            assert_eq!(UserId::parse(bad), Err(InvalidUserId), "{bad:?}");
        }
    }
}
