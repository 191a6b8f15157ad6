//! The SMTP connections: opened here, spoken over by lettre. lettre 0.11's
//! own transport leaves Nagle's algorithm on and writes a message's body and
//! its closing `.` apart, so every message waited out the server's delayed
//! ACK (about 40 ms, half the send rate a pool allows); each socket here has
//! `TCP_NODELAY`. Up to `SMTP_POOL_SIZE` are open at once. An idle one is
//! reused, checked with NOOP first once it has sat idle a while, and closed
//! after a minute idle or after any error, as lettre's pool does.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use std::{io, pin::Pin};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use url::Url;

use super::classify;
use crate::send_error::SendError;

/// An idle connection is asked NOOP before it carries a message once it has
/// sat this long (back to back, under load, it is not).
const CHECK_AFTER: Duration = Duration::from_secs(2);
/// An idle connection is closed after this long (lettre's default).
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// How the channel is encrypted, from `SMTP_URL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Security {
    /// `smtp://HOST` (a local relay).
    Plain,
    /// `smtp://HOST?tls=required|opportunistic`: STARTTLS, and with
    /// `required` no message goes out without it.
    StartTls { required: bool },
    /// `smtps://HOST`: TLS from the first byte.
    Implicit,
}

/// Where and how to connect, read from `SMTP_URL` in lettre's URL form
/// (already checked with the settings): the default port follows the
/// scheme, a path names the EHLO host, user and password authenticate.
pub(super) struct Server {
    host: String,
    port: u16,
    security: Security,
    hello: ClientId,
    credentials: Option<Credentials>,
}

impl Server {
    pub(super) fn from_url(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::Implicit,
            ("smtp", None) => Security::Plain,
            ("smtp", Some("required")) => Security::StartTls { required: true },
            ("smtp", Some("opportunistic")) => Security::StartTls { required: false },
            _ => return Err("expected smtps:// or smtp:// with tls=required|opportunistic".into()),
        };
        let host = url
            .host_str()
            .ok_or("no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls { .. } => 587,
            Security::Implicit => 465,
        });
        let path = url.path().trim_matches('/');
        let hello = if path.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(path.to_owned())
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "user or password is not UTF-8 once decoded".to_owned())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        Ok(Self {
            host,
            port,
            security,
            hello,
            credentials,
        })
    }
}

pub(super) struct Connections {
    server: Server,
    connect_timeout: Duration,
    timeout: Duration,
    /// One per connection that may be open: a send holds one from before
    /// it takes a connection until it has given it back.
    permits: Semaphore,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    implicit_tls: tokio_rustls::TlsConnector,
}

impl Connections {
    pub(super) fn new(
        server: Server,
        connect_timeout: Duration,
        timeout: Duration,
        pool_size: u32,
    ) -> Result<Self, String> {
        Ok(Self {
            server,
            connect_timeout,
            timeout,
            permits: Semaphore::new(pool_size.max(1) as usize),
            idle: Mutex::new(Vec::new()),
            implicit_tls: tokio_rustls::TlsConnector::from(tls_config()?),
        })
    }

    /// One message over one connection. Holding a connection takes at most
    /// `MAIL_CONNECT_TIMEOUT_SECS` + `MAIL_TIMEOUT_SECS` (opening it
    /// included); a connection that did not answer in time is closed. A
    /// reused connection the server has since closed (it drops, or answers
    /// 421) costs no attempt: the message goes at once on a new one.
    pub(super) async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<(), SendError> {
        // Never closed: a permit always comes.
        let _permit = self.permits.acquire().await.ok();
        let bound = self.connect_timeout + self.timeout;
        let sent = tokio::time::timeout(bound, async {
            let (connection, reused) = self.take().await?;
            match self.carry(connection, envelope, email).await {
                Err(e) if reused && channel_closed(&e) => {
                    self.carry(self.open().await?, envelope, email).await
                }
                sent => sent,
            }
            .map_err(|e| classify(&e))
        })
        .await;
        sent.unwrap_or_else(|_| {
            Err(transient(format!(
                "smtp: no answer within {} s",
                bound.as_secs()
            )))
        })
    }

    async fn carry(
        &self,
        mut connection: AsyncSmtpConnection,
        envelope: &Envelope,
        email: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        let sent = connection.send(envelope, email).await;
        // lettre closes a connection on any refusal; one that refused
        // nothing (a check before the first command) is still good.
        if !connection.has_broken() {
            self.give_back(connection);
        }
        sent.map(drop)
    }

    /// The most recently used idle connection that still answers (and
    /// `true`), or a new one.
    async fn take(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
        loop {
            let parked = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some((mut connection, since)) = parked else {
                return Ok((self.open().await?, false));
            };
            let idle = since.elapsed();
            if idle >= IDLE_LIMIT {
                connection.abort().await;
            } else if idle < CHECK_AFTER || connection.test_connected().await {
                return Ok((connection, true));
            }
        }
    }

