use std::sync::Arc;

use crate::helpers::*;

fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_signed_with_a_previous_key_keep_working_after_rotation() {
    let db = TestDatabase::new().await;
    let mail = Arc::new(tempfile::tempdir().unwrap());
    let old_key = test_secret();
    let new_key = test_secret();

    let before = {
        let k = old_key.clone();
        spawn_app_on(db.clone(), mail.clone(), move |env| {
            env.insert("JWT_SECRET".into(), k);
        })
        .await
    };
    before.add_user("u-1", "rotate@example.com", None).await;
    let old_link = before.request_link("rotate@example.com").await;
    let old_link_2 = before.request_link("rotate@example.com").await;
    // A reset email still queued when the keys rotate is sent after it.
    assert_eq!(before.forgot("rotate@example.com").await.status(), 202);
    assert_eq!(before.worker.run_once().await.unwrap(), 1);

    let (n, o) = (new_key.clone(), old_key.clone());
    let after = spawn_app_on(db.clone(), mail.clone(), move |env| {
        env.insert("JWT_SECRET".into(), n);
        env.insert("JWT_PREVIOUS_SECRETS".into(), o);
    })
    .await;
    after.deliver().await;
    assert_eq!(
        after.reset_emails_to("rotate@example.com").len(),
        3,
        "the queued email went out"
    );
    let new_link = after.request_link("rotate@example.com").await;
    assert_ne!(kid_of(&new_link), kid_of(&old_link), "the new key signs");
    assert_eq!(
        after.validate(&old_link).await.status(),
        200,
        "the previous key still verifies"
    );

    // Once the old key is retired, its links die.
    let n = new_key.clone();
    let retired = spawn_app_on(db.clone(), mail.clone(), move |env| {
        env.insert("JWT_SECRET".into(), n);
    })
    .await;
    assert_problem(retired.validate(&old_link_2).await, 400, "invalid_token").await;
    assert_eq!(retired.validate(&new_link).await.status(), 200);

    assert_eq!(after.reset(&old_link, STRONG_PASSWORD).await.status(), 200);
}
