//! An email address as the service stores and compares it.

use unicode_normalization::UnicodeNormalization;

/// A syntactically plausible address, normalized: trimmed, NFC, lower-cased.
/// Lower-casing the local part is a deliberate choice (see docs/decisions.md):
/// real providers treat it case-insensitively, and users type it both ways.
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
        let normalized: String = trimmed.nfc().collect::<String>().to_lowercase();
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
            "",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
