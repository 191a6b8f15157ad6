//! The bcrypt limit for the benchmark: how long one hash takes at a cost, in
//! this build. `cargo run --release --example bcrypt_cost -- 12`; with
//! `-- 12 hash PASSWORD`, a hash of PASSWORD at that cost instead (the
//! benchmark's accounts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cost: u32 = args
        .get(1)
        .map(|c| c.parse().expect("a cost from 4 to 31"))
        .unwrap_or(12);
    if args.get(2).map(String::as_str) == Some("hash") {
        let password = args.get(3).expect("a password to hash");
        println!("{}", bcrypt::hash(password, cost).unwrap());
        return;
    }
    let rounds = 8;
    bcrypt::hash("warm-up password", cost).unwrap();
    let started = Instant::now();
    for _ in 0..rounds {
        bcrypt::hash("violet-kettle-jumps-47-far", cost).unwrap();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    println!("{ms:.1}");
}
