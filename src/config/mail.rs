//! Email settings. A provider variant carries its own credentials and base
//! URL, so building the mailer cannot fail for want of a setting.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::reader::{Reader, parse_http_url};
use super::vars;
use crate::domain::EmailAddress;

pub const POSTMARK_BASE_URL: &str = "https://api.postmarkapp.com";
pub const SENDGRID_BASE_URL: &str = "https://api.sendgrid.com";
pub const MAILGUN_BASE_URL: &str = "https://api.mailgun.net";
pub const RESEND_BASE_URL: &str = "https://api.resend.com";
pub const MAILPIT_BASE_URL: &str = "http://localhost:8025";

const PROVIDER_NAMES: [&str; 10] = [
    "log", "file", "postmark", "sendgrid", "mailgun", "resend", "mailpit", "http", "smtp", "ses",
];

/// Where email goes. Debug never shows a key.
#[derive(Clone)]
pub enum MailProvider {
    /// Prints each message and its link: development only.
    Log,
    File {
        dir: PathBuf,
    },
    Postmark {
        base_url: Url,
        server_token: SecretString,
    },
    Sendgrid {
        base_url: Url,
        api_key: SecretString,
    },
    Mailgun {
        base_url: Url,
        api_key: SecretString,
        domain: String,
    },
    Resend {
        base_url: Url,
        api_key: SecretString,
    },
    Mailpit {
        base_url: Url,
        api_key: Option<SecretString>,
    },
    Http {
        url: Url,
        api_key: Option<SecretString>,
    },
    /// `SMTP_URL` in lettre's form; it may hold a password, so it is kept
    /// secret and only `shown` (without credentials) may be logged.
    Smtp {
        url: SecretString,
        shown: String,
    },
    /// Amazon SES v2 over HTTPS, SigV4-signed.
    Ses {
        base_url: Url,
        region: String,
        credentials: AwsCredentials,
    },
}

/// The standard AWS variables. No Debug: nothing may print the secret parts.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl MailProvider {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::File { .. } => "file",
            Self::Postmark { .. } => "postmark",
            Self::Sendgrid { .. } => "sendgrid",
            Self::Mailgun { .. } => "mailgun",
            Self::Resend { .. } => "resend",
            Self::Mailpit { .. } => "mailpit",
            Self::Http { .. } => "http",
            Self::Smtp { .. } => "smtp",
            Self::Ses { .. } => "ses",
        }
    }
}

impl fmt::Debug for MailProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailProvider({})", self.name())
    }
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    pub provider: MailProvider,
    pub max_attempts: u32,
    /// Sends in flight at once in this process (`MAIL_CONCURRENCY`).
    pub concurrency: usize,
    /// At most this many sends a second in this process (`MAIL_MAX_PER_SECOND`).
    pub max_per_second: Option<u32>,
    /// SMTP connections kept open and used at once (`SMTP_POOL_SIZE`).
    pub smtp_pool_size: u32,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub template_dir: Option<PathBuf>,
}

impl MailSettings {
    /// The longest one send may take once it has its place at the gate: a
    /// provider's connect and request timeouts; over SMTP also the wait for
    /// the sends ahead of it on the `SMTP_POOL_SIZE` connections (each held
    /// at most as long, and taken in turn).
    pub fn longest_send(&self) -> Duration {
        let one = self.connect_timeout + self.timeout;
        match self.provider {
            MailProvider::Smtp { .. } => {
                let pool = self.smtp_pool_size.max(1) as usize;
                let turns = self.concurrency.max(1).div_ceil(pool);
                one.saturating_mul(u32::try_from(turns).unwrap_or(u32::MAX))
            }
            _ => one,
        }
    }
}

