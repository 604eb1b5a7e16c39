//! Tests of the settings: defaults, the JSON format, tolerant loading and validation.

use serde_json::json;

use super::*;
use crate::locale::Lang;

fn date(year: i32, month: u8, day: u8) -> Date {
    Date::from_ymd(year, month, day).unwrap()
}

fn problems(settings: &Settings) -> Vec<(String, &'static str)> {
    settings
        .validate()
        .into_iter()
        .map(|p| (p.path, p.key))
        .collect()
}

#[test]
fn the_defaults_are_valid_and_match_the_issues() {
    let settings = Settings::default();
    assert_eq!(problems(&settings), []);
    let next = &settings.next_step;
    assert!(next.enabled);
    assert_eq!(next.scope, StageScope::AllOpen);
    assert!(!next.admins_exempt);
    assert!(next.exempt_users.is_empty() && next.exempt_groups.is_empty());
    assert_eq!(next.default_time, TimeOfDay::new(10, 0));
    let presets: Vec<(&str, u32)> = next
        .presets
        .iter()
        .map(|p| (p.label_key.as_str(), p.working_days))
        .collect();
    assert_eq!(
        presets,
        [
            ("ui.preset.tomorrow", 1),
            ("ui.preset.in_two_days", 2),
            ("ui.preset.in_a_week", 5)
        ]
    );
    assert_eq!(next.fail_mode, FailMode::Closed);
    assert_eq!(next.watchdog_grace_minutes, 15);
    assert_eq!(settings.stuck.tag.get(Lang::Ru), "Завис");
    assert_eq!(settings.stuck.tag.get(Lang::En), "Stuck");
    assert_eq!(settings.stuck.tag.get(Lang::Es), "Estancado");
    assert_eq!(settings.stuck.tag.get(Lang::Pt), "Parado");
    assert_eq!(settings.payments.editors, PaymentEditors::All);
    assert_eq!(settings.calendar.kind, CalendarKind::Auto);
}

#[test]
fn json_round_trip_keeps_every_field() {
    let mut settings = Settings::default();
    settings.next_step.scope = StageScope::Stages {
        stages: vec![StageRef::new(10, 101), StageRef::new(10, 102)],
    };
    settings.next_step.exempt_users = vec![7];
    settings.next_step.exempt_groups = vec![3];
    settings.next_step.admins_exempt = true;
    settings.next_step.fail_mode = FailMode::Open;
    settings.refusals.rules.push(RefusalRule {
        reason_id: 55,
        delay_working_days: 3,
        task_text: Some("Позвонить: {deal}".into()),
        task_type_id: 2,
        responsible: Responsible::User { id: 9 },
        copy: true,
        copy_to: Some(StageRef::new(20, 201)),
    });
    settings.stuck.stages.push(StageLimit {
        stage: StageRef::new(10, 101),
        limit: Some(Limit::Hours(4)),
        escalate_after: Some(Limit::WorkingDays(2)),
    });
    settings.escalation.supervisor = Some(Supervisor::Group { id: 4 });
    settings.overdue_tasks.enabled = true;
    settings.payments.editors = PaymentEditors::Users { ids: vec![7, 8] };
    settings.payments.gate_stages = vec![StageRef::new(10, 142)];
    settings.payments.margin_plan.push(MarginTarget {
        month: YearMonth::new(2026, 1).unwrap(),
        scope: PlanScope::Manager { user_id: 7 },
        amount_minor: 50_000_000,
    });
    settings.calendar = CalendarSettings {
        kind: CalendarKind::Custom,
        weekend: vec![5, 6],
        holidays: vec![date(2026, 3, 20)],
        extra_working_days: vec![date(2026, 3, 27)],
    };
    assert_eq!(problems(&settings), []);
    let text = serde_json::to_string(&settings).unwrap();
    let back: Settings = serde_json::from_str(&text).unwrap();
    assert_eq!(back, settings);
}

