//! An email address as the service stores and compares it.

use unicode_normalization::UnicodeNormalization;

/// A syntactically plausible address, normalized into the one key the
/// service stores, looks up and counts limits on (see docs/decisions.md):
/// the local part is NFC of the Unicode default case folding of its NFD
/// (canonical caseless matching: `ΣΣ`, `σσ` and `σς` are one key, `İ` and
/// `i̇` are one key, `ß` is `ss`); the domain is mapped by UTS #46 to its
/// ASCII form (`BÜCHER.de` and `xn--bcher-kva.de` are `xn--bcher-kva.de`),
/// which every mail provider delivers to without SMTPUTF8. No
/// compatibility (NFKC) mapping of the local part: mail systems tell
/// fullwidth `ａ` from `a`, so the service does too.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why an address was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(&'static str);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        // Line breaks anywhere (even trailing) are refused, never trimmed:
        // they are how header injection starts.
        if raw.chars().any(char::is_control) {
            return Err(InvalidEmail(
                "An email address cannot contain line breaks or control characters.",
            ));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidEmail("Enter an email address."));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(InvalidEmail(
                "An email address cannot contain spaces, line breaks or control characters.",
            ));
        }
        let Some(normalized) = normalize(trimmed) else {
            return Err(InvalidEmail("Enter a valid email address."));
        };
        if normalized.len() > 254 {
            return Err(InvalidEmail(
                "An email address is at most 254 characters long.",
            ));
        }
        let Some((local, domain)) = normalized.rsplit_once('@') else {
            return Err(InvalidEmail("Enter a valid email address."));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"']);
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(InvalidEmail("Enter a valid email address."));
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Words a guessable password might be built from: the whole address,
    /// the local part, and the domain's labels.
    pub fn guessable_parts(&self) -> Vec<&str> {
        let mut parts = vec![self.0.as_str()];
        if let Some((local, domain)) = self.0.rsplit_once('@') {
            parts.push(local);
            parts.extend(local.split(['.', '_', '-', '+']).filter(|p| p.len() > 2));
            parts.extend(domain.split('.').filter(|p| p.len() > 2));
        }
        parts
    }
}

/// The key of an address, or None when its domain is not a domain name.
fn normalize(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let decomposed: String = local.nfd().collect();
    let folded = icu_casemap::CaseMapper::new().fold_string(&decomposed);
    let local: String = folded.nfc().collect();
    let domain = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn normalizes_case_and_whitespace() {
        let email = EmailAddress::parse("  Alice.Smith@Example.COM ").map(|e| e.to_string());
        assert_eq!(email.as_deref(), Ok("alice.smith@example.com"));
    }

    #[test]
    fn one_key_for_every_case_of_an_address() {
        let key = |raw: &str| EmailAddress::parse(raw).map(|e| e.to_string()).unwrap();
        // Greek: final sigma and capital sigma fold to one sigma.
        assert_eq!(key("ΣΣ@example.com"), "σσ@example.com");
        assert_eq!(key("σς@example.com"), "σσ@example.com");
        // Capital I with dot is i + combining dot, whichever way it came.
        assert_eq!(key("İ@example.com"), "i\u{307}@example.com");
        assert_eq!(key("i\u{307}@example.com"), key("İ@example.com"));
        assert_ne!(key("İ@example.com"), key("i@example.com"));
        // Composed and decomposed forms are one key.
        assert_eq!(key("Jose\u{301}@example.com"), key("JOSÉ@example.com"));
        assert_eq!(key("STRASSE@example.com"), key("straße@example.com"));
        // Fullwidth letters stay themselves in the local part.
        assert_ne!(key("ａ@example.com"), key("a@example.com"));
        // Domains through UTS #46: case, and A-labels meet U-labels.
        assert_eq!(key("a@BÜCHER.de"), "a@xn--bcher-kva.de");
        assert_eq!(key("a@XN--BCHER-KVA.de"), "a@xn--bcher-kva.de");
    }

    #[test]
    fn rejects_header_injection_and_garbage() {
        for bad in [
            "a@example.com\r\nBcc: x@evil.test",
            "a@example.com\n",
            "a b@example.com",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@localhost",
            "a@exa_mple.com",
            "a@@example.com",
            "<a@example.com>",
            "a@xn--zz.de",
            "",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
