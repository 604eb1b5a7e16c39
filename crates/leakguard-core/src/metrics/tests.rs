//! Tests of the key metrics against a hand-computed fixture and against a naive reference.

use std::collections::{BTreeSet, HashSet};

use super::*;
use crate::dates::{utc_of_local, Calendar, Date, FixedOffset, WeekdaySet};
use crate::locale::Lang;
use crate::settings::{Limit, StageLimit};

const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

fn at(year: i32, month: u8, day: u8, hour: u8) -> i64 {
    utc_of_local(Date::from_ymd(year, month, day).unwrap(), hour, 0, &MOSCOW)
}

/// Monday 19 January 2026, 12:00 in Moscow.
fn now() -> i64 {
    at(2026, 1, 19, 12)
}

fn weekends_only() -> Calendar {
    Calendar::custom(
        WeekdaySet::SATURDAY_SUNDAY,
        BTreeSet::new(),
        BTreeSet::new(),
    )
    .unwrap()
}

#[allow(clippy::too_many_arguments)]
fn deal(
    id: u64,
    stage: (u32, u32),
    price: i64,
    manager: u64,
    stage_since: i64,
    closed_at: Option<i64>,
    reason: Option<u64>,
    deleted: bool,
) -> Deal {
    Deal {
        id,
        name: format!("Сделка {id}"),
        price,
        pipeline_id: stage.0,
        status_id: stage.1,
        responsible_user_id: manager,
        group_id: manager * 10,
        created_at: at(2025, 11, 1, 10),
        closed_at,
        loss_reason_id: reason,
        stage_since,
        is_deleted: deleted,
    }
}

fn task(
    id: u64,
    entity_type: TaskEntity,
    entity_id: u64,
    complete_till: i64,
    is_completed: bool,
) -> TaskRef {
    TaskRef {
        id,
        entity_type,
        entity_id,
        complete_till,
        is_completed,
        responsible_user_id: 7,
    }
}

fn fixture() -> (Vec<Deal>, Vec<TaskRef>, Vec<OverduePayment>) {
    let now = now();
    let day = 86_400;
    let deals = vec![
        deal(1, (1, 10), 1000, 7, now - day, None, None, false),
        // In its stage since Monday 12 January 09:00: five working days and three hours.
        deal(2, (1, 10), 2000, 7, at(2026, 1, 12, 9), None, None, false),
        deal(3, (1, 11), 0, 8, now - 7200, None, None, false),
        deal(4, (1, 11), 500, 8, now - day, None, None, false),
        // Since Friday 16 January 10:00 in a stage limited to 4 hours, escalated after 1 working day.
        deal(5, (1, 12), 700, 7, at(2026, 1, 16, 10), None, None, false),
        deal(
            6,
            (1, 142),
            9000,
            7,
            now - 40 * day,
            Some(at(2026, 1, 5, 10)),
            None,
            false,
        ),
        deal(
            7,
            (1, 143),
            3000,
            7,
            now,
            Some(at(2026, 1, 10, 10)),
            Some(1),
            false,
        ),
        deal(
            8,
            (1, 143),
            1000,
            8,
            now,
            Some(at(2026, 1, 15, 10)),
            Some(1),
            false,
        ),
        deal(
            9,
            (1, 143),
            0,
            8,
            now,
            Some(at(2026, 1, 18, 10)),
            None,
            false,
        ),
        deal(
            10,
            (1, 143),
            4000,
            7,
            now,
            Some(at(2025, 12, 15, 10)),
            Some(2),
            false,
        ),
        deal(11, (1, 10), 100_000, 7, now - 90 * day, None, None, true),
        deal(12, (2, 20), 50, 8, now - 30 * day, None, None, false),
        deal(
            13,
            (1, 143),
            777,
            8,
            now,
            Some(at(2026, 1, 12, 10)),
            Some(1),
            true,
        ),
        // Lost exactly at the end of the period: not in it.
        deal(
            14,
            (1, 143),
            5,
            8,
            now,
            Some(at(2026, 2, 1, 0)),
            Some(2),
            false,
        ),
    ];
    let tasks = vec![
        task(1, TaskEntity::Lead, 1, now + day, false),
        task(2, TaskEntity::Lead, 2, now - 3600, false),
        task(3, TaskEntity::Lead, 2, now + 3600, false),
        task(4, TaskEntity::Lead, 4, now - day, true),
        task(5, TaskEntity::Contact, 5, now - 100, false),
        task(6, TaskEntity::Lead, 6, now - 100, false),
        task(7, TaskEntity::Lead, 12, 0, false),
        task(8, TaskEntity::Lead, 999, now - 100, false),
        task(9, TaskEntity::None, 3, now + 1000, false),
        task(10, TaskEntity::Company, 4, now + 1000, false),
    ];
    let payment = |deal_id, manager, amount| OverduePayment {
        deal_id,
        planned_id: deal_id * 100 + amount as u64,
        responsible_user_id: manager,
        due: Date::from_ymd(2026, 1, 10).unwrap(),
        amount,
        days_overdue: 9,
    };
    let payments = vec![
        payment(2, 7, 10_000),
        payment(2, 7, 5_000),
        payment(12, 8, 300),
        payment(11, 7, 999),
        payment(777, 9, 1),
    ];
    (deals, tasks, payments)
}

