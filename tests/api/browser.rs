//! The hosted pages in a real headless Chromium: the whole flow with and
//! without JavaScript, refused passwords, used and expired links, no CSP
//! violation, and each language. Screenshots land in `PWRESET_SCREENSHOTS`
//! when it names a folder (the README's come from there).

use crate::helpers::*;

/// No CSP violation (or any other error) reached the console.
async fn assert_clean_console(browser: &Browser) {
    let console = browser.console().await;
    let problems: Vec<&String> = console
        .iter()
        .filter(|m| {
            m.contains("Content Security Policy")
                || m.contains("Refused to")
                || m.contains("Uncaught")
        })
        .collect();
    assert!(problems.is_empty(), "console: {problems:#?}");
}

/// Opens the emailed link for `email` (after the worker has sent it).
async fn emailed_link(app: &TestApp, email: &str) -> String {
    app.deliver().await;
    let mails = app.reset_emails_to(email);
    assert_eq!(mails.len(), 1, "one reset email for {email}");
    mails[0].reset_link()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_a_person_resets_their_password_from_start_to_end() {
    let app = spawn_app_with(|env| {
        env.insert("FRONTEND_URL".into(), "http://127.0.0.1:1".into());
    })
    .await;
    let Some(browser) = Browser::start("en", true).await else {
        return;
    };
    app.add_user("u-1", "dana@example.com", None).await;

    browser.goto(&app.url("/forgot-password")).await;
    browser.screenshot("forgot").await;
    browser.fill("#email", "dana@example.com").await;
    browser.click("button[type=submit]").await;
    assert!(
        browser.wait_for_text("h1", "Check your inbox").await,
        "{}",
        browser.client.source().await.unwrap()
    );
    browser.screenshot("sent").await;

    // The email's link points at FRONTEND_URL; the same path on the service.
    let link = emailed_link(&app, "dana@example.com").await;
    let token = link.split_once("token=").unwrap().1.to_owned();
    browser
        .goto(&app.url(&format!("/reset-password?token={token}")))
        .await;
    assert!(browser.wait_for_text("h1", "Choose a new password").await);
    let address = browser.client.current_url().await.unwrap();
    assert!(
        !address.as_str().contains("token"),
        "the token left the address bar: {address}"
    );

    // Feedback from the server's policy while typing.
    browser.fill("#new_password", "password1234").await;
    assert!(
        browser
            .wait_for_text("#new_password-errors", "too easy to guess")
            .await
    );
    browser.fill("#confirm_password", "something-else").await;
    assert!(
        browser
            .wait_for_text("#confirm_password-errors", "don't match")
            .await
    );
    browser.screenshot("reset-feedback").await;
    browser.fill("#new_password", STRONG_PASSWORD).await;
    assert!(
        browser
            .wait_for_text("#new_password-errors", "looks good")
            .await
    );
    browser.fill("#confirm_password", STRONG_PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("h1", "Your password has been changed")
            .await
    );
    browser.screenshot("done").await;
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);

    // The link is spent: the page says so and offers a new one.
    browser
        .goto(&app.url(&format!("/reset-password?token={token}")))
        .await;
    assert!(browser.wait_for_text("h1", "can no longer be used").await);
    browser.screenshot("invalid").await;
    assert_clean_console(&browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_the_forms_alone_do_the_whole_job() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start("en", false).await else {
        return;
    };
    app.add_user("u-1", "sam@example.com", None).await;

    browser.goto(&app.url("/forgot-password")).await;
    // Keyboard only: type, then Enter submits.
    browser.fill("#email", "sam@example.com\u{E007}").await;
    assert!(browser.wait_for_text("h1", "Check your inbox").await);
    let link = emailed_link(&app, "sam@example.com").await;
    let token = link.split_once("token=").unwrap().1.to_owned();
    let page = app.url(&format!("/reset-password?token={token}"));
    browser.goto(&page).await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("token="),
        "no script ran"
    );

    browser.fill("#new_password", "password1234").await;
    browser.fill("#confirm_password", "password1234").await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("#new_password-errors", "too easy to guess")
            .await
    );
    browser.fill("#new_password", STRONG_PASSWORD).await;
    browser
        .fill("#confirm_password", OTHER_STRONG_PASSWORD)
        .await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("#confirm_password-errors", "match")
            .await
    );
    assert!(
        app.user("u-1").await.password_hash.is_none(),
        "refusals changed nothing"
    );

    browser.fill("#new_password", STRONG_PASSWORD).await;
    browser.fill("#confirm_password", STRONG_PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("h1", "Your password has been changed")
            .await
    );
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
    assert_clean_console(&browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_shows_the_way_to_a_new_one() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start("en", true).await else {
        return;
    };
    app.add_user("u-1", "late@example.com", None).await;
    let token = app.request_link("late@example.com").await;
    app.clock.advance(2 * 3600);
    browser
        .goto(&app.url(&format!("/reset-password?token={token}")))
        .await;
    assert!(browser.wait_for_text("h1", "can no longer be used").await);
    browser.click("a.button").await;
    assert!(browser.wait_for_text("h1", "Forgot your password?").await);
    assert_clean_console(&browser).await;
    // The console check sees what the page reports.
    browser
        .client
        .execute("console.error('Refused to pretend')", vec![])
        .await
        .unwrap();
    assert!(
        browser
            .console()
            .await
            .iter()
            .any(|m| m.contains("Refused to pretend"))
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_language_reads_its_own_pages() {
    let app = spawn_app().await;
    app.add_user("u-1", "eva@example.com", None).await;
    for (language, forgot, reset) in [
        ("de", "Passwort vergessen?", "Neues Passwort wählen"),
        (
            "fr",
            "Mot de passe oublié ?",
            "Choisissez un nouveau mot de passe",
        ),
        (
            "es",
            "¿Olvidaste tu contraseña?",
            "Elige una contraseña nueva",
        ),
    ] {
        let Some(browser) = Browser::start(language, true).await else {
            return;
        };
        browser.goto(&app.url("/forgot-password")).await;
        assert!(browser.wait_for_text("h1", forgot).await, "{language}");
        let lang = browser
            .client
            .execute("return document.documentElement.lang", vec![])
            .await
            .unwrap();
        assert_eq!(lang, language);
        let token = app.request_link("eva@example.com").await;
        browser
            .goto(&app.url(&format!("/reset-password?token={token}")))
            .await;
        assert!(browser.wait_for_text("h1", reset).await, "{language}");
        browser.screenshot(&format!("reset-{language}")).await;
        assert_clean_console(&browser).await;
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_another_device_the_code_from_the_email_resets_and_the_done_page_leads_to_sign_in() {
    let app = spawn_app_with(|env| {
        env.insert("LOGIN_URL".into(), "https://app.example.test/login".into());
    })
    .await;
    let Some(browser) = Browser::start("en", true).await else {
        return;
    };
    app.add_user("u-1", "kim@example.com", None).await;
    app.request_link("kim@example.com").await;
    let code = app.reset_emails_to("kim@example.com")[0].reset_code();

    // The laptop has no link: the code form, offered by the reset page.
    browser.goto(&app.url("/reset-password")).await;
    assert!(browser.wait_for_text("h1", "Enter the code").await);
    browser.fill("#email", "kim@example.com").await;
    browser.fill("#code", &code).await;
    browser.screenshot("code").await;
    browser.fill("#code", "0000 0000").await;
    browser.fill("#new_password", STRONG_PASSWORD).await;
    browser.fill("#confirm_password", STRONG_PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("#code-errors", "This code does not work")
            .await
    );
    browser.fill("#code", &code).await;
    browser.fill("#new_password", STRONG_PASSWORD).await;
    browser.fill("#confirm_password", STRONG_PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("h1", "Your password has been changed")
            .await
    );
    assert!(
        browser
            .wait_for_text("a.button", "Continue to sign in")
            .await
    );
    browser.screenshot("done-continue").await;
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
    assert_clean_console(&browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hosted_page_passes_an_axe_core_audit() {
    let app = spawn_app_with(|env| {
        env.insert("LOGIN_URL".into(), "https://app.example.test/login".into());
    })
    .await;
    let (Some(axe), Some(browser)) = (axe_core(), Browser::start("en", true).await) else {
        return;
    };
    app.add_user("u-1", "ali@example.com", None).await;
    let mut audited = Vec::new();
    let mut audit = async |page: &str| {
        let violations = browser.axe_violations(&axe).await;
        assert!(violations.is_empty(), "{page}: {violations:#?}");
        audited.push(page.to_owned());
    };

    browser.goto(&app.url("/forgot-password")).await;
    assert!(browser.wait_for_text("h1", "Forgot your password?").await);
    audit("forgot").await;
    browser.fill("#email", "ali@example.com").await;
    browser.click("button[type=submit]").await;
    assert!(browser.wait_for_text("h1", "Check your inbox").await);
    audit("sent").await;

    let token = emailed_link(&app, "ali@example.com")
        .await
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();
    let reset_page = app.url(&format!("/reset-password?token={token}"));
    browser.goto(&reset_page).await;
    assert!(browser.wait_for_text("h1", "Choose a new password").await);
    audit("reset").await;
    browser.fill("#new_password", "password1234").await;
    browser.fill("#confirm_password", "password1234").await;
    browser.click("button[type=submit]").await;
    // The server's answer: the form again, with its summary of problems.
    assert!(browser.wait_for_text(".summary", "Please correct").await);
    assert!(
        browser
            .wait_for_text("#new_password-errors", "too easy to guess")
            .await
    );
    audit("reset with errors").await;
    browser.fill("#new_password", STRONG_PASSWORD).await;
    browser.fill("#confirm_password", STRONG_PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for_text("h1", "Your password has been changed")
            .await
    );
    audit("done").await;
    browser.goto(&reset_page).await;
    assert!(browser.wait_for_text("h1", "can no longer be used").await);
    audit("used link").await;
    browser.goto(&app.url("/reset-password")).await;
    assert!(browser.wait_for_text("h1", "Enter the code").await);
    audit("code form").await;
    assert_eq!(audited.len(), 7);
    // The audit sees what a page gets wrong: a field without its label.
    browser
        .client
        .execute("document.querySelector('label[for=code]').remove()", vec![])
        .await
        .unwrap();
    let violations = browser.axe_violations(&axe).await;
    assert!(
        violations.iter().any(|v| v["id"] == "label"),
        "{violations:#?}"
    );
    browser.close().await;
}
