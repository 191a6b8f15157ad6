//! Languages. Translations live in `locales/<tag>/pwreset.ftl` (Fluent), one
//! folder per language, embedded at build time: adding a language is adding
//! a folder with a translated copy of `locales/en/pwreset.ftl`. English is
//! the fallback for a missing language and for a missing message.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around values: they would end up in
        // email subjects and links.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language pwreset has translations for.
#[derive(Clone, PartialEq, Eq)]
pub struct Locale(LanguageIdentifier);

impl Locale {
    pub fn english() -> Self {
        Self(fluent_templates::langid!("en"))
    }

    /// Every language with a translation file, English first.
    /// (Listed once: templates look a language up for every message.)
    pub fn all() -> &'static [Self] {
        static ALL: LazyLock<Vec<Locale>> = LazyLock::new(|| {
            let mut all: Vec<Locale> = LOCALES.locales().cloned().map(Locale).collect();
            all.sort_by_key(|l| (l.0.language.as_str() != "en", l.to_string()));
            all
        });
        &ALL
    }

    /// A tag (`de`, `de-AT`, `FR`) as the supported language it names, if any.
    pub fn parse(raw: &str) -> Option<Self> {
        let wanted: LanguageIdentifier = raw.trim().parse().ok()?;
        Self::all()
            .iter()
            .find(|l| l.0.language == wanted.language)
            .cloned()
    }

    /// The best supported language for an `Accept-Language` header (RFC
    /// 9110): the ranges by weight, highest first, ties in header order,
    /// `q=0` never chosen, `*` standing for the default; English when nothing
    /// matches (or there is no header).
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let mut ranges: Vec<(u16, usize, &str)> = accept_language
            .unwrap_or("")
            .split(',')
            .enumerate()
            .filter_map(|(order, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let weight = parts
                    .map(str::trim)
                    .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                    .map(weight_per_mille)
                    .next()
                    .unwrap_or(Some(1000))?;
                (weight > 0 && !tag.is_empty()).then_some((weight, order, tag))
            })
            .collect();
        ranges.sort_by_key(|(weight, order, _)| (std::cmp::Reverse(*weight), *order));
        ranges
            .iter()
            .find_map(|(_, _, tag)| {
                if *tag == "*" {
                    Some(Self::english())
                } else {
                    Self::parse(tag)
                }
            })
            .unwrap_or_else(Self::english)
    }

    /// The message `key` in this language, with `args` filled in. A key
    /// missing everywhere comes back as itself (a test checks that every
    /// language has every key).
    pub fn text(&self, key: &str, args: &[(&str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_owned()), v.clone()))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.0, key, &args)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The language's own name for `<html lang>` and storage, e.g. `de`.
    pub fn tag(&self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({})", self.0)
    }
}

/// The template function `t(key, name=value, ...)` of the email and page
/// templates: the message in the language of the template's `lang`, with
/// `app` (the template's `app_name`) always available to it.
pub fn template_t(
    state: &minijinja::State,
    key: String,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    let locale = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Locale::parse))
        .unwrap_or_else(Locale::english);
    let mut args: Vec<(String, FluentValue<'static>)> = Vec::new();
    if let Some(app) = state.lookup("app_name") {
        args.push(("app".into(), FluentValue::from(app.to_string())));
    }
    for name in kwargs.args() {
        let value: minijinja::Value = kwargs.get(name)?;
        let value = match value.as_i64() {
            Some(n) => FluentValue::from(n),
            None => FluentValue::from(value.to_string()),
        };
        args.push((name.to_owned(), value));
    }
    kwargs.assert_all_used()?;
    let args: Vec<(&str, FluentValue<'static>)> =
        args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(locale.text(&key, &args))
}

/// A `q` value (`0`, `0.5`, `1.000`) in thousandths; None when it is not one.
fn weight_per_mille(q: &str) -> Option<u16> {
    let value: f64 = q.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_four_languages_each_with_every_english_message() {
        let all = Locale::all();
        let tags: Vec<String> = all.iter().map(Locale::tag).collect();
        for expected in ["en", "de", "fr", "es"] {
            assert!(tags.contains(&expected.to_owned()), "{tags:?}");
        }
        let english = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/locales/en/pwreset.ftl"
        ))
        .unwrap();
        let keys: Vec<&str> = english
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .filter(|k| !k.starts_with('#'))
            .collect();
        assert!(keys.len() > 30);
        for tag in &tags {
            let text = std::fs::read_to_string(format!(
                "{}/locales/{tag}/pwreset.ftl",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            for key in &keys {
                assert!(text.contains(&format!("{key} = ")), "{tag} lacks {key}");
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Locale::negotiate(None).tag(), "en");
        assert_eq!(
            Locale::negotiate(Some("de-CH,de;q=0.9,en;q=0.5")).tag(),
            "de"
        );
        assert_eq!(Locale::negotiate(Some("it, fr;q=0.4")).tag(), "fr");
        assert_eq!(Locale::negotiate(Some("ja")).tag(), "en");
        assert_eq!(Locale::negotiate(Some("garbage;;;q=x")).tag(), "en");
        // Weights decide, not the order; q=0 is "never"; ties keep order.
        assert_eq!(Locale::negotiate(Some("de;q=0, es")).tag(), "es");
        assert_eq!(Locale::negotiate(Some("fr;q=0.1,es;q=0.9")).tag(), "es");
        assert_eq!(Locale::negotiate(Some("fr;q=0.5, de;q=0.5")).tag(), "fr");
        assert_eq!(Locale::negotiate(Some("de;q=0")).tag(), "en");
        assert_eq!(
            Locale::negotiate(Some("ja, *;q=0.1, de;q=0.05")).tag(),
            "en"
        );
        assert_eq!(Locale::parse("ES").map(|l| l.tag()).as_deref(), Some("es"));
        assert_eq!(Locale::parse("xx"), None);
    }

    #[test]
    fn messages_fill_in_their_values_without_isolation_marks() {
        let de = Locale::parse("de").unwrap();
        let subject = de.text("email-reset-subject", &[("app", "Acme".into())]);
        assert_eq!(subject, "Setze dein Acme-Passwort zurück");
    }
}