fn stuck_settings() -> StuckSettings {
    let mut stuck = StuckSettings::default();
    stuck.stages.push(StageLimit {
        stage: StageRef::new(1, 12),
        limit: Some(Limit::Hours(4)),
        escalate_after: Some(Limit::WorkingDays(1)),
    });
    stuck
}

fn january() -> Period {
    Period {
        from: at(2026, 1, 1, 0),
        to: at(2026, 2, 1, 0),
    }
}

fn compute(filter: &Filter) -> KeyMetrics {
    let (deals, tasks, payments) = fixture();
    let cal = weekends_only();
    let account = Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang: Lang::Ru,
    };
    let input = MetricsInput {
        deals: &deals,
        tasks: &tasks,
        overdue_payments: &payments,
    };
    key_metrics(&input, filter, &stuck_settings(), now(), &account)
}

fn bucket(count: usize, value: i64, deal_ids: &[u64]) -> Bucket {
    Bucket {
        count,
        value,
        deal_ids: deal_ids.to_vec(),
    }
}

#[test]
fn lost_deals_by_reason_and_manager_with_the_previous_period() {
    let metrics = compute(&Filter::period(january()));
    assert_eq!(
        metrics.lost,
        LostDeals {
            total: bucket(3, 4000, &[7, 8, 9]),
            by_reason: vec![
                ReasonRow {
                    reason_id: Some(1),
                    bucket: bucket(2, 4000, &[7, 8]),
                    count_share_bp: 6667,
                    value_share_bp: 10_000,
                },
                ReasonRow {
                    reason_id: None,
                    bucket: bucket(1, 0, &[9]),
                    count_share_bp: 3333,
                    value_share_bp: 0,
                },
            ],
            by_manager: vec![(7, bucket(1, 3000, &[7])), (8, bucket(2, 1000, &[8, 9]))],
        }
    );
    assert_eq!(metrics.lost_previous.total, bucket(1, 4000, &[10]));
    assert_eq!(metrics.lost_delta(), Delta { count: 2, value: 0 });
    assert_eq!(
        january().previous(),
        Period {
            from: at(2025, 12, 1, 0),
            to: at(2026, 1, 1, 0)
        }
    );
}

#[test]
fn open_deals_with_overdue_tasks() {
    let metrics = compute(&Filter::period(january()));
    // Deal 2 has one task in the past and one in the future; the won deal 6, the contact's task
    // and the unknown deal 999 do not count.
    assert_eq!(
        metrics.overdue_tasks,
        Breakdown {
            total: bucket(1, 2000, &[2]),
            by_stage: vec![(StageRef::new(1, 10), bucket(1, 2000, &[2]))],
            by_manager: vec![(7, bucket(1, 2000, &[2]))],
        }
    );
}

#[test]
fn open_deals_without_an_open_task() {
    let metrics = compute(&Filter::period(january()));
    // 3: only a task attached to nothing; 4: only a completed task and a company task;
    // 5: only a contact's task; 12: only a task without a deadline. The deleted deal 11 is left out.
    assert_eq!(
        metrics.without_task,
        Breakdown {
            total: bucket(4, 1250, &[3, 4, 5, 12]),
            by_stage: vec![
                (StageRef::new(1, 11), bucket(2, 500, &[3, 4])),
                (StageRef::new(1, 12), bucket(1, 700, &[5])),
                (StageRef::new(2, 20), bucket(1, 50, &[12])),
            ],
            by_manager: vec![(7, bucket(1, 700, &[5])), (8, bucket(3, 550, &[3, 4, 12]))],
        }
    );
}

