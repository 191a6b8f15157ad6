//! Settings, read once from the environment (and `.env`) into typed values.
//! A bad value refuses start-up with every problem listed, each naming the
//! variable and what it expects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::client_ip::TrustedProxies;
use crate::domain::EmailAddress;
use crate::storage::DatabaseUrl;
use crate::tokens::{KeySet, SigningKey};

/// Every variable the service reads. `.env.example` and docker-compose.yml
/// are checked against this list by the tests.
pub const KNOWN_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_CA_FILE",
    "BIND_ADDR",
    "HTTP_WORKERS",
    "JWT_SECRET",
    "JWT_PREVIOUS_SECRETS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "FRONTEND_URL",
    "RESET_LINK_TEMPLATE",
    "RESET_TOKEN_TTL_SECS",
    "BCRYPT_COST",
    "BCRYPT_MAX_CONCURRENCY",
    "BCRYPT_QUEUE_TIMEOUT_MS",
    "PASSWORD_MIN_LENGTH",
    "DEFAULT_FROM_EMAIL",
    "MAIL_PROVIDER",
    "MAIL_API_KEY",
    "MAIL_API_BASE_URL",
    "MAILGUN_DOMAIN",
    "MAIL_FILE_DIR",
    "MAIL_MAX_ATTEMPTS",
    "MAIL_CONNECT_TIMEOUT_SECS",
    "MAIL_TIMEOUT_SECS",
    "MAIL_TEMPLATE_DIR",
    "APP_NAME",
    "SUPPORT_CONTACT",
    "OUTBOX_POLL_INTERVAL_MS",
    "RESET_TOKEN_MAX_TTL_SECS",
    "SERVICE_API_KEYS",
    "WEBHOOK_URLS",
    "WEBHOOK_SECRET",
    "WEBHOOK_EVENTS",
    "RATE_LIMIT_ENABLED",
    "RATE_LIMIT_FORGOT_PER_IP",
    "RATE_LIMIT_FORGOT_PER_EMAIL",
    "RATE_LIMIT_EMAILS_PER_ACCOUNT",
    "RATE_LIMIT_TOKEN_FAILURES_PER_IP",
    "TRUSTED_PROXIES",
    "CORS_ALLOWED_ORIGINS",
    "RUST_LOG",
];

/// Abuse limits; every count is per hour.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// forgot-password requests per client IP.
    pub forgot_per_ip: u32,
    /// forgot-password requests per normalized email, whether or not it has an account.
    pub forgot_per_email: u32,
    /// reset emails actually sent per account (enforced by the worker, silently).
    pub emails_per_account: u32,
    /// invalid tokens per client IP before exponential backoff starts.
    pub token_failures_per_ip: u32,
}

/// Webhook events the service can send.
pub const WEBHOOK_EVENT_TYPES: [&str; 2] = ["password.reset.completed", "password.reset.requested"];

/// Shortest accepted service key.
pub const MIN_SERVICE_KEY_CHARS: usize = 24;

/// A calling service's name and key. Debug shows only the name.
#[derive(Clone)]
pub struct ServiceKey {
    pub name: String,
    pub key: String,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceKey({})", self.name)
    }
}

