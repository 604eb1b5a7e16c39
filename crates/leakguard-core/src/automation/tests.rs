//! Tests of the automation rules at the right working-day moments across weekends and holidays.

use super::*;
use crate::dates::{utc_of_local, Calendar, Date, FixedOffset};
use crate::deal::STATUS_WON;
use crate::locale::Lang;
use crate::settings::{Limit, StageLimit, StageScope, Supervisor};

const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> i64 {
    utc_of_local(
        Date::from_ymd(year, month, day).unwrap(),
        hour,
        minute,
        &MOSCOW,
    )
}

fn deal(status_id: u32) -> DealContext {
    DealContext {
        id: 100,
        name: "ООО Ромашка".into(),
        price: 5000,
        pipeline_id: 1,
        status_id,
        responsible_user_id: 7,
        ..DealContext::default()
    }
}

fn with_account<T>(lang: Lang, f: impl FnOnce(&Account<'_>) -> T) -> T {
    let cal = Calendar::russian();
    f(&Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang,
    })
}

#[test]
fn the_watchdog_waits_for_the_grace_period() {
    let settings = NextStepSettings::default();
    let since = at(2026, 1, 19, 10, 0);
    let grace_end = since + 15 * 60;
    assert_eq!(
        no_next_step_breach(&deal(10), 0, since, since + 60, &settings),
        Watchdog::Pending { fire_at: grace_end }
    );
    assert_eq!(
        no_next_step_breach(&deal(10), 0, since, grace_end - 1, &settings),
        Watchdog::Pending { fire_at: grace_end }
    );
    assert_eq!(
        no_next_step_breach(&deal(10), 0, since, grace_end, &settings),
        Watchdog::Breach { since }
    );
    assert_eq!(
        no_next_step_breach(&deal(10), 1, since, grace_end, &settings),
        Watchdog::Fine
    );
    for closed in [142, 143] {
        assert_eq!(
            no_next_step_breach(&deal(closed), 0, since, grace_end, &settings),
            Watchdog::NotApplicable
        );
    }
    let unsaved = DealContext { id: 0, ..deal(10) };
    assert_eq!(
        no_next_step_breach(&unsaved, 0, since, grace_end, &settings),
        Watchdog::NotApplicable
    );
    let elsewhere = NextStepSettings {
        scope: StageScope::Pipelines {
            pipeline_ids: vec![2],
        },
        ..NextStepSettings::default()
    };
    assert_eq!(
        no_next_step_breach(&deal(10), 0, since, grace_end, &elsewhere),
        Watchdog::NotApplicable
    );
    let off = NextStepSettings {
        enabled: false,
        ..NextStepSettings::default()
    };
    assert_eq!(
        no_next_step_breach(&deal(10), 0, since, grace_end, &off),
        Watchdog::NotApplicable
    );
}

#[test]
fn the_fallback_task_uses_the_first_preset() {
    let settings = Settings::default();
    let since = at(2026, 1, 16, 17, 0);
    // Friday evening: the first preset (one working day) is Monday 10:00.
    let task = with_account(Lang::En, |account| {
        watchdog_task(&deal(10), since, &settings, since + 900, account)
    });
    assert_eq!(
        task,
        PlannedTask {
            deal_id: 100,
            text: format!("Schedule the next step: ООО Ромашка #lg-w100-{since}"),
            task_type_id: 1,
            complete_till: at(2026, 1, 19, 10, 0),
            responsible_user_id: 7,
        }
    );
    // A second run for the same breach plans the same task, marker included.
    let again = with_account(Lang::En, |account| {
        watchdog_task(&deal(10), since, &settings, since + 1800, account)
    });
    assert_eq!(again, task);
}

#[test]
fn a_deal_gets_stuck_and_escalated_across_weekend_and_new_year_holidays() {
    let settings = StuckSettings {
        default_escalate_after: Some(Limit::WorkingDays(7)),
        ..StuckSettings::default()
    };
    let stage = StageRef::new(1, 10);
    // Thursday 25 December 2025, 15:00. Five working days of 24 hours: the rest of the 25th,
    // the 26th, 29th and 30th, then nothing until 12 January, and 15 hours of the 13th.
    let since = at(2025, 12, 25, 15, 0);
    let stuck_at = at(2026, 1, 13, 15, 0);
    let escalate_at = at(2026, 1, 15, 15, 0);
    let state = |now| {
        with_account(Lang::Ru, |account| {
            stuck_state(stage, since, &settings, now, account)
        })
    };
    assert_eq!(
        state(at(2026, 1, 12, 23, 59)),
        StuckState::Ok {
            next_check: Some(stuck_at)
        }
    );
    assert_eq!(
        state(stuck_at - 1),
        StuckState::Ok {
            next_check: Some(stuck_at)
        }
    );
    assert_eq!(
        state(stuck_at),
        StuckState::Stuck {
            since: stuck_at,
            next_check: Some(escalate_at)
        }
    );
    assert!(state(escalate_at - 1).is_stuck());
    assert_eq!(
        state(escalate_at),
        StuckState::Escalate { since: escalate_at }
    );
    // The cheap level agrees with the state at and just before every hour of four weeks.
    with_account(Lang::Ru, |account| {
        for hour in 0..28 * 24 {
            for now in [since + hour * 3600 - 1, since + hour * 3600] {
                let expected = match stuck_state(stage, since, &settings, now, account) {
                    StuckState::Ok { .. } => StuckLevel::Ok,
                    StuckState::Stuck { .. } => StuckLevel::Stuck,
                    StuckState::Escalate { .. } => StuckLevel::Escalate,
                };
                assert_eq!(
                    stuck_level(stage, since, &settings, now, account),
                    expected,
                    "{now}"
                );
            }
        }
    });
    // Closed stages are never stuck.
    let won = with_account(Lang::Ru, |account| {
        stuck_state(
            StageRef::new(1, STATUS_WON),
            since,
            &settings,
            escalate_at,
            account,
        )
    });
    assert_eq!(won, StuckState::Ok { next_check: None });
}

