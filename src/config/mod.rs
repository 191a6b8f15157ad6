//! Settings, read once from the environment (and `.env`) into typed values.
//! Every variable is declared once in `vars` (name, default, meaning) and read
//! at one place, by the area it belongs to. A bad value refuses start-up with
//! every problem listed, each naming the variable and what it expects.

mod access;
mod links;
mod mail;
mod reader;
pub mod vars;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

pub use access::{
    HandoffSettings, MIN_SERVICE_KEY_CHARS, MetricsAccess, RateLimitSettings, ServiceKey,
    WebhookSettings,
};
pub use links::LinkBase;
pub use mail::{AwsCredentials, MailProvider, MailSettings, check_smtp_url};

use crate::client_ip::TrustedProxies;
use crate::logging::LogFormat;
use crate::storage::DatabaseUrl;
use crate::tokens::{KeySet, SigningKey};
use reader::Reader;

/// Where the signing keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// `JWT_SECRET` (and `JWT_PREVIOUS_SECRETS`), parsed at start-up.
    Configured(KeySet),
    /// SQLite without `JWT_SECRET`: a key generated once and kept in this file.
    BesideDatabase {
        path: PathBuf,
        previous: Vec<SigningKey>,
    },
}

/// The one-time codes beside emailed links.
#[derive(Clone, Copy, Debug)]
pub struct CodeSettings {
    pub length: usize,
    /// Wrong tries after which one code dies.
    pub max_attempts: i32,
    pub in_subject: bool,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub database_pool_size: usize,
    pub database_ca_file: Option<PathBuf>,
    pub bind_addr: SocketAddr,
    pub keys: KeySource,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub links: LinkBase,
    /// The done page's "Continue to sign in" (`LOGIN_URL`).
    pub login_url: Option<Url>,
    /// Where a `return_to` may lead (`RETURN_TO_ALLOWED`); empty refuses all.
    pub return_to_allowed: crate::domain::ReturnToAllowList,
    pub reset_token_ttl: Duration,
    pub codes: CodeSettings,
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
    pub page_template_dir: Option<PathBuf>,
    /// The breached-password range API; None turns the check off.
    pub pwned_passwords_url: Option<Url>,
    pub pwned_passwords_timeout: Duration,
    pub http_workers: usize,
    pub service_keys: Vec<ServiceKey>,
    pub rate_limits: RateLimitSettings,
    pub trusted_proxies: TrustedProxies,
    pub metrics_access: MetricsAccess,
    pub cors_allowed_origins: Vec<String>,
    pub webhooks: WebhookSettings,
    /// Set: every password change is handed to the application, and no
    /// hash is kept.
    pub handoff: Option<HandoffSettings>,
    pub outbox_poll_interval: Duration,
    /// Settled outbox rows and dead tokens older than this are deleted.
    pub retention: Duration,
    pub shutdown_timeout: Duration,
    /// Headers, and then the body, must arrive within this.
    pub client_request_timeout: Duration,
    /// Whether `serve` runs the outbox worker in-process (tests drive it by hand).
    pub run_outbox_worker: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// The generated key file beside the SQLite database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("JWT_SECRET is unset and the key file {path} cannot be used: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("JWT_SECRET is unset and the key in {path} {source}")]
    TooShort {
        path: String,
        #[source]
        source: crate::tokens::KeyTooShort,
    },
}