#[derive(Clone, Default)]
pub struct WebhookSettings {
    pub urls: Vec<String>,
    /// The decoded bytes of `whsec_<base64>`.
    pub secret: Vec<u8>,
    pub events: Vec<String>,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("urls", &self.urls)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl WebhookSettings {
    pub fn wants(&self, event: &str) -> bool {
        !self.urls.is_empty() && self.events.iter().any(|e| e == event)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProvider {
    Log,
    File,
    Postmark,
    Sendgrid,
    Mailgun,
    Resend,
    Mailpit,
    Http,
}

impl MailProvider {
    const ALL: [(&'static str, Self); 8] = [
        ("log", Self::Log),
        ("file", Self::File),
        ("postmark", Self::Postmark),
        ("sendgrid", Self::Sendgrid),
        ("mailgun", Self::Mailgun),
        ("resend", Self::Resend),
        ("mailpit", Self::Mailpit),
        ("http", Self::Http),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    fn needs_api_key(self) -> bool {
        matches!(
            self,
            Self::Postmark | Self::Sendgrid | Self::Mailgun | Self::Resend
        )
    }
}

#[derive(Clone)]
pub struct MailSettings {
    pub provider: MailProvider,
    pub api_key: Option<String>,
    /// MAIL_API_BASE_URL, without a trailing slash; None means the provider's own.
    pub api_base_url: Option<String>,
    pub mailgun_domain: Option<String>,
    pub file_dir: PathBuf,
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub template_dir: Option<PathBuf>,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_base_url", &self.api_base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub database_pool_size: usize,
    pub database_ca_file: Option<PathBuf>,
    pub bind_addr: String,
    /// `JWT_SECRET`; None means "generate one beside the SQLite file".
    pub jwt_secret: Option<String>,
    pub jwt_previous_secrets: Vec<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub frontend_url: String,
    pub reset_link_template: Option<String>,
    pub reset_token_ttl: Duration,
    /// The longest lifetime a service may ask for on `/internal/v1/reset-requests`.
    pub reset_token_max_ttl: Duration,
    pub bcrypt_cost: u32,
    pub bcrypt_max_concurrency: usize,
    pub bcrypt_queue_timeout: Duration,
    pub password_min_length: usize,
    pub default_from_email: String,
    pub mail: MailSettings,
    pub app_name: String,
    pub support_contact: Option<String>,
    pub http_workers: usize,
    pub service_keys: Vec<ServiceKey>,
    pub rate_limits: RateLimitSettings,
    pub trusted_proxies: TrustedProxies,
    pub cors_allowed_origins: Vec<String>,
    pub webhooks: WebhookSettings,
    pub outbox_poll_interval: Duration,
    /// Whether `serve` runs the outbox worker in-process (tests drive it by hand).
    pub run_outbox_worker: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database_url.backend())
            .field("bind_addr", &self.bind_addr)
            .field("frontend_url", &self.frontend_url)
            .field("mail_provider", &self.mail.provider)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Reads variables from any source (the process environment, or a map in tests).
struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A comma list; blanks and surrounding spaces dropped.
    fn list(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    fn parsed<T>(
        &mut self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        unit: &str,
    ) -> T
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.raw(name) else {
            return default;
        };
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => v,
            _ => {
                self.problems.push(format!(
                    "{name}={raw:?}: expected a whole number of {unit} from {} to {}",
                    range.start(),
                    range.end()
                ));
                default
            }
        }
    }

    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&|name| std::env::var(name).ok())
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_source(&|name| map.get(name).cloned())
    }

    fn from_source(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            get,
            problems: Vec::new(),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        let database_url =
            match DatabaseUrl::parse(&r.string("DATABASE_URL", "sqlite://pwreset.db")) {
                Ok(url) => url,
                Err(why) => {
                    r.problem(format!("DATABASE_URL: {why}"));
                    DatabaseUrl::Sqlite("pwreset.db".into())
                }
            };
        let database_pool_size = r.parsed("DATABASE_POOL_SIZE", 10usize, 1..=200, "connections");
        let database_ca_file = r.raw("DATABASE_CA_FILE").map(PathBuf::from);
        if let Some(path) = database_ca_file.as_ref().filter(|p| !p.is_file()) {
            r.problem(format!("DATABASE_CA_FILE={}: no such file", path.display()));
        }

        let bind_addr = r.string("BIND_ADDR", "127.0.0.1:8080");
        if bind_addr.parse::<std::net::SocketAddr>().is_err() {
            r.problem(format!(
                "BIND_ADDR={bind_addr:?}: expected IP:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
            ));
        }

        let jwt_secret = r.raw("JWT_SECRET");
        let jwt_previous_secrets: Vec<String> = r.list("JWT_PREVIOUS_SECRETS");
        if let Some(secret) = &jwt_secret {
            if let Err(why) = SigningKey::new(secret.as_bytes()) {
                r.problem(format!("JWT_SECRET {why}"));
            }
        } else if matches!(database_url, DatabaseUrl::Postgres(_)) {
            r.problem(
                "JWT_SECRET is required with Postgres (every replica must sign with the same key); \
                 generate one with `pwreset keys generate`"
                    .into(),
            );
        }
        for (i, secret) in jwt_previous_secrets.iter().enumerate() {
            if let Err(why) = SigningKey::new(secret.as_bytes()) {
                r.problem(format!("JWT_PREVIOUS_SECRETS entry {} {why}", i + 1));
            }
        }
        let jwt_issuer = r.string("JWT_ISSUER", "pwreset");
        let jwt_audience = r.string("JWT_AUDIENCE", "pwreset-reset");

        let frontend_url = r.string("FRONTEND_URL", "http://127.0.0.1:8080");
        if !(frontend_url.starts_with("http://") || frontend_url.starts_with("https://"))
            || frontend_url.contains(['?', '#', ' '])
        {
            r.problem(format!(
                "FRONTEND_URL={frontend_url:?}: expected an http(s) URL without query or fragment, \
                 e.g. https://app.example.com"
            ));
        }
        let frontend_url = frontend_url.trim_end_matches('/').to_owned();
        let reset_link_template = r.raw("RESET_LINK_TEMPLATE");
        let template_ok = |t: &String| {
            t.matches("{token}").count() == 1
                && (t.starts_with("http://") || t.starts_with("https://"))
        };
        if let Some(template) = reset_link_template.as_ref().filter(|t| !template_ok(t)) {
            r.problem(format!(
                "RESET_LINK_TEMPLATE={template:?}: expected an http(s) URL containing {{token}} once, \
                 e.g. https://app.example.com/reset#token={{token}}"
            ));
        }
        let ttl = r.parsed("RESET_TOKEN_TTL_SECS", 3600u64, 60..=86_400, "seconds");
        let bcrypt_cost = r.parsed("BCRYPT_COST", 12u32, 10..=15, "rounds (log2)");
        let bcrypt_max_concurrency = r.parsed(
            "BCRYPT_MAX_CONCURRENCY",
            cores,
            1..=256,
            "concurrent hashes",
        );
        let bcrypt_queue_ms = r.parsed(
            "BCRYPT_QUEUE_TIMEOUT_MS",
            2000u64,
            1..=60_000,
            "milliseconds",
        );
        let password_min_length = r.parsed("PASSWORD_MIN_LENGTH", 12usize, 8..=64, "characters");

        let default_from_email = r.string("DEFAULT_FROM_EMAIL", "pwreset@localhost");
        // `localhost` has no dot, so the development default is accepted as is.
        if default_from_email != "pwreset@localhost"
            && EmailAddress::parse(&default_from_email).is_err()
        {
            let from = &default_from_email;
            r.problem(format!(
                "DEFAULT_FROM_EMAIL={from:?}: expected a plain address like no-reply@example.com"
            ));
        }

        let provider_name = r.string("MAIL_PROVIDER", "log").to_ascii_lowercase();
        let provider = match MailProvider::ALL.iter().find(|(n, _)| *n == provider_name) {
            Some((_, p)) => *p,
            None => {
                r.problem(format!(
                    "MAIL_PROVIDER={provider_name:?}: expected one of log, file, postmark, \
                     sendgrid, mailgun, resend, mailpit, http"
                ));
                MailProvider::Log
            }
        };
        let api_key = r.raw("MAIL_API_KEY");
        if provider.needs_api_key() && api_key.is_none() {
            r.problem(format!(
                "MAIL_API_KEY is required with MAIL_PROVIDER={} (the provider's API token)",
                provider.name()
            ));
        }
        let api_base_url = r
            .raw("MAIL_API_BASE_URL")
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = api_base_url
            .as_ref()
            .filter(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            r.problem(format!(
                "MAIL_API_BASE_URL={url:?}: expected an http(s) URL"
            ));
        }
        if provider == MailProvider::Http && api_base_url.is_none() {
            r.problem(
                "MAIL_API_BASE_URL is required with MAIL_PROVIDER=http (the URL messages are POSTed to)"
                    .into(),
            );
        }
        let mailgun_domain = r.raw("MAILGUN_DOMAIN");
        if provider == MailProvider::Mailgun && mailgun_domain.is_none() {
            r.problem(
                "MAILGUN_DOMAIN is required with MAIL_PROVIDER=mailgun (e.g. mg.example.com)"
                    .into(),
            );
        }
        let template_dir = r.raw("MAIL_TEMPLATE_DIR").map(PathBuf::from);
        if let Some(dir) = template_dir.as_ref().filter(|d| !d.is_dir()) {
            r.problem(format!(
                "MAIL_TEMPLATE_DIR={}: no such folder",
                dir.display()
            ));
        }
        let mail = MailSettings {
            provider,
            api_key,
            api_base_url,
            mailgun_domain,
            file_dir: PathBuf::from(r.string("MAIL_FILE_DIR", "./outbox")),
            max_attempts: r.parsed("MAIL_MAX_ATTEMPTS", 8u32, 1..=100, "attempts"),
            connect_timeout: Duration::from_secs(r.parsed(
                "MAIL_CONNECT_TIMEOUT_SECS",
                5u64,
                1..=60,
                "seconds",
            )),
            timeout: Duration::from_secs(r.parsed("MAIL_TIMEOUT_SECS", 10u64, 1..=300, "seconds")),
            template_dir,
        };
        let app_name = r.string("APP_NAME", "pwreset");
        let support_contact = r.raw("SUPPORT_CONTACT");
        let http_workers = r.parsed("HTTP_WORKERS", cores, 1..=64, "threads");
        let poll_ms = r.parsed(
            "OUTBOX_POLL_INTERVAL_MS",
            1000u64,
            10..=60_000,
            "milliseconds",
        );

        let max_ttl = r.parsed(
            "RESET_TOKEN_MAX_TTL_SECS",
            86_400u64.max(ttl),
            60..=604_800,
            "seconds",
        );
        if max_ttl < ttl {
            r.problem(format!(
                "RESET_TOKEN_MAX_TTL_SECS={max_ttl} is shorter than RESET_TOKEN_TTL_SECS={ttl}"
            ));
        }
        let service_keys = parse_service_keys(&mut r);
        let enabled = match r
            .string("RATE_LIMIT_ENABLED", "true")
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            other => {
                r.problem(format!(
                    "RATE_LIMIT_ENABLED={other:?}: expected true or false"
                ));
                true
            }
        };
        let rate_limits = RateLimitSettings {
            enabled,
            forgot_per_ip: r.parsed(
                "RATE_LIMIT_FORGOT_PER_IP",
                100u32,
                1..=1_000_000,
                "requests per hour",
            ),
            forgot_per_email: r.parsed(
                "RATE_LIMIT_FORGOT_PER_EMAIL",
                5u32,
                1..=1000,
                "requests per hour",
            ),
            emails_per_account: r.parsed(
                "RATE_LIMIT_EMAILS_PER_ACCOUNT",
                3u32,
                1..=1000,
                "emails per hour",
            ),
            token_failures_per_ip: r.parsed(
                "RATE_LIMIT_TOKEN_FAILURES_PER_IP",
                20u32,
                1..=1_000_000,
                "failures per hour",
            ),
        };
        let trusted_proxies = match TrustedProxies::parse(&r.string("TRUSTED_PROXIES", "")) {
            Ok(proxies) => proxies,
            Err(why) => {
                r.problem(format!(
                    "TRUSTED_PROXIES: {why}; expected a comma list like 10.0.0.0/8,192.168.1.7"
                ));
                TrustedProxies::default()
            }
        };
        let cors_allowed_origins: Vec<String> = r
            .list("CORS_ALLOWED_ORIGINS")
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect();
        for origin in cors_allowed_origins.iter().filter(|o| !is_origin(o)) {
            r.problem(format!(
                "CORS_ALLOWED_ORIGINS entry {origin:?}: expected an origin like https://app.example.com (scheme, host, optional port; no path)"
            ));
        }
        let webhooks = parse_webhooks(&mut r);

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        Ok(Self {
            database_url,
            database_pool_size,
            database_ca_file,
            bind_addr,
            jwt_secret,
            jwt_previous_secrets,
            jwt_issuer,
            jwt_audience,
            frontend_url,
            reset_link_template,
            reset_token_ttl: Duration::from_secs(ttl),
            reset_token_max_ttl: Duration::from_secs(max_ttl),
            bcrypt_cost,
            bcrypt_max_concurrency,
            bcrypt_queue_timeout: Duration::from_millis(bcrypt_queue_ms),
            password_min_length,
            default_from_email,
            mail,
            app_name,
            support_contact,
            http_workers,
            service_keys,
            rate_limits,
            trusted_proxies,
            cors_allowed_origins,
            webhooks,
            outbox_poll_interval: Duration::from_millis(poll_ms),
            run_outbox_worker: true,
        })
    }

