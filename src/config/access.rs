//! Who may call and what they may do: service keys, webhooks, the password
//! handoff, CORS, trusted proxies and abuse limits.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use secrecy::{SecretSlice, SecretString};
use url::Url;

use super::reader::{Reader, parse_http_url};
use super::vars;
use crate::client_ip::TrustedProxies;
use crate::messages::WebhookEvent;

/// Shortest accepted service key.
pub const MIN_SERVICE_KEY_CHARS: usize = 24;

/// A calling service's name and key. Debug shows only the name.
#[derive(Clone)]
pub struct ServiceKey {
    pub name: String,
    pub key: SecretString,
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceKey({})", self.name)
    }
}

#[derive(Clone, Default)]
pub struct WebhookSettings {
    pub urls: Vec<Url>,
    /// The decoded bytes of `whsec_<base64>`.
    pub secret: SecretSlice<u8>,
    pub events: Vec<WebhookEvent>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("urls", &self.urls)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl WebhookSettings {
    pub fn wants(&self, event: WebhookEvent) -> bool {
        !self.urls.is_empty() && self.events.contains(&event)
    }
}

/// Abuse limits; every count is per hour.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// forgot-password requests per client IP.
    pub forgot_per_ip: u32,
    /// forgot-password requests per normalized email, whether or not it has an account.
    pub forgot_per_email: u32,
    /// reset emails actually sent per account and client network (enforced by the worker, silently).
    pub emails_per_account: u32,
    /// reset emails per account from all networks together.
    pub emails_per_account_max: u32,
    /// invalid tokens per client IP before exponential backoff starts.
    pub token_failures_per_ip: u32,
    /// wrong passwords per account and client network.
    pub signin_failures: u32,
    /// wrong passwords per account from all networks together.
    pub signin_failures_max: u32,
    /// wrong passwords per client IP across accounts.
    pub signin_failures_per_ip: u32,
}

pub(super) fn read_rate_limits(r: &mut Reader<'_>) -> RateLimitSettings {
    RateLimitSettings {
        enabled: r.flag(&vars::RATE_LIMIT_ENABLED),
        forgot_per_ip: r.number(
            &vars::RATE_LIMIT_FORGOT_PER_IP,
            1..=1_000_000,
            "requests per hour",
        ),
        forgot_per_email: r.number(
            &vars::RATE_LIMIT_FORGOT_PER_EMAIL,
            1..=1000,
            "requests per hour",
        ),
        emails_per_account: r.number(
            &vars::RATE_LIMIT_EMAILS_PER_ACCOUNT,
            1..=1000,
            "emails per hour",
        ),
        emails_per_account_max: r.number(
            &vars::RATE_LIMIT_EMAILS_PER_ACCOUNT_MAX,
            1..=10_000,
            "emails per hour",
        ),
        token_failures_per_ip: r.number(
            &vars::RATE_LIMIT_TOKEN_FAILURES_PER_IP,
            1..=1_000_000,
            "failures per hour",
        ),
        signin_failures: r.number(
            &vars::RATE_LIMIT_SIGNIN_FAILURES,
            1..=10_000,
            "failures per hour",
        ),
        signin_failures_max: r.number(
            &vars::RATE_LIMIT_SIGNIN_FAILURES_MAX,
            1..=100_000,
            "failures per hour",
        ),
        signin_failures_per_ip: r.number(
            &vars::RATE_LIMIT_SIGNIN_FAILURES_PER_IP,
            1..=1_000_000,
            "failures per hour",
        ),
    }
}

/// Who may read `/metrics`, and where it is served.
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// The socket peers `/metrics` answers (`METRICS_ALLOWED_FROM`).
    pub allowed_from: TrustedProxies,
    /// A listener of its own (`METRICS_BIND_ADDR`); then not on `BIND_ADDR`.
    pub bind_addr: Option<std::net::SocketAddr>,
}

pub(super) fn read_metrics_access(r: &mut Reader<'_>) -> MetricsAccess {
    let allowed_from = match TrustedProxies::parse(&r.text(&vars::METRICS_ALLOWED_FROM)) {
        Ok(list) => list,
        Err(why) => {
            r.problem(format!(
                "METRICS_ALLOWED_FROM: {why}; expected a comma list like 127.0.0.1,10.0.0.0/8"
            ));
            TrustedProxies::default()
        }
    };
    let bind_addr = r.raw(&vars::METRICS_BIND_ADDR).and_then(|raw| {
        raw.parse()
            .map_err(|_| {
                r.problem(format!(
                    "METRICS_BIND_ADDR={raw:?}: expected IP:PORT, e.g. 0.0.0.0:9090"
                ));
            })
            .ok()
    });
    MetricsAccess {
        allowed_from,
        bind_addr,
    }
}