pub(super) fn read(r: &mut Reader<'_>) -> MailSettings {
    let name = r.text(&vars::MAIL_PROVIDER).to_ascii_lowercase();
    if !PROVIDER_NAMES.contains(&name.as_str()) {
        r.problem(format!(
            "MAIL_PROVIDER={name:?}: expected one of {}",
            PROVIDER_NAMES.join(", ")
        ));
    }
    let api_key = r.raw(&vars::MAIL_API_KEY).map(SecretString::from);
    let base_url = r.url(&vars::MAIL_API_BASE_URL);
    let required_key = |r: &mut Reader<'_>| {
        api_key.clone().or_else(|| {
            r.problem(format!(
                "MAIL_API_KEY is required with MAIL_PROVIDER={name} (the provider's API token)"
            ));
            None
        })
    };
    let base_or = |default: &str| {
        base_url
            .clone()
            .or_else(|| parse_http_url(default))
            .unwrap_or_else(|| unreachable_url(default))
    };
    let provider = match name.as_str() {
        "file" => Some(MailProvider::File {
            dir: PathBuf::from(r.text(&vars::MAIL_FILE_DIR)),
        }),
        "postmark" => required_key(r).map(|server_token| MailProvider::Postmark {
            base_url: base_or(POSTMARK_BASE_URL),
            server_token,
        }),
        "sendgrid" => required_key(r).map(|api_key| MailProvider::Sendgrid {
            base_url: base_or(SENDGRID_BASE_URL),
            api_key,
        }),
        "resend" => required_key(r).map(|api_key| MailProvider::Resend {
            base_url: base_or(RESEND_BASE_URL),
            api_key,
        }),
        "mailgun" => {
            let key = required_key(r);
            let domain = r.raw(&vars::MAILGUN_DOMAIN);
            if domain.is_none() {
                r.problem(
                    "MAILGUN_DOMAIN is required with MAIL_PROVIDER=mailgun (e.g. mg.example.com)"
                        .into(),
                );
            }
            key.zip(domain)
                .map(|(api_key, domain)| MailProvider::Mailgun {
                    base_url: base_or(MAILGUN_BASE_URL),
                    api_key,
                    domain,
                })
        }
        "mailpit" => Some(MailProvider::Mailpit {
            base_url: base_or(MAILPIT_BASE_URL),
            api_key: api_key.clone(),
        }),
        "http" => {
            if base_url.is_none() && r.raw(&vars::MAIL_API_BASE_URL).is_none() {
                r.problem(
                    "MAIL_API_BASE_URL is required with MAIL_PROVIDER=http (the URL messages are POSTed to)"
                        .into(),
                );
            }
            base_url.clone().map(|url| MailProvider::Http {
                url,
                api_key: api_key.clone(),
            })
        }
        "smtp" => read_smtp(r).map(|(url, shown)| MailProvider::Smtp { url, shown }),
        "ses" => read_ses(r, base_url.clone()),
        _ => None,
    };
    let template_dir = r.raw(&vars::MAIL_TEMPLATE_DIR).map(PathBuf::from);
    if let Some(dir) = template_dir.as_ref().filter(|d| !d.is_dir()) {
        r.problem(format!(
            "MAIL_TEMPLATE_DIR={}: no such folder",
            dir.display()
        ));
    }
    MailSettings {
        // When a problem was recorded the settings are refused anyway.
        provider: provider.unwrap_or(MailProvider::Log),
        max_attempts: r.number(&vars::MAIL_MAX_ATTEMPTS, 1..=100, "attempts"),
        concurrency: r.number(&vars::MAIL_CONCURRENCY, 1..=1024, "sends"),
        max_per_second: r
            .raw(&vars::MAIL_MAX_PER_SECOND)
            .map(|_| r.number_or(&vars::MAIL_MAX_PER_SECOND, 1, 1..=100_000, "sends a second")),
        smtp_pool_size: r.number(&vars::SMTP_POOL_SIZE, 1..=256, "connections"),
        connect_timeout: Duration::from_secs(r.number(
            &vars::MAIL_CONNECT_TIMEOUT_SECS,
            1..=60,
            "seconds",
        )),
        timeout: Duration::from_secs(r.number(&vars::MAIL_TIMEOUT_SECS, 1..=300, "seconds")),
        template_dir,
    }
}

/// `SMTP_URL`, checked: a scheme lettre knows, a host, and credentials only
/// where they travel encrypted (implicit TLS, STARTTLS required, or a relay
/// on this machine). Returns the URL and its form without credentials.
fn read_smtp(r: &mut Reader<'_>) -> Option<(SecretString, String)> {
    let Some(raw) = r.raw(&vars::SMTP_URL) else {
        r.problem(
            "SMTP_URL is required with MAIL_PROVIDER=smtp (e.g. smtp://USER:PASS@smtp.example.com:587?tls=required)"
                .into(),
        );
        return None;
    };
    match check_smtp_url(&raw) {
        Ok(shown) => Some((SecretString::from(raw), shown)),
        Err(why) => {
            r.problem(format!("SMTP_URL: {why}"));
            None
        }
    }
}

const SMTP_URL_FORMS: &str = "expected smtps://USER:PASS@HOST:465, \
    smtp://USER:PASS@HOST:587?tls=required or smtp://HOST:25";