#[test]
fn hour_limits_and_exempt_stages() {
    let settings = StuckSettings {
        stages: vec![
            StageLimit {
                stage: StageRef::new(1, 10),
                limit: Some(Limit::Hours(4)),
                escalate_after: None,
            },
            StageLimit {
                stage: StageRef::new(1, 11),
                limit: None,
                escalate_after: None,
            },
        ],
        ..StuckSettings::default()
    };
    // Friday 16 January 2026, 22:00: two hours on Friday, two more on Monday.
    let since = at(2026, 1, 16, 22, 0);
    let state = |stage, now| {
        with_account(Lang::Ru, |account| {
            stuck_state(stage, since, &settings, now, account)
        })
    };
    assert_eq!(
        state(StageRef::new(1, 10), at(2026, 1, 18, 12, 0)),
        StuckState::Ok {
            next_check: Some(at(2026, 1, 19, 2, 0))
        }
    );
    assert_eq!(
        state(StageRef::new(1, 10), at(2026, 1, 19, 2, 0)),
        StuckState::Stuck {
            since: at(2026, 1, 19, 2, 0),
            next_check: None
        }
    );
    assert_eq!(
        state(StageRef::new(1, 11), at(2026, 3, 1, 0, 0)),
        StuckState::Ok { next_check: None }
    );
}

#[test]
fn the_tag_follows_the_state() {
    let ok = StuckState::Ok { next_check: None };
    let stuck = StuckState::Stuck {
        since: 1,
        next_check: None,
    };
    let escalate = StuckState::Escalate { since: 1 };
    assert_eq!(stuck_tag_change(stuck, false), Some(TagChange::Add));
    assert_eq!(stuck_tag_change(escalate, false), Some(TagChange::Add));
    assert_eq!(stuck_tag_change(stuck, true), None);
    assert_eq!(stuck_tag_change(ok, true), Some(TagChange::Remove));
    assert_eq!(stuck_tag_change(ok, false), None);
}

fn open_task(complete_till: i64) -> TaskRef {
    TaskRef {
        id: 55,
        entity_type: TaskEntity::Lead,
        entity_id: 100,
        complete_till,
        is_completed: false,
        responsible_user_id: 7,
    }
}

#[test]
fn overdue_tasks_escalate_after_working_time() {
    let settings = OverdueTaskSettings {
        enabled: true,
        escalate_after: Limit::WorkingDays(1),
    };
    // Due Friday 16 January 18:00: six hours on Friday and eighteen on Monday.
    let task = open_task(at(2026, 1, 16, 18, 0));
    let due_at = at(2026, 1, 19, 18, 0);
    let check = |task: &TaskRef, settings: &OverdueTaskSettings, now| {
        with_account(Lang::Ru, |account| {
            overdue_task_escalation(task, settings, now, account)
        })
    };
    assert_eq!(
        check(&task, &settings, at(2026, 1, 18, 9, 0)),
        OverdueEscalation::NotYet { at: due_at }
    );
    assert_eq!(
        check(&task, &settings, due_at),
        OverdueEscalation::Due { since: due_at }
    );
    let done = TaskRef {
        is_completed: true,
        ..task
    };
    assert_eq!(
        check(&done, &settings, due_at),
        OverdueEscalation::NotApplicable
    );
    let contact = TaskRef {
        entity_type: TaskEntity::Contact,
        ..task
    };
    assert_eq!(
        check(&contact, &settings, due_at),
        OverdueEscalation::NotApplicable
    );
    let off = OverdueTaskSettings::default();
    assert_eq!(check(&task, &off, due_at), OverdueEscalation::NotApplicable);
}

