//! A real headless Chromium, driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`) with fantoccini.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::app::wait_for;
use super::tools::required_tool;

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// A fresh browser that asks for `language`, with or without JavaScript;
    /// None (after saying why) when Chromium is not installed here.
    pub async fn start(language: &str, javascript: bool) -> Option<Self> {
        let hint = "apt-get install chromium chromium-driver";
        let driver_path = required_tool("chromedriver", hint)?;
        let chromium = required_tool("chromium", hint)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let status = format!("http://127.0.0.1:{port}/status");
        let up = wait_for(Duration::from_secs(20), || async {
            reqwest::get(&status)
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert_eq!(up, Some(()), "chromedriver answers");
        let profile = tempfile::tempdir().unwrap().keep();
        let mut prefs = json!({ "intl.accept_languages": language });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", "--window-size=420,860",
                    format!("--lang={language}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": prefs,
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Some(Self { client, driver })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks (a submit button's page load is awaited by the next wait).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits until the element's text contains `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> bool {
        wait_for(Duration::from_secs(10), || async {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.is_ok_and(|t| t.contains(needle)),
                Err(_) => false,
            }
        })
        .await
        .is_some()
    }

    /// What the page wrote to the console (CSP violations end up here).
    pub async fn console(&self) -> Vec<String> {
        let logs = self.client.issue_cmd(BrowserLog).await.unwrap();
        logs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["message"].as_str().map(str::to_owned))
            .collect()
    }

    /// A PNG of the page, kept in `PWRESET_SCREENSHOTS` (a folder) when set.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        if let Ok(dir) = std::env::var("PWRESET_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
        }
    }

    /// axe-core's violations on the page now (rule id, impact, the
    /// elements), after injecting it from `PWRESET_AXE` (the path of
    /// `axe.min.js`); WebDriver's scripts are not subject to the page's CSP.
    pub async fn axe_violations(&self, axe_source: &str) -> Vec<serde_json::Value> {
        self.client.execute(axe_source, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.map(n => n.target) }))))
                   .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
                vec![],
            )
            .await
            .unwrap();
        found.as_array().cloned().unwrap_or_default()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// chromedriver's console log (`goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// axe-core's script (`PWRESET_AXE`: the path of `axe.min.js`, which
/// `.ci/run` installs from npm); None, after saying why, when it is not
/// there outside CI.
pub fn axe_core() -> Option<String> {
    let hint = "npm install --prefix /tmp/pwreset-axe axe-core@4, then \
                PWRESET_AXE=/tmp/pwreset-axe/node_modules/axe-core/axe.min.js";
    let source = std::env::var("PWRESET_AXE")
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok());
    if source.is_none() {
        if std::env::var("PWRESET_CI").is_ok_and(|v| v == "1") {
            panic!("axe-core is required in CI and is not installed ({hint})");
        }
        eprintln!("SKIPPED: axe-core is not installed ({hint}); CI runs this test");
    }
    source
}
