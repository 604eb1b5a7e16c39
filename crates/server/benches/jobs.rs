//! Job throughput benchmark (not a timed test) against the sandbox as amoCRM: `task.create` jobs
//! for one account (bounded by the 7 requests per second limit) and spread over ten accounts
//! (each with its own sandbox token, so the engine itself is the bound).
//!
//! `cargo bench -p leakguard-server --bench jobs`; `LEAKGUARD_BENCH_DATABASE_URL=postgres://…` for PostgreSQL.

use std::time::{Duration, Instant};

use leakguard_core::idempotency::{marker, MarkerKind};
use leakguard_server::config::{Config, LongLivedToken};
use leakguard_server::jobs::handlers::{TaskJob, TASK_CREATE};
use leakguard_server::jobs::queue::{self, NewJob};
use serde_json::Value;

async fn lead_in(sandbox: &leakguard_sandbox::Running, token: &str) -> u64 {
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/api/v4/leads", sandbox.app_url()))
        .bearer_auth(token)
        .json(&serde_json::json!([{ "name": "Bench" }]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["_embedded"]["leads"][0]["id"].as_u64().unwrap()
}

async fn run(accounts: usize, jobs_per_account: usize, database_url: Option<String>) {
    let sandbox = leakguard_sandbox::start(leakguard_sandbox::Config {
        port: 0,
        cdn_port: 0,
        widgets: Vec::new(),
        fixture: leakguard_sandbox::Fixture::Empty,
        deals: 0,
        log_requests: false,
        ..leakguard_sandbox::Config::default()
    })
    .await
    .unwrap();
    let admin = sandbox.state().token_user(sandbox.token()).unwrap();
    let tokens: Vec<String> = (0..accounts)
        .map(|_| sandbox.state().issue_token(admin))
        .collect();
    let lead = lead_in(&sandbox, &sandbox.state().issue_token(admin)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url,
        token_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        workers: 16,
        poll_interval_ms: 20,
        sync_interval_seconds: 0,
        long_lived_tokens: tokens
            .iter()
            .enumerate()
            .map(|(index, token)| LongLivedToken {
                account_id: 1000 + index as i64,
                base_url: sandbox.app_url().to_owned(),
                token: token.clone(),
            })
            .collect(),
        ..Config::default()
    };
    let server = leakguard_server::start(config).await.unwrap();
    // A PostgreSQL database may hold an earlier run's rows.
    for table in ["jobs", "effects", "rate_windows"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&server.db().pool)
            .await
            .unwrap();
    }
    let started = Instant::now();
    for index in 0..jobs_per_account {
        for account in 0..accounts {
            let job = TaskJob {
                lead_id: lead,
                text: "Bench".into(),
                complete_till: 1_900_000_000,
                marker: marker(
                    MarkerKind::Watchdog,
                    lead,
                    (account * jobs_per_account + index) as i64,
                ),
            };
            let new = NewJob::now(
                1000 + account as i64,
                TASK_CREATE,
                serde_json::to_value(job).unwrap(),
            );
            queue::enqueue(&server.db().pool, &new).await.unwrap();
        }
    }
    let total = accounts * jobs_per_account;
    loop {
        let states = queue::counts_by_state(server.db()).await.unwrap();
        let done: i64 = states
            .iter()
            .filter(|(state, _)| state == "done")
            .map(|(_, n)| n)
            .sum();
        if done as usize == total {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "stuck: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "jobs: {accounts} account(s) x {jobs_per_account} task.create = {total} jobs in {:.2} s: {:.1} jobs/s ({:.2} per account per second)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64() / accounts as f64,
    );
    server.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::main]
async fn main() {
    let database_url = std::env::var("LEAKGUARD_BENCH_DATABASE_URL").ok();
    run(1, 70, database_url.clone()).await;
    run(10, 35, database_url).await;
}
