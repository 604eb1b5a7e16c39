//! Benchmark of the key metrics on the size: 100 000 deals and 300 000 tasks (plain std timing, run with `cargo bench -p leakguard-core`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use leakguard_core::automation::quality_queue;
use leakguard_core::dates::{Calendar, Date, FixedOffset};
use leakguard_core::deal::Account;
use leakguard_core::locale::Lang;
use leakguard_core::metrics::{
    key_metrics, Deal, Filter, MetricsInput, Period, TaskEntity, TaskRef,
};
use leakguard_core::payments::OverduePayment;
use leakguard_core::settings::Settings;

const DEALS: u64 = 100_000;
const TASKS: u64 = 300_000;
const RUNS: usize = 7;

/// A small seeded generator (xorshift64) so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Deals spread over 3 pipelines of 6 stages, 40 managers in 5 groups, a quarter of them closed;
/// tasks mostly on deals (some on contacts), a third completed, deadlines ±30 days around now.
fn data(now: i64) -> (Vec<Deal>, Vec<TaskRef>, Vec<OverduePayment>) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let day = 86_400;
    let deals = (1..=DEALS)
        .map(|id| {
            let pipeline_id = 1 + rng.below(3) as u32;
            let status_id = match rng.below(8) {
                0 => 142,
                1 => 143,
                stage => pipeline_id * 100 + stage as u32,
            };
            let closed = status_id >= 142;
            let manager = 1 + rng.below(40);
            Deal {
                id,
                name: format!("Deal {id}"),
                price: rng.below(500) as i64 * 1000,
                pipeline_id,
                status_id,
                responsible_user_id: manager,
                group_id: manager % 5,
                created_at: now - 400 * day,
                closed_at: closed.then(|| now - rng.below(120 * day as u64) as i64),
                loss_reason_id: (status_id == 143 && rng.below(5) > 0).then(|| 1 + rng.below(6)),
                stage_since: now - rng.below(40 * day as u64) as i64,
                is_deleted: rng.below(200) == 0,
            }
        })
        .collect();
    let tasks = (1..=TASKS)
        .map(|id| TaskRef {
            id,
            entity_type: if rng.below(10) == 0 {
                TaskEntity::Contact
            } else {
                TaskEntity::Lead
            },
            entity_id: 1 + rng.below(DEALS),
            complete_till: now - 30 * day + rng.below(60 * day as u64) as i64,
            is_completed: rng.below(3) == 0,
            responsible_user_id: 1 + rng.below(40),
        })
        .collect();
    let payments = (1..=3_000)
        .map(|id| OverduePayment {
            deal_id: 1 + rng.below(DEALS),
            planned_id: id,
            responsible_user_id: 1 + rng.below(40),
            due: Date::from_ymd(2026, 1, 10).unwrap_or(Date::UNIX_EPOCH),
            amount: rng.below(1_000_000) as i64,
            days_overdue: 5,
        })
        .collect();
    (deals, tasks, payments)
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name}: min {:.1} ms, median {:.1} ms over {} runs",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    // Monday 19 January 2026, 09:00 UTC.
    let now = 1_768_813_200;
    let (deals, tasks, payments) = data(now);
    let start = Instant::now();
    let calendar = Calendar::russian();
    println!(
        "Calendar::russian() built in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let moscow = FixedOffset(3 * 3600);
    let account = Account {
        tz: &moscow,
        calendar: &calendar,
        lang: Lang::Ru,
    };
    let settings = Settings::default();
    let input = MetricsInput {
        deals: &deals,
        tasks: &tasks,
        overdue_payments: &payments,
    };
    let filter = Filter::period(Period {
        from: now - 30 * 86_400,
        to: now,
    });
    println!(
        "{DEALS} deals, {TASKS} tasks, {} overdue payments",
        payments.len()
    );

    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let metrics = key_metrics(black_box(&input), &filter, &settings.stuck, now, &account);
        times.push(start.elapsed());
        last = Some(metrics);
    }
    report("key_metrics", times);
    if let Some(metrics) = last {
        println!(
            "  lost {}, overdue tasks {}, without task {}, overdue payments {}, stuck {}",
            metrics.lost.total.count,
            metrics.overdue_tasks.total.count,
            metrics.without_task.total.count,
            metrics.overdue_payments.total.count,
            metrics.stuck.stuck.total.count
        );
    }

    let mut no_limits = settings.stuck.clone();
    no_limits.enabled = false;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        black_box(key_metrics(
            black_box(&input),
            &filter,
            &no_limits,
            now,
            &account,
        ));
        times.push(start.elapsed());
    }
    report("key_metrics without stage limits", times);

    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let queue = quality_queue(black_box(&deals), &tasks, &settings, now, &account, &|_| {
            None
        });
        times.push(start.elapsed());
        black_box(queue);
    }
    report("quality_queue", times);
}
