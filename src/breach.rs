//! Breached passwords (NIST SP 800-63B's blocklist of compromised values),
//! checked by k-anonymity against a Pwned Passwords range API: only the
//! first 5 hex characters of the password's SHA-1 leave the service, with
//! `Add-Padding: true` so the answer's size says nothing either. When the
//! API is slow or down the check fails open: a breach-API outage never
//! blocks resets (it is logged and counted).

use std::time::Duration;

use aws_lc_rs::digest;
use url::Url;

use crate::domain::NewPassword;

/// What the range API said of a password.
#[derive(Debug, PartialEq, Eq)]
pub enum BreachVerdict {
    Clean,
    /// Found in this many breaches.
    Breached(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum BreachCheckFailed {
    #[error("the breached-password API did not answer: {0}")]
    Request(#[source] reqwest::Error),
    #[error("the breached-password API answered {0}")]
    Status(reqwest::StatusCode),
    /// A 2xx whose body is not the range format (`SUFFIX:COUNT` lines): a
    /// proxy's error page, a captive portal, a truncated answer. It says
    /// nothing about the password, so the check fails open.
    #[error("the breached-password API's answer is not a range list (line {line})")]
    Malformed { line: usize },
}

#[derive(Clone)]
pub struct BreachCheck {
    client: reqwest::Client,
    base: Url,
}

impl BreachCheck {
    pub fn new(base: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, base })
    }

    pub async fn check(&self, password: &NewPassword) -> Result<BreachVerdict, BreachCheckFailed> {
        let hash: String = digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            password.expose().as_bytes(),
        )
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
        let (prefix, suffix) = hash.split_at(5);
        let url = format!(
            "{}/range/{prefix}",
            self.base.as_str().trim_end_matches('/')
        );
        let response = self
            .client
            .get(url)
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|e| BreachCheckFailed::Request(e.without_url()))?;
        if !response.status().is_success() {
            return Err(BreachCheckFailed::Status(response.status()));
        }
        let body = response
            .text()
            .await
            .map_err(|e| BreachCheckFailed::Request(e.without_url()))?;
        verdict(&body, suffix)
    }
}

/// The 35 hex characters that follow the 5 sent in the range request.
const SUFFIX_LEN: usize = 35;

/// Finds `suffix` among the `SUFFIX:COUNT` lines; padding lines have count 0.
/// Every line must have that shape (an empty body too is refused: a padded
/// answer always lists hundreds of suffixes), or the answer is not one.
fn verdict(body: &str, suffix: &str) -> Result<BreachVerdict, BreachCheckFailed> {
    let mut found = None;
    let mut lines = 0;
    for (index, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let entry = line.split_once(':').and_then(|(candidate, count)| {
            let is_suffix =
                candidate.len() == SUFFIX_LEN && candidate.bytes().all(|b| b.is_ascii_hexdigit());
            let count = count.trim().parse::<u64>().ok()?;
            is_suffix.then_some((candidate, count))
        });
        let Some((candidate, count)) = entry else {
            return Err(BreachCheckFailed::Malformed { line: index + 1 });
        };
        lines += 1;
        if candidate.eq_ignore_ascii_case(suffix) {
            found = Some(count);
        }
    }
    if lines == 0 {
        return Err(BreachCheckFailed::Malformed { line: 1 });
    }
    Ok(found
        .filter(|count| *count > 0)
        .map_or(BreachVerdict::Clean, BreachVerdict::Breached))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_entries_with_count_zero_are_not_breaches() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:13\r\n";
        assert_eq!(
            verdict(body, "011053fd0102e94d6ae2f8b83d76faf94f6").unwrap(),
            BreachVerdict::Breached(13)
        );
        assert_eq!(
            verdict(body, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC").unwrap(),
            BreachVerdict::Clean
        );
        assert_eq!(verdict(body, "FFFF").unwrap(), BreachVerdict::Clean);
    }

    #[test]
    fn an_answer_that_is_not_a_range_list_is_a_failure_not_clean() {
        let suffix = "011053FD0102E94D6AE2F8B83D76FAF94F6";
        let good = "0018A45C4D1DEF81644B54AB7F969B88D65:1";
        for garbage in [
            "",
            "\r\n",
            "garbage",
            "<html><body>Service unavailable</body></html>",
            "0018A45C4D1DEF81644B54AB7F969B88D65:one",
            "0018A45C4D1DEF81644B54AB7F969B88D6:1",
            "0018A45C4D1DEF81644B54AB7F969B88D65X:1",
            &format!("{good}\r\nnot a line"),
            &format!("{good}\r\n{suffix}:"),
        ] {
            assert!(
                matches!(
                    verdict(garbage, suffix),
                    Err(BreachCheckFailed::Malformed { .. })
                ),
                "{garbage:?}"
            );
        }
    }
}
