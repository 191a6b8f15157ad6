//! SigV4 computed from the specification, independently of the service's
//! signer (AWS's own crate): a fake AWS endpoint recomputes the signature of
//! what it receives and refuses anything that does not match. Checked
//! against the AWS SigV4 test suite below.

use aws_lc_rs::{digest, hmac};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// RFC 3986 unreserved characters stay, everything else is %XX.
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a request is signed over.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Decoded (name, value) pairs.
    pub query: Vec<(String, String)>,
    /// Lower-case names with their values.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

pub struct Scope<'a> {
    pub secret: &'a str,
    /// `YYYYMMDDTHHMMSSZ`
    pub amz_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The hex signature of `request` over `signed_headers` (sorted names).
pub fn signature(
    request: &SignedRequest<'_>,
    signed_headers: &[&str],
    scope: &Scope<'_>,
) -> String {
    let mut query: Vec<(String, String)> = request
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_path = request
        .path
        .split('/')
        .map(|segment| uri_encode(&uri_encode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    let canonical_headers: String = signed_headers
        .iter()
        .map(|name| {
            let values: Vec<String> = request
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    let canonical_request = format!(
        "{}\n{canonical_path}\n{canonical_query}\n{canonical_headers}\n{}\n{}",
        request.method,
        signed_headers.join(";"),
        sha256_hex(request.body)
    );
    let date = &scope.amz_date[..8];
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{date}/{}/{}/aws4_request\n{}",
        scope.amz_date,
        scope.region,
        scope.service,
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac_sha256(format!("AWS4{}", scope.secret).as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value.to_owned()),
            "SignedHeaders" => signed = Some(value.to_owned()),
            "Signature" => signature = Some(value.to_owned()),
            _ => return None,
        }
    }
    let credential = credential?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    Some(Authorization {
        access_key_id: key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?,
    })
}

#[test]
fn this_verifier_reproduces_the_aws_test_suite() {
    let headers = vec![
        ("host".to_owned(), "example.amazonaws.com".to_owned()),
        ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
    ];
    let scope = Scope {
        secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        amz_date: "20150830T123600Z",
        region: "us-east-1",
        service: "service",
    };
    let signed = ["host", "x-amz-date"];
    let request = |method, query: &[(&str, &str)]| SignedRequest {
        method,
        path: "/",
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: headers.clone(),
        body: b"",
    };
    assert_eq!(
        signature(&request("GET", &[]), &signed, &scope),
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    assert_eq!(
        signature(
            &request("GET", &[("Param2", "value2"), ("Param1", "value1")]),
            &signed,
            &scope
        ),
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
    assert_eq!(
        signature(&request("POST", &[]), &signed, &scope),
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    );
    let mut form = request("POST", &[]);
    form.headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    form.body = b"Param1=value1";
    assert_eq!(
        signature(&form, &["content-type", "host", "x-amz-date"], &scope),
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
    );
    let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa0";
    let parsed = parse_authorization(header).unwrap();
    assert_eq!(
        (parsed.access_key_id.as_str(), parsed.region.as_str()),
        ("AKIDEXAMPLE", "us-east-1")
    );
    assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
}
