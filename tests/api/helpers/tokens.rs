//! Links an attacker could hold: ones the service really signed but for a
//! reset token it never issued (what guessing looks like if the signing key
//! leaked), built from a real link with the test's own key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::Value;

/// `real` with its reset token replaced by guess number `n`, signed again
/// with `secret` (the service's key), so only the database can refuse it.
pub fn signed_guess(real: &str, secret: &str, n: u32) -> String {
    let header = jsonwebtoken::decode_header(real).unwrap();
    let payload = real.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut guess = [0u8; 32];
    guess[..4].copy_from_slice(&n.to_be_bytes());
    guess[31] = 0x5a;
    claims["rtk"] = Value::String(URL_SAFE_NO_PAD.encode(guess));
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}