#[test]
fn overdue_payments_per_manager() {
    let metrics = compute(&Filter::period(january()));
    // The deleted deal 11 is left out; the unknown deal 777 counts while nothing is filtered.
    assert_eq!(
        metrics.overdue_payments,
        OverduePayments {
            total: bucket(4, 15_301, &[2, 12, 777]),
            by_manager: vec![
                (7, bucket(2, 15_000, &[2])),
                (8, bucket(1, 300, &[12])),
                (9, bucket(1, 1, &[777])),
            ],
        }
    );
}

#[test]
fn stuck_deals_per_stage_in_working_time() {
    let metrics = compute(&Filter::period(january()));
    assert_eq!(
        metrics.stuck,
        StuckDeals {
            stuck: Breakdown {
                total: bucket(3, 2750, &[2, 5, 12]),
                by_stage: vec![
                    (StageRef::new(1, 10), bucket(1, 2000, &[2])),
                    (StageRef::new(1, 12), bucket(1, 700, &[5])),
                    (StageRef::new(2, 20), bucket(1, 50, &[12])),
                ],
                by_manager: vec![(7, bucket(2, 2700, &[2, 5])), (8, bucket(1, 50, &[12]))],
            },
            escalated: bucket(1, 700, &[5]),
        }
    );
}

#[test]
fn filters_by_manager_group_and_pipeline() {
    let period = january();
    let manager = compute(&Filter {
        manager_id: Some(8),
        ..Filter::period(period)
    });
    assert_eq!(manager.lost.total.deal_ids, [8, 9]);
    assert_eq!(manager.overdue_tasks.total, Bucket::default());
    assert_eq!(manager.without_task.total.deal_ids, [3, 4, 12]);
    // The payment of the unknown deal 777 cannot be attributed once a filter is set.
    assert_eq!(manager.overdue_payments.total, bucket(1, 300, &[12]));
    let group = compute(&Filter {
        group_id: Some(80),
        ..Filter::period(period)
    });
    assert_eq!(group, manager);
    let pipeline = compute(&Filter {
        pipeline_id: Some(2),
        ..Filter::period(period)
    });
    assert_eq!(pipeline.lost.total, Bucket::default());
    assert_eq!(pipeline.without_task.total.deal_ids, [12]);
    assert_eq!(pipeline.stuck.stuck.total.deal_ids, [12]);
    let nobody = compute(&Filter {
        manager_id: Some(12345),
        ..Filter::period(period)
    });
    assert_eq!(
        nobody.compare(&KeyMetrics::default()),
        Comparison::default()
    );
}

#[test]
fn reports_compare_number_by_number() {
    let all = compute(&Filter::period(january()));
    let manager = compute(&Filter {
        manager_id: Some(8),
        ..Filter::period(january())
    });
    assert_eq!(
        all.compare(&manager),
        Comparison {
            lost: Delta {
                count: 1,
                value: 3000
            },
            overdue_tasks: Delta {
                count: 1,
                value: 2000
            },
            without_task: Delta {
                count: 1,
                value: 700
            },
            overdue_payments: Delta {
                count: 3,
                value: 15_001
            },
            stuck: Delta {
                count: 2,
                value: 2700
            },
        }
    );
}

