//! The test harness: a fresh database per test (SQLite file or Postgres
//! database, dropped afterwards), the app on port 0 with the file mailer in a
//! temporary folder, and helpers that act as the user and read their mailbox.
//!
//! Backend: `PWRESET_TEST_BACKEND=sqlite` (default) or `postgres`, with
//! `PWRESET_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once, OnceLock};

use pwreset::clock::Clock;
use pwreset::config::Settings;
use pwreset::outbox::OutboxWorker;
use pwreset::startup::{AppState, Application};
use pwreset::storage::users::{NewUser, User};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const STRONG_PASSWORD: &str = "violet-kettle-jumps-47-far";
pub const OTHER_STRONG_PASSWORD: &str = "quiet Harbor lantern 93 drifts";
pub const FRONTEND_URL: &str = "https://app.example.test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("PWRESET_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("PWRESET_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("PWRESET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

// ---------- logs ----------

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line the service wrote in this test process, at debug level.
pub fn captured_logs() -> String {
    init_logging();
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let buffer = LOGS
            .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
            .clone();
        env_logger::Builder::new()
            .parse_filters("debug,tokio_postgres=info,rustls=info,hyper=info,reqwest=info")
            .target(env_logger::Target::Pipe(Box::new(SharedLog(buffer))))
            .init();
    });
}

// ---------- databases ----------

pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn new() -> Arc<Self> {
        init_logging();
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Arc::new(Self {
                    url,
                    backend: Backend::Sqlite,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let name = format!("pwreset_test_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .expect("Postgres must answer at PWRESET_TEST_POSTGRES_URL");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let url = replace_database(&admin, &name);
                Arc::new(Self {
                    url,
                    backend: Backend::Postgres,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Runs raw SQL against the test database, as an operator would.
    pub async fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Postgres => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client.batch_execute(sql).await.unwrap();
            }
            Backend::Sqlite => {
                use diesel::Connection;
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                    diesel::connection::SimpleConnection::batch_execute(&mut conn, &sql).unwrap();
                })
                .await
                .unwrap();
            }
        }
    }

    pub fn drop_postgres_database_now(&self) {
        if let Some(name) = &self.pg_name {
            drop_postgres_database(name);
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            drop_postgres_database(name);
        }
    }
}

fn drop_postgres_database(name: &str) {
    let name = name.to_owned();
    // Drop may run inside a runtime: use a thread with its own.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        });
    })
    .join()
    .unwrap();
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

// ---------- the app ----------

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub worker: OutboxWorker,
    pub state: actix_web::web::Data<AppState>,
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
        // Limits are tested on their own (limits.rs); elsewhere they would
        // only get in the way of tests that make many requests.
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
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
    let secret = test_secret();
    let mut env = base_env(&db, mail_tmp.path(), &secret);
    customize(&mut env);
    let jwt_secret = env["JWT_SECRET"].clone();
    let mut settings = Settings::from_map(&env).expect("test settings must be valid");
    // Tests hash with the cheapest cost; production enforces 10..=15.
    settings.bcrypt_cost = 4;
    // Tests drive the worker by hand, so deliveries happen exactly when asked.
    settings.run_outbox_worker = false;
    let clock = Clock::system();
    let app = Application::build(settings, clock.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let worker = app.worker();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        worker,
        state,
        clock,
        jwt_secret,
        mail_dir: mail_tmp.path().to_owned(),
        db,
        _mail_tmp: mail_tmp,
    }
}

pub struct SentEmail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentEmail {
    /// The JWT from the reset link in the text body.
    pub fn reset_token(&self) -> String {
        let link = self.reset_link();
        link.split_once("token=")
            .map(|(_, t)| t.to_owned())
            .expect("link has a token")
    }

