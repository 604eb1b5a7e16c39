//! What the automations must do now, decided from the synced copy by the core's rules alone (no IO):
//! the next-step watchdog, the stuck tag and its escalation, overdue-task escalation and "lost
//! anywhere" (a reason's follow-up, or a task to set the missing reason).

use std::collections::HashMap;

use leakguard_core::automation::{
    lost_without_reason, no_next_step_breach, overdue_task_escalation, stuck_level, stuck_state,
    stuck_tag_change, EscalationCause, OverdueEscalation, StuckLevel, StuckState, TagChange,
    Watchdog,
};
use leakguard_core::deal::{Account, DealContext, StageRef, STATUS_LOST};
use leakguard_core::settings::Settings;

use crate::copy::{LeadRow, TaskRow};

/// How far before the automations' start a lost deal still gets its follow-up (a week, so deals lost
/// just before the install are not forgotten).
pub const LOST_LOOKBACK_SECONDS: i64 = 7 * 86_400;

/// One thing to do in amoCRM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The watchdog's fallback task: the deal has had no open task since `since`.
    Watchdog { lead_id: i64, since: i64 },
    /// Add or remove the stuck tag.
    Tag { lead_id: i64, change: TagChange },
    /// Tell the supervisor (task and note).
    Escalate {
        lead_id: i64,
        cause: EscalationCause,
    },
    /// A deal lost with a reason outside the card: the reason's refusal plan.
    Refusal {
        lead_id: i64,
        reason_id: u64,
        closed_at: i64,
    },
    /// A deal lost without a reason: a task for its manager to set one.
    MissingReason { lead_id: i64, closed_at: i64 },
}

/// When the automations act: `now`, the watchdog's start and how long a loss is left to the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moment {
    pub now: i64,
    /// The first full scan's start: deals without a next step since before it are left to the queue.
    pub automation_from: i64,
    pub lost_settle_seconds: i64,
}

/// The deal as the core's card-side rules see it.
pub fn deal_context(lead: &LeadRow) -> DealContext {
    DealContext {
        id: lead.id as u64,
        name: lead.name.clone(),
        price: lead.price,
        pipeline_id: lead.pipeline_id as u32,
        status_id: lead.status_id as u32,
        responsible_user_id: lead.responsible_user_id as u64,
        loss_reason_id: lead.loss_reason_id.map(|id| id as u64),
        contact_ids: Vec::new(),
        company_id: None,
    }
}

