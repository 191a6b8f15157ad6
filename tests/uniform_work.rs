//! forgot-password does the same storage work for an existing, an unknown
//! and a disabled address: the same SQL statements, in the same order, on
//! the request path. Every statement the service sends is recorded through
//! diesel's instrumentation, which is global to the process: that is why this
//! test has a test binary of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unused_imports)]
#[path = "api/helpers/mod.rs"]
mod helpers;

use std::sync::Mutex;

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use helpers::*;

static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            // The SQL only: bound values (the address, ids, times) differ by design.
            let text = query.to_string();
            let sql = text
                .split(" -- binds: ")
                .next()
                .unwrap_or_default()
                .to_owned();
            STATEMENTS.lock().unwrap().push(sql);
        }
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_runs_the_same_statements_whatever_the_account() {
    set_default_instrumentation(recorder).unwrap();
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
    })
    .await;
    app.add_user("u-1", "exists@example.com", None).await;
    app.add_disabled_user("u-2", "disabled@example.com").await;

    let mut runs = Vec::new();
    for email in [
        "exists@example.com",
        "nobody@example.com",
        "disabled@example.com",
    ] {
        STATEMENTS.lock().unwrap().clear();
        assert_eq!(app.forgot(email).await.status(), 202);
        runs.push(std::mem::take(&mut *STATEMENTS.lock().unwrap()));
    }
    assert!(!runs[0].is_empty(), "statements were recorded");
    assert!(
        runs[0]
            .iter()
            .any(|s| s.contains("INSERT INTO") && s.contains("outbox")),
        "{:?}",
        runs[0]
    );
    assert!(
        runs[0].iter().all(|s| !s.contains("users")),
        "no account lookup on the request path: {:?}",
        runs[0]
    );
    assert_eq!(runs[0], runs[1], "existing and unknown");
    assert_eq!(runs[0], runs[2], "existing and disabled");

    // The worker, off the request path, is where accounts are looked up.
    STATEMENTS.lock().unwrap().clear();
    app.deliver().await;
    assert!(
        STATEMENTS
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.contains("users"))
    );
}
