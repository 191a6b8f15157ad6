//! Reset tokens and the JWT that carries them.
//!
//! A reset token is 32 random bytes from the OS; the database keeps only its
//! SHA-256. The emailed link carries an HS256 JWT wrapping the token, so a
//! forged or damaged link is rejected by a cheap signature check before any
//! database work. A valid signature alone never suffices: the row must exist,
//! match `jti` and `sub`, and be unused and unexpired.

use std::fmt;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};

use crate::domain::{TokenHash, TokenId, UserId};

pub const TOKEN_TYPE: &str = "pwreset+jwt";
/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 5;
pub const MIN_KEY_BYTES: usize = 32;
/// Longer input is refused before any parsing (a JWT here is ~400 bytes).
pub const MAX_JWT_LEN: usize = 4096;

/// The random reset token. Debug is redacted; it exists only in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetToken([u8; 32]);

impl ResetToken {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// SHA-256, hex: the only form that is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::from_hex(hex(digest::digest(&digest::SHA256, &self.0).as_ref()))
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn decode(encoded: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetToken(<redacted>)")
    }
}

/// A named signing key. Debug shows only the `kid`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    secret: SecretSlice<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "is {len} bytes long; it must be at least {MIN_KEY_BYTES} bytes \
     (generate one with `pwreset keys generate`)"
)]
pub struct KeyTooShort {
    pub len: usize,
}

impl SigningKey {
    pub fn new(secret: &[u8]) -> Result<Self, KeyTooShort> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort { len: secret.len() });
        }
        // The kid names the key without revealing it.
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"pwreset key id",
        );
        Ok(Self {
            kid: hex(&tag.as_ref()[..8]),
            secret: SecretSlice::from(secret.to_vec()),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, self.secret.expose_secret()),
            purpose,
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid={})", self.kid)
    }
}

/// The first key signs; every key verifies (rotation).
#[derive(Clone, Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new(current: SigningKey, previous: Vec<SigningKey>) -> Self {
        let mut keys = vec![current];
        keys.extend(previous);
        Self { keys }
    }

    fn current(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The current key's `kid` and a key derived from it for `purpose`.
    pub(crate) fn derive_current(&self, purpose: &[u8]) -> (&str, [u8; 32]) {
        let key = self.current();
        (&key.kid, key.derive(purpose))
    }

    /// A key derived for `purpose` from the key named `kid`, if it is known.
    pub(crate) fn derive_with(&self, kid: &str, purpose: &[u8]) -> Option<[u8; 32]> {
        self.by_kid(kid).map(|key| key.derive(purpose))
    }

    fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub jti: String,
    pub rtk: String,
    pub iat: i64,
    pub exp: i64,
    /// Where the person goes after the reset (an allowed `return_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtn: Option<String>,
}

/// Why a JWT was refused. Only logs see this; clients get `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Malformed(String),
    WrongType,
    UnknownKey,
    BadSignatureOrClaims(String),
    Expired,
    BadRandomToken,
}

impl Rejection {
    /// The `reason` label of `pwreset_token_rejections_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::BadRandomToken => "malformed",
            Self::WrongType => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::BadSignatureOrClaims(_) => "bad_signature",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed JWT ({why})"),
            Self::WrongType => f.write_str("JWT header has the wrong alg or typ"),
            Self::UnknownKey => f.write_str("JWT signed with an unknown kid"),
            Self::BadSignatureOrClaims(why) => write!(f, "JWT rejected ({why})"),
            Self::Expired => f.write_str("JWT expired"),
            Self::BadRandomToken => f.write_str("JWT rtk is not a 32-byte token"),
        }
    }
}

/// What a verified JWT says; the row still has to be checked.
#[derive(Debug)]
pub struct VerifiedLink {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub token: ResetToken,
    /// The signed `rtn` claim: where the person goes after the reset.
    pub return_to: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TokenCodec {
    keys: KeySet,
    issuer: String,
    audience: String,
}

impl TokenCodec {
    pub fn new(keys: KeySet, issuer: String, audience: String) -> Self {
        Self {
            keys,
            issuer,
            audience,
        }
    }

