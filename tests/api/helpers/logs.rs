//! The service's log lines, captured for tests that check what reaches them:
//! every record in both formats (`LOG_FORMAT=text` and `json`), through the
//! service's own line writer.

use std::io::Write;
use std::sync::{Arc, Mutex, Once, OnceLock};

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
static JSON_LOGS: Mutex<String> = Mutex::new(String::new());

struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line the service wrote in this test process, at debug level
/// (text, the default format).
pub fn captured_logs() -> String {
    init_logging();
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

/// The same lines as `LOG_FORMAT=json` writes them.
pub fn captured_json_logs() -> String {
    init_logging();
    JSON_LOGS.lock().unwrap().clone()
}

/// Both, for the tests that hold every line to a rule.
pub fn captured_logs_in_both_formats() -> [(&'static str, String); 2] {
    [("text", captured_logs()), ("json", captured_json_logs())]
}

pub(super) fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let buffer = LOGS
            .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
            .clone();
        env_logger::Builder::new()
            .parse_filters("debug,tokio_postgres=info,rustls=info,hyper=info,reqwest=info")
            .format(|buf, record| {
                use pwreset::logging::{LogFormat, line};
                let mut json = JSON_LOGS.lock().unwrap();
                json.push_str(&line(LogFormat::Json, record));
                json.push('\n');
                writeln!(buf, "{}", line(LogFormat::Text, record))
            })
            .target(env_logger::Target::Pipe(Box::new(SharedLog(buffer))))
            .init();
    });
}
