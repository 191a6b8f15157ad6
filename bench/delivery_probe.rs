//! bench/run's delivery figures, in one process so that no curl start-up
//! is measured:
//!
//! - `fake PORT LATENCY_MS ARRIVALS`: an email API that answers every POST
//!   after LATENCY_MS (keep-alive, like a provider), appending each
//!   request's arrival time (Unix seconds) to ARRIVALS as it comes in;
//! - `burst SERVICE N`: N forgot-password requests, 32 at a time, for
//!   `imp-1@example.com` .. `imp-N@example.com`; prints the time of the
//!   first 202;
//! - `lone SERVICE N ARRIVALS`: N forgot-password requests one after the
//!   other, each waiting for its email to reach the fake; prints, one a
//!   line, how long after its 202 each one arrived (seconds).
//!
//! `cargo run --release --example delivery_probe -- fake 18090 100 /tmp/arrivals`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: delivery_probe fake PORT LATENCY_MS ARRIVALS | burst SERVICE N | lone SERVICE N ARRIVALS";
    match args.first().map(String::as_str) {
        Some("fake") => {
            let port: u16 = args[1].parse().expect(usage);
            let latency = Duration::from_millis(args[2].parse().expect(usage));
            fake(port, latency, &args[3]).await;
        }
        Some("burst") => burst(&args[1], args[2].parse().expect(usage)).await,
        Some("lone") => lone(&args[1], args[2].parse().expect(usage), &args[3]).await,
        _ => panic!("{usage}"),
    }
}

async fn fake(port: u16, latency: Duration, arrivals: &str) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let file = Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(arrivals)
            .unwrap(),
    ));
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let file = file.clone();
        tokio::spawn(async move {
            let mut stream = BufReader::new(stream);
            loop {
                let mut length = 0usize;
                let mut line = String::new();
                // One request: its headers, then its body.
                loop {
                    line.clear();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if stream.read_exact(&mut body).await.is_err() {
                    return;
                }
                writeln!(file.lock().unwrap(), "{:.6}", unix_now()).unwrap();
                tokio::time::sleep(latency).await;
                let answer = r#"{"id":"fake"}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn forgot(client: &reqwest::Client, service: &str, i: usize) {
    let answer = client
        .post(format!("{service}/api/auth/forgot-password/"))
        .json(&serde_json::json!({ "email": format!("imp-{i}@example.com") }))
        .send()
        .await
        .expect("the service answers");
    assert_eq!(answer.status(), 202, "forgot-password for imp-{i}");
}

async fn burst(service: &str, n: usize) {
    let client = reqwest::Client::new();
    let first = Arc::new(std::sync::Mutex::new(None::<f64>));
    futures_util::stream::iter(1..=n)
        .map(|i| {
            let (client, first) = (&client, first.clone());
            async move {
                forgot(client, service, i).await;
                let at = unix_now();
                let mut first = first.lock().unwrap();
                *first = Some(first.map_or(at, |f| f.min(at)));
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    println!("{:.6}", first.lock().unwrap().expect("a first 202"));
}

async fn lone(service: &str, n: usize, arrivals: &str) {
    let client = reqwest::Client::new();
    let count = || {
        std::fs::read_to_string(arrivals)
            .unwrap_or_default()
            .lines()
            .count()
    };
    for i in 1..=n {
        let before = count();
        forgot(&client, service, i).await;
        let answered = unix_now();
        let deadline = answered + 10.0;
        let arrived = loop {
            let text = std::fs::read_to_string(arrivals).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() > before {
                break lines[before].parse::<f64>().unwrap();
            }
            assert!(unix_now() < deadline, "the email for imp-{i} never arrived");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        println!("{:.6}", (arrived - answered).max(0.0));
    }
}
