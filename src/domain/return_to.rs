//! Where a person goes after a reset (`return_to`), and the allow-list it
//! must match (`RETURN_TO_ALLOWED`). Strict by construction: a URL is
//! refused before it is compared if anything in it could make two parsers
//! disagree about where it leads (user-info, backslashes, control
//! characters raw or encoded, dot segments raw or encoded), and it matches
//! an entry only with the same scheme, host and port and a path under the
//! entry's at a `/` boundary. A leading `*.` in an entry's host stands for
//! one or more whole labels.

use std::fmt;

use url::{Host, Url};

/// Longer than any real address back to an application.
/// (It travels in the link, whose JWT is bounded by `MAX_JWT_LEN`.)
pub const MAX_RETURN_TO_CHARS: usize = 1024;

/// A `return_to` that matched an entry of the allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReturnTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a `return_to` was refused, in words for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReturnToRefused {
    #[error("must be at most {MAX_RETURN_TO_CHARS} characters")]
    TooLong,
    #[error("must be an absolute http(s) URL")]
    NotAbsoluteHttp,
    #[error(
        "must not contain user information (@), backslashes, control characters or dot segments"
    )]
    Ambiguous,
    #[error("is not an allowed address to return to (RETURN_TO_ALLOWED)")]
    NotAllowed,
}

/// One entry of `RETURN_TO_ALLOWED`: a scheme, a host (or `*.` and a
/// suffix of at least two labels), a port and a path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedPrefix {
    scheme: String,
    host: HostRule,
    port: Option<u16>,
    path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostRule {
    Exact(String),
    /// `*.example.com`: one or more labels before `.example.com`.
    Subdomains(String),
}

/// The allow-list; empty refuses every `return_to`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnToAllowList(Vec<AllowedPrefix>);

impl AllowedPrefix {
    /// An entry as an operator writes it; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (wildcard, url_text) = match raw.split_once("://*.") {
            Some((scheme, rest)) => (true, format!("{scheme}://{rest}")),
            None => (false, raw.to_owned()),
        };
        let url = well_formed(&url_text)
            .map_err(|why| format!("{raw:?}: {why}"))?
            .ok_or_else(|| format!("{raw:?}: must be an absolute http(s) URL"))?;
        if url.query().is_some() || url.fragment().is_some() || raw.contains('*') && !wildcard {
            return Err(format!(
                "{raw:?}: an entry is a scheme, host, optional port and path prefix; `*` only \
                 as a leading `*.` of the host, no query or fragment"
            ));
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) if wildcard => {
                if domain.split('.').filter(|l| !l.is_empty()).count() < 2 {
                    return Err(format!(
                        "{raw:?}: a wildcard needs a domain of at least two labels (*.example.com)"
                    ));
                }
                HostRule::Subdomains(domain.to_owned())
            }
            Some(_) if wildcard => {
                return Err(format!("{raw:?}: a wildcard needs a domain name"));
            }
            Some(host) => HostRule::Exact(host.to_string()),
            None => return Err(format!("{raw:?}: must have a host")),
        };
        Ok(Self {
            scheme: url.scheme().to_owned(),
            host,
            port: url.port_or_known_default(),
            path: url.path().to_owned(),
        })
    }

    fn allows(&self, url: &Url) -> bool {
        let host_ok = match (&self.host, url.host()) {
            (HostRule::Exact(host), Some(candidate)) => candidate.to_string() == *host,
            (HostRule::Subdomains(suffix), Some(Host::Domain(candidate))) => candidate
                .strip_suffix(suffix.as_str())
                .and_then(|labels| labels.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty() && !labels.split('.').any(str::is_empty)),
            _ => false,
        };
        let path = url.path();
        host_ok
            && url.scheme() == self.scheme
            && url.port_or_known_default() == self.port
            && path.starts_with(&self.path)
            && (path.len() == self.path.len()
                || self.path.ends_with('/')
                || path.as_bytes()[self.path.len()] == b'/')
    }
}

