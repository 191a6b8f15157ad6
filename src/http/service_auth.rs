//! Authentication of backend services on /internal: `Authorization: Bearer
//! <key>`, checked before anything else (so an unknown route or a bad body
//! still answers 401 to a caller without a key), compared in constant time
//! against every configured key, and the caller's name logged on every call.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use aws_lc_rs::digest;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::config::ServiceKey;
use crate::error::ApiError;
use crate::http::AppState;
use crate::log_safe::clean;

/// The authenticated caller, available to handlers as `ReqData<ServiceCaller>`.
#[derive(Clone, Debug)]
pub struct ServiceCaller(pub String);

pub async fn require_service_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let caller = req.app_data::<web::Data<AppState>>().and_then(|state| {
        let presented = bearer_token(req.headers().get(AUTHORIZATION)?.to_str().ok()?)?;
        matching_service(&state.settings().service_keys, presented)
    });
    let Some(name) = caller else {
        log::warn!(
            "internal API: refused {} {} (missing or unknown service key)",
            req.method(),
            clean(req.path())
        );
        return Err(ApiError::Unauthorized.into());
    };
    log::info!(
        "internal API: {name} calls {} {}",
        req.method(),
        clean(req.path())
    );
    req.extensions_mut().insert(ServiceCaller(name));
    next.call(req).await
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The name of the service whose key this is. Every key is compared (no early
/// exit), over SHA-256 digests so that lengths leak nothing either.
fn matching_service(keys: &[ServiceKey], presented: &str) -> Option<String> {
    let presented = digest::digest(&digest::SHA256, presented.as_bytes());
    let mut found = None;
    for key in keys {
        let expected = digest::digest(&digest::SHA256, key.key.expose_secret().as_bytes());
        if bool::from(expected.as_ref().ct_eq(presented.as_ref())) {
            found = Some(key.name.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_key_names_its_service() {
        let keys = vec![
            ServiceKey {
                name: "billing".into(),
                key: "0123456789abcdefghijklmn".into(),
            },
            ServiceKey {
                name: "support".into(),
                key: "zyxwvutsrqponmlkjihgfedc".into(),
            },
        ];
        assert_eq!(
            matching_service(&keys, "zyxwvutsrqponmlkjihgfedc").as_deref(),
            Some("support")
        );
        for wrong in [
            "",
            "0123456789abcdefghijklm",
            "0123456789abcdefghijklmno",
            "0123456789ABCDEFGHIJKLMN",
        ] {
            assert_eq!(matching_service(&keys, wrong), None, "{wrong:?}");
        }
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