#[test]
fn the_persisted_shape_is_readable() {
    let mut settings = Settings::default();
    settings.stuck.stages.push(StageLimit {
        stage: StageRef::new(1, 2),
        limit: Some(Limit::Hours(4)),
        escalate_after: None,
    });
    settings.payments.margin_plan.push(MarginTarget {
        month: YearMonth::new(2026, 2).unwrap(),
        scope: PlanScope::Company,
        amount_minor: 100,
    });
    settings.calendar.holidays = vec![date(2026, 1, 2)];
    let value = serde_json::to_value(&settings).unwrap();
    assert_eq!(value["version"], json!(1));
    assert_eq!(value["next_step"]["scope"], json!({"mode": "all_open"}));
    assert_eq!(value["next_step"]["fail_mode"], json!("closed"));
    assert_eq!(
        value["next_step"]["default_time"],
        json!({"hour": 10, "minute": 0})
    );
    assert_eq!(value["stuck"]["default_limit"], json!({"working_days": 5}));
    assert_eq!(
        value["stuck"]["stages"][0],
        json!({"stage": {"pipeline_id": 1, "status_id": 2}, "limit": {"hours": 4}, "escalate_after": null})
    );
    assert_eq!(
        value["payments"]["margin_plan"][0],
        json!({"month": "2026-02", "scope": {"kind": "company"}, "amount_minor": 100})
    );
    assert_eq!(value["payments"]["editors"], json!({"kind": "all"}));
    assert_eq!(value["calendar"]["holidays"], json!(["2026-01-02"]));
    assert_eq!(value["calendar"]["weekend"], json!([6, 7]));
    assert_eq!(value["stuck"]["tag"]["ru"], json!("Завис"));
}

#[test]
fn empty_and_partial_documents_take_the_defaults() {
    let empty: Settings = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, Settings::default());
    let partial: Settings = serde_json::from_value(json!({
        "next_step": {"enabled": false, "presets": [{"label_key": "ui.preset.tomorrow"}]},
        "stuck": {"tag": {"ru": "Висит"}},
        "refusals": {"rules": [{"reason_id": 5}]}
    }))
    .unwrap();
    assert!(!partial.next_step.enabled);
    assert_eq!(partial.next_step.watchdog_grace_minutes, 15);
    assert_eq!(partial.next_step.presets[0].working_days, 1);
    assert_eq!(partial.stuck.tag.get(Lang::Ru), "Висит");
    // A partially saved localized text falls back to English, which the partial value lacks.
    assert_eq!(partial.stuck.tag.get(Lang::En), "");
    assert_eq!(
        problems(&partial),
        [("stuck.tag.en".to_owned(), problem::REQUIRED)]
    );
    let rule = &partial.refusals.rules[0];
    assert_eq!(rule.delay_working_days, DEFAULT_REFUSAL_DELAY);
    assert_eq!(rule.task_type_id, TASK_TYPE_FOLLOW_UP);
    assert_eq!(rule.responsible, Responsible::DealManager);
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let loaded: Settings = serde_json::from_value(json!({
        "version": 1,
        "from_the_future": {"x": 1},
        "next_step": {"enabled": true, "colour": "red", "scope": {"mode": "pipelines", "pipeline_ids": [4], "extra": 1}},
        "refusals": {"rules": [{"reason_id": 9, "delay_working_days": 2, "priority": "high"}]},
        "calendar": {"kind": "russian", "timezone": "Europe/Moscow"}
    }))
    .unwrap();
    assert_eq!(
        loaded.next_step.scope,
        StageScope::Pipelines {
            pipeline_ids: vec![4]
        }
    );
    assert_eq!(loaded.refusals.rules[0].delay_working_days, 2);
    assert_eq!(loaded.calendar.kind, CalendarKind::Russian);
}

#[test]
fn a_document_saved_by_the_first_release_still_loads() {
    // The shape written before payments, escalation and the calendar existed.
    let old = r#"{
        "next_step": {
            "enabled": true,
            "exempt_users": [504141],
            "default_time": {"hour": 9, "minute": 30},
            "presets": [{"label_key": "ui.preset.tomorrow", "working_days": 1}]
        },
        "refusals": {"rules": [{"reason_id": 4203748, "delay_working_days": 5, "task_text": "Перезвонить {deal}"}]}
    }"#;
    let loaded: Settings = serde_json::from_str(old).unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.next_step.exempt_users, [504141]);
    assert_eq!(loaded.next_step.default_time, TimeOfDay::new(9, 30));
    assert_eq!(loaded.payments, PaymentSettings::default());
    assert_eq!(loaded.escalation, EscalationSettings::default());
    assert_eq!(problems(&loaded), []);
}

