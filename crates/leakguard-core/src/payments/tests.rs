//! Tests of the payments math with hand-computed fixtures.

use super::*;
use crate::dates::{utc_of_local, Calendar, FixedOffset};
use crate::locale::Lang;

const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

fn date(year: i32, month: u8, day: u8) -> Date {
    Date::from_ymd(year, month, day).unwrap()
}

fn planned(id: u64, due: Date, amount: i64) -> PlannedPayment {
    PlannedPayment { id, due, amount }
}

fn paid(id: u64, date: Date, amount: i64, planned_id: Option<u64>) -> ActualPayment {
    ActualPayment {
        id,
        date,
        amount,
        planned_id,
    }
}

fn row(id: u64, due: Date, amount: i64, paid: i64, paid_on: Option<Date>) -> RowState {
    RowState {
        id,
        due,
        amount,
        paid,
        remaining: amount - paid,
        paid_on,
    }
}

#[test]
fn split_always_sums_to_the_whole() {
    assert_eq!(split(100, &[1, 1, 1]), Some(vec![34, 33, 33]));
    assert_eq!(split(100, &[50, 50]), Some(vec![50, 50]));
    assert_eq!(split(1, &[1, 1]), Some(vec![1, 0]));
    // 10 × 1/3 = 3.33 and 10 × 2/3 = 6.67: the larger remainder gets the unit.
    assert_eq!(split(10, &[1, 2]), Some(vec![3, 7]));
    assert_eq!(split(-100, &[1, 1, 1]), Some(vec![-34, -33, -33]));
    assert_eq!(split(0, &[3, 1]), Some(vec![0, 0]));
    assert_eq!(split(7, &[0, 1, 0]), Some(vec![0, 7, 0]));
    assert_eq!(split(100, &[0, 0]), None);
    assert_eq!(split(100, &[]), None);
    assert_eq!(
        split(i64::MAX, &[1, 1, 1]).unwrap().iter().sum::<i64>(),
        i64::MAX
    );
    assert_eq!(
        split(i64::MIN, &[1, 1]),
        Some(vec![i64::MIN / 2, i64::MIN / 2])
    );

    // A seeded sweep: the sum is exact and every part is within one unit of its exact share.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for _ in 0..2000 {
        let total = next(10_000_000) as i64 - 1_000_000;
        let weights: Vec<u64> = (0..=next(8)).map(|_| next(1000)).collect();
        let Some(parts) = split(total, &weights) else {
            assert!(weights.iter().all(|&w| w == 0));
            continue;
        };
        assert_eq!(parts.iter().sum::<i64>(), total);
        let weight_sum: u64 = weights.iter().sum();
        for (part, &weight) in parts.iter().zip(&weights) {
            let exact = total as f64 * weight as f64 / weight_sum as f64;
            assert!(
                (*part as f64 - exact).abs() < 1.0,
                "{total} {weights:?} {parts:?}"
            );
        }
    }
}

#[test]
fn templates_split_by_percent_and_offset_in_days() {
    let start = date(2026, 1, 15);
    let half_now_half_later = [
        TemplatePart {
            percent: 50,
            days: 0,
        },
        TemplatePart {
            percent: 50,
            days: 30,
        },
    ];
    assert_eq!(
        schedule_from_template(100_001, start, &half_now_half_later),
        Ok(vec![
            ScheduleRow {
                due: date(2026, 1, 15),
                amount: 50_001
            },
            ScheduleRow {
                due: date(2026, 2, 14),
                amount: 50_000
            },
        ])
    );
    let thirds = [
        TemplatePart {
            percent: 30,
            days: 0,
        },
        TemplatePart {
            percent: 30,
            days: 10,
        },
        TemplatePart {
            percent: 40,
            days: 45,
        },
    ];
    let rows = schedule_from_template(99_999, start, &thirds).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.amount).collect::<Vec<_>>(),
        [30_000, 30_000, 39_999]
    );
    assert_eq!(rows[2].due, date(2026, 3, 1));
    assert_eq!(
        schedule_from_template(100, start, &[]),
        Err(ScheduleError::Empty)
    );
    assert_eq!(
        schedule_from_template(100, start, &thirds[..2]),
        Err(ScheduleError::PercentsNot100 { sum: 60 })
    );
    assert_eq!(
        schedule_from_template(-1, start, &half_now_half_later),
        Err(ScheduleError::NegativeTotal)
    );
}

