//! The service's log lines, captured for tests that check what reaches them.

use std::io::Write;
use std::sync::{Arc, Mutex, Once, OnceLock};

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

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

/// Every log line the service wrote in this test process, at debug level.
pub fn captured_logs() -> String {
    init_logging();
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

pub(super) fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let buffer = LOGS
            .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
            .clone();
        env_logger::Builder::new()
            .parse_filters("debug,tokio_postgres=info,rustls=info,hyper=info,reqwest=info")
            .target(env_logger::Target::Pipe(Box::new(SharedLog(buffer))))
            .init();
    });
}
