//! An attacker's attempts with links they did not receive, or damaged ones.
//! Every one gets the same 400 `invalid_token`, and the real link survives.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn sign(
    alg: Algorithm,
    typ: Option<&str>,
    kid: Option<&str>,
    claims: &Value,
    secret: &[u8],
) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn with(claims: &Value, key: &str, value: Value) -> Value {
    let mut c = claims.clone();
    c[key] = value;
    c
}

fn without(claims: &Value, key: &str) -> Value {
    let mut c = claims.clone();
    c.as_object_mut().unwrap().remove(key);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_damaged_links_are_all_refused_the_same_way() {
    let app = spawn_app().await;
    app.add_user("victim", "victim@example.com", None).await;
    app.add_user("attacker", "attacker@example.com", None).await;
    let real = app.request_link("victim@example.com").await;
    let attackers_own = app.request_link("attacker@example.com").await;

    let secret = app.jwt_secret.as_bytes();
    let header = header_of(&real);
    assert_eq!(header["typ"], "pwreset+jwt");
    assert_eq!(header["alg"], "HS256");
    let kid = header["kid"].as_str().unwrap().to_owned();
    let kid = Some(kid.as_str());
    let typ = Some("pwreset+jwt");
    let claims = claims_of(&real);
    for required in ["iss", "aud", "sub", "jti", "rtk", "iat", "exp"] {
        assert!(claims.get(required).is_some(), "claim {required} present");
    }
    let now = chrono::Utc::now().timestamp();
    let other_key = test_secret();
    let mut tampered = real.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let fresh_rtk = URL_SAFE_NO_PAD.encode([9u8; 32]);

    let forgeries: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "typ": "pwreset+jwt", "kid": kid}),
                &claims,
            ),
        ),
        ("HS512", sign(Algorithm::HS512, typ, kid, &claims, secret)),
        (
            "typ JWT",
            sign(Algorithm::HS256, Some("JWT"), kid, &claims, secret),
        ),
        ("no typ", sign(Algorithm::HS256, None, kid, &claims, secret)),
        ("no kid", sign(Algorithm::HS256, typ, None, &claims, secret)),
        (
            "missing iss",
            sign(Algorithm::HS256, typ, kid, &without(&claims, "iss"), secret),
        ),
        (
            "wrong iss",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "iss", json!("evil")),
                secret,
            ),
        ),
        (
            "missing aud",
            sign(Algorithm::HS256, typ, kid, &without(&claims, "aud"), secret),
        ),
        (
            "wrong aud",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "aud", json!("other")),
                secret,
            ),
        ),
        (
            "missing sub",
            sign(Algorithm::HS256, typ, kid, &without(&claims, "sub"), secret),
        ),
        (
            "missing exp",
            sign(Algorithm::HS256, typ, kid, &without(&claims, "exp"), secret),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "exp", json!(now - 60)),
                secret,
            ),
        ),
        (
            "exp as a string",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "exp", json!((now + 3600).to_string())),
                secret,
            ),
        ),
        (
            "sub swapped",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "sub", json!("attacker")),
                secret,
            ),
        ),
        (
            "jti swapped",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "jti", claims_of(&attackers_own)["jti"].clone()),
                secret,
            ),
        ),
        (
            "rtk swapped",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "rtk", json!(fresh_rtk)),
                secret,
            ),
        ),
        (
            "rtk of another user under victim's sub",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "rtk", claims_of(&attackers_own)["rtk"].clone()),
                secret,
            ),
        ),
        (
            "rtk not base64",
            sign(
                Algorithm::HS256,
                typ,
                kid,
                &with(&claims, "rtk", json!("!!!")),
                secret,
            ),
        ),
        (
            "another key",
            sign(Algorithm::HS256, typ, kid, &claims, other_key.as_bytes()),
        ),
        ("tampered signature", tampered),
        ("garbage", "not-a-jwt".to_owned()),
        ("three dots of garbage", "a.b.c".to_owned()),
        ("huge", "A".repeat(10_000)),
    ];
    for (name, forged) in &forgeries {
        let body = assert_problem(app.validate(forged).await, 400, "invalid_token").await;
        let reset = assert_problem(
            app.reset(forged, STRONG_PASSWORD).await,
            400,
            "invalid_token",
        )
        .await;
        assert_eq!(body, reset, "{name}: validate and reset refuse alike");
    }
    // One answer for every failure: nothing tells the attacker which check failed.
    let baseline = assert_problem(app.validate("x").await, 400, "invalid_token").await;
    for (_, forged) in &forgeries {
        let body: Value = app.validate(forged).await.json().await.unwrap();
        assert_eq!(body, baseline);
    }
    assert!(app.user("victim").await.password_hash.is_none());

    // The victim's real link still works.
    assert_eq!(
        app.reset(&real, STRONG_PASSWORD).await.status(),
        StatusCode::OK
    );
}