#[test]
fn monthly_instalments_clamp_to_the_end_of_the_month() {
    let rows = monthly_instalments(100_000, date(2026, 1, 31), 4).unwrap();
    assert_eq!(
        rows,
        [
            ScheduleRow {
                due: date(2026, 1, 31),
                amount: 25_000
            },
            ScheduleRow {
                due: date(2026, 2, 28),
                amount: 25_000
            },
            ScheduleRow {
                due: date(2026, 3, 31),
                amount: 25_000
            },
            ScheduleRow {
                due: date(2026, 4, 30),
                amount: 25_000
            },
        ]
    );
    let thirds = monthly_instalments(100_000, date(2026, 11, 30), 3).unwrap();
    assert_eq!(
        thirds.iter().map(|r| (r.due, r.amount)).collect::<Vec<_>>(),
        [
            (date(2026, 11, 30), 33_334),
            (date(2026, 12, 30), 33_333),
            (date(2027, 1, 30), 33_333)
        ]
    );
    assert_eq!(
        monthly_instalments(100, date(2026, 1, 1), 0),
        Err(ScheduleError::Empty)
    );
    assert_eq!(
        monthly_instalments(100, date(2026, 1, 1), u32::MAX),
        Err(ScheduleError::TooManyRows)
    );
    assert_eq!(
        monthly_instalments(600, date(2026, 1, 1), 600).map(|rows| rows.len()),
        Ok(600)
    );
    assert_eq!(
        check_rows(&[
            ScheduleRow {
                due: date(2026, 1, 1),
                amount: 5
            },
            ScheduleRow {
                due: date(2026, 2, 1),
                amount: 0
            }
        ]),
        Err(ScheduleError::NonPositiveAmount { index: 1 })
    );
    assert_eq!(check_rows(&[]), Ok(()));
    // Absurd amounts saturate instead of overflowing.
    let huge = DealPayments {
        currency: Currency::RUB,
        planned: vec![
            planned(1, date(2026, 1, 1), i64::MAX),
            planned(2, date(2026, 1, 2), i64::MAX),
        ],
        actual: vec![
            paid(1, date(2026, 1, 1), i64::MAX, None),
            paid(2, date(2026, 1, 1), i64::MAX, None),
        ],
        expenses: vec![],
    };
    let sums = totals(&huge, 0, &MOSCOW);
    assert_eq!(
        (sums.planned, sums.paid, sums.remaining),
        (i64::MAX, i64::MAX, 0)
    );
}

/// Three planned payments of 1 000.00 and three actual payments, computed by hand.
fn sample() -> DealPayments {
    DealPayments {
        currency: Currency::RUB,
        planned: vec![
            planned(3, date(2026, 3, 10), 100_000),
            planned(1, date(2026, 1, 10), 100_000),
            planned(2, date(2026, 2, 10), 100_000),
        ],
        actual: vec![
            // Unlinked 1 500.00 on 5 January.
            paid(11, date(2026, 1, 5), 150_000, None),
            // 600.00 for March on 20 January.
            paid(12, date(2026, 1, 20), 60_000, Some(3)),
            // 700.00 for January on 1 February.
            paid(13, date(2026, 2, 1), 70_000, Some(1)),
        ],
        expenses: vec![
            Expense {
                id: 21,
                date: date(2026, 1, 12),
                amount: 40_000,
            },
            Expense {
                id: 22,
                date: date(2026, 2, 3),
                amount: 15_050,
            },
        ],
    }
}

#[test]
fn linked_payments_first_then_the_oldest_unpaid_rows() {
    let p = sample();
    let allocation = allocate(&p.planned, &p.actual);
    // Linked: March gets 600, January 700. Then the unlinked 1 500 fills January's last 300,
    // all of February, and 200 of March.
    assert_eq!(
        allocation,
        Allocation {
            rows: vec![
                row(
                    1,
                    date(2026, 1, 10),
                    100_000,
                    100_000,
                    Some(date(2026, 2, 1))
                ),
                row(
                    2,
                    date(2026, 2, 10),
                    100_000,
                    100_000,
                    Some(date(2026, 1, 5))
                ),
                row(3, date(2026, 3, 10), 100_000, 80_000, None),
            ],
            unallocated: 0,
        }
    );
}

#[test]
fn overpayments_unknown_links_and_bad_amounts() {
    let plan = [
        planned(1, date(2026, 1, 10), 1000),
        planned(2, date(2026, 2, 10), 1000),
    ];
    let allocation = allocate(
        &plan,
        &[
            paid(1, date(2026, 1, 1), 1500, Some(2)),
            paid(2, date(2026, 1, 2), 900, Some(99)),
            paid(3, date(2026, 1, 3), 0, None),
            paid(4, date(2026, 1, 4), -500, None),
        ],
    );
    assert_eq!(
        allocation.rows,
        [
            row(1, date(2026, 1, 10), 1000, 1000, Some(date(2026, 1, 2))),
            row(2, date(2026, 2, 10), 1000, 1000, Some(date(2026, 1, 1))),
        ]
    );
    assert_eq!(allocation.unallocated, 400);
    let nothing = allocate(&[], &[paid(1, date(2026, 1, 1), 10, None)]);
    assert_eq!((nothing.rows.len(), nothing.unallocated), (0, 10));
}