pub(super) fn read_trusted_proxies(r: &mut Reader<'_>) -> TrustedProxies {
    match TrustedProxies::parse(&r.text(&vars::TRUSTED_PROXIES)) {
        Ok(proxies) => proxies,
        Err(why) => {
            r.problem(format!(
                "TRUSTED_PROXIES: {why}; expected a comma list like 10.0.0.0/8,192.168.1.7"
            ));
            TrustedProxies::default()
        }
    }
}

/// `CORS_ALLOWED_ORIGINS`: each `scheme://host[:port]`, nothing more.
pub(super) fn read_cors_origins(r: &mut Reader<'_>) -> Vec<String> {
    let origins: Vec<String> = r
        .list(&vars::CORS_ALLOWED_ORIGINS)
        .into_iter()
        .map(|o| o.trim_end_matches('/').to_owned())
        .collect();
    for origin in origins.iter().filter(|o| !is_origin(o)) {
        r.problem(format!(
            "CORS_ALLOWED_ORIGINS entry {origin:?}: expected an origin like https://app.example.com (scheme, host, optional port; no path)"
        ));
    }
    origins
}

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
pub(super) fn read_service_keys(r: &mut Reader<'_>) -> Vec<ServiceKey> {
    let mut keys: Vec<ServiceKey> = Vec::new();
    for (i, entry) in r.list(&vars::SERVICE_API_KEYS).iter().enumerate() {
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
                key: SecretString::from(key),
            });
        }
    }
    keys
}

/// `WEBHOOK_URLS`, `WEBHOOK_SECRET` (`whsec_` + base64), `WEBHOOK_EVENTS`.
pub(super) fn read_webhooks(r: &mut Reader<'_>) -> WebhookSettings {
    let mut urls = Vec::new();
    for raw in r.list(&vars::WEBHOOK_URLS) {
        match parse_http_url(&raw) {
            Some(url) => urls.push(url),
            None => r.problem(format!(
                "WEBHOOK_URLS entry {raw:?}: expected an http(s) URL"
            )),
        }
    }
    let secret = read_signing_secret(
        r,
        &vars::WEBHOOK_SECRET,
        !r.list(&vars::WEBHOOK_URLS).is_empty(),
        "WEBHOOK_URLS",
    );
    let mut events = Vec::new();
    for raw in r.list(&vars::WEBHOOK_EVENTS) {
        match WebhookEvent::parse(&raw) {
            Some(event) => events.push(event),
            None => r.problem(format!(
                "WEBHOOK_EVENTS entry {raw:?}: expected one of {}",
                WebhookEvent::ALL
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    WebhookSettings {
        urls,
        secret,
        events,
    }
}

/// A Standard Webhooks signing secret, `whsec_` + base64 of at least 24
/// bytes; required when `required` (because `needed_by` is set).
fn read_signing_secret(
    r: &mut Reader<'_>,
    var: &vars::Var,
    required: bool,
    needed_by: &str,
) -> SecretSlice<u8> {
    let name = var.name;
    match r.raw(var) {
        Some(raw) => match raw
            .strip_prefix("whsec_")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        {
            Some(bytes) if bytes.len() >= 24 => SecretSlice::from(bytes),
            _ => {
                r.problem(format!(
                    "{name}: expected whsec_ followed by at least 24 bytes in base64 \
                     (e.g. whsec_$(head -c 32 /dev/urandom | base64))"
                ));
                SecretSlice::default()
            }
        },
        None => {
            if required {
                r.problem(format!(
                    "{name} is required when {needed_by} is set (whsec_ + base64)"
                ));
            }
            SecretSlice::default()
        }
    }
}

/// Where every password change goes when the application holds the
/// passwords (`PASSWORD_HANDOFF_URL`), signed like the webhooks.
#[derive(Clone)]
pub struct HandoffSettings {
    pub url: Url,
    /// The decoded bytes of `whsec_<base64>`.
    pub secret: SecretSlice<u8>,
    /// How long the application has to answer.
    pub timeout: Duration,
}

impl fmt::Debug for HandoffSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandoffSettings")
            .field("url", &self.url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// None when `PASSWORD_HANDOFF_URL` is unset: pwreset keeps the hashes.
pub(super) fn read_handoff(r: &mut Reader<'_>) -> Option<HandoffSettings> {
    let timeout_ms = r.number(
        &vars::PASSWORD_HANDOFF_TIMEOUT_MS,
        100..=60_000u64,
        "milliseconds",
    );
    let url = r.url(&vars::PASSWORD_HANDOFF_URL);
    let secret = read_signing_secret(
        r,
        &vars::PASSWORD_HANDOFF_SECRET,
        url.is_some(),
        "PASSWORD_HANDOFF_URL",
    );
    Some(HandoffSettings {
        url: url?,
        secret,
        timeout: Duration::from_millis(timeout_ms),
    })
}