impl Settings {
    /// Whether pwreset keeps password hashes: not when they are handed to
    /// the application (`PASSWORD_HANDOFF_URL`).
    pub fn keeps_password_hashes(&self) -> bool {
        self.handoff.is_none()
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&|name| std::env::var(name).ok())
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_source(&|name| map.get(name).cloned())
    }

    fn from_source(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader::new(get);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        let database_url = match DatabaseUrl::parse(&r.text(&vars::DATABASE_URL)) {
            Ok(url) => url,
            Err(why) => {
                r.problem(format!("DATABASE_URL: {why}"));
                DatabaseUrl::Sqlite("pwreset.db".into())
            }
        };
        let database_pool_size = r.number(&vars::DATABASE_POOL_SIZE, 1..=200, "connections");
        let database_ca_file = r.raw(&vars::DATABASE_CA_FILE).map(PathBuf::from);
        if let Some(path) = database_ca_file.as_ref().filter(|p| !p.is_file()) {
            r.problem(format!("DATABASE_CA_FILE={}: no such file", path.display()));
        }

        let bind_raw = r.text(&vars::BIND_ADDR);
        let bind_addr = bind_raw.parse::<SocketAddr>().unwrap_or_else(|_| {
            r.problem(format!(
                "BIND_ADDR={bind_raw:?}: expected IP:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let keys = read_keys(&mut r, &database_url);
        let jwt_issuer = r.text(&vars::JWT_ISSUER);
        let jwt_audience = r.text(&vars::JWT_AUDIENCE);
        let links = links::read_links(&mut r);
        let login_url = links::read_login_url(&mut r);
        let return_to_allowed = links::read_return_to_allowed(&mut r);

        let codes = CodeSettings {
            length: r.number(
                &vars::RESET_CODE_LENGTH,
                crate::codes::CODE_LENGTHS,
                "digits",
            ),
            max_attempts: r.number(&vars::RESET_CODE_MAX_ATTEMPTS, 1..=10, "tries"),
            in_subject: r.flag(&vars::RESET_CODE_IN_SUBJECT),
        };
        let ttl = r.number(&vars::RESET_TOKEN_TTL_SECS, 60..=86_400, "seconds");
        let max_ttl = r.number_or(
            &vars::RESET_TOKEN_MAX_TTL_SECS,
            86_400u64.max(ttl),
            60..=604_800,
            "seconds",
        );
        if max_ttl < ttl {
            r.problem(format!(
                "RESET_TOKEN_MAX_TTL_SECS={max_ttl} is shorter than RESET_TOKEN_TTL_SECS={ttl}"
            ));
        }
        let bcrypt_cost = r.number(&vars::BCRYPT_COST, 10..=15, "rounds (log2)");
        let bcrypt_max_concurrency = r.number_or(
            &vars::BCRYPT_MAX_CONCURRENCY,
            cores,
            1..=256,
            "concurrent hashes",
        );
        let bcrypt_queue_ms = r.number(&vars::BCRYPT_QUEUE_TIMEOUT_MS, 1..=60_000, "milliseconds");
        let password_min_length = r.number(&vars::PASSWORD_MIN_LENGTH, 8..=64, "characters");

        let default_from_email = mail::read_sender(&mut r);
        let mail = mail::read(&mut r);
        let app_name = r.text(&vars::APP_NAME);
        let support_contact = r.raw(&vars::SUPPORT_CONTACT);
        let pwned_passwords_url = r.url(&vars::PWNED_PASSWORDS_URL);
        let pwned_timeout_ms = r.number(
            &vars::PWNED_PASSWORDS_TIMEOUT_MS,
            50..=30_000u64,
            "milliseconds",
        );
        let page_template_dir = r.raw(&vars::PAGE_TEMPLATE_DIR).map(PathBuf::from);
        if let Some(dir) = page_template_dir.as_ref().filter(|d| !d.is_dir()) {
            r.problem(format!(
                "PAGE_TEMPLATE_DIR={}: no such folder",
                dir.display()
            ));
        }
        let http_workers = r.number_or(&vars::HTTP_WORKERS, cores, 1..=64, "threads");
        let poll_ms = r.number(&vars::OUTBOX_POLL_INTERVAL_MS, 10..=60_000, "milliseconds");
        let retention = r.number(&vars::RETENTION_SECS, 60..=315_360_000u64, "seconds");
        let shutdown = r.number(&vars::SHUTDOWN_TIMEOUT_SECS, 1..=3600u64, "seconds");
        let client_timeout = r.number(&vars::CLIENT_REQUEST_TIMEOUT_SECS, 1..=300u64, "seconds");

        let service_keys = access::read_service_keys(&mut r);
        let rate_limits = access::read_rate_limits(&mut r);
        let trusted_proxies = access::read_trusted_proxies(&mut r);
        let metrics_access = access::read_metrics_access(&mut r);
        let cors_allowed_origins = access::read_cors_origins(&mut r);
        let webhooks = access::read_webhooks(&mut r);
        let handoff = access::read_handoff(&mut r);
        // `main` reads LOG_FORMAT itself, to install the logger before the
        // settings; here a wrong value is reported like any other.
        if let Err(why) = LogFormat::parse(r.raw(&vars::LOG_FORMAT).as_deref()) {
            r.problem(why);
        }

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
            keys,
            jwt_issuer,
            jwt_audience,
            links,
            login_url,
            return_to_allowed,
            reset_token_ttl: Duration::from_secs(ttl),
            codes,
            reset_token_max_ttl: Duration::from_secs(max_ttl),
            bcrypt_cost,
            bcrypt_max_concurrency,
            bcrypt_queue_timeout: Duration::from_millis(bcrypt_queue_ms),
            password_min_length,
            default_from_email,
            mail,
            app_name,
            support_contact,
            page_template_dir,
            pwned_passwords_url,
            pwned_passwords_timeout: Duration::from_millis(pwned_timeout_ms),
            http_workers,
            service_keys,
            rate_limits,
            trusted_proxies,
            metrics_access,
            cors_allowed_origins,
            webhooks,
            handoff,
            outbox_poll_interval: Duration::from_millis(poll_ms),
            retention: Duration::from_secs(retention),
            shutdown_timeout: Duration::from_secs(shutdown),
            client_request_timeout: Duration::from_secs(client_timeout),
            run_outbox_worker: true,
        })
    }

    /// The link a user receives: from configuration only, never from request headers.
    pub fn reset_link(&self, jwt: &str) -> String {
        match &self.links {
            LinkBase::Template(template) => template.replace("{token}", jwt),
            LinkBase::Frontend(base) => format!(
                "{}/reset-password?token={jwt}",
                base.as_str().trim_end_matches('/')
            ),
        }
    }

    /// The signing keys; on SQLite without `JWT_SECRET`, the key kept beside
    /// the database file (generated on first use).
    pub fn load_keys(&self) -> Result<KeySet, KeyFileError> {
        match &self.keys {
            KeySource::Configured(keys) => Ok(keys.clone()),
            KeySource::BesideDatabase { path, previous } => {
                let shown = path.display().to_string();
                let secret =
                    crate::keyfile::load_or_create(path).map_err(|source| KeyFileError::Io {
                        path: shown.clone(),
                        source,
                    })?;
                let current = SigningKey::new(secret.as_bytes()).map_err(|source| {
                    KeyFileError::TooShort {
                        path: shown,
                        source,
                    }
                })?;
                Ok(KeySet::new(current, previous.clone()))
            }
        }
    }
}

/// `JWT_SECRET` and `JWT_PREVIOUS_SECRETS`, parsed into keys once.
fn read_keys(r: &mut Reader<'_>, database_url: &DatabaseUrl) -> KeySource {
    let mut previous = Vec::new();
    for (i, secret) in r.list(&vars::JWT_PREVIOUS_SECRETS).iter().enumerate() {
        match SigningKey::new(secret.as_bytes()) {
            Ok(key) => previous.push(key),
            Err(why) => r.problem(format!("JWT_PREVIOUS_SECRETS entry {} {why}", i + 1)),
        }
    }
    let current = match r.raw(&vars::JWT_SECRET) {
        Some(secret) => match SigningKey::new(secret.as_bytes()) {
            Ok(_) if looks_guessable(&secret) => {
                r.problem(format!(
                    "JWT_SECRET has only {} different characters: it looks typed by hand or \
                     patterned, not random; generate one with `pwreset keys generate`",
                    distinct_bytes(&secret)
                ));
                None
            }
            Ok(key) => Some(key),
            Err(why) => {
                r.problem(format!("JWT_SECRET {why}"));
                None
            }
        },
        None => None,
    };
    match (current, database_url) {
        (Some(current), _) => KeySource::Configured(KeySet::new(current, previous)),
        (None, DatabaseUrl::Sqlite(db_path)) => {
            let mut path = db_path.clone().into_os_string();
            path.push(".jwt-secret");
            KeySource::BesideDatabase {
                path: PathBuf::from(path),
                previous,
            }
        }
        (None, DatabaseUrl::Postgres(_)) => {
            if r.raw(&vars::JWT_SECRET).is_none() {
                r.problem(
                    "JWT_SECRET is required with Postgres (every replica must sign with the same key); \
                     generate one with `pwreset keys generate`"
                        .into(),
                );
            }
            KeySource::BesideDatabase {
                path: PathBuf::new(),
                previous,
            }
        }
    }
}

/// A signing key with so few different characters that it cannot be random
/// (a random 32-character key has about 25): one repeated character, `abab`,
/// a short word repeated. Hex keys (16 symbols) pass.
fn looks_guessable(secret: &str) -> bool {
    distinct_bytes(secret) < 10
}

fn distinct_bytes(secret: &str) -> usize {
    let mut seen = [false; 256];
    for b in secret.bytes() {
        seen[usize::from(b)] = true;
    }
    seen.iter().filter(|s| **s).count()
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
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
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
        assert!(ok.is_ok_and(|s| matches!(
            s.mail.provider,
            MailProvider::Mailgun { ref domain, .. } if domain == "mg.x.test"
        )));
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
        assert!(
            ok.webhooks
                .wants(crate::messages::WebhookEvent::ResetCompleted)
        );
        assert!(!format!("{:?}", ok.service_keys).contains("0123456789"));
    }

    #[test]
    fn the_handoff_needs_its_own_secret_and_a_bounded_timeout() {
        let err = settings(&[
            ("PASSWORD_HANDOFF_URL", "https://app.example.test/pwreset"),
            ("PASSWORD_HANDOFF_TIMEOUT_MS", "99"),
            ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ])
        .err()
        .unwrap()
        .to_string();
        for expected in [
            "PASSWORD_HANDOFF_SECRET is required when PASSWORD_HANDOFF_URL is set",
            "PASSWORD_HANDOFF_TIMEOUT_MS",
        ] {
            assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
        }
        let ok = settings(&[
            ("PASSWORD_HANDOFF_URL", "https://app.example.test/pwreset"),
            (
                "PASSWORD_HANDOFF_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
        ])
        .unwrap();
        assert!(!ok.keeps_password_hashes());
        let handoff = ok.handoff.unwrap();
        assert_eq!(handoff.timeout, Duration::from_secs(5));
        assert!(!format!("{handoff:?}").contains("MfKQ9r8"));
        assert!(settings(&[]).unwrap().keeps_password_hashes());
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
    fn every_declared_default_is_accepted_and_listed() {
        let defaults: HashMap<String, String> = vars::ALL
            .iter()
            .filter_map(|v| match v.default {
                vars::Default::Value(d) => Some((v.name.to_owned(), d.to_owned())),
                _ => None,
            })
            .collect();
        assert!(Settings::from_map(&defaults).is_ok());
        let listing = vars::describe();
        for var in vars::ALL {
            assert!(listing.contains(var.name) && listing.contains(var.meaning));
        }
    }

    #[test]
    fn an_obviously_patterned_signing_key_refuses_start_up() {
        for weak in ["a".repeat(40), "ab".repeat(20), "password".repeat(5)] {
            let err = settings(&[("JWT_SECRET", &weak)])
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("JWT_SECRET has only") && err.contains("pwreset keys generate"),
                "{err}"
            );
            assert!(!err.contains(&weak), "the key itself is not echoed");
        }
        let generated = crate::tokens::generate_secret().unwrap();
        assert!(settings(&[("JWT_SECRET", &generated)]).is_ok());
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(settings(&[("JWT_SECRET", hex)]).is_ok());
    }

    #[test]
    fn link_template_replaces_the_token() {
        let s = settings(&[("RESET_LINK_TEMPLATE", "https://app.test/r#token={token}")]).unwrap();
        assert_eq!(s.reset_link("j.w.t"), "https://app.test/r#token=j.w.t");
    }
}
