//! External programs some tests drive (promtool, prometheus). In CI
//! (`PWRESET_CI=1`, set by `.ci/run`) a missing one fails the test loudly;
//! on a developer's machine the test says why it did nothing and passes.

use std::io::Write as _;
use std::path::PathBuf;

/// Where `name` is on PATH; None (after saying so) when a local run lacks it.
pub fn required_tool(name: &str, install_hint: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("PWRESET_CI").is_ok_and(|v| v == "1") {
            panic!("{name} is required in CI and is not installed ({install_hint})");
        }
        eprintln!("SKIPPED: {name} is not installed ({install_hint}); CI runs this test");
    }
    found
}

/// The Python that can import every one of `modules` (`.ci/run` puts its
/// venv first on PATH); None, after saying so, when a local run lacks them.
pub fn python_with(modules: &[&str], install_hint: &str) -> Option<PathBuf> {
    let python = required_tool("python3", "Debian's python3")?;
    let imports = format!("import {}", modules.join(", "));
    let found = std::process::Command::new(&python)
        .args(["-c", &imports])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("PWRESET_CI").is_ok_and(|v| v == "1") {
            panic!("{modules:?} are required in CI and are not installed ({install_hint})");
        }
        eprintln!("SKIPPED: {modules:?} are not installed ({install_hint}); CI runs this test");
        return None;
    }
    Some(python)
}

/// Runs an outside tool off the async workers: whether it exited 0, and what
/// it printed (standard output, then standard error).
pub async fn run_tool(mut command: std::process::Command) -> (bool, String) {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the tool runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

/// Whether this process may mount file systems (tests that need a full disk).
pub fn may_mount(reason: &str) -> bool {
    // SAFETY-free check: root is uid 0; /proc/self/status says so on Linux.
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        if std::env::var("PWRESET_CI").is_ok_and(|v| v == "1") {
            panic!("{reason} needs root in CI");
        }
        eprintln!("SKIPPED: {reason} needs root to mount a small file system; CI runs this test");
    }
    root
}

/// Runs the real binary against the test app's database (and nothing
/// else from the environment), feeding `stdin` when given.
pub fn pwreset(
    app: &crate::helpers::TestApp,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    pwreset_with(app, args, stdin, &[])
}

/// `pwreset`, with these variables set as well.
pub fn pwreset_with(
    app: &crate::helpers::TestApp,
    args: &[&str],
    stdin: Option<&str>,
    vars: &[(&str, &str)],
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", &app.jwt_secret)
        .env("BCRYPT_COST", "10")
        .env("RUST_LOG", "warn")
        .envs(vars.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