#[test]
fn escalation_tasks_go_to_the_supervisor_once_per_cause() {
    let mut settings = Settings::default();
    settings.escalation.supervisor = Some(Supervisor::User { id: 1 });
    let morning = at(2026, 1, 19, 9, 0);
    let evening = at(2026, 1, 19, 19, 0);
    let stuck = EscalationCause::Stuck { stage_since: 1_000 };
    let task = with_account(Lang::Ru, |account| {
        escalation_task(&deal(10), stuck, 1, &settings, morning, account)
    });
    assert_eq!(
        task,
        PlannedTask {
            deal_id: 100,
            text: "Сделка требует внимания руководителя: ООО Ромашка #lg-s100-1000".into(),
            task_type_id: 1,
            complete_till: at(2026, 1, 19, 10, 0),
            responsible_user_id: 1,
        }
    );
    let overdue = EscalationCause::OverdueTask {
        task_id: 55,
        complete_till: 2_000,
    };
    let late = with_account(Lang::En, |account| {
        escalation_task(&deal(10), overdue, 1, &settings, evening, account)
    });
    assert!(late.text.ends_with("#lg-o55-2000"));
    assert_eq!(late.complete_till, at(2026, 1, 20, 10, 0));
}

#[test]
fn lost_without_a_reason() {
    assert!(lost_without_reason(143, None));
    assert!(lost_without_reason(143, Some(0)));
    assert!(!lost_without_reason(143, Some(4)));
    assert!(!lost_without_reason(142, None));
    assert!(!lost_without_reason(10, None));
    let closed_at = at(2026, 1, 17, 12, 0);
    let task = with_account(Lang::Ru, |account| {
        missing_reason_task(
            &deal(143),
            closed_at,
            &Settings::default(),
            closed_at + 60,
            account,
        )
    });
    assert_eq!(
        task.text,
        format!("Укажите причину отказа: ООО Ромашка #lg-m100-{closed_at}")
    );
    // Saturday: the next working day is Monday.
    assert_eq!(task.complete_till, at(2026, 1, 19, 10, 0));
    assert_eq!(task.responsible_user_id, 7);
}

#[test]
fn the_quality_queue_lists_every_breach_oldest_first() {
    let now = at(2026, 1, 19, 12, 0);
    let metric_deal = |id: u64, status_id: u32, stage_since: i64| Deal {
        id,
        price: id as i64 * 100,
        pipeline_id: 1,
        status_id,
        responsible_user_id: 7,
        stage_since,
        ..Deal::default()
    };
    let deals = vec![
        // No task for an hour: a breach after 15 minutes of grace.
        metric_deal(1, 10, now - 3600),
        // A task overdue since Friday, in its stage since the previous Monday: also stuck.
        metric_deal(2, 10, at(2026, 1, 12, 9, 0)),
        // Lost on Saturday without a reason.
        Deal {
            closed_at: Some(at(2026, 1, 17, 12, 0)),
            ..metric_deal(3, 143, at(2026, 1, 17, 12, 0))
        },
        // Lost with a reason, won, deleted: no breach.
        Deal {
            loss_reason_id: Some(5),
            ..metric_deal(4, 143, 0)
        },
        metric_deal(5, 142, 0),
        Deal {
            is_deleted: true,
            ..metric_deal(6, 10, 0)
        },
        // No task for only five minutes: still in grace.
        metric_deal(7, 10, now - 300),
        // No task, but the backend knows the last task was completed ten minutes ago.
        metric_deal(8, 10, now - 7200),
    ];
    let tasks = vec![
        open_task(at(2026, 1, 16, 18, 0)).with_deal(2),
        TaskRef {
            id: 56,
            ..open_task(now + 3600).with_deal(2)
        },
    ];
    let settings = Settings::default();
    let queue = with_account(Lang::Ru, |account| {
        quality_queue(&deals, &tasks, &settings, now, account, &|deal| {
            (deal.id == 8).then_some(now - 600)
        })
    });
    let summary: Vec<(BreachKind, u64, i64, Option<u64>)> = queue
        .iter()
        .map(|b| (b.kind, b.deal_id, b.since, b.task_id))
        .collect();
    assert_eq!(
        summary,
        [
            (BreachKind::OverdueTask, 2, at(2026, 1, 16, 18, 0), Some(55)),
            (
                BreachKind::LostWithoutReason,
                3,
                at(2026, 1, 17, 12, 0),
                None
            ),
            (BreachKind::Stuck, 2, at(2026, 1, 19, 9, 0), None),
            (BreachKind::NoNextStep, 1, now - 3600, None),
        ]
    );
    let first = queue[0];
    assert_eq!(
        (first.manager_id, first.stage, first.value, first.age),
        (7, StageRef::new(1, 10), 200, now - at(2026, 1, 16, 18, 0))
    );
    assert_eq!(
        with_account(Lang::Ru, |account| working_time_in_stage(
            at(2026, 1, 16, 18, 0),
            now,
            account
        )),
        18 * 3600
    );
}

trait WithDeal {
    fn with_deal(self, deal_id: u64) -> TaskRef;
}

impl WithDeal for TaskRef {
    fn with_deal(self, deal_id: u64) -> TaskRef {
        TaskRef {
            entity_id: deal_id,
            ..self
        }
    }
}