    fn give_back(&self, connection: AsyncSmtpConnection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((connection, Instant::now()));
    }

    /// Connects (within `MAIL_CONNECT_TIMEOUT_SECS`), reads the greeting,
    /// says EHLO, encrypts as `SMTP_URL` asks and authenticates.
    async fn open(&self) -> Result<AsyncSmtpConnection, SendError> {
        let server = &self.server;
        let tcp = self.connect().await?;
        let stream: Box<dyn AsyncTokioStream> = match server.security {
            Security::Implicit => {
                let name = ServerName::try_from(server.host.clone())
                    .map_err(|e| SendError::Permanent(format!("smtp: host name: {e}")))?;
                let tls = self
                    .implicit_tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| transient(format!("smtp: TLS: {e}")))?;
                Box::new(ImplicitTls(tls))
            }
            Security::Plain | Security::StartTls { .. } => Box::new(tcp),
        };
        let fail = |e: lettre::transport::smtp::Error| classify(&e);
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &server.hello)
            .await
            .map_err(fail)?;
        if let Security::StartTls { required } = server.security {
            if connection.can_starttls() {
                let parameters = TlsParameters::new(server.host.clone()).map_err(fail)?;
                connection
                    .starttls(parameters, &server.hello)
                    .await
                    .map_err(fail)?;
            } else if required {
                connection.abort().await;
                return Err(transient(
                    "smtp: the server offers no STARTTLS and tls=required".into(),
                ));
            }
        }
        if let Some(credentials) = &server.credentials {
            connection
                .auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(fail)?;
        }
        Ok(connection)
    }
}

/// The connection is gone, not the message refused: it dropped, or the
/// server said 421 (closing the channel).
fn channel_closed(e: &lettre::transport::smtp::Error) -> bool {
    let replied = e.is_response()
        || e.is_client()
        || e.is_transient()
        || e.is_permanent()
        || e.is_tls()
        || e.is_transport_shutdown();
    !replied || e.status().is_some_and(|code| code.to_string() == "421")
}

impl Connections {
    /// A TCP connection that sends each write at once (`TCP_NODELAY`).
    async fn connect(&self) -> Result<TcpStream, SendError> {
        let server = &self.server;
        let tcp = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((server.host.as_str(), server.port)),
        )
        .await
        .map_err(|_| {
            transient(format!(
                "smtp: cannot connect within {} s",
                self.connect_timeout.as_secs()
            ))
        })?
        .map_err(|e| transient(format!("smtp: cannot connect: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| transient(format!("smtp: cannot set TCP_NODELAY: {e}")))?;
        Ok(tcp)
    }
}

fn transient(reason: String) -> SendError {
    SendError::Transient {
        reason,
        retry_after: None,
    }
}

/// Certificates checked against the Mozilla roots, as lettre does for
/// STARTTLS.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let (_, builder) = crate::tls::builder().map_err(|e| format!("TLS protocol versions: {e}"))?;
    Ok(Arc::new(
        crate::tls::mozilla_roots(builder).with_no_client_auth(),
    ))
}

/// A TLS stream as lettre takes an existing one.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> Server {
        Server::from_url(url).unwrap()
    }

    #[test]
    fn the_url_gives_port_encryption_ehlo_name_and_credentials() {
        let s = server("smtps://us%40er:p%3Ass@smtp.example.com/mail.acme.example");
        assert_eq!((s.host.as_str(), s.port), ("smtp.example.com", 465));
        assert_eq!(s.security, Security::Implicit);
        assert_eq!(s.hello, ClientId::Domain("mail.acme.example".into()));
        assert_eq!(
            s.credentials,
            Some(Credentials::new("us@er".into(), "p:ss".into()))
        );
        let s = server("smtp://smtp.example.com?tls=required");
        assert_eq!(s.port, 587);
        assert_eq!(s.security, Security::StartTls { required: true });
        assert_eq!(s.hello, ClientId::default());
        assert_eq!(s.credentials, None);
        let s = server("smtp://[::1]:2525?tls=opportunistic");
        assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
        assert_eq!(s.security, Security::StartTls { required: false });
        assert_eq!(server("smtp://relay.internal").port, 25);
        assert!(Server::from_url("smtps://h?tls=required").is_err());
        assert!(Server::from_url("http://h").is_err());
    }

    /// Nagle's algorithm would hold a message's closing `.` until the
    /// server acknowledged its body (a delayed ACK: 40 ms a message).
    #[tokio::test]
    async fn each_connection_sends_its_writes_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Connections::new(
            server(&format!("smtp://127.0.0.1:{port}")),
            Duration::from_secs(5),
            Duration::from_secs(5),
            1,
        )
        .unwrap();
        assert!(connections.connect().await.unwrap().nodelay().unwrap());
    }
}
