//! The OpenAPI document at /openapi.json and the routes the server answers
//! agree: every documented operation is answered, every other method on a
//! documented path is a 405, the public API's trailing-slash twins answer
//! like their documented paths, and near-miss paths are 404s.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// A request as a client of this operation would send it, with an empty body.
fn request(app: &TestApp, method: &str, path: &str) -> reqwest::RequestBuilder {
    let path = path.replace("{id}", "u-1");
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let builder = app
        .client
        .request(method, app.url(&path))
        .bearer_auth(BILLING_KEY);
    if path.starts_with("/api/") || path.starts_with("/internal/") {
        builder.json(&json!({}))
    } else {
        builder
    }
}

/// Whether the router answered with "no such route" (not a 404 of an
/// operation, like user_not_found).
async fn route_missing(response: reqwest::Response) -> bool {
    if response.status() != StatusCode::NOT_FOUND {
        return false;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["code"] == "not_found"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_document_and_every_documented_route_is_answered() {
    let app = spawn_app().await;
    app.add_user("u-1", "u1@example.com", None).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{:?}", paths.keys());

    for (path, operations) in paths {
        let documented: Vec<String> = operations
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        for method in METHODS {
            let response = request(&app, method, path).send().await.unwrap();
            let status = response.status();
            if documented.iter().any(|m| m == method) {
                let statuses: Vec<&String> = operations[method.to_lowercase()]["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect();
                assert!(
                    statuses.iter().any(|s| **s == status.as_str()),
                    "{method} {path} answered {status}, documented {statuses:?}"
                );
                assert!(
                    !route_missing(response).await,
                    "{method} {path} is not routed"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is answered but not documented"
                );
            }
        }
    }

    // The public API's trailing-slash twins are the same operations.
    for path in paths.keys().filter(|p| p.starts_with("/api/")) {
        let twin = format!("{path}/");
        let response = request(&app, "POST", &twin).send().await.unwrap();
        assert_eq!(response.status(), 400, "POST {twin}");
        let response = request(&app, "GET", &twin).send().await.unwrap();
        assert_eq!(response.status(), 405, "GET {twin}");
    }

    // Paths near the documented ones are no routes at all.
    for path in [
        "/api/auth/login",
        "/api/auth/reset-password/validate/extra",
        "/api/auth",
        "/internal/v1/users",
        "/internal/v1/users/u-1/tokens",
        "/internal/v2/reset-requests",
        "/openapi.yaml",
        "/assets/other.css",
        "/health",
    ] {
        for method in ["GET", "POST"] {
            let response = request(&app, method, path).send().await.unwrap();
            assert!(route_missing(response).await, "{method} {path} is routed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_bodies_errors_and_the_service_key() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ForgotPasswordBody"]["properties"]["email"]["format"],
        "email"
    );
    assert_eq!(schemas["ForgotPasswordBody"]["required"], json!(["email"]));
    let codes = schemas["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap();
    for code in [
        "validation_failed",
        "invalid_token",
        "rate_limited",
        "email_taken",
    ] {
        assert!(codes.contains(&json!(code)), "{code}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["service_key"]["scheme"],
        "bearer"
    );
    let put_user = &doc["paths"]["/internal/v1/users/{id}"]["put"];
    assert_eq!(put_user["security"], json!([{"service_key": []}]));
    assert!(put_user["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
    let forgot = &doc["paths"]["/api/auth/forgot-password"]["post"];
    assert!(forgot["responses"]["202"].is_object());
    assert!(forgot["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert_eq!(
        forgot["responses"]["400"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_validator_accepts_the_served_document() {
    let Some(validator) = required_tool(
        "openapi-spec-validator",
        "pip install openapi-spec-validator, in a venv on PATH; .ci/run does this",
    ) else {
        return;
    };
    let app = spawn_app().await;
    let served = document(&app).await;
    assert_eq!(served["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, served.to_string()).unwrap();
    let mut command = std::process::Command::new(validator);
    command.args(["--schema", "3.1"]).arg(&file);
    let (accepted, report) = run_tool(command).await;
    assert!(accepted, "the document is refused:\n{report}");
    assert!(report.contains("OK"), "{report}");
}

/// A client generated from the served document by a mainstream generator
/// (openapi-python-client, PyPI) with no warning, then the whole flow driven
/// through it (tests/api/support/generated_client_flow.py): provision,
/// forgot, validate, a refused weak password, reset, password-check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_client_runs_the_whole_flow() {
    let Some(generator) = required_tool(
        "openapi-python-client",
        "pip install openapi-python-client, in a venv on PATH; .ci/run does this",
    ) else {
        return;
    };
    let Some(python) = python_with(
        &["httpx", "attrs", "dateutil"],
        "pip install httpx attrs python-dateutil (what the generated client imports); .ci/run does this",
    ) else {
        return;
    };
    let app = spawn_custom_app(
        TestDatabase::new().await,
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        |_| {},
        AppOptions {
            run_worker: true,
            ..AppOptions::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document(&app).await.to_string()).unwrap();
    // No formatter afterwards (the generator's default runs ruff): the
    // client is exactly what it generated.
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "post_hooks: []\n").unwrap();
    let mut generate = std::process::Command::new(generator);
    generate
        .current_dir(dir.path())
        .args(["generate", "--meta", "none", "--fail-on-warning"])
        .arg("--path")
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .arg("--output-path")
        .arg(dir.path().join("pwreset_client"));
    let (generated, report) = run_tool(generate).await;
    assert!(generated, "the generator failed or warned:\n{report}");
    assert!(!report.to_lowercase().contains("warning"), "{report}");

    let mut flow = std::process::Command::new(python);
    flow.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/support/generated_client_flow.py"
    ))
    .arg(dir.path())
    .arg(&app.address)
    .arg(BILLING_KEY)
    .arg(&app.mail_dir);
    let (passed, report) = run_tool(flow).await;
    assert!(passed && report.contains("flow ok"), "{report}");
}