#[test]
fn validation_reports_every_problem_with_its_path() {
    let mut s = Settings::default();
    s.next_step.scope = StageScope::Stages {
        stages: vec![
            StageRef::new(1, 143),
            StageRef::new(1, 10),
            StageRef::new(1, 10),
        ],
    };
    s.next_step.exempt_users = vec![5, 0, 5];
    s.next_step.default_time = TimeOfDay::new(24, 60);
    s.next_step.presets[1].label_key = "Через 2 дня".into();
    s.next_step.presets[2].working_days = 1000;
    s.next_step.watchdog_grace_minutes = 0;
    s.refusals.rules = vec![
        RefusalRule {
            reason_id: 7,
            copy: true,
            ..RefusalRule::default()
        },
        RefusalRule {
            reason_id: 7,
            task_text: Some("  ".into()),
            responsible: Responsible::User { id: 0 },
            copy: true,
            copy_to: Some(StageRef::new(2, 142)),
            ..RefusalRule::default()
        },
        RefusalRule {
            reason_id: 8,
            // Switched off: the remembered closed stage is not checked.
            copy: false,
            copy_to: Some(StageRef::new(2, 142)),
            ..RefusalRule::default()
        },
    ];
    s.stuck.default_escalate_after = Some(Limit::WorkingDays(5));
    s.stuck.stages = vec![StageLimit {
        stage: StageRef::new(1, 10),
        limit: Some(Limit::Hours(0)),
        escalate_after: Some(Limit::Hours(48)),
    }];
    s.payments.editors = PaymentEditors::Users { ids: vec![] };
    s.payments.gate_stages = vec![StageRef::new(1, 143), StageRef::new(1, 142)];
    s.payments.margin_plan = vec![
        MarginTarget {
            month: YearMonth::new(2026, 1).unwrap(),
            scope: PlanScope::Company,
            amount_minor: -1,
        },
        MarginTarget {
            month: YearMonth::new(2026, 1).unwrap(),
            scope: PlanScope::Company,
            amount_minor: 10,
        },
    ];
    s.calendar.weekend = vec![1, 2, 3, 4, 5, 6, 7, 9];
    let owned = |path: &str, key| (path.to_owned(), key);
    assert_eq!(
        problems(&s),
        [
            owned("next_step.scope.stages[0]", problem::CLOSED_STAGE),
            owned("next_step.scope.stages[2]", problem::DUPLICATE),
            owned("next_step.exempt_users[1]", problem::REQUIRED),
            owned("next_step.exempt_users[2]", problem::DUPLICATE),
            owned("next_step.default_time.hour", problem::OUT_OF_RANGE),
            owned("next_step.default_time.minute", problem::OUT_OF_RANGE),
            owned("next_step.presets[1].label_key", problem::LABEL_KEY),
            owned("next_step.presets[2].working_days", problem::OUT_OF_RANGE),
            owned("next_step.watchdog_grace_minutes", problem::OUT_OF_RANGE),
            owned("refusals.rules[0].copy_to", problem::REQUIRED),
            owned("refusals.rules[1].reason_id", problem::DUPLICATE),
            owned("refusals.rules[1].task_text", problem::REQUIRED),
            owned("refusals.rules[1].responsible", problem::REQUIRED),
            owned("refusals.rules[1].copy_to", problem::CLOSED_STAGE),
            // The default limit is five working days, so an escalation at five is not after it.
            owned(
                "stuck.default_escalate_after",
                problem::ESCALATION_NOT_AFTER_LIMIT
            ),
            owned("stuck.stages[0].limit", problem::OUT_OF_RANGE),
            owned("escalation.supervisor", problem::SUPERVISOR_REQUIRED),
            owned("payments.editors.ids", problem::REQUIRED),
            owned("payments.gate_stages[0]", problem::LOST_STAGE),
            owned(
                "payments.margin_plan[0].amount_minor",
                problem::OUT_OF_RANGE
            ),
            owned("payments.margin_plan[1]", problem::DUPLICATE),
            owned("calendar.weekend[7]", problem::OUT_OF_RANGE),
            owned("calendar.weekend", problem::NO_WORKING_WEEKDAY),
        ]
    );
}

#[test]
fn escalation_needs_a_supervisor_only_when_used() {
    let mut s = Settings::default();
    s.overdue_tasks.enabled = true;
    assert_eq!(
        problems(&s),
        [(
            "escalation.supervisor".to_owned(),
            problem::SUPERVISOR_REQUIRED
        )]
    );
    s.escalation.supervisor = Some(Supervisor::User { id: 0 });
    assert_eq!(
        problems(&s),
        [("escalation.supervisor".to_owned(), problem::REQUIRED)]
    );
    s.escalation.supervisor = Some(Supervisor::User { id: 12 });
    assert_eq!(problems(&s), []);
    // Escalation limits of a disabled stuck rule do not need anybody.
    let mut s = Settings::default();
    s.stuck.enabled = false;
    s.stuck.default_escalate_after = Some(Limit::WorkingDays(10));
    assert_eq!(problems(&s), []);
}

