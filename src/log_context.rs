//! What a log line is about: the HTTP request it belongs to, and the outbox
//! row the worker is handling. The request's middleware and the worker set
//! it for the work they run (a task-local value, so concurrent requests
//! never see each other's); the logger reads it for every line, and a new
//! outbox row takes the request id in force when it is built, so the
//! worker's lines about it name the request that queued it.

use std::future::Future;

/// Longest request id taken from a trusted proxy.
const MAX_LEN: usize = 128;

/// One request's id: a trusted proxy's `X-Request-Id`, or generated here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// A new id: 32 hex digits from the CSPRNG (a UUID v4 without dashes).
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A proxy's id, when it is 1 to 128 characters of letters, digits and
    /// `-_.:@/+=` (what tracing systems use); None otherwise, and then the
    /// service makes its own.
    pub fn from_header(raw: &str) -> Option<Self> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:@/+=".contains(c);
        (!raw.is_empty() && raw.len() <= MAX_LEN && raw.chars().all(allowed))
            .then(|| Self(raw.to_owned()))
    }

    /// An id read back from an outbox row (written by `as_str`).
    pub fn stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ids the lines of one piece of work carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogContext {
    pub request_id: Option<RequestId>,
    pub outbox_id: Option<String>,
}

tokio::task_local! {
    static CONTEXT: LogContext;
}

/// Runs `work` with `context` as what its log lines (and the outbox rows it
/// builds) are about.
pub async fn scope<F: Future>(context: LogContext, work: F) -> F::Output {
    CONTEXT.scope(context, work).await
}

/// The context of the work running now (for a line, or a row being built);
/// empty outside any scope (start-up, the worker's own loop).
pub fn current() -> LogContext {
    CONTEXT.try_with(Clone::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_id_is_taken_only_when_it_is_short_and_plain() {
        for good in [
            "abc",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "req-1:a/b+c=d@e_f.g",
        ] {
            assert_eq!(RequestId::from_header(good).unwrap().as_str(), good);
        }
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["", "a b", "a\nb", "a\u{1b}[31m", "é", "a\"b", long.as_str()] {
            assert_eq!(RequestId::from_header(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_differ_and_read_back_as_proxy_ids_would() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(RequestId::from_header(a.as_str()), Some(a));
    }

    #[tokio::test]
    async fn the_context_holds_inside_its_scope_only() {
        let id = RequestId::generate();
        let context = LogContext {
            request_id: Some(id.clone()),
            outbox_id: Some("row".into()),
        };
        let inside = scope(context.clone(), async {
            tokio::task::yield_now().await;
            current()
        })
        .await;
        assert_eq!(inside, context);
        assert_eq!(inside.request_id, Some(id));
        assert_eq!(current(), LogContext::default());
    }
}
