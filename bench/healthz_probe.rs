//! The benchmark's health probe, as a load balancer's would be: `GET
//! /healthz` on a new connection every INTERVAL_MS, COUNT times; prints each
//! answer's time in seconds, one a line (what curl's `time_total` printed).
//! One process for every probe: a curl process per probe cost the machine
//! about 8 ms of CPU each, 6% of two cores at 16 probes a second, taken
//! from the bcrypt work the probe runs beside.
//! `cargo run --release --example healthz_probe -- 127.0.0.1:18080 160 50`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: healthz_probe HOST:PORT COUNT INTERVAL_MS";
    let addr = args.next().expect(usage);
    let count: u32 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let interval = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).expect(usage));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    for _ in 0..count {
        let started = Instant::now();
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read");
        let elapsed = started.elapsed();
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "/healthz answered {}",
            String::from_utf8_lossy(&answer[..answer.len().min(40)])
        );
        println!("{:.6}", elapsed.as_secs_f64());
        std::thread::sleep(interval);
    }
}
