//! A client that trickles its request cannot hold a connection open: past
//! CLIENT_REQUEST_TIMEOUT_SECS it gets 408 and the connection is closed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

async fn trickle(app: &TestApp, head: &str) -> (String, Duration) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = tokio::time::Instant::now();
    // One byte every 300 ms, for as long as the server lets it.
    let dripping = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(300));
        for _ in 0..100 {
            interval.tick().await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    // The guard of the test itself; the server must end it long before.
    tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer))
        .await
        .expect("the server closed the connection")
        .unwrap();
    dripping.abort();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408_and_a_closed_connection() {
    let app = spawn_app_with(|env| {
        env.insert("CLIENT_REQUEST_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    let head = "POST /api/auth/forgot-password/ HTTP/1.1\r\nHost: pwreset\r\n\
                Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"email\":";
    let (answer, took) = trickle(&app, head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "problem+json: {answer}");
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
    assert_eq!(app.outbox_len().await, 0, "nothing was accepted");

    let head = "POST /forgot-password HTTP/1.1\r\nHost: pwreset\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nemail=";
    let (answer, took) = trickle(&app, head).await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "the hosted page too: {answer}"
    );
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_headers_are_cut_off_too() {
    let app = spawn_app_with(|env| {
        env.insert("CLIENT_REQUEST_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    let (answer, took) = trickle(
        &app,
        "POST /api/auth/forgot-password/ HTTP/1.1\r\nX-Slow: a",
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
}
