//! The messages the service sends, rendered with minijinja from built-in
//! templates or from overrides in MAIL_TEMPLATE_DIR.
//!
//! Files (any may be overridden, the rest stay built-in): `reset.subject`,
//! `reset.txt`, `reset.html`, `changed.subject`, `changed.txt`,
//! `changed.html`. Variables: `app_name`, `support_contact` (may be empty),
//! and for `reset.*` also `link` and `lifetime_minutes`. `.html` templates are
//! HTML-escaped automatically. Undefined variables are errors, and every
//! template is test-rendered at start-up, so a broken override refuses
//! start-up with its file and line instead of failing at send time.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, context};

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Branding<'a> {
    pub app_name: &'a str,
    pub support_contact: Option<&'a str>,
}

const BUILT_IN: [(&str, &str); 6] = [
    ("reset.subject", "Reset your {{ app_name }} password"),
    (
        "reset.txt",
        "Someone asked to reset the password of your {{ app_name }} account.

To choose a new password, open this link:

{{ link }}

The link works for {{ lifetime_minutes }} minutes and can be used once.

If you did not ask for this, ignore this email: your password stays as it is.
",
    ),
    (
        "reset.html",
        "<!doctype html>
<html><body>
<p>Someone asked to reset the password of your {{ app_name }} account.</p>
<p><a href=\"{{ link }}\">Choose a new password</a></p>
<p>The link works for {{ lifetime_minutes }} minutes and can be used once.</p>
<p>If you did not ask for this, ignore this email: your password stays as it is.</p>
</body></html>
",
    ),
    ("changed.subject", "Your {{ app_name }} password was changed"),
    (
        "changed.txt",
        "The password of your {{ app_name }} account was just changed.

If this was you, there is nothing to do.

If this wasn't you, someone else may have access to your email: reset your password again right away and {% if support_contact %}contact {{ support_contact }}{% else %}contact your administrator{% endif %}.
",
    ),
    (
        "changed.html",
        "<!doctype html>
<html><body>
<p>The password of your {{ app_name }} account was just changed.</p>
<p>If this was you, there is nothing to do.</p>
<p><strong>If this wasn't you</strong>, someone else may have access to your email: reset your password again right away and {% if support_contact %}contact {{ support_contact }}{% else %}contact your administrator{% endif %}.</p>
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
        for (name, source) in BUILT_IN {
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
                .render(sample_context(name))
                .map_err(|e| template_error(&file, &e))?;
        }
        Ok(Self { env })
    }

    pub fn reset(
        &self,
        branding: &Branding<'_>,
        link: &str,
        lifetime_minutes: u64,
    ) -> Result<Rendered, RenderError> {
        let ctx = context! {
            link => link,
            lifetime_minutes => lifetime_minutes,
            app_name => branding.app_name,
            support_contact => branding.support_contact.unwrap_or_default(),
        };
        self.render("reset", ctx)
    }

    pub fn password_changed(&self, branding: &Branding<'_>) -> Result<Rendered, RenderError> {
        let ctx = context! {
            app_name => branding.app_name,
            support_contact => branding.support_contact.unwrap_or_default(),
        };
        self.render("changed", ctx)
    }

    fn render(&self, base: &str, ctx: minijinja::Value) -> Result<Rendered, RenderError> {
        let part = |suffix: &str| -> Result<String, RenderError> {
            let name = format!("{base}.{suffix}");
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

/// The variables each template really gets, with sample values.
fn sample_context(name: &str) -> minijinja::Value {
    if name.starts_with("reset.") {
        context! {
            link => "https://example.test/reset-password?token=sample",
            lifetime_minutes => 60,
            app_name => "pwreset",
            support_contact => "support@example.test",
        }
    } else {
        context! { app_name => "pwreset", support_contact => "support@example.test" }
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
            .reset(&branding(), "https://x.test/r?token=a&b", 60)
            .unwrap();
        assert!(mail.html.contains("&lt;Acme&gt;") && !mail.html.contains("<Acme>"));
        assert!(mail.html.contains("token=a&amp;b"));
        assert!(
            mail.text.contains("https://x.test/r?token=a&b"),
            "text is not escaped"
        );
        assert!(mail.text.contains("60 minutes"));
        assert_eq!(mail.subject, "Reset your <Acme> password");
        let changed = t.password_changed(&branding()).unwrap();
        assert!(
            changed.text.contains("If this wasn't you") && changed.text.contains("help@acme.test")
        );
        let anonymous = Branding {
            app_name: "Acme",
            support_contact: None,
        };
        assert!(
            t.password_changed(&anonymous)
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
        let mail = t.reset(&branding(), "https://x.test/r", 15).unwrap();
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
