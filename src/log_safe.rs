//! Request-derived values on their way to a log line: escaped and
//! truncated, so a client can neither start a line of its own (CR, LF) nor
//! colour or rewrite a terminal (ANSI escapes), nor reorder what a reader
//! sees (bidirectional overrides and other invisible format characters),
//! nor flood the log.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Longest piece of a request value a log line carries.
const MAX_CHARS: usize = 120;

/// Whether `c` is a control (Unicode category Cc) or format (Cf: U+202E,
/// U+200B, U+FEFF, ...) character: invisible, or changing how the text
/// around it reads.
pub fn is_hidden(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// `value` with every control and format character escaped (`\n`,
/// `\u{1b}`, `\u{202e}`, ...) and cut at `MAX_CHARS` characters (marked
/// with `…`).
pub fn clean(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_CHARS + 8));
    for (i, c) in value.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` with anything shaped like a JWT (`eyJ...`, three base64url
/// parts) replaced: a provider that echoes the request in its error must not
/// put a reset link into a log line or a delivery record.
pub fn without_jwts(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        // Three runs of base64url characters joined by two dots.
        let mut end = 0;
        let mut parts = 0;
        for part in candidate.split('.') {
            let run = part.find(|c: char| !is_b64(c)).unwrap_or(part.len());
            if run == 0 {
                break;
            }
            end += run;
            parts += 1;
            if parts == 3 || run < part.len() {
                break;
            }
            end += 1;
        }
        if parts == 3 {
            out.push_str("[JWT removed]");
            rest = &candidate[end..];
        } else {
            out.push_str("eyJ");
            rest = &candidate[3..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{clean, without_jwts};

    #[test]
    fn jwts_are_removed_and_the_rest_kept() {
        assert_eq!(
            without_jwts("bad link https://x.test/r?token=eyJhbGc.eyJzdWIi.c2ln-_x&y=1 here"),
            "bad link https://x.test/r?token=[JWT removed]&y=1 here"
        );
        assert_eq!(without_jwts("eyJ alone, eyJa.b"), "eyJ alone, eyJa.b");
        assert_eq!(without_jwts("no token"), "no token");
    }

    #[test]
    fn control_characters_are_escaped_and_long_values_cut() {
        assert_eq!(
            clean("a\r\nb\u{1b}[31mc\u{7f}"),
            "a\\r\\nb\\u{1b}[31mc\\u{7f}"
        );
        assert_eq!(clean("plain value"), "plain value");
        let long = "x".repeat(500);
        assert_eq!(clean(&long).chars().count(), 121);
        assert!(!clean("\u{85}next line").contains('\u{85}'));
    }
}
