//! Property tests: whatever arrives, the service answers without panicking
//! and without a 5xx, and a token with any character changed is refused.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pwreset::domain::{TokenId, UserId};
use pwreset::tokens::{KeySet, ResetToken, SigningKey, TokenCodec};
use serde_json::{Value, json};

use crate::helpers::*;

fn codec() -> TokenCodec {
    let key = SigningKey::new(test_secret().as_bytes()).unwrap();
    TokenCodec::new(
        KeySet::new(key, vec![]),
        "pwreset".into(),
        "pwreset-reset".into(),
    )
}

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    #[test]
    fn a_token_with_any_character_changed_is_refused(index in any::<prop::sample::Index>(), replacement in any::<char>()) {
        let codec = codec();
        let now = chrono::Utc::now();
        let token = ResetToken::generate().unwrap();
        let jwt = codec.mint(&UserId::parse("user-1").unwrap(), &TokenId::random(), &token, now, now + chrono::Duration::hours(1), None).unwrap();
        let mut chars: Vec<char> = jwt.chars().collect();
        let i = index.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let forged: String = chars.into_iter().collect();
        prop_assert!(codec.verify(&forged, now).is_err(), "accepted with char {} changed", i);
        prop_assert!(codec.verify(&jwt, now).is_ok());
    }

    #[test]
    fn verification_never_panics_on_arbitrary_input(input in ".{0,600}") {
        let _ = codec().verify(&input, chrono::Utc::now());
    }
}

const FIELDS: [&str; 10] = [
    "email",
    "token",
    "new_password",
    "confirm_password",
    "user_id",
    "delivery",
    "ttl_seconds",
    "password_hash",
    "disabled",
    "non_field_errors",
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("user@example.com")),
        Just(json!("a@b.co\r\nBcc: x@y.z")),
    ];
    let key = prop_oneof![
        prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        ".{0,12}"
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

#[test]
fn arbitrary_json_bodies_never_get_a_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(spawn_app_with(with_services));
    rt.block_on(app.add_user("u-1", "user@example.com", None));
    let targets = [
        (reqwest::Method::POST, "/api/auth/forgot-password/"),
        (reqwest::Method::POST, "/api/auth/reset-password/validate/"),
        (reqwest::Method::POST, "/api/auth/reset-password/"),
        (reqwest::Method::POST, "/internal/v1/reset-requests"),
        (reqwest::Method::PUT, "/internal/v1/users/u-1"),
        (reqwest::Method::PUT, "/internal/v1/users/new-user"),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    runner
        .run(
            &(prop::sample::select(targets.to_vec()), arbitrary_json()),
            |((method, path), body)| {
                let status = rt.block_on(async {
                    app.internal(method.clone(), path)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status()
                });
                prop_assert!(
                    status.as_u16() < 500,
                    "{} {} with {} answered {}",
                    method,
                    path,
                    body,
                    status
                );
                Ok(())
            },
        )
        .unwrap();
    // And the worker copes with whatever was accepted.
    rt.block_on(app.deliver());
    drop(app);
}
