//! The process's log lines, in one of two formats (`LOG_FORMAT`): `text`,
//! env_logger's `[ts LEVEL target] msg`, with the ids of the work it belongs
//! to appended (`request_id=… outbox_id=…`); or `json`, one object a line
//! (`ts`, `level`, `target`, `msg`, and `request_id`, `outbox_id` when the
//! line belongs to a request or a row) for log shippers. `RUST_LOG` filters
//! both. Messages are written as the code logged them: request values are
//! already escaped and cut (`log_safe`), and JSON escapes the rest.

use std::io::Write;

use crate::log_context::{self, LogContext};

/// How lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`'s value (unset: text).
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim) {
            None | Some("") | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!(
                "LOG_FORMAT={} is not a log format: use text or json",
                crate::log_safe::clean(other)
            )),
        }
    }
}

/// Installs the process's logger: `RUST_LOG` (default `info`) in `format`,
/// on standard error. Called once, first thing at start-up, before the
/// settings are read, so every line (a refused setting included) is in the
/// chosen format.
pub fn init(format: LogFormat) {
    builder(format).init();
}

/// The logger `init` installs, to point elsewhere (tests capture lines).
pub fn builder(format: LogFormat) -> env_logger::Builder {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.format(move |buf, record| writeln!(buf, "{}", line(format, record)));
    builder
}

/// One record as a line (without its newline), with the ids of the work
/// running now.
pub fn line(format: LogFormat, record: &log::Record<'_>) -> String {
    let now = chrono::Utc::now();
    render(format, record, &log_context::current(), now)
}

fn render(
    format: LogFormat,
    record: &log::Record<'_>,
    context: &LogContext,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let msg = record.args().to_string();
    match format {
        LogFormat::Text => {
            let mut out = format!(
                "[{} {:<5} {}] {msg}",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                record.level(),
                record.target()
            );
            if let Some(id) = &context.request_id {
                out.push_str(" request_id=");
                out.push_str(id.as_str());
            }
            if let Some(id) = &context.outbox_id {
                out.push_str(" outbox_id=");
                out.push_str(id);
            }
            out
        }
        LogFormat::Json => {
            let mut object = serde_json::Map::new();
            let mut put = |key: &str, value: String| {
                object.insert(key.to_owned(), serde_json::Value::String(value));
            };
            put(
                "ts",
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
            put("level", record.level().to_string());
            put("target", record.target().to_owned());
            put("msg", msg);
            if let Some(id) = &context.request_id {
                put("request_id", id.as_str().to_owned());
            }
            if let Some(id) = &context.outbox_id {
                put("outbox_id", id.clone());
            }
            serde_json::Value::Object(object).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_context::RequestId;

    fn record_line(format: LogFormat, msg: &str, context: &LogContext) -> String {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123Z")
            .unwrap()
            .to_utc();
        render(
            format,
            &log::Record::builder()
                .args(format_args!("{msg}"))
                .level(log::Level::Warn)
                .target("pwreset::worker")
                .build(),
            context,
            now,
        )
    }

    fn context() -> LogContext {
        LogContext {
            request_id: RequestId::from_header("req-1"),
            outbox_id: Some("row-1".into()),
        }
    }

    #[test]
    fn text_is_env_loggers_line_with_the_ids_after_it() {
        assert_eq!(
            record_line(LogFormat::Text, "sent", &context()),
            "[2026-12-07T10:00:00Z WARN  pwreset::worker] sent request_id=req-1 outbox_id=row-1"
        );
        assert_eq!(
            record_line(LogFormat::Text, "idle", &LogContext::default()),
            "[2026-12-07T10:00:00Z WARN  pwreset::worker] idle"
        );
    }

    #[test]
    fn json_is_one_object_on_one_line_whatever_the_message_holds() {
        let line = record_line(LogFormat::Json, "two\nlines \"quoted\"", &context());
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "ts": "2026-12-07T10:00:00.123Z", "level": "WARN", "target": "pwreset::worker",
                "msg": "two\nlines \"quoted\"", "request_id": "req-1", "outbox_id": "row-1",
            })
        );
        let bare: serde_json::Value = serde_json::from_str(&record_line(
            LogFormat::Json,
            "idle",
            &LogContext::default(),
        ))
        .unwrap();
        assert!(bare.get("request_id").is_none() && bare.get("outbox_id").is_none());
    }

    #[test]
    fn log_format_is_text_or_json() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert!(
            LogFormat::parse(Some("yaml"))
                .unwrap_err()
                .contains("text or json")
        );
    }
}
