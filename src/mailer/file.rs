//! Writes each message to `<dir>/<id>.json` (`to`, `subject`, `text`, `html`,
//! `from`). Writing the same id again replaces the file, so a retried send
//! never makes a second message.

use std::path::PathBuf;

use super::{EmailMessage, Mailer, SendError, SendFuture};

pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let body = serde_json::json!({
                "id": message.id,
                "from": message.from,
                "to": message.to,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
            });
            let transient = |e: std::io::Error| SendError::Transient {
                reason: format!("cannot write to MAIL_FILE_DIR {}: {e}", self.dir.display()),
                retry_after: None,
            };
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(transient)?;
            let final_path = self.dir.join(format!("{}.json", message.id));
            let temp_path = self.dir.join(format!(".{}.json.tmp", message.id));
            tokio::fs::write(&temp_path, body.to_string())
                .await
                .map_err(transient)?;
            tokio::fs::rename(&temp_path, &final_path)
                .await
                .map_err(transient)?;
            Ok(Some(message.id.clone()))
        })
    }

    fn name(&self) -> &'static str {
        "file"
    }
}
