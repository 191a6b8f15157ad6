//! Request-derived values on their way to a log line: escaped and
//! truncated, so a client can neither start a line of its own (CR, LF) nor
//! colour or rewrite a terminal (ANSI escapes), nor flood the log.

/// Longest piece of a request value a log line carries.
const MAX_CHARS: usize = 120;

/// `value` with every control character escaped (`\n`, `\u{1b}`, ...) and
/// cut at `MAX_CHARS` characters (marked with `…`).
pub fn clean(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_CHARS + 8));
    for (i, c) in value.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

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
