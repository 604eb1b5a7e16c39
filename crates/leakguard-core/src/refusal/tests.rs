//! Tests of refusal plans and of resuming them after partial failures.

use super::*;
use crate::dates::{utc_of_local, Calendar, Date, FixedOffset};
use crate::deal::StageRef;
use crate::locale::Lang;
use crate::settings::{RefusalRule, Responsible};

const MOSCOW: FixedOffset = FixedOffset(3 * 3600);
const REASONS: &[(u64, &str)] = &[(1, "Дорого"), (2, "Неактуально"), (3, "Выбрали конкурента")];

fn date(year: i32, month: u8, day: u8) -> Date {
    Date::from_ymd(year, month, day).unwrap()
}

fn moscow(day: Date, hour: u8, minute: u8) -> i64 {
    utc_of_local(day, hour, minute, &MOSCOW)
}

fn deal() -> DealContext {
    DealContext {
        id: 100,
        name: "ООО Ромашка".into(),
        price: 150_000,
        pipeline_id: 10,
        status_id: 11,
        responsible_user_id: 7,
        loss_reason_id: None,
        contact_ids: vec![501, 502],
        company_id: Some(601),
    }
}

fn plan_with(
    settings: &Settings,
    deal: &DealContext,
    reason: u64,
    comment: &str,
    now: i64,
    lang: Lang,
) -> RefusalPlan {
    let cal = Calendar::russian();
    let account = Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang,
    };
    refusal_plan(deal, reason, comment, settings, now, &account, REASONS).unwrap()
}

/// Friday 16 January 2026, 15:00 in Moscow.
fn friday() -> i64 {
    moscow(date(2026, 1, 16), 15, 0)
}

#[test]
fn too_expensive_with_default_rule() {
    let now = friday();
    let plan = plan_with(
        &Settings::default(),
        &deal(),
        1,
        "  просил скидку 10% ",
        now,
        Lang::Ru,
    );
    let marker = format!("#lg-r100-{now}");
    assert_eq!(plan.marker, marker);
    assert_eq!(
        plan.lead_patch,
        Some(LeadLossPatch {
            deal_id: 100,
            pipeline_id: 10,
            status_id: 143,
            loss_reason_id: 1
        })
    );
    assert_eq!(
        plan.task,
        PlannedTask {
            deal_id: 100,
            text: format!("Связаться повторно: ООО Ромашка {marker}"),
            task_type_id: 1,
            // Five working days after Friday: the next Friday, at the default 10:00.
            complete_till: moscow(date(2026, 1, 23), 10, 0),
            responsible_user_id: 7,
        }
    );
    assert_eq!(
        plan.note,
        RefusalNote {
            deal_id: 100,
            reason_name: "Дорого".into(),
            comment: Some("просил скидку 10%".into()),
            marker: marker.clone(),
        }
    );
    assert_eq!(
        plan.note.text("Причина отказа", "Комментарий"),
        format!("Причина отказа: Дорого\nКомментарий: просил скидку 10%\n{marker}")
    );
    assert_eq!(plan.copy, None);
    assert_eq!(
        plan.steps(),
        [
            RefusalStep::PatchLead,
            RefusalStep::CreateTask,
            RefusalStep::AddNote
        ]
    );
}

#[test]
fn not_relevant_waits_a_month_across_the_new_year_holidays() {
    // 25 December 2025 + 21 working days: 26, 29 and 30 December, then 18 days from 12 January 2026.
    let now = moscow(date(2025, 12, 25), 11, 0);
    let plan = plan_with(&Settings::default(), &deal(), 2, "", now, Lang::En);
    assert_eq!(plan.task.complete_till, moscow(date(2026, 2, 4), 10, 0));
    assert_eq!(
        plan.task.text,
        format!("Follow up: ООО Ромашка #lg-r100-{now}")
    );
    assert_eq!(plan.note.comment, None);
    assert_eq!(
        plan.note.text("Reason", "Comment"),
        format!("Reason: Неактуально\n#lg-r100-{now}")
    );
}

#[test]
fn other_and_unknown_reasons_take_ten_working_days() {
    let plan = plan_with(&Settings::default(), &deal(), 3, "", friday(), Lang::Ru);
    assert_eq!(plan.task.complete_till, moscow(date(2026, 1, 30), 10, 0));
    let unknown = plan_with(&Settings::default(), &deal(), 99, "", friday(), Lang::Ru);
    assert_eq!(unknown.task.complete_till, moscow(date(2026, 1, 30), 10, 0));
    assert_eq!(unknown.note.reason_name, "#99");
}

