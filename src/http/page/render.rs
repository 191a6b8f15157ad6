//! The page templates: built in (`src/http/page/templates/`), each overridable
//! from `PAGE_TEMPLATE_DIR` (`<dir>/<file>` for every language,
//! `<dir>/<tag>/<file>` for one), rendered with minijinja and worded from
//! the translation files through `t('key', name=value)`.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value, context};

use crate::i18n::Locale;
use crate::mailer::templates::TemplateError;

pub const PAGES: [(&str, &str); 8] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("forgot.html", include_str!("templates/forgot.html")),
    ("sent.html", include_str!("templates/sent.html")),
    ("reset.html", include_str!("templates/reset.html")),
    ("code.html", include_str!("templates/code.html")),
    ("done.html", include_str!("templates/done.html")),
    ("invalid.html", include_str!("templates/invalid.html")),
    ("error.html", include_str!("templates/error.html")),
];

pub struct Pages {
    env: Environment<'static>,
}

/// Rendering failed after start-up checked every template: a bug.
#[derive(Debug, thiserror::Error)]
#[error("page {name}: {source}")]
pub struct PageError {
    name: String,
    #[source]
    source: minijinja::Error,
}

impl Pages {
    /// Loads the built-in pages and any overrides; every template is rendered
    /// once with sample values, so a broken override refuses start-up.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_function("t", crate::i18n::template_t);
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| TemplateError {
                file: path.display().to_string(),
                line: None,
                message: e.to_string(),
            })
        };
        for (name, built_in) in PAGES {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => read(&path)?,
                None => built_in.to_owned(),
            };
            env.add_template_owned(name, source)
                .map_err(|e| page_error(dir, name, &e))?;
            for locale in Locale::all() {
                let path = dir.map(|d| d.join(locale.tag()).join(name));
                if let Some(path) = path.filter(|p| p.is_file()) {
                    let localized = format!("{}/{name}", locale.tag());
                    env.add_template_owned(localized.clone(), read(&path)?)
                        .map_err(|e| page_error(dir, &localized, &e))?;
                }
            }
        }
        let pages = Self { env };
        for (name, _) in PAGES.iter().filter(|(n, _)| *n != "layout.html") {
            for locale in Locale::all() {
                pages
                    .render(
                        name,
                        locale,
                        "pwreset",
                        context! { title => "page-error-title", min_length => 12 },
                    )
                    .map_err(|e| TemplateError {
                        file: format!("{} ({})", name, locale.tag()),
                        line: e.source.line(),
                        message: e.source.to_string(),
                    })?;
            }
        }
        Ok(pages)
    }

    /// Renders page `name` in `locale`, with `app_name` and `lang` set.
    pub fn render(
        &self,
        name: &str,
        locale: &Locale,
        app_name: &str,
        values: Value,
    ) -> Result<String, PageError> {
        let localized = format!("{}/{name}", locale.tag());
        let chosen = if self.env.get_template(&localized).is_ok() {
            localized
        } else {
            name.to_owned()
        };
        let ctx = context! { lang => locale.tag(), app_name => app_name, ..values };
        self.env
            .get_template(&chosen)
            .and_then(|t| t.render(ctx))
            .map_err(|source| PageError {
                name: chosen,
                source,
            })
    }
}

fn page_error(dir: Option<&Path>, name: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError {
        file: dir.map_or_else(
            || format!("(built-in) {name}"),
            |d| d.join(name).display().to_string(),
        ),
        line: e.line(),
        message: e.to_string(),
    }
}
