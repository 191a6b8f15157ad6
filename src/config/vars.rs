//! Every variable the service reads, declared once: name, default and
//! meaning. The settings code reads each through its declaration (so the
//! default lives here only); `pwreset config` prints this table, and tests
//! check `.env.example`, the README and docker-compose.yml against it.

/// One environment variable.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    pub default: Default,
    pub meaning: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::derivable_impls)]
pub enum Default {
    /// Used as if the variable were set to this.
    Value(&'static str),
    /// Unset means off, none, or "the provider's own"; the meaning says which.
    Unset,
    /// Derived when unset; the text says from what.
    Derived(&'static str),
}

impl Var {
    /// The default as shown to operators.
    pub fn default_text(&self) -> &'static str {
        match self.default {
            Default::Value(v) => v,
            Default::Unset => "unset",
            Default::Derived(how) => how,
        }
    }
}

macro_rules! vars {
    ($($name:ident = $default:expr, $meaning:literal;)+) => {
        $(pub const $name: Var = Var {
            name: stringify!($name),
            default: $default,
            meaning: $meaning,
        };)+
        /// Every variable, in the order `pwreset config` lists them.
        pub const ALL: &[Var] = &[$($name),+];
    };
}

use self::Default::{Derived, Unset, Value};

vars! {
    DATABASE_URL = Value("sqlite://pwreset.db"), "postgres://USER@HOST/DB[?sslmode=...] or sqlite://PATH";
    DATABASE_POOL_SIZE = Value("10"), "database connections per process, 1..=200";
    DATABASE_CA_FILE = Unset, "PEM CA to verify Postgres' certificate chain and host name";
    BIND_ADDR = Value("127.0.0.1:8080"), "listen address, IP:PORT (port 0 picks a free one)";
    HTTP_WORKERS = Derived("number of cores"), "HTTP worker threads, 1..=64";
    JWT_SECRET = Derived("generated beside the SQLite file; required with Postgres"), "signing key, at least 32 bytes (pwreset keys generate)";
    JWT_PREVIOUS_SECRETS = Unset, "comma list of retired keys that still verify (rotation)";
    JWT_ISSUER = Value("pwreset"), "the JWT's iss claim";
    JWT_AUDIENCE = Value("pwreset-reset"), "the JWT's aud claim";
    FRONTEND_URL = Value("http://127.0.0.1:8080"), "reset links are {FRONTEND_URL}/reset-password?token=<jwt>";
    RESET_LINK_TEMPLATE = Unset, "overrides the link; an http(s) URL containing {token} once";
    RESET_CODE_LENGTH = Value("8"), "digits of the one-time code beside every emailed link, 6..=10";
    RESET_CODE_MAX_ATTEMPTS = Value("5"), "wrong tries after which a code dies, 1..=10 (its link still works)";
    RESET_CODE_IN_SUBJECT = Value("false"), "true also puts the code in the email's subject line";
    LOGIN_URL = Unset, "the hosted done page's \"Continue to sign in\" link; unset means no link";
    RETURN_TO_ALLOWED = Unset, "comma list of URL prefixes a forgot-password return_to may name (scheme, host, port, path at a / boundary; a leading *. in the host for subdomains); unset refuses every return_to";
    RESET_TOKEN_TTL_SECS = Value("3600"), "token lifetime in seconds, 60..=86400";
    RESET_TOKEN_MAX_TTL_SECS = Derived("86400, or RESET_TOKEN_TTL_SECS if longer"), "longest ttl_seconds a service may ask for, 60..=604800";
    BCRYPT_COST = Value("12"), "bcrypt cost, 10..=15";
    BCRYPT_MAX_CONCURRENCY = Derived("number of cores"), "bcrypt hashes running at once";
    BCRYPT_QUEUE_TIMEOUT_MS = Value("2000"), "wait for a hashing slot before answering 503";
    PASSWORD_MIN_LENGTH = Value("12"), "minimum password length in characters, 8..=64";
    DEFAULT_FROM_EMAIL = Value("pwreset@localhost"), "sender address of every email";
    MAIL_PROVIDER = Value("log"), "log, file, postmark, sendgrid, mailgun, resend, mailpit, http, smtp or ses";
    MAIL_API_KEY = Unset, "provider key (required for postmark, sendgrid, mailgun, resend)";
    MAIL_API_BASE_URL = Unset, "provider base URL (the URL itself for http); unset means the provider's own (for ses: https://email.{AWS_REGION}.amazonaws.com)";
    MAILGUN_DOMAIN = Unset, "Mailgun sending domain (required for mailgun)";
    SMTP_URL = Unset, "for MAIL_PROVIDER=smtp: smtps://USER:PASS@HOST:465 (implicit TLS), smtp://USER:PASS@HOST:587?tls=required (STARTTLS), or smtp://HOST:25 (a local relay, no credentials)";
    AWS_REGION = Unset, "for MAIL_PROVIDER=ses: the SES region, e.g. eu-west-1";
    AWS_ACCESS_KEY_ID = Unset, "for MAIL_PROVIDER=ses: the access key id";
    AWS_SECRET_ACCESS_KEY = Unset, "for MAIL_PROVIDER=ses: the secret access key";
    AWS_SESSION_TOKEN = Unset, "for MAIL_PROVIDER=ses with temporary credentials: the session token";
    MAIL_FILE_DIR = Value("./outbox"), "for MAIL_PROVIDER=file: one <id>.json per message";
    MAIL_CONCURRENCY = Value("64"), "sends in flight at once per process (emails and webhooks together), 1..=1024";
    MAIL_MAX_PER_SECOND = Unset, "a ceiling on sends per second per process (a provider's send rate); unset means none";
    SMTP_POOL_SIZE = Value("8"), "SMTP connections kept open and used at once, 1..=256";
    MAIL_MAX_ATTEMPTS = Value("8"), "delivery attempts before an outbox row (email or webhook) goes dead";
    MAIL_CONNECT_TIMEOUT_SECS = Value("5"), "provider and webhook connect timeout, 1..=60";
    MAIL_TIMEOUT_SECS = Value("10"), "provider and webhook request timeout, 1..=300";
    MAIL_TEMPLATE_DIR = Unset, "folder of email template overrides; unset means built-in";
    APP_NAME = Value("pwreset"), "the product name in emails and on the hosted pages";
    PAGE_TEMPLATE_DIR = Unset, "folder of hosted-page template overrides (<file> or <tag>/<file>); unset means built-in";
    SUPPORT_CONTACT = Unset, "who to contact, in the password-changed email";
    OUTBOX_POLL_INTERVAL_MS = Value("1000"), "how often the worker looks for due rows";
    SERVICE_API_KEYS = Unset, "name:key,name:key for the internal API (keys at least 24 characters); unset means it answers 401";
    WEBHOOK_URLS = Unset, "comma list of webhook receivers";
    WEBHOOK_SECRET = Unset, "Standard Webhooks signing secret, whsec_ + base64 (required with WEBHOOK_URLS)";
    PASSWORD_HANDOFF_URL = Unset, "the application's receiver of every password change (then pwreset keeps no hash and password-checks answers 404); unset means pwreset keeps the hashes";
    PASSWORD_HANDOFF_SECRET = Unset, "Standard Webhooks signing secret of the handoff, whsec_ + base64 (required with PASSWORD_HANDOFF_URL)";
    PASSWORD_HANDOFF_TIMEOUT_MS = Value("5000"), "how long the application has to accept a password change, 100..=60000";
    WEBHOOK_EVENTS = Value("password.reset.completed,password.reset.requested"), "which events to send";
    RATE_LIMIT_ENABLED = Value("true"), "false turns every limit off (benchmarks, some tests)";
    RATE_LIMIT_FORGOT_PER_IP = Value("100"), "forgot-password requests per client address per hour";
    RATE_LIMIT_FORGOT_PER_EMAIL = Value("5"), "forgot-password requests per email address per hour";
    RATE_LIMIT_EMAILS_PER_ACCOUNT = Value("3"), "reset emails sent per account and client network (IPv4 /24, IPv6 /48) per hour";
    RATE_LIMIT_EMAILS_PER_ACCOUNT_MAX = Value("20"), "reset emails sent per account per hour, all networks together";
    RATE_LIMIT_TOKEN_FAILURES_PER_IP = Value("20"), "invalid tokens per client address per hour before backoff";
    RATE_LIMIT_SIGNIN_FAILURES = Value("10"), "wrong passwords per account (email or id) and client network (IPv4 /24, IPv6 /48) per hour";
    RATE_LIMIT_SIGNIN_FAILURES_MAX = Value("100"), "wrong passwords per account per hour, all networks together";
    RATE_LIMIT_SIGNIN_FAILURES_PER_IP = Value("100"), "wrong passwords per client address per hour, across accounts";
    METRICS_ALLOWED_FROM = Value("127.0.0.1/32,::1/128"), "comma list of IPs and CIDRs whose requests /metrics answers (the socket peer, never a forwarded address); others get 404";
    METRICS_BIND_ADDR = Unset, "IP:PORT of a listener of its own for /metrics (then not served on BIND_ADDR); unset means /metrics is on BIND_ADDR";
    TRUSTED_PROXIES = Unset, "comma list of IPs/CIDRs whose forwarding headers are believed";
    CORS_ALLOWED_ORIGINS = Unset, "comma list of SPA origins allowed to call the public API";
    PWNED_PASSWORDS_URL = Unset, "range API base for the breached-password check (e.g. https://api.pwnedpasswords.com); unset means off";
    PWNED_PASSWORDS_TIMEOUT_MS = Value("1500"), "after this the breached-password check fails open";
    CLIENT_REQUEST_TIMEOUT_SECS = Value("10"), "a request's headers, and then its body, must arrive within this (408 otherwise), 1..=300";
    RETENTION_SECS = Value("604800"), "how long settled outbox rows and used, expired or revoked tokens are kept, at least 60";
    SHUTDOWN_TIMEOUT_SECS = Value("30"), "grace period on SIGTERM/SIGINT for requests and deliveries in hand, 1..=3600";
    RUST_LOG = Value("info"), "log filter (env_logger)";
    LOG_FORMAT = Value("text"), "text (env_logger's lines, request_id=… outbox_id=… appended) or json (one object a line: ts, level, target, msg, request_id, outbox_id)";
}

/// Prints every variable with its default and meaning (`pwreset config`).
pub fn describe() -> String {
    let width = ALL.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for var in ALL {
        out.push_str(&format!(
            "{:<width$}  {}\n{:<width$}  default: {}\n",
            var.name,
            var.meaning,
            "",
            var.default_text()
        ));
    }
    out
}
