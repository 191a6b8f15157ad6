//! The routes table: which handler answers which path, and the OpenAPI
//! document that describes them. Above the flows, whose handlers it puts at
//! their paths; the shell they stand on is `http`. The handlers of the flows
//! not yet in `flows/` are still here (`internal/`), with the operator
//! endpoints (`health.rs`, `metrics.rs`).
//! Handlers parse the request, call an action and answer; they hold no SQL
//! and no HTTP-client calls.

mod health;
mod internal;
mod metrics;
pub(crate) mod openapi;

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::web;

use crate::error::ApiError;
use crate::flows::{forgot, reset};
use crate::http::page::{self, asset, headers};
use crate::http::{method_not_allowed, not_found, service_auth};

pub use metrics::observe;

/// Every route. The public API lives under /api/auth (each path with and
/// without the trailing slash, as the Django clients this service replaces
/// send it) behind CORS for the configured SPA origins; the internal API
/// never answers CORS.
pub fn configure(cfg: &mut web::ServiceConfig, cors_origins: &[String]) {
    cfg.service(resource("/healthz", false, web::get().to(health::healthz)))
        .service(resource("/readyz", false, web::get().to(health::readyz)))
        .service(resource("/metrics", false, web::get().to(metrics::metrics)))
        .service(resource(
            "/openapi.json",
            false,
            web::get().to(openapi::openapi_json),
        ))
        .configure(pages)
        .service(
            web::scope("/api/auth")
                .wrap(cors(cors_origins))
                // Outside the CORS layer: its refusals become problem+json.
                .wrap(actix_web::middleware::from_fn(cors_refusal_as_problem))
                .service(resource(
                    "/forgot-password",
                    true,
                    web::post().to(forgot::api::forgot_password),
                ))
                .service(resource(
                    "/reset-password/validate",
                    true,
                    web::post().to(reset::api::validate_token),
                ))
                .service(resource(
                    "/reset-password",
                    true,
                    web::post().to(reset::api::reset_password),
                ))
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/internal")
                .wrap(actix_web::middleware::from_fn(
                    service_auth::require_service_key,
                ))
                .configure(internal::configure)
                .default_service(web::to(not_found)),
        );
}

/// The hosted pages and their assets.
fn pages(cfg: &mut web::ServiceConfig) {
    cfg.service(page::page(
        "/forgot-password",
        forgot::page::forgot_form,
        forgot::page::forgot_submit,
    ))
    .service(page::page(
        "/reset-password",
        reset::page::reset_form,
        reset::page::reset_submit,
    ))
    .service(
        web::resource("/reset-password/check")
            .wrap(headers())
            .route(web::post().to(reset::page::check_password))
            .default_service(web::to(method_not_allowed)),
    )
    .service(asset("/assets/pages.css", page::stylesheet))
    .service(asset("/assets/pages.js", page::script));
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

fn resource(path: &str, with_slash: bool, route: actix_web::Route) -> actix_web::Resource {
    let mut paths = vec![path.to_owned()];
    if with_slash {
        paths.push(format!("{path}/"));
    }
    web::resource(paths)
        .route(route)
        .default_service(web::to(method_not_allowed))
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

    use actix_web::{App, HttpRequest, test};
    use utoipa::OpenApi;

    /// Every path the router knows, read from actix's resource map (its
    /// `Debug` form is the only way to list it): scopes' prefixes joined
    /// with their resources' patterns.
    fn routed_paths(map_debug: &str) -> BTreeSet<String> {
        let mut paths = BTreeSet::new();
        walk(map_debug, "", &mut paths);
        paths
    }

    /// `text` starts inside one `ResourceMap { ... }`: its own patterns,
    /// then its `nodes`, each a `ResourceMap` of its own.
    fn walk(text: &str, prefix: &str, paths: &mut BTreeSet<String>) {
        let own = &text[..text.find("nodes:").unwrap_or(text.len())];
        let patterns = patterns_in(own);
        let nodes = text
            .find("nodes: Some([")
            .map(|at| &text[at + "nodes: Some([".len()..]);
        match nodes {
            Some(children) => {
                // A scope (or the root): its one pattern prefixes its children.
                let here = format!("{prefix}{}", patterns.first().map_or("", String::as_str));
                for child in split_maps(children) {
                    walk(child, &here, paths);
                }
            }
            None => {
                for pattern in patterns {
                    paths.insert(format!("{prefix}{pattern}"));
                }
            }
        }
    }

    /// The string literals of the first `patterns: Single(..)` or `List([..])`.
    fn patterns_in(text: &str) -> Vec<String> {
        let Some(at) = text.find("patterns: ") else {
            return Vec::new();
        };
        let rest = &text[at..];
        let end = rest.find(')').unwrap_or(rest.len());
        rest[..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// The top-level `ResourceMap { .. }` items of a list, by brace depth.
    fn split_maps(list: &str) -> Vec<&str> {
        let mut items = Vec::new();
        let mut depth = 0i32;
        let mut start = None;
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in list.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '{' | '[' | '(' => {
                    if depth == 0 && c == '{' {
                        start = Some(i + 1);
                    }
                    depth += 1;
                }
                '}' | ']' | ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return items;
                    }
                    if depth == 0
                        && c == '}'
                        && let Some(s) = start.take()
                    {
                        items.push(&list[s..i]);
                    }
                }
                _ => {}
            }
        }
        items
    }

    #[actix_web::test]
    async fn every_routed_path_is_in_the_openapi_document_and_the_reverse() {
        let app = test::init_service(
            App::new()
                .configure(|cfg| super::configure(cfg, &[]))
                .default_service(actix_web::web::to(|req: HttpRequest| async move {
                    actix_web::HttpResponse::Ok().body(format!("{:?}", req.resource_map()))
                })),
        )
        .await;
        let dump =
            test::call_and_read_body(&app, test::TestRequest::get().uri("/__routes").to_request())
                .await;
        let routed = routed_paths(&String::from_utf8_lossy(&dump));
        // actix writes path parameters as {id}, like OpenAPI.
        let documented: BTreeSet<String> = super::openapi::ApiDoc::openapi()
            .paths
            .paths
            .keys()
            .cloned()
            .collect();
        // The public API's trailing-slash twins are described once.
        let routed: BTreeSet<String> = routed
            .into_iter()
            .filter(|p| !p.is_empty())
            .filter(|p| !(p.starts_with("/api/") && p.ends_with('/')))
            .collect();
        assert_eq!(routed, documented);
    }
}