/// Why an `SMTP_URL` cannot be used, in words that never repeat its
/// password; else the URL as it may be shown.
pub fn check_smtp_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e}); {SMTP_URL_FORMS}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.cannot_be_a_base() {
        // Nothing of it is shown: without `scheme://` a password is not
        // where a URL keeps one, and could not be removed.
        return Err(SMTP_URL_FORMS.into());
    }
    let shown = crate::send_error::redact_url(raw);
    let tls: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned())
        .collect();
    let encrypted = match (url.scheme(), tls.as_slice()) {
        ("smtps", []) => true,
        ("smtp", []) => false,
        ("smtp", [mode]) if mode == "required" => true,
        ("smtp", [mode]) if mode == "opportunistic" => false,
        _ => {
            return Err(format!(
                "{shown}: tls= must be `required` or `opportunistic` (smtp:// only), once"
            ));
        }
    };
    let Some(host) = url.host() else {
        return Err(format!("{shown}: no host"));
    };
    let local = match host {
        // smtp:// is not a scheme the URL standard knows, so an IP address
        // arrives as a name.
        url::Host::Domain(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let has_credentials = !url.username().is_empty() || url.password().is_some();
    if has_credentials && !encrypted && !local {
        return Err(format!(
            "{shown}: credentials would cross the network unencrypted; use smtps:// or add ?tls=required"
        ));
    }
    Ok(shown)
}

/// The SES region and the standard AWS credential variables.
fn read_ses(r: &mut Reader<'_>, base_url: Option<Url>) -> Option<MailProvider> {
    let required = |r: &mut Reader<'_>, var: &vars::Var, what: &str| {
        let value = r.raw(var);
        if value.is_none() {
            r.problem(format!(
                "{} is required with MAIL_PROVIDER=ses ({what})",
                var.name
            ));
        }
        value
    };
    let region = required(r, &vars::AWS_REGION, "the SES region, e.g. eu-west-1");
    let key_id = required(r, &vars::AWS_ACCESS_KEY_ID, "the access key id");
    let secret = required(r, &vars::AWS_SECRET_ACCESS_KEY, "the secret access key");
    let session_token = r.raw(&vars::AWS_SESSION_TOKEN).map(SecretString::from);
    let region = region.filter(|region| {
        let valid = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            r.problem(format!(
                "AWS_REGION={region:?}: expected a region name like eu-west-1"
            ));
        }
        valid
    })?;
    let base_url = match base_url {
        Some(url) => url,
        None => parse_http_url(&format!("https://email.{region}.amazonaws.com"))?,
    };
    Some(MailProvider::Ses {
        base_url,
        region,
        credentials: AwsCredentials {
            access_key_id: key_id?,
            secret_access_key: SecretString::from(secret?),
            session_token,
        },
    })
}

/// The built-in base URLs are constants known to parse (a unit test checks).
fn unreachable_url(default: &str) -> Url {
    match Url::parse(default) {
        Ok(url) => url,
        Err(e) => unreachable!("built-in base URL {default}: {e}"),
    }
}

/// `DEFAULT_FROM_EMAIL`, a plain address; `localhost` has no dot, so the
/// development default is accepted as is.
pub(super) fn read_sender(r: &mut Reader<'_>) -> String {
    let from = r.text(&vars::DEFAULT_FROM_EMAIL);
    if Some(from.as_str()) != default_value(&vars::DEFAULT_FROM_EMAIL)
        && EmailAddress::parse(&from).is_err()
    {
        r.problem(format!(
            "DEFAULT_FROM_EMAIL={from:?}: expected a plain address like no-reply@example.com"
        ));
    }
    from
}

fn default_value(var: &vars::Var) -> Option<&'static str> {
    match var.default {
        vars::Default::Value(v) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_base_urls_parse() {
        for url in [
            POSTMARK_BASE_URL,
            SENDGRID_BASE_URL,
            MAILGUN_BASE_URL,
            RESEND_BASE_URL,
            MAILPIT_BASE_URL,
        ] {
            assert!(parse_http_url(url).is_some(), "{url}");
        }
    }

    #[test]
    fn smtp_urls_keep_credentials_encrypted_and_never_show_them() {
        for ok in [
            "smtps://user:s3cret-pass@smtp.example.com:465",
            "smtp://user:s3cret-pass@smtp.example.com:587?tls=required",
            "smtp://smtp.example.com:25",
            "smtp://relay.example.com:25?tls=opportunistic",
            "smtp://user:s3cret-pass@127.0.0.1:2525",
            "smtp://user:s3cret-pass@localhost:2525",
        ] {
            let shown = check_smtp_url(ok).unwrap();
            assert!(!shown.contains("s3cret-pass"), "{shown}");
        }
        for (bad, why) in [
            (
                "smtp://user:s3cret-pass@smtp.example.com:587",
                "unencrypted",
            ),
            (
                "smtp://user:s3cret-pass@smtp.example.com:587?tls=opportunistic",
                "unencrypted",
            ),
            (
                "smtps://user:s3cret-pass@smtp.example.com?tls=required",
                "tls=",
            ),
            ("smtp://smtp.example.com?tls=maybe", "tls="),
            (
                "http://user:s3cret-pass@smtp.example.com",
                "expected smtps://",
            ),
            ("user:s3cret-pass@smtp.example.com", "expected smtps://"),
            (
                "smtp:user:s3cret-pass@smtp.example.com",
                "expected smtps://",
            ),
        ] {
            let refused = check_smtp_url(bad).unwrap_err();
            assert!(refused.contains(why), "{bad}: {refused}");
            assert!(!refused.contains("s3cret-pass"), "{refused}");
        }
    }
}
