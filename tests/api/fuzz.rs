//! An independent fuzzer against the OpenAPI document: schemathesis (PyPI)
//! generates requests for every operation of the public and internal API
//! from /openapi.json and checks each answer against the document. It finds
//! nothing: no 5xx, and every status, content type, body and header is the
//! documented one. Runs on whichever backend the suite runs on.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_in_the_public_and_internal_api() {
    let Some(schemathesis) = required_tool(
        "schemathesis",
        "pip install schemathesis, in a venv on PATH; .ci/run does this",
    ) else {
        return;
    };
    let app = spawn_app().await;
    let document = app.url("/openapi.json");
    let key = format!("Authorization: Bearer {BILLING_KEY}");
    // Its example database goes to a folder of its own, not the checkout:
    // every run starts from the fixed seed alone.
    let workdir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(schemathesis);
    command
        .current_dir(workdir.path())
        .args([
            "run",
            &document,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--header",
            &key,
            "--include-path-regex",
            "^/(api|internal)/",
            "--max-examples",
            "50",
            "--seed",
            "20261124",
            "--no-color",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false");
    let (passed, report) = run_tool(command).await;
    assert!(passed, "schemathesis found problems:\n{report}");
    assert!(report.contains("passed"), "{report}");
}
