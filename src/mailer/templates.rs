//! The messages the service sends, rendered with minijinja from built-in
//! templates or from overrides in MAIL_TEMPLATE_DIR.
//!
//! Files (any may be overridden, the rest stay built-in): `reset.subject`,
//! `reset.txt`, `reset.html`, `changed.subject`, `changed.txt`,
//! `changed.html`; `<tag>/<file>` (e.g. `de/reset.txt`) overrides one
//! language only. Variables: `app_name`, `support_contact` (may be empty),
//! `contact` (the translated "contact ..." phrase), `lang`, and for `reset.*`
//! also `link`, `lifetime_minutes`, `code` (the one-time code, grouped
//! `1234 5678`; empty for an email queued before codes existed) and
//! `code_in_subject` (`RESET_CODE_IN_SUBJECT`, and a code to show); `t('key', name=value)` looks a message
//! up in the language's translation file. `.html` templates are HTML-escaped
//! automatically. Undefined variables are errors, and every
//! template is test-rendered at start-up, so a broken override refuses
//! start-up with its file and line instead of failing at send time.

use std::path::{Path, PathBuf};

use fluent_templates::fluent_bundle::FluentValue;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, context};

use crate::i18n::Locale;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a reset email says: the link, how long it lives, and the one-time
/// code beside it (grouped, `1234 5678`; none for a row queued before codes).
pub struct ResetContent<'a> {
    pub link: &'a str,
    pub lifetime_minutes: u64,
    pub code: Option<&'a str>,
    /// `RESET_CODE_IN_SUBJECT`.
    pub code_in_subject: bool,
}

pub struct Branding<'a> {
    pub app_name: &'a str,
    pub support_contact: Option<&'a str>,
}