    /// The link a user receives: from configuration only, never from request headers.
    pub fn reset_link(&self, jwt: &str) -> String {
        match &self.reset_link_template {
            Some(template) => template.replace("{token}", jwt),
            None => format!("{}/reset-password?token={jwt}", self.frontend_url),
        }
    }

    /// The signing keys: JWT_SECRET (or, on SQLite without one, a key
    /// generated once and kept beside the database file) plus any previous keys.
    pub fn load_keys(&self) -> Result<KeySet, ConfigError> {
        let fail = |msg: String| ConfigError {
            problems: vec![msg],
        };
        let current = match (&self.jwt_secret, &self.database_url) {
            (Some(secret), _) => secret.clone(),
            (None, DatabaseUrl::Sqlite(db_path)) => {
                let mut key_path = db_path.clone().into_os_string();
                key_path.push(".jwt-secret");
                let key_path = PathBuf::from(key_path);
                crate::keyfile::load_or_create(&key_path).map_err(|e| {
                    fail(format!(
                        "JWT_SECRET is unset and the key file {} cannot be used: {e}",
                        key_path.display()
                    ))
                })?
            }
            (None, DatabaseUrl::Postgres(_)) => {
                return Err(fail("JWT_SECRET is required with Postgres".into()));
            }
        };
        let current =
            SigningKey::new(current.as_bytes()).map_err(|e| fail(format!("JWT_SECRET {e}")))?;
        let previous = self
            .jwt_previous_secrets
            .iter()
            .map(|s| {
                SigningKey::new(s.as_bytes())
                    .map_err(|e| fail(format!("JWT_PREVIOUS_SECRETS entry {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeySet::new(current, previous))
    }
}

/// `scheme://host[:port]`, nothing more.
fn is_origin(raw: &str) -> bool {
    let Some(rest) = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty() && !rest.contains(['/', '?', '#', ' ', '*'])
}

/// `SERVICE_API_KEYS=name:key,name:key`.
fn parse_service_keys(r: &mut Reader<'_>) -> Vec<ServiceKey> {
    let Some(raw) = r.raw("SERVICE_API_KEYS") else {
        return Vec::new();
    };
    let mut keys: Vec<ServiceKey> = Vec::new();
    for (i, entry) in raw
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let Some((name, key)) = entry.split_once(':').map(|(n, k)| (n.trim(), k.trim())) else {
            r.problem(format!(
                "SERVICE_API_KEYS entry {}: expected name:key",
                i + 1
            ));
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            r.problem(format!(
                "SERVICE_API_KEYS entry {}: the name must be letters, digits, '-', '_' or '.'",
                i + 1
            ));
        } else if key.chars().count() < MIN_SERVICE_KEY_CHARS {
            r.problem(format!(
                "SERVICE_API_KEYS key of {name} is {} characters; it must be at least {MIN_SERVICE_KEY_CHARS} \
                 (generate one with `pwreset keys generate`)",
                key.chars().count()
            ));
        } else if keys.iter().any(|k| k.name == name) {
            r.problem(format!("SERVICE_API_KEYS names {name} twice"));
        } else {
            keys.push(ServiceKey {
                name: name.to_owned(),
                key: key.to_owned(),
            });
        }
    }
    keys
}

/// `WEBHOOK_URLS`, `WEBHOOK_SECRET` (`whsec_` + base64), `WEBHOOK_EVENTS`.
fn parse_webhooks(r: &mut Reader<'_>) -> WebhookSettings {
    use base64::Engine;
    let urls: Vec<String> = r.list("WEBHOOK_URLS");
    for url in urls
        .iter()
        .filter(|u| !(u.starts_with("http://") || u.starts_with("https://")))
    {
        r.problem(format!(
            "WEBHOOK_URLS entry {url:?}: expected an http(s) URL"
        ));
    }
    let secret = match r.raw("WEBHOOK_SECRET") {
        Some(raw) => match raw
            .strip_prefix("whsec_")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        {
            Some(bytes) if bytes.len() >= 24 => bytes,
            _ => {
                r.problem(
                    "WEBHOOK_SECRET: expected whsec_ followed by at least 24 bytes in base64 \
                     (e.g. whsec_$(head -c 32 /dev/urandom | base64))"
                        .into(),
                );
                Vec::new()
            }
        },
        None => {
            if !urls.is_empty() {
                r.problem(
                    "WEBHOOK_SECRET is required when WEBHOOK_URLS is set (whsec_ + base64)".into(),
                );
            }
            Vec::new()
        }
    };
    let mut events = r.list("WEBHOOK_EVENTS");
    if events.is_empty() {
        events = WEBHOOK_EVENT_TYPES
            .iter()
            .map(|e| (*e).to_owned())
            .collect();
    }
    for event in events
        .iter()
        .filter(|e| !WEBHOOK_EVENT_TYPES.contains(&e.as_str()))
    {
        r.problem(format!(
            "WEBHOOK_EVENTS entry {event:?}: expected password.reset.completed or password.reset.requested"
        ));
    }
    WebhookSettings {
        urls,
        secret,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("pwreset.db".into()));
        assert_eq!(s.bind_addr, "127.0.0.1:8080");
        assert_eq!(s.reset_token_ttl, Duration::from_secs(3600));
        assert_eq!(
            s.reset_link("abc"),
            "http://127.0.0.1:8080/reset-password?token=abc"
        );
    }

    #[test]
    fn every_bad_value_is_named_with_what_to_set() {
        let err = settings(&[
            ("JWT_SECRET", "short"),
            ("BCRYPT_COST", "4"),
            ("RESET_TOKEN_TTL_SECS", "soon"),
            ("MAIL_PROVIDER", "carrier-pigeon"),
            ("MAIL_TIMEOUT_SECS", "0"),
            ("RESET_LINK_TEMPLATE", "https://x.test/reset"),
        ])
        .err()
        .unwrap()
        .to_string();
        for expected in [
            "JWT_SECRET is 5 bytes long; it must be at least 32 bytes",
            "BCRYPT_COST=\"4\": expected a whole number of rounds (log2) from 10 to 15",
            "RESET_TOKEN_TTL_SECS=\"soon\"",
            "MAIL_PROVIDER=\"carrier-pigeon\"",
            "MAIL_TIMEOUT_SECS=\"0\"",
            "RESET_LINK_TEMPLATE",
        ] {
            assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
        }
    }

    #[test]
    fn a_provider_without_its_key_or_domain_refuses_start_up() {
        for (provider, expected) in [
            (
                "postmark",
                "MAIL_API_KEY is required with MAIL_PROVIDER=postmark",
            ),
            (
                "sendgrid",
                "MAIL_API_KEY is required with MAIL_PROVIDER=sendgrid",
            ),
            (
                "resend",
                "MAIL_API_KEY is required with MAIL_PROVIDER=resend",
            ),
            (
                "mailgun",
                "MAILGUN_DOMAIN is required with MAIL_PROVIDER=mailgun",
            ),
            (
                "http",
                "MAIL_API_BASE_URL is required with MAIL_PROVIDER=http",
            ),
        ] {
            let err = settings(&[("MAIL_PROVIDER", provider)])
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(expected), "{provider}: {err}");
        }
        assert!(
            settings(&[("MAIL_PROVIDER", "mailpit")]).is_ok(),
            "mailpit needs no key"
        );
        let ok = settings(&[
            ("MAIL_PROVIDER", "Mailgun"),
            ("MAIL_API_KEY", "k"),
            ("MAILGUN_DOMAIN", "mg.x.test"),
        ]);
        assert!(ok.is_ok_and(|s| s.mail.provider == MailProvider::Mailgun));
    }

    #[test]
    fn service_keys_and_webhooks_are_checked() {
        let err = settings(&[
            ("SERVICE_API_KEYS", "billing:short,support"),
            ("WEBHOOK_URLS", "https://hooks.example.test/pw,ftp://nope"),
        ])
        .err()
        .unwrap()
        .to_string();
        for expected in [
            "SERVICE_API_KEYS key of billing is 5 characters; it must be at least 24",
            "SERVICE_API_KEYS entry 2: expected name:key",
            "WEBHOOK_URLS entry \"ftp://nope\"",
            "WEBHOOK_SECRET is required when WEBHOOK_URLS is set",
        ] {
            assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
        }
        let ok = settings(&[
            (
                "SERVICE_API_KEYS",
                "billing:0123456789abcdefghijklmn, support : zyxwvutsrqponmlkjihgfedcba",
            ),
            ("WEBHOOK_URLS", "https://hooks.example.test/pw"),
            ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ])
        .unwrap();
        assert_eq!(ok.service_keys.len(), 2);
        assert_eq!(ok.service_keys[1].name, "support");
        assert!(ok.webhooks.wants("password.reset.completed"));
        assert!(!format!("{:?}", ok.service_keys).contains("0123456789"));
    }

    #[test]
    fn postgres_requires_a_secret() {
        let err = settings(&[("DATABASE_URL", "postgres://postgres@127.0.0.1/x")])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("JWT_SECRET is required with Postgres")
        );
    }

    #[test]
    fn link_template_replaces_the_token() {
        let s = settings(&[("RESET_LINK_TEMPLATE", "https://app.test/r#token={token}")]).unwrap();
        assert_eq!(s.reset_link("j.w.t"), "https://app.test/r#token=j.w.t");
    }
}
