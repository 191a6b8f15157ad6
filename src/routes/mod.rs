//! The routes table: which handler answers which path, and the OpenAPI
//! document that describes them. Above the flows, whose handlers it puts at
//! their paths; the shell they stand on is `http`. The operator endpoints
//! are here (`health.rs`, `metrics.rs`), over `Operations`.
//! Handlers parse the request, call an action and answer; they hold no SQL
//! and no HTTP-client calls.

mod health;
mod metrics;
pub(crate) mod openapi;

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::web;
use std::sync::Arc;

use crate::client_ip::TrustedProxies;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::flows::{forgot, provision, reset, reset_requests, sign_in};
use crate::http::page;
use crate::http::{method_not_allowed, not_found, service_auth};
use crate::metrics::Metrics;
use crate::storage::Repo;

pub use metrics::observe;

/// What the operator endpoints read: the database (readiness, the outbox
/// gauges), the clock and the metrics registry.
pub struct Operations {
    repo: Repo,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// The peers `/metrics` answers (`METRICS_ALLOWED_FROM`).
    metrics_allowed_from: TrustedProxies,
}

impl Operations {
    pub fn new(
        repo: Repo,
        clock: Clock,
        metrics: Arc<Metrics>,
        metrics_allowed_from: TrustedProxies,
    ) -> Self {
        Self {
            repo,
            clock,
            metrics,
            metrics_allowed_from,
        }
    }
}

/// Only `/metrics` (its entry in `table()`), for a listener of its own
/// (`METRICS_BIND_ADDR`).
pub fn configure_metrics_only(cfg: &mut web::ServiceConfig) {
    for entry in table().into_iter().filter(|e| e.path == METRICS) {
        cfg.service(entry.resource());
    }
    cfg.default_service(web::to(not_found));
}

/// Where a path sits; its area decides its scope and middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    /// Operators' endpoints, this document and the pages' assets.
    Root,
    /// The hosted pages: their headers (CSP and the rest), the form-size limit.
    Pages,
    /// `/api/auth`: CORS for the configured SPA origins, and each path also
    /// with a trailing slash, as the Django clients this service replaces
    /// send it.
    PublicApi,
    /// `/internal`: the service key; never CORS.
    Internal,
}

impl Area {
    fn prefix(self) -> &'static str {
        match self {
            Self::Root | Self::Pages => "",
            Self::PublicApi => "/api/auth",
            Self::Internal => "/internal",
        }
    }
}

/// One path of the table and the handler of each of its methods.
struct Entry {
    area: Area,
    path: &'static str,
    routes: Vec<(Method, actix_web::Route)>,
}

/// A method and its handler, the method said once.
macro_rules! on {
    ($method:ident, $handler:expr) => {
        (
            Method::$method,
            web::route().method(Method::$method).to($handler),
        )
    };
}

/// Sign-in against the hashes pwreset keeps; absent (404) when the
/// application holds the passwords (`PASSWORD_HANDOFF_URL`).
const PASSWORD_CHECKS: &str = "/v1/password-checks";

/// The operator's numbers; on `BIND_ADDR` unless `METRICS_BIND_ADDR` gives
/// them a listener of their own.
const METRICS: &str = "/metrics";

/// Every path the service answers, with its methods: the router is built
/// from this, and a test holds it to the OpenAPI document, operation by
/// operation.
fn table() -> Vec<Entry> {
    use Area::{Internal, Pages, PublicApi, Root};
    let entry = |area, path, routes| Entry { area, path, routes };
    vec![
        entry(Root, "/healthz", vec![on!(GET, health::healthz)]),
        entry(Root, "/readyz", vec![on!(GET, health::readyz)]),
        entry(Root, METRICS, vec![on!(GET, metrics::metrics)]),
        entry(Root, "/openapi.json", vec![on!(GET, openapi::openapi_json)]),
        entry(Root, "/assets/pages.css", vec![on!(GET, page::stylesheet)]),
        entry(Root, "/assets/pages.js", vec![on!(GET, page::script)]),
        entry(
            Pages,
            "/forgot-password",
            vec![
                on!(GET, forgot::page::forgot_form),
                on!(HEAD, forgot::page::forgot_form),
                on!(POST, forgot::page::forgot_submit),
            ],
        ),
        entry(
            Pages,
            "/reset-password",
            vec![
                on!(GET, reset::page::reset_form),
                on!(HEAD, reset::page::reset_form),
                on!(POST, reset::page::reset_submit),
            ],
        ),
        entry(
            Pages,
            "/reset-password/check",
            vec![on!(POST, reset::page::check_password)],
        ),
        entry(
            PublicApi,
            "/forgot-password",
            vec![on!(POST, forgot::api::forgot_password)],
        ),
        entry(
            PublicApi,
            "/reset-password/validate",
            vec![on!(POST, reset::api::validate_token)],
        ),
        entry(
            PublicApi,
            "/reset-password",
            vec![on!(POST, reset::api::reset_password)],
        ),
        entry(
            Internal,
            "/v1/users/{id}",
            vec![
                on!(PUT, provision::api::put_user),
                on!(DELETE, provision::api::delete_user),
            ],
        ),
        entry(
            Internal,
            "/v1/users/{id}/reset-tokens",
            vec![on!(DELETE, provision::api::revoke_tokens)],
        ),
        entry(
            Internal,
            "/v1/reset-requests",
            vec![on!(POST, reset_requests::api::create_reset_request)],
        ),
        entry(
            Internal,
            "/v1/reset-requests/{id}",
            vec![on!(GET, reset_requests::api::reset_request_record)],
        ),
        entry(
            Internal,
            PASSWORD_CHECKS,
            vec![on!(POST, sign_in::api::check_password)],
        ),
    ]
}

