//! Webhook ingest benchmark (not a timed test): many concurrent clients post distinct status-change
//! webhooks to `POST /webhooks/amocrm` over loopback; prints throughput and latency percentiles.
//!
//! `cargo bench -p leakguard-server --bench ingest` (SQLite in a temp dir), or with
//! `LEAKGUARD_BENCH_DATABASE_URL=postgres://…` for PostgreSQL. `LEAKGUARD_BENCH_REQUESTS` and
//! `LEAKGUARD_BENCH_CLIENTS` change the load (defaults 20000 and 32).

use std::time::{Duration, Instant};

use leakguard_server::config::{Config, LongLivedToken};

const ACCOUNT: i64 = 424242;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn body(lead_id: usize) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("leads[status][0][id]", &lead_id.to_string())
        .append_pair("leads[status][0][status_id]", "143")
        .append_pair("leads[status][0][old_status_id]", "7039101")
        .append_pair("leads[status][0][pipeline_id]", "3177727")
        .append_pair("leads[status][0][updated_at]", "1700000000")
        .append_pair("leads[status][0][account_id]", &ACCOUNT.to_string())
        .append_pair("account[id]", &ACCOUNT.to_string())
        .append_pair("account[subdomain]", "bench")
        .finish()
}

#[tokio::main]
async fn main() {
    let requests = env_number("LEAKGUARD_BENCH_REQUESTS", 20_000);
    let clients = env_number("LEAKGUARD_BENCH_CLIENTS", 32);
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: std::env::var("LEAKGUARD_BENCH_DATABASE_URL").ok(),
        token_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        // An HTTP-only instance: the events are recorded and queued, not processed.
        workers: 0,
        long_lived_tokens: vec![LongLivedToken {
            account_id: ACCOUNT,
            base_url: "http://127.0.0.1:9".into(),
            token: "unused".into(),
        }],
        ..Config::default()
    };
    let server = leakguard_server::start(config).await.unwrap();
    let url = format!("{}/webhooks/amocrm", server.url());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();

    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..clients {
        let client = client.clone();
        let url = url.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut lead = worker;
            while lead < requests {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body(lead))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
                lead += clients;
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let backend = if std::env::var("LEAKGUARD_BENCH_DATABASE_URL").is_ok() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "webhook ingest ({backend}, {clients} clients, {} requests): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
    let stored = leakguard_server::jobs::queue::counts_by_state(server.db())
        .await
        .unwrap();
    println!("jobs queued by the run: {stored:?}");
    server.shutdown().await;
}