    pub fn reset_link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("token="))
            .expect("reset email has a link")
            .to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
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

    /// Every email the file mailer wrote, in no particular order.
    pub fn emails(&self) -> Vec<SentEmail> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                SentEmail {
                    id: s("id"),
                    to: s("to"),
                    subject: s("subject"),
                    text: s("text"),
                    html: s("html"),
                }
            })
            .collect()
    }

    pub fn reset_emails_to(&self, to: &str) -> Vec<SentEmail> {
        self.emails()
            .into_iter()
            .filter(|e| e.to == to && e.subject.starts_with("Reset your"))
            .collect()
    }

    /// Asks for a link as the user would and returns the JWT from the email.
    pub async fn request_link(&self, email: &str) -> String {
        let before: Vec<String> = self
            .reset_emails_to(email)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(self.forgot(email).await.status(), StatusCode::ACCEPTED);
        self.deliver().await;
        let mut fresh: Vec<SentEmail> = self
            .reset_emails_to(email)
            .into_iter()
            .filter(|e| !before.contains(&e.id))
            .collect();
        assert_eq!(fresh.len(), 1, "exactly one new reset email for {email}");
        fresh.remove(0).reset_token()
    }

    pub async fn add_user(&self, id: &str, email: &str, password: Option<&str>) {
        let hash = password.map(|p| bcrypt::hash(p, 4).unwrap());
        let now = self.clock.now_naive();
        self.state
            .repo
            .insert_user(&NewUser {
                id,
                email,
                password_hash: hash.as_deref(),
                disabled: false,
                password_changed_at: None,
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
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

    pub async fn add_disabled_user(&self, id: &str, email: &str) {
        self.add_user(id, email, None).await;
        assert!(
            self.state
                .repo
                .disable_user(id, self.clock.now_naive())
                .await
                .unwrap()
        );
    }

    /// Whether the user's stored hash is the hash of `password`.
    pub async fn password_is(&self, id: &str, password: &str) -> bool {
        let hash = self
            .user(id)
            .await
            .password_hash
            .expect("the user has a password");
        bcrypt::verify(password, &hash).unwrap()
    }

    pub async fn user(&self, id: &str) -> User {
        self.state
            .repo
            .find_user_by_id(id)
            .await
            .unwrap()
            .expect("user exists")
    }

    pub async fn outbox_len(&self) -> usize {
        self.state.repo.list_outbox(10_000).await.unwrap().len()
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

// ---------- email providers ----------

/// An app whose mailer is `provider`, pointed at a local fake of its API.
pub async fn spawn_app_with_provider(
    provider: &str,
    server: &wiremock::MockServer,
    extra: &[(&str, &str)],
) -> TestApp {
    let provider = provider.to_owned();
    let uri = server.uri();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    spawn_app_with(move |env| {
        env.insert("MAIL_PROVIDER".into(), provider.clone());
        env.insert("MAIL_API_KEY".into(), "test-api-key".into());
        env.insert("MAILGUN_DOMAIN".into(), "mg.example.test".into());
        env.insert(
            "MAIL_API_BASE_URL".into(),
            if provider == "http" {
                format!("{uri}/send")
            } else {
                uri
            },
        );
        env.insert("DEFAULT_FROM_EMAIL".into(), "no-reply@example.test".into());
        for (k, v) in extra {
            env.insert(k, v);
        }
    })
    .await
}

impl TestApp {
    /// The email rows of the outbox, oldest first.
    pub async fn email_rows(&self) -> Vec<pwreset::storage::outbox::OutboxRow> {
        let mut rows: Vec<_> = self
            .state
            .repo
            .list_outbox(10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "email")
            .collect();
        rows.sort_by_key(|r| r.created_at);
        rows
    }
}

/// The reset link's JWT inside a text body.
pub fn token_in(text: &str) -> String {
    let link = text
        .split_whitespace()
        .find(|w| w.contains("token="))
        .expect("a reset link in the message");
    link.split_once("token=")
        .unwrap()
        .1
        .trim_end_matches(['"', '<', '\\'])
        .to_owned()
}

// ---------- backend services ----------

pub const BILLING_KEY: &str = "billing-key-0123456789abcdefXYZ";
pub const SUPPORT_KEY: &str = "support-key-abcdefghijklmnopQRS";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn with_services(env: &mut HashMap<String, String>) {
    env.insert(
        "SERVICE_API_KEYS".into(),
        format!("billing:{BILLING_KEY},support:{SUPPORT_KEY}"),
    );
}

impl TestApp {
    /// A call to the internal API as the `billing` service.
    pub fn internal(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(BILLING_KEY)
    }

    pub async fn put_user(&self, id: &str, body: Value) -> Response {
        self.internal(reqwest::Method::PUT, &format!("/internal/v1/users/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn service_reset(&self, body: Value) -> Response {
        self.internal(reqwest::Method::POST, "/internal/v1/reset-requests")
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// `server` answers `failure` to the first `times` requests, then `then`.
pub async fn mount_failures_then(
    server: &wiremock::MockServer,
    failure: wiremock::ResponseTemplate,
    times: u64,
    then: wiremock::ResponseTemplate,
) {
    use wiremock::matchers::method;
    wiremock::Mock::given(method("POST"))
        .respond_with(failure)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    wiremock::Mock::given(method("POST"))
        .respond_with(then)
        .mount(server)
        .await;
}