impl Entry {
    /// The resource, answering 405 for methods it has no handler for.
    fn resource(self) -> actix_web::Resource {
        let mut paths = vec![self.path.to_owned()];
        if self.area == Area::PublicApi {
            paths.push(format!("{}/", self.path));
        }
        let resource = self
            .routes
            .into_iter()
            .fold(web::resource(paths), |resource, (_, route)| {
                resource.route(route)
            });
        resource.default_service(web::to(method_not_allowed))
    }
}

/// Every route, from `table()`; without the password checks when pwreset
/// keeps no hashes.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    cors_origins: &[String],
    keeps_hashes: bool,
    serves_metrics: bool,
) {
    let mut public = web::scope(Area::PublicApi.prefix())
        .wrap(cors(cors_origins))
        // Outside the CORS layer: its refusals become problem+json.
        .wrap(actix_web::middleware::from_fn(cors_refusal_as_problem))
        .default_service(web::to(not_found));
    let mut internal = web::scope(Area::Internal.prefix())
        .wrap(actix_web::middleware::from_fn(
            service_auth::require_service_key,
        ))
        .default_service(web::to(not_found));
    let offered = |entry: &Entry| {
        (keeps_hashes || entry.path != PASSWORD_CHECKS) && (serves_metrics || entry.path != METRICS)
    };
    for entry in table().into_iter().filter(offered) {
        match entry.area {
            Area::Root => {
                cfg.service(entry.resource());
            }
            Area::Pages => {
                cfg.service(
                    entry
                        .resource()
                        .wrap(actix_web::middleware::from_fn(page::refusals_as_html))
                        .wrap(page::headers())
                        .app_data(web::PayloadConfig::new(page::FORM_LIMIT)),
                );
            }
            Area::PublicApi => public = public.service(entry.resource()),
            Area::Internal => internal = internal.service(entry.resource()),
        }
    }
    cfg.service(public).service(internal);
}

/// Browsers on the listed origins may POST JSON; any other origin gets no
/// `Access-Control-Allow-Origin` (its page cannot read the answer). No
/// credentials: the API uses none.
fn cors(origins: &[String]) -> Cors {
    origins.iter().fold(
        Cors::default()
            .allowed_methods(["POST"])
            .allowed_headers([header::CONTENT_TYPE, header::ACCEPT])
            .max_age(3600),
        |cors, origin| cors.allowed_origin(origin),
    )
}

/// actix-cors refuses a disallowed origin with its own `400 text/plain`;
/// answer it like every other refusal.
async fn cors_refusal_as_problem(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let refused = |e: &actix_web::Error| e.as_error::<actix_cors::CorsError>().is_some();
    match next.call(req).await {
        // A refused preflight comes back as a response carrying the error.
        Ok(response) if response.response().error().is_some_and(refused) => {
            log::info!("CORS: refused a preflight");
            let (request, _) = response.into_parts();
            let problem = actix_web::ResponseError::error_response(&ApiError::CorsRefused);
            Ok(actix_web::dev::ServiceResponse::new(request, problem).map_into_right_body())
        }
        Ok(response) => Ok(response.map_into_left_body()),
        Err(e) if refused(&e) => {
            log::info!("CORS: refused ({e})");
            Err(ApiError::CorsRefused.into())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::http::Method;
    use utoipa::OpenApi;

    /// Every (path, method) the router is built with, from the table itself.
    fn routed() -> BTreeSet<(String, String)> {
        super::table()
            .into_iter()
            .flat_map(|entry| {
                let path = format!("{}{}", entry.area.prefix(), entry.path);
                entry
                    .routes
                    .into_iter()
                    .map(move |(method, _)| (path.clone(), method.to_string()))
            })
            .collect()
    }

    #[test]
    fn every_routed_operation_is_in_the_openapi_document_and_the_reverse() {
        let document = super::openapi::ApiDoc::openapi();
        let documented: BTreeSet<(String, String)> = document
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                [
                    (Method::GET, item.get.is_some()),
                    (Method::HEAD, item.head.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::OPTIONS, item.options.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(move |(method, _)| (path.clone(), method.to_string()))
            })
            .collect();
        // actix writes path parameters as {id}, like OpenAPI.
        assert_eq!(routed(), documented);
    }

    #[test]
    fn a_path_is_in_the_table_once() {
        let table = super::table();
        let paths: BTreeSet<String> = table
            .iter()
            .map(|e| format!("{}{}", e.area.prefix(), e.path))
            .collect();
        assert_eq!(paths.len(), table.len());
    }
}
