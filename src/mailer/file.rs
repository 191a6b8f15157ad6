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

/// Writes a file readable by its owner only (0600): messages hold reset links.
async fn write_private(path: &std::path::Path, bytes: Vec<u8>) -> std::io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path)?.write_all(&bytes)
    })
    .await
    .map_err(std::io::Error::other)?
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
            write_private(&temp_path, body.to_string().into_bytes())
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
