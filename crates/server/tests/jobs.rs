//! The job engine against a real sandbox amoCRM, on SQLite and (when configured) PostgreSQL:
//! crash and restart, retries after unrecorded successes, 429 back-off, a 403 ban against a 403
//! on one endpoint, the 7 requests per second ceiling and two instances sharing one database.

mod common;

use std::time::Duration;

use common::*;
use leakguard_core::idempotency::{marker, MarkerKind};
use leakguard_server::jobs::handlers::{TaskJob, TASK_CREATE};
use leakguard_server::jobs::queue::{self, NewJob};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;

/// The marker of test task number `index` of a lead.
fn test_marker(lead_id: u64, index: i64) -> String {
    marker(MarkerKind::Watchdog, lead_id, index)
}

async fn enqueue_task_job(
    db: &leakguard_server::db::Db,
    account_id: i64,
    lead_id: u64,
    index: i64,
) {
    let job = TaskJob {
        lead_id,
        text: format!("Call back {index}"),
        complete_till: 1_900_000_000,
        marker: test_marker(lead_id, index),
    };
    let new = NewJob::now(account_id, TASK_CREATE, serde_json::to_value(job).unwrap());
    assert!(queue::enqueue(&db.pool, &new).await.unwrap());
}

async fn drained(db: &leakguard_server::db::Db, timeout: Duration) {
    let done = wait_for(timeout, || async { queue_drained(db).await.then_some(()) }).await;
    assert!(
        done.is_some(),
        "jobs still pending: {:?}",
        job_states(db).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_job_neither_loses_nor_duplicates_the_task() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        config.workers = 1;
        config.lease_seconds = 2;
        let (lead_id, _) = create_lead(&sandbox, "Crash").await;

        // The task POST is slow; the first instance dies while it is in flight.
        fault(&sandbox, json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "latency", "ms": 1500, "count": 1 })).await;
        let first = leakguard_server::start(config.clone()).await.unwrap();
        enqueue_task_job(first.db(), account_id, lead_id, 1).await;
        let in_flight = wait_for(Duration::from_secs(10), || async {
            let row = sqlx::query("SELECT attempts FROM jobs")
                .fetch_one(&first.db().pool)
                .await
                .ok()?;
            (row.try_get::<i64, _>(0).ok()? == 1).then_some(())
        })
        .await;
        assert!(in_flight.is_some());
        tokio::time::sleep(Duration::from_millis(400)).await;
        first.kill().await;
        // Let the slow request finish (or not) on the sandbox's side and the lease expire.
        tokio::time::sleep(Duration::from_millis(2500)).await;

        let second = leakguard_server::start(config).await.unwrap();
        drained(second.db(), Duration::from_secs(20)).await;
        let tasks = tasks_of(&sandbox, lead_id).await;
        assert_eq!(tasks.len(), 1, "{}: {tasks:?}", backend.name());
        let row = sqlx::query("SELECT state, attempts FROM jobs")
            .fetch_one(&second.db().pool)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>("state").unwrap(), "done");
        assert_eq!(
            row.try_get::<i64, _>("attempts").unwrap(),
            2,
            "the restarted instance took the job over"
        );
        second.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_an_unrecorded_success_finds_the_task_instead_of_posting_again() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        let (lead_id, _) = create_lead(&sandbox, "Half done").await;
        // A previous attempt recorded its intent and created the task, then died before recording the id.
        let marker = test_marker(lead_id, 1);
        let key = leakguard_server::jobs::effects::effect_key(account_id, &marker);
        let (status, _) = amo(
            &sandbox,
            Method::POST,
            "/api/v4/tasks",
            Some(json!([{
                "text": format!("Call back 1 {marker}"), "complete_till": 1_900_000_000,
                "entity_id": lead_id, "entity_type": "leads"
            }])),
        )
        .await;
        assert_eq!(status, 200);
        let server = leakguard_server::start(config).await.unwrap();
        sqlx::query("INSERT INTO effects (effect_key, account_id, kind, state, created_at, updated_at) VALUES ($1, $2, 'task', 'intent', 0, 0)")
            .bind(&key)
            .bind(account_id)
            .execute(&server.db().pool)
            .await
            .unwrap();
        enqueue_task_job(server.db(), account_id, lead_id, 1).await;
        drained(server.db(), Duration::from_secs(20)).await;
        assert_eq!(
            tasks_of(&sandbox, lead_id).await.len(),
            1,
            "{}",
            backend.name()
        );
        let posts = request_log(&sandbox)
            .await
            .iter()
            .filter(|entry| entry["method"] == "POST" && entry["path"] == "/api/v4/tasks")
            .count();
        assert_eq!(posts, 1, "only the simulated first attempt posted");
        let state: String = sqlx::query("SELECT state FROM effects WHERE effect_key = $1")
            .bind(&key)
            .fetch_one(&server.db().pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(state, "done");
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_backs_off_for_retry_after_then_succeeds() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let server =
            leakguard_server::start(with_sandbox_token(server_config(&db), &sandbox, account_id))
                .await
                .unwrap();
        let (lead_id, _) = create_lead(&sandbox, "Throttled").await;
        fault(
            &sandbox,
            json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "rate_limit", "count": 1 }),
        )
        .await;
        enqueue_task_job(server.db(), account_id, lead_id, 1).await;
        drained(server.db(), Duration::from_secs(20)).await;
        assert_eq!(tasks_of(&sandbox, lead_id).await.len(), 1);
        let posts: Vec<Value> = request_log(&sandbox)
            .await
            .into_iter()
            .filter(|entry| entry["method"] == "POST" && entry["path"] == "/api/v4/tasks")
            .collect();
        assert_eq!(posts.len(), 2, "{posts:?}");
        assert_eq!(posts[0]["status"], 429);
        assert_eq!(posts[1]["status"], 200);
        let waited = posts[1]["ts_ms"].as_u64().unwrap() - posts[0]["ts_ms"].as_u64().unwrap();
        assert!(
            waited >= 1000,
            "{}: retried after {waited} ms, before retry_after",
            backend.name()
        );
        // The deferral did not cost an attempt.
        let attempts: i64 = sqlx::query("SELECT attempts FROM jobs")
            .fetch_one(&server.db().pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(attempts, 1);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

/// Gets the sandbox's admin token (the server's) banned: one violation is enough, and the ban
/// answers problem+json or, with `html`, nginx's page.
async fn ban_server_token(sandbox: &leakguard_sandbox::Running, html: bool) {
    let mut limit = sandbox.state().limiter.config();
    limit.ban_after_violations = 1;
    limit.ban_duration = Duration::from_secs(30);
    limit.ban_html = html;
    sandbox.state().limiter.set_config(limit);
    let client = reqwest::Client::new();
    for _ in 0..9 {
        client
            .get(format!("{}/api/v4/account", sandbox.app_url()))
            .bearer_auth(sandbox.token())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_403_ban_pauses_the_account_and_shows_it() {
    for backend in backends() {
        for html in [false, true] {
            let sandbox = sandbox().await;
            let account_id = sandbox_account_id(&sandbox).await;
            let db = fresh_db(&backend).await;
            let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
            config.workers = 1;
            let server = leakguard_server::start(config).await.unwrap();
            let (lead_id, _) = create_lead(&sandbox, "Banned").await;
            ban_server_token(&sandbox, html).await;
            enqueue_task_job(server.db(), account_id, lead_id, 1).await;
            enqueue_task_job(server.db(), account_id, lead_id, 2).await;
            let paused = wait_for(Duration::from_secs(10), || async {
                let account = leakguard_server::accounts::get(server.db(), account_id)
                    .await
                    .ok()??;
                account.paused_until.map(|_| account)
            })
            .await
            .expect("the account is paused");
            assert!(paused.pause_reason.unwrap().contains("403"));
            tokio::time::sleep(Duration::from_millis(500)).await;
            // Nothing more is sent while paused, and both jobs wait in the queue.
            let posts = request_log(&sandbox)
                .await
                .iter()
                .filter(|entry| entry["method"] == "POST" && entry["path"] == "/api/v4/tasks")
                .count();
            assert_eq!(posts, 1, "{} html={html}", backend.name());
            let states = job_states(server.db()).await;
            assert_eq!(states, vec![("queued".to_string(), 2)], "{states:?}");

            let token = widget_token(account_id, sandbox.app_url(), json!({}), SECRET);
            let account: Value = reqwest::Client::new()
                .get(format!("{}/api/account", server.url()))
                .header("X-Auth-Token", token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(account["paused"], true, "{account}");
            let metrics = reqwest::get(format!("{}/metrics", server.url()))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(metrics.contains("leakguard_accounts_paused 1"), "{metrics}");
            assert!(
                metrics.contains(&format!(
                    "leakguard_amo_requests_total{{account=\"{account_id}\",status=\"403\"}} 1"
                )),
                "{metrics}"
            );
            server.shutdown().await;
            sandbox.shutdown().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_403_on_one_endpoint_fails_that_request_only() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        config.workers = 1;
        let server = leakguard_server::start(config).await.unwrap();
        let (lead_id, _) = create_lead(&sandbox, "Missing right").await;
        // A missing right answers problem+json without a word about a block: not a ban.
        fault(&sandbox, json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "status", "status": 403, "count": 1 })).await;
        enqueue_task_job(server.db(), account_id, lead_id, 1).await;
        drained(server.db(), Duration::from_secs(20)).await;
        enqueue_task_job(server.db(), account_id, lead_id, 2).await;
        drained(server.db(), Duration::from_secs(20)).await;
        let account = leakguard_server::accounts::get(server.db(), account_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.paused_until, None, "{}", backend.name());
        let states = job_states(server.db()).await;
        assert_eq!(
            states,
            vec![("done".to_string(), 1), ("failed".to_string(), 1)],
            "{states:?}"
        );
        assert_eq!(tasks_of(&sandbox, lead_id).await.len(), 1);

        // The same answer from three different endpoints within a minute is taken for a ban.
        let amo = &server.state().amo;
        for path in [
            "/api/v4/users",
            "/api/v4/leads/pipelines",
            "/api/v4/webhooks",
        ] {
            fault(
                &sandbox,
                json!({ "path": path, "kind": "status", "status": 403, "count": 1 }),
            )
            .await;
            let _ = amo.get::<Value>(account_id, path).await;
        }
        let account = leakguard_server::accounts::get(server.db(), account_id)
            .await
            .unwrap()
            .unwrap();
        assert!(account.paused_until.is_some(), "{}", backend.name());
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_jobs_never_exceed_seven_requests_per_second() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        config.workers = 8;
        let (lead_id, _) = create_lead(&sandbox, "Busy").await;
        let server = leakguard_server::start(config).await.unwrap();
        let started = std::time::Instant::now();
        for index in 0..28 {
            enqueue_task_job(server.db(), account_id, lead_id, index).await;
        }
        drained(server.db(), Duration::from_secs(40)).await;
        let elapsed = started.elapsed();
        let mut times: Vec<u64> = request_log(&sandbox)
            .await
            .iter()
            .filter(|entry| entry["method"] == "POST" && entry["path"] == "/api/v4/tasks")
            .map(|entry| {
                assert_ne!(entry["status"], 429, "the sandbox throttled us: {entry}");
                entry["ts_ms"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(times.len(), 28);
        times.sort_unstable();
        for group in times.windows(8) {
            assert!(
                group[7] - group[0] >= 1000,
                "{}: 8 requests within a second: {group:?}",
                backend.name()
            );
        }
        assert!(
            elapsed >= Duration::from_secs(3),
            "28 requests at 7/s take over 3 s, took {elapsed:?}"
        );
        assert_eq!(tasks_of(&sandbox, lead_id).await.len(), 28);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_do_every_job_exactly_once() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        let (lead_id, _) = create_lead(&sandbox, "Shared").await;
        let first = leakguard_server::start(config.clone()).await.unwrap();
        let second = leakguard_server::start(config).await.unwrap();
        for index in 0..20 {
            enqueue_task_job(first.db(), account_id, lead_id, index).await;
        }
        drained(first.db(), Duration::from_secs(40)).await;
        let rows = sqlx::query("SELECT state, attempts FROM jobs")
            .fetch_all(&second.db().pool)
            .await
            .unwrap();
        assert_eq!(rows.len(), 20);
        for row in &rows {
            assert_eq!(row.try_get::<String, _>("state").unwrap(), "done");
            assert_eq!(
                row.try_get::<i64, _>("attempts").unwrap(),
                1,
                "{}: a job ran twice",
                backend.name()
            );
        }
        let posts: Vec<Value> = request_log(&sandbox)
            .await
            .into_iter()
            .filter(|entry| entry["method"] == "POST" && entry["path"] == "/api/v4/tasks")
            .collect();
        assert_eq!(posts.len(), 20, "{}: {posts:?}", backend.name());
        assert!(posts.iter().all(|entry| entry["status"] == 200));
        assert_eq!(tasks_of(&sandbox, lead_id).await.len(), 20);
        // Both instances worked.
        let first_runs = metric_sum(&first.url(), "leakguard_jobs_finished_total").await;
        let second_runs = metric_sum(&second.url(), "leakguard_jobs_finished_total").await;
        assert_eq!(first_runs + second_runs, 20.0);
        assert!(
            first_runs > 0.0 && second_runs > 0.0,
            "{first_runs} / {second_runs}"
        );
        first.shutdown().await;
        second.shutdown().await;
        sandbox.shutdown().await;
    }
}

async fn metric_sum(server: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{server}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