#[test]
fn common_reason_names_get_their_delays() {
    for (name, days) in [
        ("Дорого", 5),
        ("Слишком дорого", 5),
        ("Too expensive", 5),
        ("  TOO EXPENSIVE ", 5),
        ("Muy caro", 5),
        ("Неактуально", 21),
        ("Не актуально", 21),
        ("Not relevant", 21),
        ("Ya no es relevante", 21),
        ("Não é relevante", 21),
        ("Выбрали конкурента", 10),
        ("Не дозвонились", 10),
        ("Нет бюджета", 10),
        ("", 10),
    ] {
        assert_eq!(default_refusal_delay(name), days, "{name:?}");
    }
}

#[test]
fn configured_rules_win_over_defaults() {
    let mut refusals = RefusalSettings::default();
    refusals.rules.push(RefusalRule {
        reason_id: 2,
        delay_working_days: 3,
        ..RefusalRule::default()
    });
    assert_eq!(refusals.rule_for(2, Some("Дорого")).delay_working_days, 3);
    assert_eq!(refusals.rule_for(1, Some("Дорого")).delay_working_days, 5);
    assert_eq!(refusals.rule_for(1, None).delay_working_days, 10);
    refusals.fill_missing(&[(1, "Дорого"), (2, "Неактуально"), (3, "Неактуально")]);
    let table: Vec<(u64, u32)> = refusals
        .rules
        .iter()
        .map(|r| (r.reason_id, r.delay_working_days))
        .collect();
    assert_eq!(table, [(2, 3), (1, 5), (3, 21)]);
}

#[test]
fn stage_scope_and_limits() {
    let scope = StageScope::Pipelines {
        pipeline_ids: vec![1],
    };
    assert!(scope.contains(StageRef::new(1, 10)));
    assert!(!scope.contains(StageRef::new(2, 10)));
    assert!(!scope.contains(StageRef::new(1, 142)));
    assert!(!StageScope::AllOpen.contains(StageRef::new(1, 143)));
    assert!(StageScope::AllOpen.contains(StageRef::new(9, 9)));

    let mut stuck = StuckSettings::default();
    stuck.stages.push(StageLimit {
        stage: StageRef::new(1, 10),
        limit: None,
        escalate_after: None,
    });
    stuck.stages.push(StageLimit {
        stage: StageRef::new(1, 11),
        limit: Some(Limit::Hours(8)),
        escalate_after: Some(Limit::WorkingDays(2)),
    });
    assert_eq!(stuck.limits_for(StageRef::new(1, 10)), (None, None));
    assert_eq!(
        stuck.limits_for(StageRef::new(1, 11)),
        (Some(Limit::Hours(8)), Some(Limit::WorkingDays(2)))
    );
    assert_eq!(
        stuck.limits_for(StageRef::new(1, 12)),
        (Some(Limit::WorkingDays(5)), None)
    );
    assert_eq!(stuck.limits_for(StageRef::new(1, 142)), (None, None));
    stuck.enabled = false;
    assert_eq!(stuck.limits_for(StageRef::new(1, 11)), (None, None));
    assert_eq!(Limit::WorkingDays(2).seconds(), 172_800);
    assert_eq!(Limit::Hours(3).seconds(), 10_800);
}

#[test]
fn the_calendar_follows_the_account_country() {
    let settings = CalendarSettings::default();
    let new_year_holiday = date(2026, 1, 9);
    assert!(!settings
        .build(Some("RU"))
        .unwrap()
        .is_working_day(new_year_holiday));
    assert!(!settings
        .build(Some("ru"))
        .unwrap()
        .is_working_day(new_year_holiday));
    assert!(settings
        .build(Some("BR"))
        .unwrap()
        .is_working_day(new_year_holiday));
    assert!(settings
        .build(None)
        .unwrap()
        .is_working_day(new_year_holiday));
    let russian = CalendarSettings {
        kind: CalendarKind::Russian,
        ..CalendarSettings::default()
    };
    assert!(!russian
        .build(Some("BR"))
        .unwrap()
        .is_working_day(new_year_holiday));
    let custom = CalendarSettings {
        kind: CalendarKind::Custom,
        weekend: vec![5, 6],
        holidays: vec![date(2026, 1, 19)],
        extra_working_days: vec![date(2026, 1, 23)],
    };
    let cal = custom.build(Some("RU")).unwrap();
    assert!(!cal.is_working_day(date(2026, 1, 16)));
    assert!(cal.is_working_day(date(2026, 1, 18)));
    assert!(!cal.is_working_day(date(2026, 1, 19)));
    assert!(cal.is_working_day(date(2026, 1, 23)));
    let broken = CalendarSettings {
        kind: CalendarKind::Custom,
        weekend: (1..=7).collect(),
        ..CalendarSettings::default()
    };
    assert_eq!(broken.build(None), Err(CalendarError::NoWorkingWeekday));
}