#[test]
fn totals_count_overdue_days_in_the_account_zone() {
    let p = sample();
    let at = |day: Date, hour: u8| utc_of_local(day, hour, 0, &MOSCOW);
    // 15 March: the March row (200.00 open) is five days overdue.
    assert_eq!(
        totals(&p, at(date(2026, 3, 15), 12), &MOSCOW),
        Totals {
            planned: 300_000,
            paid: 280_000,
            remaining: 20_000,
            overdue: 20_000,
            days_overdue: 5,
            unallocated: 0,
            expenses: 55_050,
            margin: 224_950,
        }
    );
    // On the due date itself nothing is overdue yet.
    let on_due = totals(&p, at(date(2026, 3, 10), 23), &MOSCOW);
    assert_eq!((on_due.overdue, on_due.days_overdue), (0, 0));
    // 10 March 22:00 UTC is already 11 March in Moscow, but not in UTC.
    let late_evening_utc = utc_of_local(date(2026, 3, 10), 22, 0, &FixedOffset(0));
    assert_eq!(totals(&p, late_evening_utc, &MOSCOW).days_overdue, 1);
    assert_eq!(
        totals(&p, late_evening_utc, &FixedOffset(0)).days_overdue,
        0
    );
}

#[test]
fn the_overdue_list_spans_deals_with_their_managers() {
    let first = sample();
    let second = DealPayments {
        currency: Currency::RUB,
        planned: vec![
            planned(7, date(2026, 1, 1), 5000),
            planned(8, date(2026, 4, 1), 5000),
        ],
        actual: vec![paid(1, date(2026, 1, 1), 1000, None)],
        expenses: vec![],
    };
    let ledgers = [
        DealLedger {
            deal_id: 100,
            responsible_user_id: 7,
            payments: &first,
        },
        DealLedger {
            deal_id: 200,
            responsible_user_id: 8,
            payments: &second,
        },
    ];
    let now = utc_of_local(date(2026, 3, 15), 12, 0, &MOSCOW);
    assert_eq!(
        overdue_payments(&ledgers, now, &MOSCOW),
        [
            OverduePayment {
                deal_id: 200,
                planned_id: 7,
                responsible_user_id: 8,
                due: date(2026, 1, 1),
                amount: 4000,
                days_overdue: 73,
            },
            OverduePayment {
                deal_id: 100,
                planned_id: 3,
                responsible_user_id: 7,
                due: date(2026, 3, 10),
                amount: 20_000,
                days_overdue: 5,
            },
        ]
    );
}

#[test]
fn the_reminder_is_due_the_next_working_day_and_named_after_the_payment() {
    let cal = Calendar::russian();
    let account = Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang: Lang::Ru,
    };
    let deal = DealContext {
        id: 100,
        name: "ООО Ромашка".into(),
        ..DealContext::default()
    };
    let overdue = OverduePayment {
        deal_id: 100,
        planned_id: 3,
        responsible_user_id: 7,
        due: date(2026, 3, 10),
        amount: 20_000,
        days_overdue: 3,
    };
    // Friday 13 March 2026, 16:00: the next working day is Monday 16 March.
    let now = utc_of_local(date(2026, 3, 13), 16, 0, &MOSCOW);
    let task = reminder_task(&deal, &overdue, &PaymentSettings::default(), now, &account);
    let marker = format!("#lg-p3-{}", date(2026, 3, 10).days_since_epoch());
    assert_eq!(
        task,
        PlannedTask {
            deal_id: 100,
            text: format!("Напомнить клиенту об оплате: ООО Ромашка {marker}"),
            task_type_id: 1,
            complete_till: utc_of_local(date(2026, 3, 16), 10, 0, &MOSCOW),
            responsible_user_id: 7,
        }
    );
    // A day later the same payment gets the same marker, so no second task.
    let again = reminder_task(
        &deal,
        &overdue,
        &PaymentSettings::default(),
        now + 86_400,
        &account,
    );
    assert!(again.text.ends_with(&marker));
}

