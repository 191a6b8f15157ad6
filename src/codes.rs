//! One-time codes: the digits beside every emailed link, for a person who
//! asked on one device and reads the email on another. A code is the same
//! token as its link (using either consumes both). Only its HMAC is stored,
//! under a key derived from the signing key and bound to its token row, so
//! a leaked database gives no code; the email's copy is sealed like the
//! token.

use std::fmt;

use aws_lc_rs::hmac;

use crate::domain::TokenId;
use crate::tokens::{SealError, SealedToken, TokenCodec};

/// Allowed lengths of a code (`RESET_CODE_LENGTH`).
pub const CODE_LENGTHS: std::ops::RangeInclusive<usize> = 6..=10;

const HMAC_PURPOSE: &[u8] = b"pwreset reset code hmac v1";
const SEAL_AAD_PREFIX: &str = "pwreset reset code:";

/// A code's digits. Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetCode(String);

impl ResetCode {
    /// `len` digits from the OS CSPRNG, each uniform (bytes past 249 are
    /// drawn again, so no digit is likelier than another).
    pub fn generate(len: usize) -> Result<Self, getrandom::Error> {
        let mut digits = String::with_capacity(len);
        while digits.len() < len {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)?;
            for b in bytes.into_iter().filter(|b| *b < 250) {
                if digits.len() < len {
                    digits.push(char::from(b'0' + b % 10));
                }
            }
        }
        Ok(Self(digits))
    }

    /// What a person typed, without the spaces and dashes they may have
    /// kept from the email; None unless only digits of an allowed length.
    pub fn parse(typed: &str) -> Option<Self> {
        let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (CODE_LENGTHS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Self(digits))
    }

    /// In two groups, as the email shows it: `1234 5678`.
    pub fn grouped(&self) -> String {
        let (head, tail) = self.0.split_at(self.0.len().div_ceil(2));
        format!("{head} {tail}")
    }

    /// The stored form: `kid:hex(HMAC(key, token id, code))`.
    pub fn tag(&self, codec: &TokenCodec, token_id: &TokenId) -> String {
        let (kid, key) = codec.keys().derive_current(HMAC_PURPOSE);
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &key),
            &self.message(token_id),
        );
        format!("{kid}:{}", hex(tag.as_ref()))
    }

    /// Whether `stored` (a `tag`) is this code's for that token row;
    /// compared in constant time.
    pub fn matches(&self, codec: &TokenCodec, token_id: &TokenId, stored: &str) -> bool {
        let Some((kid, tag)) = stored.split_once(':') else {
            return false;
        };
        let (Some(key), Some(tag)) = (codec.keys().derive_with(kid, HMAC_PURPOSE), unhex(tag))
        else {
            return false;
        };
        hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA256, &key),
            &self.message(token_id),
            &tag,
        )
        .is_ok()
    }

    /// Encrypted for the outbox row of the email that shows it.
    pub fn seal(&self, codec: &TokenCodec, token_id: &TokenId) -> Result<SealedToken, SealError> {
        codec.seal_bytes(self.0.as_bytes(), &seal_aad(token_id))
    }

    pub fn unseal(
        codec: &TokenCodec,
        sealed: &SealedToken,
        token_id: &TokenId,
    ) -> Result<Self, SealError> {
        let plain = codec.unseal_bytes(sealed, &seal_aad(token_id))?;
        String::from_utf8(plain)
            .ok()
            .and_then(|digits| Self::parse(&digits))
            .ok_or(SealError)
    }

    fn message(&self, token_id: &TokenId) -> Vec<u8> {
        format!("{}:{}", token_id.as_str(), self.0).into_bytes()
    }
}

impl fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetCode(<redacted>)")
    }
}

fn seal_aad(token_id: &TokenId) -> Vec<u8> {
    format!("{SEAL_AAD_PREFIX}{}", token_id.as_str()).into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{KeySet, SigningKey};

    fn codec_with(secret: &[u8]) -> TokenCodec {
        TokenCodec::new(
            KeySet::new(SigningKey::new(secret).unwrap(), vec![]),
            "iss".into(),
            "aud".into(),
        )
    }

    #[test]
    fn codes_are_digits_of_the_length_asked_and_read_back_as_typed() {
        for len in CODE_LENGTHS {
            let code = ResetCode::generate(len).unwrap();
            assert_eq!(code.0.len(), len);
            assert!(code.0.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(ResetCode::parse(&code.grouped()), Some(code.clone()));
        }
        let code = ResetCode::parse("1234-5678").unwrap();
        assert_eq!(code.grouped(), "1234 5678");
        assert_eq!(ResetCode::parse(" 12 34 56 ").unwrap().grouped(), "123 456");
        for bad in ["12345", "12345678901", "1234 567a", "１２３４５６７８", ""] {
            assert_eq!(ResetCode::parse(bad), None, "{bad}");
        }
        assert!(!format!("{code:?}").contains("1234"));
    }

    #[test]
    fn a_tag_matches_only_its_code_its_row_and_its_key() {
        let codec = codec_with(b"0123456789abcdef0123456789abcdef");
        let (row, other_row) = (TokenId::random(), TokenId::random());
        let code = ResetCode::parse("12345678").unwrap();
        let tag = code.tag(&codec, &row);
        assert!(!tag.contains("12345678"));
        assert!(code.matches(&codec, &row, &tag));
        assert!(!code.matches(&codec, &other_row, &tag));
        assert!(
            !ResetCode::parse("12345679")
                .unwrap()
                .matches(&codec, &row, &tag)
        );
        let other_key = codec_with(b"fedcba9876543210fedcba9876543210");
        assert!(!code.matches(&other_key, &row, &tag));
        assert!(!code.matches(&codec, &row, "nonsense"));

        let sealed = code.seal(&codec, &row).unwrap();
        assert_eq!(ResetCode::unseal(&codec, &sealed, &row).unwrap(), code);
        assert!(ResetCode::unseal(&codec, &sealed, &other_row).is_err());
    }
}
