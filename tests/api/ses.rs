//! `MAIL_PROVIDER=ses` against a local fake of SES v2 that recomputes every
//! SigV4 signature independently (helpers/sigv4.rs) and refuses what does
//! not match, as AWS would.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::*;

const KEY_ID: &str = "AKIAPWRESETTEST0001";
const SECRET: &str = "pwreset/test/secret+access/key0123456789";
const SESSION_TOKEN: &str = "pwreset-test-session-token-Zm9vYmFy";
const REGION: &str = "eu-west-1";
const SEND_EMAIL: &str = "/v2/email/outbound-emails";

/// SES as far as signing goes: 200 with a MessageId for a request signed
/// with the expected credentials, 403 otherwise.
struct SesFake {
    session_token: Option<&'static str>,
}

impl SesFake {
    fn check(&self, request: &Request) -> Result<(), String> {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let authorization = header("authorization").ok_or("no Authorization")?;
        let auth = parse_authorization(&authorization).ok_or("not a SigV4 Authorization")?;
        if (
            auth.access_key_id.as_str(),
            auth.region.as_str(),
            auth.service.as_str(),
        ) != (KEY_ID, REGION, "ses")
        {
            return Err(format!("wrong credential scope: {auth:?}"));
        }
        let amz_date = header("x-amz-date").ok_or("no X-Amz-Date")?;
        let signed_at = chrono::NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
            .map_err(|_| "bad X-Amz-Date")?;
        if (chrono::Utc::now().naive_utc() - signed_at)
            .num_seconds()
            .abs()
            > 300
            || auth.date != amz_date[..8]
        {
            return Err("X-Amz-Date too far from now or not the scope's date".into());
        }
        let mut required = vec!["content-type", "host", "x-amz-date"];
        if let Some(token) = self.session_token {
            if header("x-amz-security-token").as_deref() != Some(token) {
                return Err("the session token is missing".into());
            }
            required.push("x-amz-security-token");
        }
        for name in required {
            if !auth.signed_headers.iter().any(|h| h == name) {
                return Err(format!("{name} is not signed"));
            }
        }
        let headers = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let signed = SignedRequest {
            method: request.method.as_str(),
            path: request.url.path(),
            query: request.url.query_pairs().into_owned().collect(),
            headers,
            body: &request.body,
        };
        let names: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
        let expected = signature(
            &signed,
            &names,
            &Scope {
                secret: SECRET,
                amz_date: &amz_date,
                region: REGION,
                service: "ses",
            },
        );
        if expected != auth.signature {
            return Err("SignatureDoesNotMatch".into());
        }
        Ok(())
    }
}

impl Respond for SesFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.check(request) {
            Ok(()) => ResponseTemplate::new(200).set_body_json(json!({"MessageId": "ses-msg-1"})),
            Err(why) => ResponseTemplate::new(403)
                .insert_header("x-amzn-ErrorType", "SignatureDoesNotMatch")
                .set_body_json(json!({"message": why})),
        }
    }
}

async fn ses_app(server: &MockServer, secret: &str, session_token: Option<&str>) -> TestApp {
    let mut extra = vec![
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ];
    if let Some(token) = session_token {
        extra.push(("AWS_SESSION_TOKEN", token));
    }
    let app = spawn_app_with_provider("ses", server, &extra).await;
    app.add_user("u-1", "reader@example.com", None).await;
    assert_eq!(app.forgot("reader@example.com").await.status(), 202);
    app.deliver().await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_gets_a_send_email_request_signed_with_temporary_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND_EMAIL))
        .respond_with(SesFake {
            session_token: Some(SESSION_TOKEN),
        })
        .mount(&server)
        .await;
    let app = ses_app(&server, SECRET, Some(SESSION_TOKEN)).await;

    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Sent, "{:?}", row.last_error);
    assert_eq!(row.provider_message_id.as_deref(), Some("ses-msg-1"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(body["FromEmailAddress"], "no-reply@example.test");
    assert_eq!(
        body["Destination"]["ToAddresses"],
        json!(["reader@example.com"])
    );
    let simple = &body["Content"]["Simple"];
    assert_eq!(simple["Subject"]["Data"], "Reset your Acme password");
    assert!(
        simple["Body"]["Html"]["Data"]
            .as_str()
            .unwrap()
            .contains("href=\"https://app.example.test/reset-password?token=")
    );
    assert_eq!(
        body["EmailTags"],
        json!([{"Name": "outbox_id", "Value": row.id.as_str()}])
    );
    let token = token_in(simple["Body"]["Text"]["Data"].as_str().unwrap());
    assert_eq!(app.validate(&token).await.status(), 200);
    let logs = captured_logs();
    assert!(!logs.contains(SECRET) && !logs.contains(SESSION_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_signed_with_another_secret_is_refused_for_good() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND_EMAIL))
        .respond_with(SesFake {
            session_token: None,
        })
        .mount(&server)
        .await;
    let app = ses_app(&server, "not/the/secret/aws/knows/0123456789abcd", None).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Dead, 1));
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("SignatureDoesNotMatch"),
        "{row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_until_ses_accepts() {
    let server = MockServer::start().await;
    // First throttled as SES answers it (400 with its error type), then a
    // 503, then accepted.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header(
                    "x-amzn-ErrorType",
                    "TooManyRequestsException:http://internal.amazon.com/coral/",
                )
                .set_body_json(json!({"message": "Maximum sending rate exceeded."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND_EMAIL))
        .respond_with(SesFake {
            session_token: None,
        })
        .with_priority(3)
        .mount(&server)
        .await;
    let app = ses_app(&server, SECRET, None).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(row.last_error.as_deref().unwrap().contains("400"));

    app.clock.advance(3);
    app.deliver().await;
    assert_eq!(app.email_rows().await[0].attempts, 2);
    app.clock.advance(5);
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_message_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-ErrorType", "MessageRejected")
                .set_body_json(json!({"message": "Email address is not verified."})),
        )
        .mount(&server)
        .await;
    let app = ses_app(&server, SECRET, None).await;
    app.clock.advance(600);
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Dead, 1));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
