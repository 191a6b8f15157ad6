//! Compares forgot-password latency for an existing and an unknown address
//! against a running server (see docs/timing.md for the full procedure).
//!
//!   cargo run --release --example forgot_timing -- URL REQUESTS EXISTING_EMAIL
//!
//! Requests alternate between the two addresses, one at a time, so both see
//! the same server state; the first 100 of each are warm-up and not counted.

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, count, existing] = args.as_slice() else {
        return Err("usage: forgot_timing URL REQUESTS EXISTING_EMAIL".into());
    };
    let count: usize = count.parse()?;
    let url = format!("{}/api/auth/forgot-password/", base.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let warmup = 100;
    let (mut known, mut unknown) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for i in 0..(count + warmup) {
        for (email, samples) in [
            (existing.clone(), &mut known),
            (format!("nobody{i}@example.com"), &mut unknown),
        ] {
            let started = Instant::now();
            let response = client
                .post(&url)
                .json(&serde_json::json!({ "email": email }))
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            if status != 202 {
                return Err(
                    format!("expected 202, got {status} (is RATE_LIMIT_ENABLED=false?)").into(),
                );
            }
            if i >= warmup {
                samples.push(started.elapsed());
            }
        }
    }
    println!(
        "{:<10} {:>8} {:>12} {:>12} {:>12}",
        "address", "requests", "median (ms)", "p99 (ms)", "mean (ms)"
    );
    for (name, samples) in [("existing", &mut known), ("unknown", &mut unknown)] {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
        let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
        println!(
            "{name:<10} {:>8} {:>12.3} {:>12.3} {:>12.3}",
            samples.len(),
            ms(samples[samples.len() / 2]),
            ms(p99),
            mean
        );
    }
    Ok(())
}
