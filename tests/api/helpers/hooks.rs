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

/// The application's secret for the password handoff (its own, not the
/// webhooks').
pub const HANDOFF_SECRET: &str = "whsec_cxtltJznkVFHJpVdKbAxZqrI2QTF3bxA6leyxtGg8Xg=";

/// The password changes an application received, each signature verified
/// first with the handoff's secret.
pub fn verified_handoffs(requests: &[wiremock::Request]) -> Vec<serde_json::Value> {
    let verifier = standardwebhooks::Webhook::new(HANDOFF_SECRET).unwrap();
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

/// An application's receiver that holds each request until the test
/// answers it: a test can see that a handoff is in flight, act while it
/// is, and then decide its answer (or never answer).
pub struct GatedReceiver {
    pub url: String,
    arrived: tokio::sync::mpsc::UnboundedReceiver<HeldRequest>,
}

/// A request the receiver holds: its body, and the answer to give it.
pub struct HeldRequest {
    pub body: serde_json::Value,
    answer: tokio::sync::oneshot::Sender<u16>,
}

impl HeldRequest {
    pub fn answer(self, status: u16) {
        let _ = self.answer.send(status);
    }
}

impl GatedReceiver {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/pwreset/password", listener.local_addr().unwrap());
        let (tx, arrived) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    let (answer, decided) = tokio::sync::oneshot::channel();
                    let body = serde_json::from_slice(&body).unwrap();
                    if tx.send(HeldRequest { body, answer }).is_err() {
                        return;
                    }
                    // Never answered: the connection stays open until the
                    // test ends (the client's timeout is what is tested).
                    let Ok(status) = decided.await else {
                        std::future::pending::<()>().await;
                        return;
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.get_mut().write_all(reply.as_bytes()).await;
                });
            }
        });
        Self { url, arrived }
    }

    /// The next request to arrive.
    pub async fn next(&mut self) -> HeldRequest {
        self.arrived.recv().await.unwrap()
    }

    /// How many requests arrived that the test has not taken.
    pub fn waiting(&mut self) -> usize {
        let mut n = 0;
        while self.arrived.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}