/// The built-in templates: structure only; every word comes from the
/// translation files (`locales/<tag>/pwreset.ftl`) through `t(key, ...)`.
const BUILT_IN: [(&str, &str); 6] = [
    (
        "reset.subject",
        "{{ t('email-reset-subject') }}{% if code_in_subject %}: {{ code }}{% endif %}",
    ),
    (
        "reset.txt",
        "{{ t('email-reset-intro') }}

{{ t('email-reset-open') }}

{{ link }}
{% if code %}
{{ t('email-reset-code') }}

    {{ code }}
{% endif %}
{{ t('email-reset-lifetime', minutes=lifetime_minutes) }}

{{ t('email-reset-ignore') }}
",
    ),
    (
        "reset.html",
        "<!doctype html>
<html lang=\"{{ lang }}\"><body>
<p>{{ t('email-reset-intro') }}</p>
<p><a href=\"{{ link }}\">{{ t('email-reset-button') }}</a></p>
{% if code %}<p>{{ t('email-reset-code') }}</p>
<p style=\"font-size:1.5em;letter-spacing:0.1em\"><strong>{{ code }}</strong></p>{% endif %}
<p>{{ t('email-reset-lifetime', minutes=lifetime_minutes) }}</p>
<p>{{ t('email-reset-ignore') }}</p>
</body></html>
",
    ),
    ("changed.subject", "{{ t('email-changed-subject') }}"),
    (
        "changed.txt",
        "{{ t('email-changed-intro') }}

{{ t('email-changed-fine') }}

{{ t('email-changed-warning-lead') }}{{ t('email-changed-warning', contact=contact) }}
",
    ),
    (
        "changed.html",
        "<!doctype html>
<html lang=\"{{ lang }}\"><body>
<p>{{ t('email-changed-intro') }}</p>
<p>{{ t('email-changed-fine') }}</p>
<p><strong>{{ t('email-changed-warning-lead') }}</strong>{{ t('email-changed-warning', contact=contact) }}</p>
</body></html>
",
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("MAIL_TEMPLATE_DIR: {file}{}: {message}", .line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct TemplateError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// A template failed at send time (start-up renders each once, so this is rare).
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct RenderError {
    name: String,
    #[source]
    source: minijinja::Error,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // minijinja's HTML escaping also turns `/` into `&#x2f;`, which makes
        // links in the HTML unreadable; escape only what HTML needs.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => out
                .write_str(&escape_html(text))
                .map_err(|e| minijinja::Error::new(ErrorKind::WriteFailure, e.to_string())),
            _ => minijinja::escape_formatter(out, state, value),
        });
        env.add_function("t", crate::i18n::template_t);
        for (name, source) in BUILT_IN {
            // Per-language overrides first: `<dir>/<tag>/<name>`.
            for locale in Locale::all() {
                let path = dir.map(|d| d.join(locale.tag()).join(name));
                if let Some(path) = path.filter(|p| p.is_file()) {
                    let text = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                        file: path.display().to_string(),
                        line: None,
                        message: e.to_string(),
                    })?;
                    let localized = format!("{}/{name}", locale.tag());
                    env.add_template_owned(localized.clone(), text)
                        .map_err(|e| template_error(&path, &e))?;
                    env.get_template(&localized)
                        .and_then(|t| t.render(sample_context(name, locale)))
                        .map_err(|e| template_error(&path, &e))?;
                }
            }
            let (file, source) = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                        file: path.display().to_string(),
                        line: None,
                        message: e.to_string(),
                    })?;
                    (path, text)
                }
                None => (
                    PathBuf::from(format!("(built-in) {name}")),
                    source.to_owned(),
                ),
            };
            env.add_template_owned(name, source)
                .map_err(|e| template_error(&file, &e))?;
            // Render once with sample values: unknown variables and filters show now.
            let template = env
                .get_template(name)
                .map_err(|e| template_error(&file, &e))?;
            template
                .render(sample_context(name, &Locale::english()))
                .map_err(|e| template_error(&file, &e))?;
        }
        Ok(Self { env })
    }

    pub fn reset(
        &self,
        branding: &Branding<'_>,
        content: &ResetContent<'_>,
        locale: &Locale,
    ) -> Result<Rendered, RenderError> {
        let ctx = context! {
            link => content.link,
            lifetime_minutes => content.lifetime_minutes,
            code => content.code.unwrap_or_default(),
            code_in_subject => content.code_in_subject && content.code.is_some(),
            ..branding_context(branding, locale)
        };
        self.render("reset", ctx, locale)
    }

    pub fn password_changed(
        &self,
        branding: &Branding<'_>,
        locale: &Locale,
    ) -> Result<Rendered, RenderError> {
        self.render("changed", branding_context(branding, locale), locale)
    }

    fn render(
        &self,
        base: &str,
        ctx: minijinja::Value,
        locale: &Locale,
    ) -> Result<Rendered, RenderError> {
        let part = |suffix: &str| -> Result<String, RenderError> {
            let name = format!("{base}.{suffix}");
            let localized = format!("{}/{name}", locale.tag());
            let name = if self.env.get_template(&localized).is_ok() {
                localized
            } else {
                name
            };
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map_err(|source| RenderError { name, source })
        };
        // A subject is one header line: no line breaks can get through.
        let subject = part("subject")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Rendered {
            subject,
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

/// Escapes the five characters HTML needs escaped, and nothing else.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// What every message knows: the product, who to contact, the language.
fn branding_context(branding: &Branding<'_>, locale: &Locale) -> minijinja::Value {
    let app = branding.app_name.to_owned();
    let contact = match branding.support_contact {
        Some(who) => locale.text(
            "email-changed-contact",
            &[("who", FluentValue::from(who.to_owned()))],
        ),
        None => locale.text("email-changed-contact-admin", &[]),
    };
    context! {
        app_name => app,
        support_contact => branding.support_contact.unwrap_or_default(),
        contact => contact,
        lang => locale.tag(),
    }
}

/// The variables each template really gets, with sample values.
fn sample_context(name: &str, locale: &Locale) -> minijinja::Value {
    let branding = Branding {
        app_name: "pwreset",
        support_contact: Some("support@example.test"),
    };
    if name.starts_with("reset.") {
        context! {
            link => "https://example.test/reset-password?token=sample",
            lifetime_minutes => 60,
            code => "1234 5678",
            code_in_subject => true,
            ..branding_context(&branding, locale)
        }
    } else {
        branding_context(&branding, locale)
    }
}

fn template_error(file: &Path, e: &minijinja::Error) -> TemplateError {
    TemplateError {
        file: file.display().to_string(),
        line: e.line(),
        message: match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(link: &str, lifetime_minutes: u64) -> ResetContent<'_> {
        ResetContent {
            link,
            lifetime_minutes,
            code: Some("1234 5678"),
            code_in_subject: false,
        }
    }

    fn en() -> Locale {
        Locale::english()
    }

    #[test]
    fn each_language_has_its_words_and_its_own_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fr")).unwrap();
        std::fs::write(
            dir.path().join("fr/reset.subject"),
            "Acme : {{ t('email-reset-button') }}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let de = Locale::parse("de").unwrap();
        let mail = t
            .reset(&branding(), &content("https://x.test/r", 30), &de)
            .unwrap();
        assert_eq!(mail.subject, "Setze dein <Acme>-Passwort zurück");
        assert!(mail.text.contains("30 Minuten"), "{}", mail.text);
        assert!(mail.html.contains("lang=\"de\""));
        let fr = Locale::parse("fr").unwrap();
        let mail = t
            .reset(&branding(), &content("https://x.test/r", 30), &fr)
            .unwrap();
        assert_eq!(mail.subject, "Acme : Choisir un nouveau mot de passe");
        assert!(mail.text.contains("30 minutes"), "built-in text in French");
        let es = Locale::parse("es").unwrap();
        let changed = t.password_changed(&branding(), &es).unwrap();
        assert!(
            changed
                .text
                .contains("ponte en contacto con help@acme.test"),
            "{}",
            changed.text
        );
    }

    fn branding() -> Branding<'static> {
        Branding {
            app_name: "<Acme>",
            support_contact: Some("help@acme.test"),
        }
    }

    #[test]
    fn html_is_escaped_and_the_lifetime_stated() {
        let t = Templates::load(None).unwrap();
        let mail = t
            .reset(
                &branding(),
                &content("https://x.test/r?token=a&b", 60),
                &en(),
            )
            .unwrap();
        assert!(mail.html.contains("&lt;Acme&gt;") && !mail.html.contains("<Acme>"));
        assert!(mail.html.contains("token=a&amp;b"));
        assert!(
            mail.text.contains("https://x.test/r?token=a&b"),
            "text is not escaped"
        );
        assert!(mail.text.contains("60 minutes"));
        assert_eq!(mail.subject, "Reset your <Acme> password");
        let changed = t.password_changed(&branding(), &en()).unwrap();
        assert!(
            changed.text.contains("If this wasn't you") && changed.text.contains("help@acme.test")
        );
        let anonymous = Branding {
            app_name: "Acme",
            support_contact: None,
        };
        assert!(
            t.password_changed(&anonymous, &en())
                .unwrap()
                .text
                .contains("contact your administrator")
        );
    }

    #[test]
    fn overrides_replace_only_their_own_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("reset.subject"),
            "{{ app_name }}: new\npassword\r\nBcc: x",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("reset.txt"),
            "Go to {{ link }} within {{ lifetime_minutes }} min.",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let mail = t
            .reset(&branding(), &content("https://x.test/r", 15), &en())
            .unwrap();
        assert_eq!(
            mail.subject, "<Acme>: new password Bcc: x",
            "one line, whatever the template says"
        );
        assert_eq!(mail.text, "Go to https://x.test/r within 15 min.");
        assert!(
            mail.html.contains("Choose a new password"),
            "html stays built-in"
        );
    }

    #[test]
    fn a_broken_override_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("changed.html"),
            "<p>ok</p>\n<p>{{ app_name </p>\n",
        )
        .unwrap();
        let err = Templates::load(Some(dir.path())).err().unwrap().to_string();
        assert!(err.contains("changed.html line 2"), "{err}");

        std::fs::write(dir.path().join("changed.html"), "<p>{{ app_nmae }}</p>\n").unwrap();
        let err = Templates::load(Some(dir.path())).err().unwrap().to_string();
        assert!(
            err.contains("changed.html line 1") && err.contains("undefined"),
            "{err}"
        );
    }
}
