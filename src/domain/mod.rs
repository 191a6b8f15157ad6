//! Parsed domain values: once a value of these types exists, it is valid.

pub mod account_limit;
pub mod email;
pub mod ids;
pub mod password;
pub mod return_to;

pub use account_limit::{AccountEmailLimit, owner_network, stored_owner_network};
pub use email::{EmailAddress, InvalidEmail};
pub use ids::{InvalidUserId, OutboxId, TokenHash, TokenId, UserId};
pub use password::{EntryProblem, NewPassword, PasswordPolicy, PasswordProblem};
pub use return_to::{AllowedPrefix, ReturnTo, ReturnToAllowList, ReturnToRefused};

/// Problems with a request, by field, each a message a person can act on.
pub type FieldErrors = std::collections::BTreeMap<String, Vec<String>>;

/// One problem with one field.
pub fn field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    FieldErrors::from([(field.to_owned(), vec![message.into()])])
}
