//! The password policy (NIST SP 800-63B): length bounds and a strength
//! estimator instead of composition rules.

use std::fmt;

use fluent_templates::fluent_bundle::FluentValue;
use unicode_normalization::UnicodeNormalization;
use zxcvbn::feedback::{Suggestion, Warning};

use crate::i18n::Locale;

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

/// What is wrong with the two fields a person filled in, before the policy
/// looks at the password: the one check every way of setting a password
/// through a form or the JSON API goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryProblem {
    /// No new password at all.
    Missing,
    /// The confirmation differs from the new password.
    Mismatch,
}

impl EntryProblem {
    /// The problems of a new password and its confirmation; empty when the
    /// policy may look at the password.
    pub fn of(new_password: &str, confirm_password: &str) -> Vec<Self> {
        let mut problems = Vec::new();
        if new_password.is_empty() {
            problems.push(Self::Missing);
        }
        if new_password != confirm_password {
            problems.push(Self::Mismatch);
        }
        problems
    }

    /// Each problem by its field, in `locale`.
    pub fn field_errors(problems: &[Self], locale: &Locale) -> crate::domain::FieldErrors {
        let mut errors = crate::domain::FieldErrors::new();
        for problem in problems {
            let (field, key) = match problem {
                Self::Missing => ("new_password", "password-required"),
                Self::Mismatch => ("confirm_password", "password-mismatch"),
            };
            errors
                .entry(field.to_owned())
                .or_default()
                .push(locale.text(key, &[]));
        }
        errors
    }
}

/// Why a password was refused; worded in any language by `message`.
#[derive(Clone, Debug, PartialEq)]
pub enum PasswordProblem {
    ControlCharacters,
    TooShort {
        min: usize,
    },
    TooLong,
    LikeEmail,
    /// Found in a data breach (the Pwned Passwords range check).
    Breached,
    /// zxcvbn's verdict, with its warning and suggestions if it gave any.
    Guessable {
        warning: Option<Warning>,
        suggestions: Vec<Suggestion>,
    },
}

impl PasswordProblem {
    /// The reason in `locale`, from the translation files.
    pub fn message(&self, locale: &Locale) -> String {
        match self {
            Self::ControlCharacters => locale.text("password-control", &[]),
            Self::TooShort { min } => locale.text(
                "password-too-short",
                &[("min", FluentValue::from(*min as i64))],
            ),
            Self::TooLong => locale.text(
                "password-too-long",
                &[("max", FluentValue::from(MAX_PASSWORD_BYTES as i64))],
            ),
            Self::LikeEmail => locale.text("password-like-email", &[]),
            Self::Breached => locale.text("password-breached", &[]),
            Self::Guessable {
                warning,
                suggestions,
            } => {
                let mut message = locale.text("password-guessable", &[]);
                let hints = warning
                    .iter()
                    .map(|w| format!("zxcvbn-{w:?}"))
                    .chain(suggestions.iter().map(|s| format!("zxcvbn-{s:?}")));
                for key in hints {
                    message.push(' ');
                    message.push_str(&locale.text(&key, &[]));
                }
                message
            }
        }
    }

    /// Every problem in `locale`.
    pub fn messages(problems: &[Self], locale: &Locale) -> Vec<String> {
        problems.iter().map(|p| p.message(locale)).collect()
    }
}

impl PasswordPolicy {
    /// Checks a candidate password. `user_inputs` are words tied to the
    /// account (email parts, the service's name) that make a password guessable.
    pub fn check(
        &self,
        raw: &str,
        user_inputs: &[&str],
    ) -> Result<NewPassword, Vec<PasswordProblem>> {
        let normalized: String = raw.nfc().collect();
        let mut problems = Vec::new();
        if normalized.chars().any(char::is_control) {
            problems.push(PasswordProblem::ControlCharacters);
        }
        if normalized.chars().count() < self.min_chars {
            problems.push(PasswordProblem::TooShort {
                min: self.min_chars,
            });
        }
        if normalized.len() > MAX_PASSWORD_BYTES {
            problems.push(PasswordProblem::TooLong);
        }
        if problems.is_empty() && built_from(&normalized, user_inputs) {
            problems.push(PasswordProblem::LikeEmail);
        }
        if problems.is_empty() {
            let estimate = zxcvbn::zxcvbn(&normalized, user_inputs);
            if (estimate.score() as u8) < 3 {
                let feedback = estimate.feedback();
                problems.push(PasswordProblem::Guessable {
                    warning: feedback.and_then(|f| f.warning()),
                    suggestions: feedback
                        .map(|f| f.suggestions().to_vec())
                        .unwrap_or_default(),
                });
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
    use super::{PasswordPolicy, PasswordProblem};
    use crate::i18n::Locale;

    struct English(PasswordPolicy);

    impl English {
        /// The policy's verdict in English words, as the JSON API gives it.
        fn check(&self, raw: &str, inputs: &[&str]) -> Result<super::NewPassword, Vec<String>> {
            self.0
                .check(raw, inputs)
                .map_err(|p| PasswordProblem::messages(&p, &Locale::english()))
        }
    }

    fn policy() -> English {
        English(PasswordPolicy { min_chars: 12 })
    }

    #[test]
    fn reasons_are_worded_in_each_language() {
        let problems = PasswordPolicy { min_chars: 12 }
            .check("password1234", &[])
            .unwrap_err();
        let de = PasswordProblem::messages(&problems, &Locale::parse("de").unwrap());
        assert!(
            de[0].starts_with("Dieses Passwort ist zu leicht zu erraten."),
            "{de:?}"
        );
        assert!(
            de[0].contains("sehr häufiges Passwort"),
            "zxcvbn's warning too: {de:?}"
        );
        let short = PasswordPolicy { min_chars: 12 }
            .check("kurz", &[])
            .unwrap_err();
        let fr = PasswordProblem::messages(&short, &Locale::parse("fr").unwrap());
        assert!(fr[0].contains("au moins 12 caractères"), "{fr:?}");
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

#[cfg(test)]
mod entry_tests {
    use super::EntryProblem;
    use crate::i18n::Locale;

    #[test]
    fn the_two_fields_are_checked_once_and_worded_per_language() {
        assert_eq!(
            EntryProblem::of("a long passphrase", "a long passphrase"),
            []
        );
        assert_eq!(EntryProblem::of("", ""), [EntryProblem::Missing]);
        assert_eq!(
            EntryProblem::of("", "x"),
            [EntryProblem::Missing, EntryProblem::Mismatch]
        );
        let english = EntryProblem::field_errors(&[EntryProblem::Mismatch], &Locale::english());
        assert_eq!(
            english["confirm_password"],
            ["The two password fields didn't match."]
        );
        let german =
            EntryProblem::field_errors(&[EntryProblem::Missing], &Locale::negotiate(Some("de")));
        assert_eq!(german["new_password"], ["Gib ein neues Passwort ein."]);
    }
}
