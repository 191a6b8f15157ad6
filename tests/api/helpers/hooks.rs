//! Webhook receivers' side: the shared signing secret, and events checked
//! as a receiver would (by an independent Standard Webhooks implementation).

pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The events a receiver got, each signature verified first.
pub fn verified_events(requests: &[wiremock::Request]) -> Vec<serde_json::Value> {
    let verifier = standardwebhooks::Webhook::new(WEBHOOK_SECRET).unwrap();
    requests
        .iter()
        .map(|r| {
            verifier
                .verify(&r.body, &r.headers)
                .expect("a valid Standard Webhooks signature");
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect()
}
