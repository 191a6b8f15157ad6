//! A real SMTP server process (Python's aiosmtpd, tests/api/support/
//! smtp_server.py) that accepts, defers, refuses or drops messages, and
//! records each accepted one as parsed by Python's own email package.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    out: tempfile::TempDir,
}

/// How the test server speaks TLS, with a self-signed certificate for
/// 127.0.0.1 that nothing trusts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    Plain,
    Implicit,
    StartTls,
}

impl SmtpServer {
    /// `behaviour`: ok, busy2, reject, drop-once, slow100, silent or
    /// one-per-connection (see the script);
    /// `credentials`: `user:password` to require AUTH.
    pub fn start(behaviour: &str, credentials: Option<&str>) -> Option<Self> {
        Self::start_with(behaviour, credentials, ServerTls::Plain)
    }

    pub fn start_with(behaviour: &str, credentials: Option<&str>, tls: ServerTls) -> Option<Self> {
        let python = super::python_with(&["aiosmtpd"], "pip install aiosmtpd")?;
        let out = tempfile::tempdir().unwrap();
        let mut tls_args = Vec::new();
        if tls != ServerTls::Plain {
            let openssl = super::required_tool("openssl", "Debian's openssl")?;
            let (cert, key) = (out.path().join("cert.pem"), out.path().join("key.pem"));
            let made = Command::new(openssl)
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(made.success(), "openssl made no certificate");
            let mode = if tls == ServerTls::Implicit {
                "implicit"
            } else {
                "starttls"
            };
            tls_args = vec![
                "--tls".into(),
                mode.into(),
                "--cert".into(),
                cert.into_os_string(),
                "--key".into(),
                key.into_os_string(),
            ];
        }
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/support/smtp_server.py"
        );
        let mut command = Command::new(python);
        command
            .arg(script)
            .arg(out.path())
            .arg(behaviour)
            .args(tls_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(credentials) = credentials {
            command.arg("--auth").arg(credentials);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(Self { child, port, out })
    }

    /// `smtp://[userinfo@]127.0.0.1:port` (plain: loopback only).
    pub fn url(&self, userinfo: Option<&str>) -> String {
        match userinfo {
            Some(u) => format!("smtp://{u}@127.0.0.1:{}", self.port),
            None => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Every message the server accepted, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
