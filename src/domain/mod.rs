//! Parsed domain values: once a value of these types exists, it is valid.

pub mod email;
pub mod password;

pub use email::EmailAddress;
pub use password::{NewPassword, PasswordPolicy};