impl ReturnToAllowList {
    pub fn new(entries: Vec<AllowedPrefix>) -> Self {
        Self(entries)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The URL, if it is well formed and under an entry.
    pub fn check(&self, raw: &str) -> Result<ReturnTo, ReturnToRefused> {
        if raw.chars().count() > MAX_RETURN_TO_CHARS {
            return Err(ReturnToRefused::TooLong);
        }
        let url = well_formed(raw)?.ok_or(ReturnToRefused::NotAbsoluteHttp)?;
        if self.0.iter().any(|entry| entry.allows(&url)) {
            Ok(ReturnTo(url.to_string()))
        } else {
            Err(ReturnToRefused::NotAllowed)
        }
    }
}

/// The URL parsed, if it is absolute http(s) with a host and nothing that
/// parsers read differently; `Ok(None)` when it is not absolute http(s).
fn well_formed(raw: &str) -> Result<Option<Url>, ReturnToRefused> {
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Ok(None);
    }
    let encoded_control = lower.match_indices('%').any(|(at, _)| {
        let hex = lower.get(at + 1..at + 3).unwrap_or("");
        u8::from_str_radix(hex, 16).is_ok_and(|b| b < 0x20 || b == 0x7f)
    });
    let dot_segment = ["..", "%2e%2e", ".%2e", "%2e."]
        .iter()
        .any(|dots| lower.contains(dots));
    if raw.contains(['@', '\\'])
        || raw.chars().any(|c| c.is_control() || c.is_whitespace())
        || encoded_control
        || dot_segment
        || lower.contains("%5c")
        || lower.contains("%40")
    {
        return Err(ReturnToRefused::Ambiguous);
    }
    Ok(Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> ReturnToAllowList {
        ReturnToAllowList::new(
            entries
                .iter()
                .map(|e| AllowedPrefix::parse(e).unwrap())
                .collect(),
        )
    }

    #[test]
    fn entries_are_refused_when_they_could_match_more_than_they_say() {
        for bad in [
            "https://*/",
            "https://*.com/",
            "https://app.example.com*",
            "https://*.127.0.0.1/",
            "https://app.example.com/?next=1",
            "javascript:alert(1)",
            "//app.example.com/",
            "https://user@app.example.com/",
        ] {
            assert!(AllowedPrefix::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_path_prefix_ends_at_a_slash_boundary() {
        let allowed = list(&[
            "https://app.example.com/a",
            "https://docs.example.com/docs/",
        ]);
        for ok in [
            "https://app.example.com/a",
            "https://app.example.com/a/b?x=1#top",
            "https://APP.example.com/a/",
            "https://app.example.com:443/a",
            "https://docs.example.com/docs/intro",
        ] {
            assert!(allowed.check(ok).is_ok(), "{ok}");
        }
        for refused in [
            "https://app.example.com/ab",
            "https://app.example.com/",
            "https://docs.example.com/docss",
            "https://docs.example.com/docs",
        ] {
            assert_eq!(
                allowed.check(refused),
                Err(ReturnToRefused::NotAllowed),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_wildcard_is_whole_labels_of_that_domain_only() {
        let allowed = list(&["https://*.example.com/"]);
        assert!(allowed.check("https://eu.example.com/").is_ok());
        assert!(allowed.check("https://a.b.example.com/x").is_ok());
        for refused in [
            "https://example.com/",
            "https://evilexample.com/",
            "https://example.com.evil.net/",
            "https://eu.example.com.evil.net/",
            "http://eu.example.com/",
        ] {
            assert!(allowed.check(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_known_bypasses_are_refused() {
        let allowed = list(&["https://app.example.com/account", "http://localhost:3000/"]);
        let long = format!("https://app.example.com/account/{}", "a".repeat(4096));
        for (attempt, why) in [
            (
                "https://app.example.com/accountx",
                ReturnToRefused::NotAllowed,
            ),
            (
                "https://app.example.com.evil.com/account",
                ReturnToRefused::NotAllowed,
            ),
            (
                "https://app.examp1e.com/account",
                ReturnToRefused::NotAllowed,
            ),
            (
                "https://аpp.example.com/account",
                ReturnToRefused::NotAllowed,
            ),
            (
                "https://app.example.com@evil.com/account",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://a@b@app.example.com/account",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://evil.com\\@app.example.com/account",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com\\evil.com/account",
                ReturnToRefused::Ambiguous,
            ),
            (
                "//app.example.com/account",
                ReturnToRefused::NotAbsoluteHttp,
            ),
            ("/account", ReturnToRefused::NotAbsoluteHttp),
            (
                "https:app.example.com/account",
                ReturnToRefused::NotAbsoluteHttp,
            ),
            (
                "javascript:alert(1)//https://app.example.com/account",
                ReturnToRefused::NotAbsoluteHttp,
            ),
            (
                "data:text/html,<script>alert(1)</script>",
                ReturnToRefused::NotAbsoluteHttp,
            ),
            (
                "https://app.example.com/account/../admin",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com/account/..;/admin",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com/account/%2e%2e/admin",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com/account/%2E./admin",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com/account/%0d%0aSet-Cookie:x",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com/account/\r\nx",
                ReturnToRefused::Ambiguous,
            ),
            (
                "https://app.example.com:8443/account",
                ReturnToRefused::NotAllowed,
            ),
            (
                "http://app.example.com/account",
                ReturnToRefused::NotAllowed,
            ),
            (
                "http://localhost.evil.com:3000/",
                ReturnToRefused::NotAllowed,
            ),
            (
                "http://evil.com/?localhost:3000/",
                ReturnToRefused::NotAllowed,
            ),
            ("http://localhost:3001/", ReturnToRefused::NotAllowed),
            (long.as_str(), ReturnToRefused::TooLong),
        ] {
            assert_eq!(allowed.check(attempt), Err(why), "{attempt}");
        }
        assert!(allowed.check("http://localhost:3000/after-reset").is_ok());
    }

    #[test]
    fn an_empty_list_refuses_everything() {
        assert_eq!(
            ReturnToAllowList::default().check("https://app.example.com/"),
            Err(ReturnToRefused::NotAllowed)
        );
    }
}
