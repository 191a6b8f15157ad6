//! Reads variables through their declarations (`vars`), collecting every
//! problem instead of stopping at the first.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use url::Url;

use super::vars::{Default, Var};

/// Reads variables from any source (the process environment, or a map in tests).
pub(super) struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            get,
            problems: Vec::new(),
        }
    }

    /// The value as set (trimmed), or None when unset or blank.
    pub(super) fn raw(&self, var: &Var) -> Option<String> {
        (self.get)(var.name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value as set, or the declared default.
    pub(super) fn text(&self, var: &Var) -> String {
        self.raw(var).unwrap_or_else(|| match var.default {
            Default::Value(v) => v.to_owned(),
            Default::Unset | Default::Derived(_) => String::new(),
        })
    }

    /// A comma list (the declared default when unset); blanks and surrounding spaces dropped.
    pub(super) fn list(&self, var: &Var) -> Vec<String> {
        self.text(var)
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// A number within `range`, the declared default when unset.
    pub(super) fn number<T>(&mut self, var: &Var, range: RangeInclusive<T>, unit: &str) -> T
    where
        T: FromStr + PartialOrd + Display + Copy + std::default::Default,
    {
        let fallback = match var.default {
            Default::Value(v) => v.parse().unwrap_or_default(),
            Default::Unset | Default::Derived(_) => T::default(),
        };
        self.number_or(var, fallback, range, unit)
    }

    /// A number within `range`, `fallback` when unset (derived defaults).
    pub(super) fn number_or<T>(
        &mut self,
        var: &Var,
        fallback: T,
        range: RangeInclusive<T>,
        unit: &str,
    ) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(raw) = self.raw(var) else {
            return fallback;
        };
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => v,
            _ => {
                self.problem(format!(
                    "{}={raw:?}: expected a whole number of {unit} from {} to {}",
                    var.name,
                    range.start(),
                    range.end()
                ));
                fallback
            }
        }
    }

    pub(super) fn flag(&mut self, var: &Var) -> bool {
        match self.text(var).to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            other => {
                self.problem(format!("{}={other:?}: expected true or false", var.name));
                true
            }
        }
    }

    /// An absolute http(s) URL, or None (with a problem recorded when set but wrong).
    pub(super) fn url(&mut self, var: &Var) -> Option<Url> {
        let raw = self.raw(var).or_else(|| match var.default {
            Default::Value(v) => Some(v.to_owned()),
            _ => None,
        })?;
        match parse_http_url(&raw) {
            Some(url) => Some(url),
            None => {
                self.problem(format!("{}={raw:?}: expected an http(s) URL", var.name));
                None
            }
        }
    }

    pub(super) fn problem(&mut self, message: String) {
        self.problems.push(message);
    }
}

/// An absolute http(s) URL with a host.
pub(super) fn parse_http_url(raw: &str) -> Option<Url> {
    Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}