/// Every action due for `leads` (with their open `tasks`) at `moment`.
pub fn plan(
    leads: &[LeadRow],
    tasks: &[TaskRow],
    settings: &Settings,
    moment: Moment,
    account: &Account<'_>,
) -> Vec<Action> {
    let mut by_lead: HashMap<i64, Vec<&TaskRow>> = HashMap::new();
    for task in tasks {
        by_lead.entry(task.lead_id).or_default().push(task);
    }
    let tag = settings.stuck.tag.get(account.lang);
    let escalates = settings.escalation.supervisor.is_some();
    let now = moment.now;
    let mut actions = Vec::new();
    for lead in leads.iter().filter(|lead| !lead.is_deleted) {
        let lead_id = lead.id;
        let open = by_lead.get(&lead_id).map_or(&[][..], Vec::as_slice);
        let stage = StageRef::new(lead.pipeline_id as u32, lead.status_id as u32);

        // Stuck: the cheap level first, the moments only when the tag or escalation may change.
        let has_tag = lead.has_tag(tag);
        let level = stuck_level(stage, lead.stage_since, &settings.stuck, now, account);
        if level != StuckLevel::Ok || has_tag {
            let state = stuck_state(stage, lead.stage_since, &settings.stuck, now, account);
            if let Some(change) = stuck_tag_change(state, has_tag) {
                actions.push(Action::Tag { lead_id, change });
            }
            // Like the watchdog, escalation is for breaches that begin after the automations
            // started: deals past the limit on the first scan are left to the queue, not turned
            // into a flood of supervisor tasks.
            if let StuckState::Escalate { since } = state {
                if escalates && since >= moment.automation_from {
                    actions.push(Action::Escalate {
                        lead_id,
                        cause: EscalationCause::Stuck {
                            stage_since: lead.stage_since,
                        },
                    });
                }
            }
        }

        if lead.is_open() {
            let context = deal_context(lead);
            if let Some(since) = lead
                .no_task_since
                .filter(|&since| since >= moment.automation_from)
            {
                if let Watchdog::Breach { since } =
                    no_next_step_breach(&context, open.len(), since, now, &settings.next_step)
                {
                    actions.push(Action::Watchdog { lead_id, since });
                }
            }
            if escalates {
                for task in open {
                    let due = overdue_task_escalation(
                        &task.task_ref(),
                        &settings.overdue_tasks,
                        now,
                        account,
                    );
                    match due {
                        OverdueEscalation::Due { since } if since >= moment.automation_from => {
                            actions.push(Action::Escalate {
                                lead_id,
                                cause: EscalationCause::OverdueTask {
                                    task_id: task.id as u64,
                                    complete_till: task.complete_till,
                                },
                            })
                        }
                        _ => {}
                    }
                }
            }
        } else if lead.status_id == i64::from(STATUS_LOST) && lead.confirmed {
            let Some(closed_at) = lead.closed_at else {
                continue;
            };
            let settled = closed_at.saturating_add(moment.lost_settle_seconds) <= now;
            let recent = closed_at >= moment.automation_from - LOST_LOOKBACK_SECONDS;
            if !(settled && recent) {
                continue;
            }
            let reason = lead.loss_reason_id.map(|id| id as u64);
            if lost_without_reason(lead.status_id as u32, reason) {
                actions.push(Action::MissingReason { lead_id, closed_at });
            } else if let Some(reason_id) = reason {
                actions.push(Action::Refusal {
                    lead_id,
                    reason_id,
                    closed_at,
                });
            }
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::{Calendar, FixedOffset};
    use leakguard_core::locale::Lang;
    use leakguard_core::settings::{Limit, Supervisor};

    use crate::copy::TagRow;

    const DAY: i64 = 86_400;
    /// Monday 2026-06-01 00:00 UTC.
    const MONDAY: i64 = 1_780_272_000;

    fn lead(id: i64, status_id: i64, stage_since: i64) -> LeadRow {
        LeadRow {
            id,
            name: format!("Deal {id}"),
            price: 1000,
            pipeline_id: 10,
            status_id,
            responsible_user_id: 7,
            group_id: 0,
            created_at: stage_since,
            updated_at: stage_since,
            closed_at: None,
            loss_reason_id: None,
            stage_since,
            status_event_at: 0,
            is_deleted: false,
            tags: Vec::new(),
            no_task_since: None,
            no_task_source: None,
            confirmed: true,
        }
    }

    fn task(id: i64, lead_id: i64, complete_till: i64) -> TaskRow {
        TaskRow {
            id,
            lead_id,
            responsible_user_id: 7,
            complete_till,
            text: "Call".into(),
            updated_at: 0,
        }
    }

    fn run(leads: &[LeadRow], tasks: &[TaskRow], settings: &Settings, now: i64) -> Vec<Action> {
        let calendar = Calendar::russian();
        let account = Account {
            tz: &FixedOffset(0),
            calendar: &calendar,
            lang: Lang::En,
        };
        let moment = Moment {
            now,
            automation_from: MONDAY - DAY,
            lost_settle_seconds: 120,
        };
        plan(leads, tasks, settings, moment, &account)
    }

    #[test]
    fn stuck_deals_get_the_tag_and_moved_ones_lose_it() {
        let mut settings = Settings::default();
        settings.stuck.default_limit = Some(Limit::WorkingDays(2));
        let stuck = lead(1, 20, MONDAY);
        let mut moved = lead(2, 21, MONDAY + 3 * DAY);
        moved.tags = vec![TagRow {
            id: Some(5),
            name: "stuck".into(),
        }];
        let tasks = [task(1, 1, MONDAY + 30 * DAY), task(2, 2, MONDAY + 30 * DAY)];
        let actions = run(&[stuck, moved], &tasks, &settings, MONDAY + 3 * DAY + 60);
        assert_eq!(
            actions,
            vec![
                Action::Tag {
                    lead_id: 1,
                    change: TagChange::Add
                },
                Action::Tag {
                    lead_id: 2,
                    change: TagChange::Remove
                },
            ]
        );
    }

    #[test]
    fn the_watchdog_waits_for_the_grace_and_ignores_old_breaches() {
        let mut settings = Settings::default();
        settings.stuck.enabled = false;
        let mut fresh = lead(1, 20, MONDAY);
        fresh.no_task_since = Some(MONDAY + 3600);
        let mut old = lead(2, 20, MONDAY - 30 * DAY);
        old.no_task_since = Some(MONDAY - 30 * DAY);
        let leads = [fresh, old];
        assert!(run(&leads, &[], &settings, MONDAY + 3600 + 14 * 60).is_empty());
        assert_eq!(
            run(&leads, &[], &settings, MONDAY + 3600 + 15 * 60),
            vec![Action::Watchdog {
                lead_id: 1,
                since: MONDAY + 3600
            }]
        );
    }

    #[test]
    fn lost_deals_settle_first_then_get_their_follow_up_or_reason_task() {
        let settings = Settings::default();
        let mut with_reason = lead(1, 143, MONDAY);
        with_reason.closed_at = Some(MONDAY);
        with_reason.loss_reason_id = Some(77);
        let mut without = lead(2, 143, MONDAY);
        without.closed_at = Some(MONDAY);
        let mut unconfirmed = lead(3, 143, MONDAY);
        unconfirmed.closed_at = Some(MONDAY);
        unconfirmed.confirmed = false;
        let leads = [with_reason, without, unconfirmed];
        assert!(run(&leads, &[], &settings, MONDAY + 60).is_empty());
        assert_eq!(
            run(&leads, &[], &settings, MONDAY + 120),
            vec![
                Action::Refusal {
                    lead_id: 1,
                    reason_id: 77,
                    closed_at: MONDAY
                },
                Action::MissingReason {
                    lead_id: 2,
                    closed_at: MONDAY
                },
            ]
        );
    }

    #[test]
    fn escalations_need_a_supervisor() {
        let mut settings = Settings::default();
        settings.stuck.default_limit = Some(Limit::WorkingDays(1));
        settings.stuck.default_escalate_after = Some(Limit::WorkingDays(2));
        settings.overdue_tasks.enabled = true;
        let leads = [lead(1, 20, MONDAY)];
        let tasks = [task(9, 1, MONDAY + 3600)];
        let now = MONDAY + 2 * DAY + 7200;
        let without: Vec<_> = run(&leads, &tasks, &settings, now);
        assert!(!without.iter().any(|a| matches!(a, Action::Escalate { .. })));
        settings.escalation.supervisor = Some(Supervisor::User { id: 3 });
        let with = run(&leads, &tasks, &settings, now);
        assert!(with.contains(&Action::Escalate {
            lead_id: 1,
            cause: EscalationCause::Stuck {
                stage_since: MONDAY
            }
        }));
        assert!(with.contains(&Action::Escalate {
            lead_id: 1,
            cause: EscalationCause::OverdueTask {
                task_id: 9,
                complete_till: MONDAY + 3600
            }
        }));
        // A deal already past the escalation limit when the automations started is only tagged.
        let old = [lead(2, 20, MONDAY - 30 * DAY)];
        let tasks = [task(8, 2, MONDAY + 30 * DAY)];
        assert_eq!(
            run(&old, &tasks, &settings, now),
            vec![Action::Tag {
                lead_id: 2,
                change: TagChange::Add
            }]
        );
    }
}
