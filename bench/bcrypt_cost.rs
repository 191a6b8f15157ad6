//! The bcrypt limit for the benchmark: how long one hash takes at a cost, in
//! this build. `cargo run --release --example bcrypt_cost -- 12`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

fn main() {
    let cost: u32 = std::env::args()
        .nth(1)
        .map(|c| c.parse().expect("a cost from 4 to 31"))
        .unwrap_or(12);
    let rounds = 8;
    bcrypt::hash("warm-up password", cost).unwrap();
    let started = Instant::now();
    for _ in 0..rounds {
        bcrypt::hash("violet-kettle-jumps-47-far", cost).unwrap();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    println!("{ms:.1}");
}