#[test]
fn a_configured_rule_with_a_copy() {
    let mut settings = Settings::default();
    settings.next_step.default_time = crate::settings::TimeOfDay::new(9, 30);
    settings.refusals.rules.push(RefusalRule {
        reason_id: 3,
        delay_working_days: 2,
        task_text: Some("Узнать, как дела у {deal} с конкурентом".into()),
        task_type_id: 2,
        responsible: Responsible::User { id: 42 },
        copy: true,
        copy_to: Some(StageRef::new(20, 201)),
    });
    let now = friday();
    let plan = plan_with(&settings, &deal(), 3, "", now, Lang::Es);
    let marker = format!("#lg-r100-{now}");
    assert_eq!(
        plan.task.text,
        format!("Узнать, как дела у ООО Ромашка с конкурентом {marker}")
    );
    assert_eq!(plan.task.task_type_id, 2);
    assert_eq!(plan.task.responsible_user_id, 42);
    assert_eq!(plan.task.complete_till, moscow(date(2026, 1, 20), 9, 30));
    let copy = plan.copy.clone().unwrap();
    assert_eq!(
        copy,
        RefusalCopy {
            name: "ООО Ромашка".into(),
            price: 150_000,
            pipeline_id: 20,
            status_id: 201,
            responsible_user_id: 42,
            contact_ids: vec![501, 502],
            company_id: Some(601),
            tag: "Rechazo".into(),
            original_deal_id: 100,
            marker: marker.clone(),
        }
    );
    assert_eq!(
        copy.link_back_text("Original", "https://example.amocrm.ru/"),
        format!("Original: https://example.amocrm.ru/leads/detail/100\n{marker}")
    );
    assert_eq!(plan.steps().len(), 5);
    // Switching the copy off keeps the stage but plans no copy.
    settings.refusals.rules[0].copy = false;
    assert_eq!(
        plan_with(&settings, &deal(), 3, "", now, Lang::Es).copy,
        None
    );
}

#[test]
fn already_lost_deals_need_no_patch_unless_the_reason_changes() {
    let lost = DealContext {
        status_id: 143,
        loss_reason_id: Some(1),
        ..deal()
    };
    let same = plan_with(&Settings::default(), &lost, 1, "", friday(), Lang::Ru);
    assert_eq!(same.lead_patch, None);
    assert_eq!(
        same.steps(),
        [RefusalStep::CreateTask, RefusalStep::AddNote]
    );
    let changed = plan_with(&Settings::default(), &lost, 2, "", friday(), Lang::Ru);
    assert_eq!(changed.lead_patch.map(|p| p.loss_reason_id), Some(2));
    // A won deal refused through the status control is patched like any other.
    let won = DealContext {
        status_id: 142,
        ..deal()
    };
    assert!(
        plan_with(&Settings::default(), &won, 1, "", friday(), Lang::Ru)
            .lead_patch
            .is_some()
    );
}

#[test]
fn plans_need_a_saved_deal_and_a_reason() {
    let cal = Calendar::russian();
    let account = Account {
        tz: &MOSCOW,
        calendar: &cal,
        lang: Lang::Ru,
    };
    let settings = Settings::default();
    let unsaved = DealContext { id: 0, ..deal() };
    assert_eq!(
        refusal_plan(&unsaved, 1, "", &settings, friday(), &account, REASONS),
        Err(RefusalError::NewDeal)
    );
    assert_eq!(
        refusal_plan(&deal(), 0, "", &settings, friday(), &account, REASONS),
        Err(RefusalError::NoReason)
    );
    let nameless = DealContext {
        name: "  ".into(),
        ..deal()
    };
    let plan = refusal_plan(&nameless, 1, "", &settings, friday(), &account, REASONS).unwrap();
    assert!(plan
        .task
        .text
        .starts_with("Связаться повторно: #100 #lg-r100-"));
}

#[test]
fn the_happy_path_runs_every_step_once() {
    let plan = plan_with(&Settings::default(), &deal(), 1, "", friday(), Lang::Ru);
    let mut progress = RefusalProgress::new();
    let mut executed = Vec::new();
    while let Some(action) = progress.next_action(&plan) {
        let RefusalAction::Execute(step) = action else {
            panic!("no check expected: {action:?}");
        };
        executed.push(step);
        progress.record(step, StepOutcome::Done { id: Some(1) });
    }
    assert_eq!(executed, plan.steps());
    assert!(progress.is_complete(&plan));
}

