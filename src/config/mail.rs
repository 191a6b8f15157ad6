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

const PROVIDER_NAMES: [&str; 8] = [
    "log", "file", "postmark", "sendgrid", "mailgun", "resend", "mailpit", "http",
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
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub template_dir: Option<PathBuf>,
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
        connect_timeout: Duration::from_secs(r.number(
            &vars::MAIL_CONNECT_TIMEOUT_SECS,
            1..=60,
            "seconds",
        )),
        timeout: Duration::from_secs(r.number(&vars::MAIL_TIMEOUT_SECS, 1..=300, "seconds")),
        template_dir,
    }
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
}
