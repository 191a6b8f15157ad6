//! examples/django, the seed's world moving in: its own tests (Django's
//! test runner) against this build's binary. Import a Django user base,
//! sign in with the old password through Django's login form, reset
//! through pwreset's hosted pages (the way back leads to Django's login),
//! sign in with the new password, and the session opened with the old one
//! ended by the signed `password.reset.completed` webhook.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_django_example_moves_in_signs_in_and_resets_through_pwreset() {
    let Some(python) = python_with(
        &["django"],
        "pip install django, in a venv on PATH; .ci/run does this",
    ) else {
        return;
    };
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/django");
    let mut command = std::process::Command::new(python);
    command
        .current_dir(project)
        .args(["manage.py", "test", "accounts", "--noinput", "-v", "2"])
        .env("PWRESET_BIN", env!("CARGO_BIN_EXE_pwreset"))
        // Nothing written into the checkout.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (passed, report) = run_tool(command).await;
    assert!(passed, "the Django example's tests failed:\n{report}");
    assert!(
        report.contains("test_import_sign_in_reset_sign_in_again_and_the_old_session_is_gone")
            && report.contains("\nOK"),
        "{report}"
    );
}
