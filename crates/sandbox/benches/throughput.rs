//! Throughput benchmark of the sandbox: requests per second for typical widget list calls, and demo generation time.
//!
//! Run with `cargo bench -p leakguard-sandbox` (set `BENCH_SECONDS` to change the measuring window, default 3).
//! The 7 rps limiter is switched off so the numbers measure the mock itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leakguard_sandbox::{Config, Fixture};

const CONCURRENCY: usize = 16;

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let window = Duration::from_secs(seconds);
    demo_generation();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        for deals in [3_000, 100_000] {
            let running = start(deals).await;
            let tasks = "/api/v4/tasks?filter[is_completed]=0&filter[entity_type]=leads&filter[responsible_user_id][]=8100002&limit=250&order[complete_till]=asc";
            let leads = "/api/v4/leads?limit=250";
            let active = "/api/v4/leads?limit=250&filter[closest_task_at][from]=1&filter[statuses][0][pipeline_id]=7100001&filter[statuses][0][status_id]=61000004";
            for (label, path) in [("tasks filtered", tasks), ("leads page", leads), ("leads filtered", active)] {
                let (rps, mean) = measure(&running, path, window).await;
                println!("{deals:>7} deals  GET {label:<15} {rps:>8.0} req/s  mean {mean:>6.1} ms  ({CONCURRENCY} concurrent clients, {seconds} s)");
            }
            running.shutdown().await;
        }
    });
}

/// Times building the demo fixture with 100 000 deals.
fn demo_generation() {
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let store = leakguard_sandbox::demo::build(Fixture::Demo, 42, 100_000, 1_800_000_000, true);
        times.push(started.elapsed());
        assert_eq!(store.leads.len(), 100_000);
    }
    times.sort();
    println!(
        "demo fixture, 100000 deals: min {:.0} ms, median {:.0} ms",
        ms(times[0]),
        ms(times[1])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn start(deals: usize) -> leakguard_sandbox::Running {
    let mut config = Config {
        port: 0,
        cdn_port: 0,
        widgets: Vec::new(),
        deals,
        log_requests: false,
        ..Config::default()
    };
    config.rate_limit.enabled = false;
    leakguard_sandbox::start(config)
        .await
        .expect("sandbox starts")
}

/// Requests per second and mean latency of `CONCURRENCY` keep-alive clients hammering `path` for `window`.
async fn measure(running: &leakguard_sandbox::Running, path: &str, window: Duration) -> (f64, f64) {
    let url = format!("{}{path}", running.app_url());
    let token = running.token().to_owned();
    let done = Arc::new(AtomicU64::new(0));
    let busy_us = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (url, token, done, busy_us) =
                (url.clone(), token.clone(), done.clone(), busy_us.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let response = client
                        .get(&url)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("request");
                    assert!(response.status().is_success());
                    response.bytes().await.expect("body");
                    busy_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = done.load(Ordering::Relaxed) as f64;
    (
        count / elapsed,
        busy_us.load(Ordering::Relaxed) as f64 / count / 1000.0,
    )
}