#[test]
fn the_margin_plan_compares_target_and_fact_per_month() {
    let first = sample();
    let second = DealPayments {
        currency: Currency::RUB,
        planned: vec![],
        actual: vec![
            paid(1, date(2026, 1, 31), 30_000, None),
            paid(2, date(2026, 2, 1), 99_999, None),
        ],
        expenses: vec![],
    };
    let third = DealPayments {
        currency: Currency::RUB,
        planned: vec![],
        actual: vec![],
        expenses: vec![Expense {
            id: 1,
            date: date(2025, 12, 31),
            amount: 5,
        }],
    };
    let ledgers = [
        DealLedger {
            deal_id: 100,
            responsible_user_id: 7,
            payments: &first,
        },
        DealLedger {
            deal_id: 200,
            responsible_user_id: 8,
            payments: &second,
        },
        DealLedger {
            deal_id: 300,
            responsible_user_id: 9,
            payments: &third,
        },
    ];
    let january = YearMonth::new(2026, 1).unwrap();
    let target = |scope, amount_minor| MarginTarget {
        month: january,
        scope,
        amount_minor,
    };
    let targets = [
        target(PlanScope::Company, 300_000),
        target(PlanScope::Manager { user_id: 7 }, 200_000),
        target(PlanScope::Manager { user_id: 10 }, 50_000),
        MarginTarget {
            month: YearMonth::new(2026, 2).unwrap(),
            scope: PlanScope::Company,
            amount_minor: 1,
        },
    ];
    // January: manager 7 received 1 500.00 + 600.00 and spent 400.00 → 1 700.00;
    // manager 8 received 300.00; manager 9 had nothing in January.
    assert_eq!(
        margin_report(january, &ledgers, &targets),
        [
            MarginRow {
                scope: PlanScope::Company,
                target: Some(300_000),
                fact: 200_000,
                completion_bp: Some(6667),
            },
            MarginRow {
                scope: PlanScope::Manager { user_id: 7 },
                target: Some(200_000),
                fact: 170_000,
                completion_bp: Some(8500),
            },
            MarginRow {
                scope: PlanScope::Manager { user_id: 8 },
                target: None,
                fact: 30_000,
                completion_bp: None,
            },
            MarginRow {
                scope: PlanScope::Manager { user_id: 10 },
                target: Some(50_000),
                fact: 0,
                completion_bp: Some(0),
            },
        ]
    );
    assert_eq!(ratio_bp(1, 3), 3333);
    assert_eq!(ratio_bp(2, 3), 6667);
    assert_eq!(ratio_bp(-1, 8), -1250);
    assert_eq!(ratio_bp(-2, 3), -6667);
    assert_eq!(ratio_bp(5, 2), 25_000);
}

#[test]
fn the_stage_gate_waits_for_every_planned_payment() {
    let settings = PaymentSettings {
        gate_stages: vec![StageRef::new(10, 142), StageRef::new(10, 15)],
        ..PaymentSettings::default()
    };
    let p = sample();
    assert_eq!(
        may_enter_stage(StageRef::new(10, 142), &settings, &p),
        Err(GateRefusal {
            unpaid: 20_000,
            unpaid_rows: 1
        })
    );
    assert_eq!(
        may_enter_stage(StageRef::new(10, 14), &settings, &p),
        Ok(())
    );
    // 142 of another pipeline is not a gate here.
    assert_eq!(
        may_enter_stage(StageRef::new(11, 142), &settings, &p),
        Ok(())
    );
    let mut settled = sample();
    settled
        .actual
        .push(paid(14, date(2026, 3, 1), 20_000, Some(3)));
    assert_eq!(
        may_enter_stage(StageRef::new(10, 15), &settings, &settled),
        Ok(())
    );
    let empty = DealPayments {
        currency: Currency::RUB,
        planned: vec![],
        actual: vec![],
        expenses: vec![],
    };
    assert_eq!(
        may_enter_stage(StageRef::new(10, 142), &settings, &empty),
        Ok(())
    );
}

#[test]
fn who_may_edit_payments() {
    let manager = UserContext {
        id: 7,
        group_id: None,
        is_admin: false,
    };
    let admin = UserContext {
        id: 1,
        group_id: None,
        is_admin: true,
    };
    let mut settings = PaymentSettings::default();
    assert!(may_edit_payments(&manager, &settings));
    settings.editors = PaymentEditors::Admins;
    assert!(!may_edit_payments(&manager, &settings));
    assert!(may_edit_payments(&admin, &settings));
    settings.editors = PaymentEditors::Users { ids: vec![7] };
    assert!(may_edit_payments(&manager, &settings));
    assert!(!may_edit_payments(
        &UserContext { id: 8, ..manager },
        &settings
    ));
    assert!(may_edit_payments(&admin, &settings));
}
