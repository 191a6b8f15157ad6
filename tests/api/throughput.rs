//! Delivery that keeps up: the worker's own loop (not driven by hand) keeps
//! `MAIL_CONCURRENCY` sends in flight and never more, never sends faster
//! than `MAIL_MAX_PER_SECOND`, takes what it queues at once rather than at
//! the next poll, and a stuck provider holds back only its own sends. How
//! fast it goes is measured by bench/run, not here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pwreset::mailer::{EmailMessage, Mailer, SendFuture};

use crate::helpers::*;

/// A provider that answers after `latency`, and remembers how many sends
/// were in flight at most and when each one started.
struct Recording {
    latency: Duration,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    started: Mutex<Vec<Instant>>,
    texts: Mutex<Vec<String>>,
    /// Never answers the sends to these addresses.
    hangs_for: Option<&'static str>,
}

impl Recording {
    fn new(latency: Duration) -> Arc<Self> {
        Arc::new(Self {
            latency,
            in_flight: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
            texts: Mutex::new(Vec::new()),
            hangs_for: None,
        })
    }

    fn sent(&self) -> usize {
        self.started.lock().unwrap().len()
    }
}

impl Mailer for Recording {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            self.started.lock().unwrap().push(Instant::now());
            self.texts.lock().unwrap().push(message.text.clone());
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            if self.hangs_for.is_some_and(|to| message.to == to) {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(self.latency).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(Some(format!("sent-{}", message.id)))
        })
    }

    fn name(&self) -> &'static str {
        "recording"
    }
}

async fn app_with(mailer: Arc<Recording>, vars: &[(&str, &str)]) -> TestApp {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spawn_custom_app(
        TestDatabase::new().await,
        Arc::new(tempfile::tempdir().unwrap()),
        move |env| env.extend(vars),
        AppOptions {
            run_worker: true,
            mailer: Some(mailer),
            ..AppOptions::default()
        },
    )
    .await
}

async fn ask_for_links(app: &TestApp, n: usize) {
    for i in 0..n {
        let email = format!("person{i}@example.com");
        app.add_user(&format!("u-{i}"), &email, None).await;
        assert_eq!(app.forgot(&email).await.status(), 202);
    }
}

async fn all_sent(mailer: &Recording, n: usize) {
    let done = wait_for(Duration::from_secs(60), || async { mailer.sent() >= n }).await;
    assert_eq!(done, Some(()), "{} of {n} sent", mailer.sent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_run_side_by_side_and_never_more_than_mail_concurrency() {
    let mailer = Recording::new(Duration::from_millis(100));
    let app = app_with(mailer.clone(), &[("MAIL_CONCURRENCY", "6")]).await;
    ask_for_links(&app, 40).await;
    all_sent(&mailer, 40).await;
    let most = mailer.most.load(Ordering::SeqCst);
    assert!(
        (2..=6).contains(&most),
        "at most 6 at once, and more than one: {most}"
    );
    // Each email once, and the process says how the sends went.
    let sent = wait_for(Duration::from_secs(10), || async {
        app.email_rows()
            .await
            .iter()
            .filter(|r| r.status == OutboxStatus::Sent)
            .count()
            == 40
    })
    .await;
    assert_eq!(sent, Some(()));
    assert_eq!(mailer.sent(), 40, "no email was sent twice");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"pwreset_outbox_send_duration_seconds_count{kind="email"} 40"#),
        "{metrics}"
    );
    assert!(metrics.contains("pwreset_outbox_in_flight 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_are_never_faster_than_mail_max_per_second() {
    let mailer = Recording::new(Duration::from_millis(1));
    let app = app_with(mailer.clone(), &[("MAIL_MAX_PER_SECOND", "20")]).await;
    ask_for_links(&app, 30).await;
    all_sent(&mailer, 30).await;
    let started = mailer.started.lock().unwrap().clone();
    // Any 21 consecutive sends span at least a second (evenly spaced, so
    // allow the scheduler a little).
    for window in started.windows(21) {
        let span = window[20] - window[0];
        assert!(span >= Duration::from_millis(900), "21 sends in {span:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_request_queues_is_taken_at_once_not_at_the_next_poll() {
    // A poll a minute: only the wake-up can deliver within the wait below.
    let mailer = Recording::new(Duration::from_millis(1));
    let app = app_with(mailer.clone(), &[("OUTBOX_POLL_INTERVAL_MS", "60000")]).await;
    let settled = wait_for(Duration::from_secs(10), || async {
        app.ready_status().await == 200
    })
    .await;
    assert_eq!(settled, Some(()), "the worker's first claims ran");
    ask_for_links(&app, 1).await;
    all_sent(&mailer, 1).await;
    // The reset's notice, queued by the reset itself, goes the same way.
    let token = token_in(&mailer.texts.lock().unwrap()[0]);
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    all_sent(&mailer, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_never_answers_holds_back_only_its_own_sends() {
    let mailer = Arc::new(Recording {
        hangs_for: Some("person0@example.com"),
        ..Arc::into_inner(Recording::new(Duration::from_millis(1))).unwrap()
    });
    let app = app_with(mailer.clone(), &[("MAIL_CONCURRENCY", "1")]).await;
    ask_for_links(&app, 1).await;
    all_sent(&mailer, 1).await;
    // Every send slot is held; reset requests are still turned into tokens
    // and queued emails.
    for i in 1..4 {
        let email = format!("person{i}@example.com");
        app.add_user(&format!("u-{i}"), &email, None).await;
        assert_eq!(app.forgot(&email).await.status(), 202);
    }
    let queued = wait_for(Duration::from_secs(10), || async {
        app.email_rows().await.len() == 4
    })
    .await;
    assert_eq!(queued, Some(()), "the requests were fulfilled meanwhile");
    assert_eq!(
        mailer.sent(),
        1,
        "and nothing else was sent past the stuck one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_requests_is_settled_claim_after_claim_not_poll_after_poll() {
    // Requests queued while no worker runs ...
    let queued_by = spawn_app().await;
    let requests = (0..600).map(|i| queued_by.forgot_unknown(i));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), 202);
    }
    // ... then a worker that polls once a minute: it must go on claiming
    // while claims come back full.
    let mailer = Recording::new(Duration::from_millis(1));
    let worker = spawn_custom_app(
        queued_by.db.clone(),
        Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            env.insert("OUTBOX_POLL_INTERVAL_MS".into(), "60000".into());
        },
        AppOptions {
            run_worker: true,
            mailer: Some(mailer.clone()),
            ..AppOptions::default()
        },
    )
    .await;
    let drained = wait_for(Duration::from_secs(20), || async {
        worker
            .outbox_rows(OutboxKind::ResetRequest)
            .await
            .iter()
            .all(|r| r.status == OutboxStatus::Done)
    })
    .await;
    assert_eq!(drained, Some(()), "every request was settled");
    assert_eq!(mailer.sent(), 0);
}

impl TestApp {
    async fn forgot_unknown(&self, i: usize) -> reqwest::Response {
        self.forgot(&format!("nobody{i}@example.com")).await
    }
}