    pub fn mint(
        &self,
        user_id: &UserId,
        token_id: &TokenId,
        token: &ResetToken,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        return_to: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let key = self.keys.current();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.as_str().to_owned(),
            jti: token_id.as_str().to_owned(),
            rtk: token.encode(),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            rtn: return_to.map(str::to_owned),
        };
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(key.secret.expose_secret()),
        )
    }

    /// Checks everything a JWT alone can prove: header, signature, issuer,
    /// audience, expiry (against `now`, with a small leeway) and the shape of
    /// the wrapped token.
    pub fn verify(&self, jwt: &str, now: DateTime<Utc>) -> Result<VerifiedLink, Rejection> {
        if jwt.is_empty() || jwt.len() > MAX_JWT_LEN {
            return Err(Rejection::Malformed(format!("length {}", jwt.len())));
        }
        // The parser's messages may quote the header: kept log-safe.
        let header = jsonwebtoken::decode_header(jwt)
            .map_err(|e| Rejection::Malformed(crate::log_safe::clean(&e.to_string())))?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(Rejection::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.by_kid(kid))
            .ok_or(Rejection::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<Claims>(
            jwt,
            &DecodingKey::from_secret(key.secret.expose_secret()),
            &validation,
        )
        .map_err(|e| Rejection::BadSignatureOrClaims(crate::log_safe::clean(&e.to_string())))?;
        let claims = data.claims;
        // The library checks `exp` against the system clock; the service's
        // own clock is the one the database rows are compared with.
        if claims.exp.saturating_add(LEEWAY_SECS as i64) <= now.timestamp() {
            return Err(Rejection::Expired);
        }
        let token = ResetToken::decode(&claims.rtk).ok_or(Rejection::BadRandomToken)?;
        Ok(VerifiedLink {
            user_id: UserId::from_trusted(claims.sub),
            token_id: TokenId::from_claim(claims.jti),
            token,
            return_to: claims.rtn,
        })
    }

    /// Encrypts a reset token for the outbox row that will email it, so the
    /// raw token is never stored in plaintext. Sealed with a key derived from
    /// the current signing key; `kid` says which.
    pub fn seal(&self, token: &ResetToken, token_id: &TokenId) -> Result<SealedToken, SealError> {
        self.seal_bytes(&token.0, token_id.as_str().as_bytes())
    }

    pub fn unseal(
        &self,
        sealed: &SealedToken,
        token_id: &TokenId,
    ) -> Result<ResetToken, SealError> {
        let plain = self.unseal_bytes(sealed, token_id.as_str().as_bytes())?;
        Ok(ResetToken(plain.try_into().map_err(|_| SealError)?))
    }

    /// Encrypts `plain` for the outbox, bound to `aad` (what it belongs to).
    pub(crate) fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> Result<SealedToken, SealError> {
        let key = self.keys.current();
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError)?;
        let mut in_out = plain.to_vec();
        aead_key(key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| SealError)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(SealedToken {
            kid: key.kid.clone(),
            sealed: URL_SAFE_NO_PAD.encode(sealed),
        })
    }

    pub(crate) fn unseal_bytes(
        &self,
        sealed: &SealedToken,
        aad: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let key = self.keys.by_kid(&sealed.kid).ok_or(SealError)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&sealed.sealed)
            .map_err(|_| SealError)?;
        if bytes.len() <= NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut in_out = ciphertext.to_vec();
        let plain = aead_key(key)?
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| SealError)?;
        Ok(plain.to_vec())
    }

    /// The signing keys, for what is derived from them (the codes' HMAC).
    pub(crate) fn keys(&self) -> &KeySet {
        &self.keys
    }
}

fn aead_key(key: &SigningKey) -> Result<LessSafeKey, SealError> {
    let derived = key.derive(b"pwreset outbox token seal v1");
    Ok(LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &derived).map_err(|_| SealError)?,
    ))
}

/// A reset token encrypted for the outbox.
#[derive(Clone, Serialize, Deserialize)]
pub struct SealedToken {
    pub kid: String,
    pub sealed: String,
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedToken(kid={})", self.kid)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the sealed reset token cannot be opened (its key is gone or the data is damaged)")]
pub struct SealError;

/// A new random signing key, base64url (43 characters, 32 bytes of entropy).
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> TokenCodec {
        let key = SigningKey::new(&[7u8; 32]).unwrap();
        TokenCodec::new(KeySet::new(key, vec![]), "iss".into(), "aud".into())
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(
            SigningKey::new(&[1u8; 31]).is_err_and(|e| e.to_string().contains("at least 32 bytes"))
        );
    }

    #[test]
    fn a_minted_link_verifies_and_carries_the_token() {
        let codec = codec();
        let token = ResetToken::generate().unwrap();
        let now = Utc::now();
        let (user, id) = (UserId::from_trusted("u1".into()), TokenId::random());
        let jwt = codec
            .mint(
                &user,
                &id,
                &token,
                now,
                now + chrono::Duration::hours(1),
                None,
            )
            .unwrap();
        let link = codec.verify(&jwt, now).unwrap();
        assert_eq!((link.user_id, link.token_id), (user.clone(), id.clone()));
        assert_eq!(link.token, token);
        assert_eq!(link.return_to, None);
        let back = "https://app.example.test/after";
        let jwt_back = codec
            .mint(
                &user,
                &id,
                &token,
                now,
                now + chrono::Duration::hours(1),
                Some(back),
            )
            .unwrap();
        assert_eq!(
            codec.verify(&jwt_back, now).unwrap().return_to.as_deref(),
            Some(back)
        );
        assert_eq!(
            codec.verify(&jwt, now + chrono::Duration::hours(2)).err(),
            Some(Rejection::Expired)
        );
    }

    #[test]
    fn sealed_tokens_open_only_for_their_row() {
        let codec = codec();
        let token = ResetToken::generate().unwrap();
        let (row_1, row_2) = (TokenId::random(), TokenId::random());
        let sealed = codec.seal(&token, &row_1).unwrap();
        assert!(!sealed.sealed.contains(&token.encode()));
        assert_eq!(codec.unseal(&sealed, &row_1).unwrap(), token);
        assert!(codec.unseal(&sealed, &row_2).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let token = ResetToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(&token.encode()));
        let key = SigningKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        assert!(!format!("{key:?}").contains("0123456789abcdef"));
    }
}
