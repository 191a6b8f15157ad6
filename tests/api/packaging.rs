//! The files operators run: docker-compose.yml, the Dockerfile, .env.example.
//! Docker cannot run here, so they are checked for what can go wrong in them:
//! variables the service does not know, invalid values, missing health checks.

use std::collections::{BTreeSet, HashMap};

use pwreset::config::{Settings, vars};

fn root(file: &str) -> String {
    std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn compose_runs_postgres_pwreset_and_mailpit_with_health_checks() {
    let compose: serde_yaml::Value = serde_yaml::from_str(&root("docker-compose.yml")).unwrap();
    let services = compose["services"].as_mapping().unwrap();
    for name in ["postgres", "pwreset", "mailpit"] {
        let service = &compose["services"][name];
        assert!(service.is_mapping(), "service {name}");
        assert!(
            service["healthcheck"]["test"].is_sequence(),
            "{name} has a health check"
        );
    }
    assert_eq!(services.len(), 3);
    let pwreset = &compose["services"]["pwreset"];
    assert_eq!(pwreset["build"], ".");
    for dependency in ["postgres", "mailpit"] {
        assert_eq!(
            pwreset["depends_on"][dependency]["condition"],
            "service_healthy"
        );
    }

    let env: HashMap<String, String> = pwreset["environment"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for name in env.keys() {
        assert!(
            vars::ALL.iter().any(|v| v.name == name),
            "compose sets {name}, which pwreset does not read"
        );
    }
    assert_eq!(env["MAIL_PROVIDER"], "mailpit");
    assert_eq!(env["MAIL_API_BASE_URL"], "http://mailpit:8025");
    assert!(env["DATABASE_URL"].contains("@postgres:5432/"));
    let settings =
        Settings::from_map(&env).unwrap_or_else(|e| panic!("compose settings are invalid: {e}"));
    assert_eq!(settings.bind_addr.to_string(), "0.0.0.0:8080");
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_in_another_as_a_non_root_user() {
    let dockerfile = root("Dockerfile");
    assert_eq!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count(),
        2
    );
    assert!(dockerfile.contains("cargo build --release --locked"));
    assert!(dockerfile.contains("USER pwreset"));
    assert!(
        dockerfile.contains("COPY migrations"),
        "migrations are embedded at build time"
    );
}

#[test]
fn env_example_lists_exactly_the_variables_pwreset_reads_with_valid_values() {
    let text = root(".env.example");
    let env: HashMap<String, String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let listed: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    let known: BTreeSet<&str> = vars::ALL.iter().map(|v| v.name).collect();
    assert_eq!(listed, known);
    // A variable set in .env.example shows its declared default.
    for var in vars::ALL {
        if let vars::Default::Value(default) = var.default {
            assert_eq!(env[var.name], default, "{} in .env.example", var.name);
        }
    }
    Settings::from_map(&env).unwrap_or_else(|e| panic!(".env.example is invalid: {e}"));
}

#[test]
fn the_readme_table_documents_every_variable_with_its_default() {
    let readme = root("README.md");
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    for var in vars::ALL {
        let row = rows
            .iter()
            .find(|r| {
                let first_cell = r.split('|').nth(1).unwrap_or_default();
                first_cell.contains(&format!("`{}`", var.name))
            })
            .unwrap_or_else(|| panic!("README has no table row for {}", var.name));
        if let vars::Default::Value(default) = var.default {
            assert!(
                row.contains(&format!("`{default}`")),
                "README row for {} does not show its default `{default}`: {row}",
                var.name
            );
        }
    }
}

#[test]
fn pwreset_config_lists_every_variable_with_its_default() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("config")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for var in vars::ALL {
        assert!(text.contains(var.name), "{} missing", var.name);
        assert!(
            text.contains(var.default_text()),
            "{} default missing",
            var.name
        );
    }
}
