//! The service on port 0, and requests as a user's browser or SPA sends them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pwreset::clock::Clock;
use pwreset::config::Settings;
use pwreset::flows::fulfil::Fulfil;
use pwreset::mailer::Mailer;
use pwreset::startup::Application;
use pwreset::storage::Repo;
use pwreset::worker::OutboxWorker;
use reqwest::Response;
use serde_json::{Value, json};

use super::db::TestDatabase;
use super::users::BILLING_KEY;
use super::{FRONTEND_URL, STRONG_PASSWORD};

pub struct TestApp {
    pub address: String,
    /// `/metrics`' own listener, with METRICS_BIND_ADDR.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub worker: OutboxWorker,
    repo: Repo,
    /// The fulfil flow, to drive its steps one by one.
    pub fulfil: Fulfil,
    pub clock: Clock,
    pub jwt_secret: String,
    pub mail_dir: PathBuf,
    pub db: Arc<TestDatabase>,
    _mail_tmp: Arc<tempfile::TempDir>,
}

pub fn test_secret() -> String {
    pwreset::tokens::generate_secret().unwrap()
}

/// The variables every test app starts from; tests override some.
pub fn base_env(
    db: &TestDatabase,
    mail_dir: &std::path::Path,
    secret: &str,
) -> HashMap<String, String> {
    [
        ("DATABASE_URL", db.url.as_str()),
        ("DATABASE_POOL_SIZE", "8"),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", secret),
        ("FRONTEND_URL", FRONTEND_URL),
        ("MAIL_PROVIDER", "file"),
        ("MAIL_FILE_DIR", mail_dir.to_str().unwrap()),
        ("HTTP_WORKERS", "1"),
        ("APP_NAME", "Acme"),
        // Test users are provisioned as the `billing` service would.
        ("SERVICE_API_KEYS", &format!("billing:{BILLING_KEY}")),
        // Limits are tested on their own (limits.rs); elsewhere they would
        // only get in the way of tests that make many requests.
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A test's override must name a variable the service reads: a misspelled
/// one would silently test the default instead.
pub fn refuse_unknown_variables(env: &HashMap<String, String>) {
    for name in env.keys() {
        assert!(
            pwreset::config::vars::ALL
                .iter()
                .any(|var| var.name == name),
            "{name} is not a variable pwreset reads (misspelled?)"
        );
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let db = TestDatabase::new().await;
    spawn_app_on(db, Arc::new(tempfile::tempdir().unwrap()), customize).await
}

/// Starts an app on an existing database and mail folder (several apps may
/// share them, like replicas or a restart with new keys).
pub async fn spawn_app_on(
    db: Arc<TestDatabase>,
    mail_tmp: Arc<tempfile::TempDir>,
    customize: impl FnOnce(&mut HashMap<String, String>),
) -> TestApp {
    spawn_custom_app(db, mail_tmp, customize, AppOptions::default()).await
}

/// What most tests leave as it is.
#[derive(Default)]
pub struct AppOptions {
    /// Run the outbox worker's own loop (most tests drive it by hand).
    pub run_worker: bool,
    /// A mailer of the test's own instead of MAIL_PROVIDER's.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// BCRYPT_COST, below the 10..=15 production allows (default 4, the cheapest).
    pub bcrypt_cost: Option<u32>,
}

pub async fn spawn_custom_app(
    db: Arc<TestDatabase>,
    mail_tmp: Arc<tempfile::TempDir>,
    customize: impl FnOnce(&mut HashMap<String, String>),
    options: AppOptions,
) -> TestApp {
    let secret = test_secret();
    let mut env = base_env(&db, mail_tmp.path(), &secret);
    customize(&mut env);
    refuse_unknown_variables(&env);
    let jwt_secret = env.get("JWT_SECRET").cloned().unwrap_or_default();
    let mut settings = Settings::from_map(&env).expect("test settings must be valid");
    // Tests hash with the cheapest cost; production enforces 10..=15.
    settings.bcrypt_cost = options.bcrypt_cost.unwrap_or(4);
    // Tests drive the worker by hand, so deliveries happen exactly when asked.
    settings.run_outbox_worker = options.run_worker;
    let clock = Clock::system();
    let app = match options.mailer {
        Some(mailer) => Application::build_with_mailer(settings, clock.clone(), mailer).await,
        None => Application::build(settings, clock.clone()).await,
    }
    .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let worker = app.worker();
    let repo = app.repo();
    let fulfil = app.fulfil();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        worker,
        repo,
        fulfil,
        clock,
        jwt_secret,
        mail_dir: mail_tmp.path().to_owned(),
        db,
        _mail_tmp: mail_tmp,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The app's own storage, for what no API shows (rows, leases).
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn forgot(&self, email: &str) -> Response {
        self.post_json("/api/auth/forgot-password/", &json!({ "email": email }))
            .await
    }

    pub async fn validate(&self, token: &str) -> Response {
        self.post_json(
            "/api/auth/reset-password/validate/",
            &json!({ "token": token }),
        )
        .await
    }

    pub async fn reset(&self, token: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/reset-password/",
            &json!({ "token": token, "new_password": password, "confirm_password": password }),
        )
        .await
    }

    /// Runs the outbox worker until nothing is due; returns rows handled.
    pub async fn deliver(&self) -> usize {
        self.worker.run_until_idle().await.unwrap()
    }

    /// The link is dead: both validate and reset refuse it as `invalid_token`.
    pub async fn assert_link_refused(&self, token: &str) {
        assert_problem(self.validate(token).await, 400, "invalid_token").await;
        assert_problem(
            self.reset(token, STRONG_PASSWORD).await,
            400,
            "invalid_token",
        )
        .await;
    }
}

/// Asserts a problem+json answer with the given status and code; returns it.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// Polls `condition` until it holds or `limit` passes (for events another
/// process or task causes; never a fixed sleep).
pub async fn wait_for<F, Fut>(limit: Duration, mut condition: F) -> Option<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return Some(());
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl TestApp {
    /// The status `/readyz` answers now.
    pub async fn ready_status(&self) -> u16 {
        self.client
            .get(self.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// What `/metrics` answers now.
    pub async fn metrics_text(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

#[test]
#[should_panic(expected = "PWNED_PASSWORD_URL is not a variable pwreset reads")]
fn a_misspelled_override_is_refused() {
    let env = HashMap::from([("PWNED_PASSWORD_URL".to_owned(), "http://x".to_owned())]);
    refuse_unknown_variables(&env);
}
