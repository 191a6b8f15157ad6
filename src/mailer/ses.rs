//! Amazon SES v2: `POST /v2/email/outbound-emails` (SendEmail), JSON, signed
//! with SigV4 by AWS's own signer (`aws-sigv4`). Throttling (429, or a 400
//! whose error type says so) and 5xx are retried; other refusals are not.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::EmailMessage;
use super::http_api::{ProviderApi, endpoint, json_str};
use crate::config::AwsCredentials;
use crate::send_error::SendError;

/// The signing name of SES (the service part of the credential scope).
const SERVICE: &str = "ses";
const SEND_EMAIL_PATH: &str = "/v2/email/outbound-emails";
/// Error types SES answers when the sender should slow down.
const THROTTLING: [&str; 4] = [
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
];

pub struct Ses {
    pub base_url: Url,
    pub region: String,
    pub credentials: AwsCredentials,
}

/// The headers SigV4 adds to a request (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` with temporary credentials), for `headers` and
/// `body` sent to `url` at `time`.
pub fn sigv4_headers(
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    (method, url): (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, SigningFailed> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose_secret().to_owned(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        None,
        "pwreset-environment",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )?;
    let (instructions, _signature) = sign(request, &params)?.into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum SigningFailed {
    #[error(transparent)]
    Params(#[from] aws_sigv4::sign::v4::signing_params::BuildError),
    #[error(transparent)]
    Sign(#[from] aws_sigv4::http_request::SigningError),
}

impl ProviderApi for Ses {
    fn name(&self) -> &'static str {
        "ses"
    }

    fn request(&self, client: &Client, m: &EmailMessage) -> Result<RequestBuilder, SendError> {
        let url = endpoint(&self.base_url, SEND_EMAIL_PATH);
        let utf8 = |data: &str| json!({ "Data": data, "Charset": "UTF-8" });
        let body = json!({
            "FromEmailAddress": m.from,
            "Destination": { "ToAddresses": [m.to] },
            "Content": { "Simple": {
                "Subject": utf8(&m.subject),
                "Body": { "Text": utf8(&m.text), "Html": utf8(&m.html) },
            }},
            "EmailTags": [{ "Name": "outbox_id", "Value": m.id }],
        })
        .to_string();
        let content_type = ("content-type", "application/json");
        let signed = sigv4_headers(
            &self.credentials,
            &self.region,
            SERVICE,
            SystemTime::now(),
            ("POST", &url),
            &[content_type],
            body.as_bytes(),
        )
        .map_err(|e| SendError::Permanent(format!("ses: cannot sign the request: {e}")))?;
        let mut request = client
            .post(url)
            .header(content_type.0, content_type.1)
            .body(body);
        for (name, value) in signed {
            request = request.header(name, value);
        }
        Ok(request)
    }

    fn message_id(&self, _headers: &HeaderMap, body: &Value) -> Option<String> {
        json_str(body, "MessageId")
    }

    fn is_retryable(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> bool {
        if crate::send_error::is_retryable(status) {
            return true;
        }
        if status != StatusCode::BAD_REQUEST {
            return false;
        }
        // `x-amzn-ErrorType: Name:http://...`, or `__type`/`code` in the body.
        let from_header = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let from_body = serde_json::from_str::<Value>(body).ok().and_then(|b| {
            json_str(&b, "__type")
                .or_else(|| json_str(&b, "code"))
                .map(|t| t.rsplit('#').next().unwrap_or(&t).to_owned())
        });
        [from_header, from_body]
            .iter()
            .flatten()
            .any(|kind| THROTTLING.contains(&kind.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;

    /// The AWS SigV4 test suite's credentials and moment.
    fn example() -> (AwsCredentials, SystemTime) {
        let credentials = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: None,
        };
        // 2015-08-30T12:36:00Z
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        (credentials, time)
    }

    fn authorization(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        let (credentials, time) = example();
        let signed = sigv4_headers(
            &credentials,
            "us-east-1",
            "service",
            time,
            (method, url),
            headers,
            body,
        )
        .unwrap();
        let date = signed.iter().find(|(n, _)| n == "x-amz-date").unwrap();
        assert_eq!(date.1, "20150830T123600Z");
        signed
            .into_iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1
    }

    #[test]
    fn the_signer_reproduces_the_aws_test_suite() {
        let scope =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
        for (name, method, url, headers, body, signed_headers, signature) in [
            (
                "get-vanilla",
                "GET",
                "https://example.amazonaws.com/",
                &[][..],
                &b""[..],
                "host;x-amz-date",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "get-vanilla-query-order-key-case",
                "GET",
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                &[],
                b"",
                "host;x-amz-date",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "post-vanilla",
                "POST",
                "https://example.amazonaws.com/",
                &[],
                b"",
                "host;x-amz-date",
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                "post-x-www-form-urlencoded",
                "POST",
                "https://example.amazonaws.com/",
                &[("content-type", "application/x-www-form-urlencoded")],
                b"Param1=value1",
                "content-type;host;x-amz-date",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ),
        ] {
            assert_eq!(
                authorization(method, url, headers, body),
                format!("{scope}, SignedHeaders={signed_headers}, Signature={signature}"),
                "{name}"
            );
        }
    }

    #[test]
    fn temporary_credentials_send_and_sign_their_session_token() {
        let (mut credentials, time) = example();
        credentials.session_token = Some(SecretString::from("session-token-example"));
        let signed = sigv4_headers(
            &credentials,
            "eu-west-1",
            SERVICE,
            time,
            (
                "POST",
                "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails",
            ),
            &[("content-type", "application/json")],
            b"{}",
        )
        .unwrap();
        let header = |name: &str| {
            signed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            header("x-amz-security-token"),
            Some("session-token-example")
        );
        let authorization = header("authorization").unwrap();
        assert!(
            authorization.contains("/20150830/eu-west-1/ses/aws4_request")
                && authorization
                    .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
            "{authorization}"
        );
    }

    #[test]
    fn throttling_answered_as_400_is_retried() {
        let ses = Ses {
            base_url: "https://email.eu-west-1.amazonaws.com".parse().unwrap(),
            region: "eu-west-1".into(),
            credentials: example().0,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            "TooManyRequestsException:http://internal.amazon.com/coral/"
                .parse()
                .unwrap(),
        );
        assert!(ses.is_retryable(StatusCode::BAD_REQUEST, &headers, ""));
        let none = HeaderMap::new();
        assert!(ses.is_retryable(
            StatusCode::BAD_REQUEST,
            &none,
            r#"{"__type":"com.amazon#ThrottlingException","message":"slow down"}"#
        ));
        assert!(!ses.is_retryable(
            StatusCode::BAD_REQUEST,
            &none,
            r#"{"__type":"MessageRejected","message":"Email address is not verified."}"#
        ));
    }
}
