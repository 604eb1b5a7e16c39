//! Benchmark of the payments math on a large account: 100 000 deals with schedules, partial payments and expenses (plain std timing, run with `cargo bench -p leakguard-core --bench payments`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use leakguard_core::dates::{Date, FixedOffset, YearMonth};
use leakguard_core::payments::store::{amount_text, parse_amount_text};
use leakguard_core::payments::{
    margin_report, overdue_payments, schedule_from_template, totals, ActualPayment, Currency,
    DealLedger, DealPayments, Expense, PlannedPayment, TemplatePart,
};
use leakguard_core::settings::{MarginTarget, PlanScope};

const DEALS: u64 = 100_000;
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

/// Every deal: a schedule of 1–4 rows from a template over a budget, payments covering a random
/// share of it (some spanning rows, some linked to a row), and 0–2 expenses; dates around `today`.
fn data(today: Date) -> Vec<(u64, DealPayments)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rub = Currency::from_code("RUB").expect("RUB is known");
    let templates: [&[TemplatePart]; 3] = [
        &[TemplatePart {
            percent: 100,
            days: 0,
        }],
        &[
            TemplatePart {
                percent: 50,
                days: 0,
            },
            TemplatePart {
                percent: 50,
                days: 30,
            },
        ],
        &[
            TemplatePart {
                percent: 30,
                days: 0,
            },
            TemplatePart {
                percent: 30,
                days: 30,
            },
            TemplatePart {
                percent: 20,
                days: 60,
            },
            TemplatePart {
                percent: 20,
                days: 90,
            },
        ],
    ];
    let mut next_id = 1u64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    (1..=DEALS)
        .map(|_| {
            let budget = (1 + rng.below(500) as i64) * 100_000 + rng.below(100) as i64;
            let start = today.add_days(-(rng.below(120) as i64));
            let template = templates[rng.below(3) as usize];
            let rows = schedule_from_template(budget, start, template).expect("valid template");
            let planned: Vec<PlannedPayment> = rows
                .iter()
                .map(|row| PlannedPayment {
                    id: id(),
                    due: row.due,
                    amount: row.amount,
                })
                .collect();
            let mut actual = Vec::new();
            let mut left = budget * rng.below(101) as i64 / 100;
            while left > 0 {
                let amount = left.min(budget / (1 + rng.below(3) as i64) + 1);
                let linked = (rng.below(2) == 0)
                    .then(|| planned[rng.below(planned.len() as u64) as usize].id);
                actual.push(ActualPayment {
                    id: id(),
                    date: start.add_days(rng.below(100) as i64),
                    amount,
                    planned_id: linked,
                });
                left -= amount;
            }
            let expenses = (0..rng.below(3))
                .map(|_| Expense {
                    id: id(),
                    date: start.add_days(rng.below(60) as i64),
                    amount: budget / 10,
                })
                .collect();
            let payments = DealPayments {
                currency: rub,
                planned,
                actual,
                expenses,
            };
            (1 + rng.below(40), payments)
        })
        .collect()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name}: min {:.1} ms, median {:.1} ms over {} runs",
        times[0].as_secs_f64() * 1000.0,
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times.len()
    );
}

fn time(name: &str, mut run: impl FnMut()) {
    let times = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    report(name, times);
}

fn main() {
    let zone = FixedOffset(3 * 3600);
    let today = Date::from_ymd(2026, 11, 27).expect("a real date");
    let now = 1_795_780_800; // 2026-11-27 15:00 in Moscow (12:00 UTC).
    let deals = data(today);
    let records: usize = deals
        .iter()
        .map(|(_, p)| p.planned.len() + p.actual.len() + p.expenses.len())
        .sum();
    println!("{DEALS} deals, {records} records");
    let ledgers: Vec<DealLedger<'_>> = deals
        .iter()
        .enumerate()
        .map(|(i, (manager, payments))| DealLedger {
            deal_id: i as u64 + 1,
            responsible_user_id: *manager,
            payments,
        })
        .collect();
    let month = YearMonth::of(today);
    let targets: Vec<MarginTarget> = std::iter::once(PlanScope::Company)
        .chain((1..=40).map(|user_id| PlanScope::Manager { user_id }))
        .map(|scope| MarginTarget {
            month,
            scope,
            amount_minor: 1_000_000_000,
        })
        .collect();

    time("totals of every deal", || {
        for (_, payments) in &deals {
            black_box(totals(payments, now, &zone));
        }
    });
    let mut overdue = 0;
    time("overdue payments of the account", || {
        overdue = black_box(overdue_payments(&ledgers, now, &zone)).len();
    });
    println!("  ({overdue} overdue planned payments)");
    time("margin plan of the month (company + 40 managers)", || {
        black_box(margin_report(month, &ledgers, &targets));
    });
    let rub = Currency::from_code("RUB").expect("RUB is known");
    time("LG_AMOUNT text round trip of every record", || {
        for (_, payments) in &deals {
            for row in &payments.planned {
                let text = amount_text(row.amount, rub);
                black_box(parse_amount_text(&text, rub));
            }
        }
    });
}
