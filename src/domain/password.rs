//! The password policy (NIST SP 800-63B): length bounds and a strength
//! estimator instead of composition rules.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// bcrypt reads at most 72 bytes; longer input would be silently truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;

#[derive(Clone, Debug)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

/// A password that passed the policy. Its Debug output is redacted.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl PasswordPolicy {
    /// Checks a candidate password. `user_inputs` are words tied to the
    /// account (email parts, the service's name) that make a password guessable.
    /// Each message says why the password was refused.
    pub fn check(&self, raw: &str, user_inputs: &[&str]) -> Result<NewPassword, Vec<String>> {
        let normalized: String = raw.nfc().collect();
        let mut problems = Vec::new();
        if normalized.chars().any(char::is_control) {
            problems.push("The password cannot contain control characters.".to_owned());
        }
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            problems.push(format!(
                "This password is too short. It must contain at least {} characters.",
                self.min_chars
            ));
        }
        if normalized.len() > MAX_PASSWORD_BYTES {
            problems.push(format!(
                "This password is too long. It can be at most {MAX_PASSWORD_BYTES} bytes \
                 (accented letters and symbols count as more than one); it would not be \
                 stored in full."
            ));
        }
        if problems.is_empty() && built_from(&normalized, user_inputs) {
            problems.push(
                "This password is too similar to your email address. Use words that have \
                 nothing to do with your account."
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            let estimate = zxcvbn::zxcvbn(&normalized, user_inputs);
            if (estimate.score() as u8) < 3 {
                let mut message = "This password is too easy to guess.".to_owned();
                if let Some(feedback) = estimate.feedback() {
                    if let Some(warning) = feedback.warning() {
                        message.push(' ');
                        message.push_str(&warning.to_string());
                    }
                    for suggestion in feedback.suggestions() {
                        message.push(' ');
                        message.push_str(&suggestion.to_string());
                    }
                }
                problems.push(message);
            }
        }
        if problems.is_empty() {
            Ok(NewPassword(normalized))
        } else {
            Err(problems)
        }
    }
}

/// True when little is left of the password once the account's own words
/// (email parts, the service's name), digits and punctuation are removed.
/// zxcvbn alone scores "jordan.miller.example" as strong for that account.
fn built_from(password: &str, user_inputs: &[&str]) -> bool {
    let mut rest = password.to_lowercase();
    let mut words: Vec<String> = user_inputs
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() >= 3)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut removed_any = false;
    for word in &words {
        if rest.contains(word.as_str()) {
            rest = rest.replace(word.as_str(), "");
            removed_any = true;
        }
    }
    removed_any && rest.chars().filter(|c| c.is_alphabetic()).count() < 5
}

#[cfg(test)]
mod tests {
    use super::PasswordPolicy;

    fn policy() -> PasswordPolicy {
        PasswordPolicy { min_chars: 12 }
    }

    #[test]
    fn accepts_a_long_unpredictable_passphrase() {
        assert!(
            policy()
                .check("correct-horse-battery-staple-42", &[])
                .is_ok()
        );
    }

    #[test]
    fn refuses_guessable_passwords_even_when_long_enough() {
        for weak in [
            "password1234",
            "qwertyuiopasdf",
            "aaaaaaaaaaaaaaaa",
            "123456789012",
        ] {
            let problems = policy().check(weak, &[]).err().unwrap_or_default();
            assert!(
                problems.iter().any(|p| p.contains("too easy to guess")),
                "{weak} was accepted: {problems:?}"
            );
        }
    }

    #[test]
    fn refuses_a_password_built_from_the_email() {
        let problems = policy()
            .check(
                "alice.smith2024",
                &["alice.smith@example.com", "alice.smith", "alice", "smith"],
            )
            .err()
            .unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("too similar to your email")),
            "{problems:?}"
        );
        let inputs = [
            "jordan.miller@example.com",
            "jordan.miller",
            "jordan",
            "miller",
            "example",
        ];
        for weak in [
            "jordan.miller.example",
            "Jordan-Miller-1990!",
            "MillerJordan#2024",
        ] {
            assert!(
                policy().check(weak, &inputs).is_err(),
                "{weak} was accepted"
            );
        }
        assert!(
            policy()
                .check("jordan loves purple bicycles", &inputs)
                .is_ok()
        );
    }

    #[test]
    fn length_is_counted_after_nfc_and_never_truncated() {
        use unicode_normalization::UnicodeNormalization;
        // Decomposed accents take one byte more each: 76 bytes in NFD, 66 in NFC.
        let composed = "Zürich-Bäckerei-öffnet-täglich-für-Grüße-Süßes-ÄÖÜ-42!";
        let decomposed: String = composed.nfd().collect();
        assert!(decomposed.len() > 72);
        assert!(
            policy()
                .check(&decomposed, &[])
                .is_ok_and(|p| p.expose() == composed)
        );
        let too_long = "é".repeat(37);
        let problems = policy().check(&too_long, &[]).err().unwrap_or_default();
        assert!(
            problems.iter().any(|p| p.contains("too long")),
            "{problems:?}"
        );
        assert!(
            policy()
                .check("short", &[])
                .is_err_and(|p| p[0].contains("at least 12"))
        );
    }
}