/// A straightforward, quadratic reimplementation used as the reference on random data.
fn naive(
    deals: &[Deal],
    tasks: &[TaskRef],
    filter: &Filter,
    now: i64,
) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let matches = |d: &Deal| {
        !d.is_deleted
            && filter.pipeline_id.is_none_or(|p| d.pipeline_id == p)
            && filter.manager_id.is_none_or(|m| d.responsible_user_id == m)
            && filter.group_id.is_none_or(|g| d.group_id == g)
    };
    let open_tasks = |d: &Deal| {
        tasks
            .iter()
            .filter(|t| {
                t.entity_type == TaskEntity::Lead
                    && t.entity_id == d.id
                    && !t.is_completed
                    && t.complete_till != 0
            })
            .collect::<Vec<_>>()
    };
    let open_deals = deals
        .iter()
        .filter(|d| matches(d) && d.status_id != 142 && d.status_id != 143);
    let lost = deals
        .iter()
        .filter(|d| {
            matches(d)
                && d.status_id == 143
                && d.closed_at.is_some_and(|c| filter.period.contains(c))
        })
        .map(|d| d.id)
        .collect();
    let overdue = open_deals
        .clone()
        .filter(|d| open_tasks(d).iter().any(|t| t.complete_till < now))
        .map(|d| d.id)
        .collect();
    let without = open_deals
        .filter(|d| open_tasks(d).is_empty())
        .map(|d| d.id)
        .collect();
    (lost, overdue, without)
}

#[test]
fn random_data_matches_the_naive_reference() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let now = now();
    let statuses = [10, 11, 12, 142, 143];
    let deals: Vec<Deal> = (1..=300)
        .map(|id| {
            let status = statuses[next(5) as usize];
            let closed = (status >= 142).then(|| now - next(90 * 86_400) as i64);
            Deal {
                id,
                price: next(3) as i64 * 1000,
                pipeline_id: 1 + next(2) as u32,
                status_id: status,
                responsible_user_id: 1 + next(4),
                group_id: 1 + next(2),
                closed_at: closed,
                loss_reason_id: (next(3) > 0).then(|| next(3)),
                stage_since: now - next(20 * 86_400) as i64,
                is_deleted: next(20) == 0,
                ..Deal::default()
            }
        })
        .collect();
    let entities = [
        TaskEntity::Lead,
        TaskEntity::Lead,
        TaskEntity::Lead,
        TaskEntity::Contact,
        TaskEntity::None,
    ];
    let tasks: Vec<TaskRef> = (1..=900)
        .map(|id| TaskRef {
            id,
            entity_type: entities[next(5) as usize],
            entity_id: 1 + next(330),
            complete_till: if next(30) == 0 {
                0
            } else {
                now - 5 * 86_400 + next(10 * 86_400) as i64
            },
            is_completed: next(3) == 0,
            responsible_user_id: 1,
        })
        .collect();
    let cal = weekends_only();
    let account = Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang: Lang::En,
    };
    let period = Period {
        from: now - 30 * 86_400,
        to: now,
    };
    for filter in [
        Filter::period(period),
        Filter {
            pipeline_id: Some(2),
            ..Filter::period(period)
        },
        Filter {
            manager_id: Some(3),
            group_id: Some(1),
            ..Filter::period(period)
        },
    ] {
        let input = MetricsInput {
            deals: &deals,
            tasks: &tasks,
            overdue_payments: &[],
        };
        let fast = key_metrics(&input, &filter, &StuckSettings::default(), now, &account);
        let (lost, overdue, without) = naive(&deals, &tasks, &filter, now);
        assert_eq!(fast.lost.total.deal_ids, lost);
        assert_eq!(fast.overdue_tasks.total.deal_ids, overdue);
        assert_eq!(fast.without_task.total.deal_ids, without);
        // Every breakdown adds up to its total, and each deal appears in exactly one group.
        for breakdown in [&fast.overdue_tasks, &fast.without_task, &fast.stuck.stuck] {
            for rows in [
                breakdown
                    .by_stage
                    .iter()
                    .map(|(_, b)| b)
                    .collect::<Vec<_>>(),
                breakdown
                    .by_manager
                    .iter()
                    .map(|(_, b)| b)
                    .collect::<Vec<_>>(),
            ] {
                assert_eq!(
                    rows.iter().map(|b| b.count).sum::<usize>(),
                    breakdown.total.count
                );
                assert_eq!(
                    rows.iter().map(|b| b.value).sum::<i64>(),
                    breakdown.total.value
                );
                let ids: HashSet<u64> = rows
                    .iter()
                    .flat_map(|b| b.deal_ids.iter().copied())
                    .collect();
                assert_eq!(ids.len(), breakdown.total.count);
            }
        }
        let shares: i64 = fast.lost.by_reason.iter().map(|r| r.count_share_bp).sum();
        assert!(
            fast.lost.total.count == 0 || (9_990..=10_010).contains(&shares),
            "{shares}"
        );
    }
}