#[test]
fn a_failed_task_is_looked_up_before_it_is_sent_again() {
    let plan = plan_with(&Settings::default(), &deal(), 1, "", friday(), Lang::Ru);
    let mut progress = RefusalProgress::new();
    progress.record(RefusalStep::PatchLead, StepOutcome::Done { id: None });
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Execute(RefusalStep::CreateTask))
    );
    // A 5xx: the task may or may not exist.
    progress.record(RefusalStep::CreateTask, StepOutcome::Failed);
    let lookup = Lookup::TaskWithMarker {
        deal_id: 100,
        marker: plan.marker.clone(),
    };
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(
            RefusalStep::CreateTask,
            lookup.clone()
        ))
    );
    // The check itself fails: still check next time.
    progress.record(RefusalStep::CreateTask, StepOutcome::Failed);
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(RefusalStep::CreateTask, lookup))
    );
    // The list of the deal's tasks has no task with the marker: send it.
    progress.record(RefusalStep::CreateTask, StepOutcome::NotFound);
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Execute(RefusalStep::CreateTask))
    );
    progress.record(RefusalStep::CreateTask, StepOutcome::Done { id: Some(9) });
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Execute(RefusalStep::AddNote))
    );
    // The note request times out but the note was written: the check finds it and nothing is repeated.
    progress.record(RefusalStep::AddNote, StepOutcome::Failed);
    assert!(matches!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(
            RefusalStep::AddNote,
            Lookup::NoteWithMarker { deal_id: 100, .. }
        ))
    ));
    assert!(belongs_to(&plan, &plan.note.text("Причина", "Комментарий")));
    progress.record(RefusalStep::AddNote, StepOutcome::Done { id: None });
    assert_eq!(progress.next_action(&plan), None);
    assert_eq!(progress.done_steps(), plan.steps());
}

#[test]
fn a_lost_patch_is_checked_on_the_deal() {
    let plan = plan_with(&Settings::default(), &deal(), 2, "", friday(), Lang::Ru);
    let mut progress = RefusalProgress::new();
    progress.record(RefusalStep::PatchLead, StepOutcome::Failed);
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(
            RefusalStep::PatchLead,
            Lookup::LeadLost {
                deal_id: 100,
                loss_reason_id: 2
            }
        ))
    );
    assert!(lead_is_lost_with(143, Some(2), 2));
    assert!(!lead_is_lost_with(143, Some(1), 2));
    assert!(!lead_is_lost_with(143, None, 2));
    assert!(!lead_is_lost_with(11, Some(2), 2));
}

#[test]
fn the_copy_is_found_by_name_and_tag_and_its_note_by_marker() {
    let mut settings = Settings::default();
    settings.refusals.rules.push(RefusalRule {
        reason_id: 1,
        copy: true,
        copy_to: Some(StageRef::new(20, 201)),
        ..RefusalRule::default()
    });
    let now = friday();
    let plan = plan_with(&settings, &deal(), 1, "", now, Lang::Ru);
    let mut progress = RefusalProgress::restore(
        &[
            RefusalStep::PatchLead,
            RefusalStep::CreateTask,
            RefusalStep::AddNote,
        ],
        None,
    );
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Execute(RefusalStep::CreateCopy))
    );
    progress.record(RefusalStep::CreateCopy, StepOutcome::Failed);
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(
            RefusalStep::CreateCopy,
            Lookup::CopyLead {
                pipeline_id: 20,
                name: "ООО Ромашка".into(),
                created_from: now - COPY_CLOCK_SKEW,
                tag: "Отказ".into(),
            }
        ))
    );
    // A check that reports the copy without its id does not count: the note needs the id.
    progress.record(RefusalStep::CreateCopy, StepOutcome::Done { id: None });
    assert!(!progress.is_done(RefusalStep::CreateCopy));
    progress.record(RefusalStep::CreateCopy, StepOutcome::Done { id: Some(555) });
    assert_eq!(progress.copy_id(), Some(555));
    progress.record(RefusalStep::AddCopyNote, StepOutcome::Failed);
    assert_eq!(
        progress.next_action(&plan),
        Some(RefusalAction::Check(
            RefusalStep::AddCopyNote,
            Lookup::NoteWithMarker {
                deal_id: 555,
                marker: plan.marker.clone()
            }
        ))
    );
    progress.record(RefusalStep::AddCopyNote, StepOutcome::Done { id: None });
    assert!(progress.is_complete(&plan));
    let restored = RefusalProgress::restore(&progress.done_steps(), progress.copy_id());
    assert_eq!(restored, progress);
}
