//! The mandatory next step: whether a manager may leave a deal card (or move the deal), and the deadline presets of the task dialog.

use crate::dates::{deadline_after, Calendar, UtcOffset};
use crate::deal::{DealContext, UserContext, STATUS_WON};
use crate::settings::{FailMode, NextStepSettings, Preset};

/// What the card knows about the deal's open tasks at the moment of the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenTaskKnowledge {
    /// The number of open tasks of the deal, from the first check kept current by the card's task events.
    Known(usize),
    /// The first check has not answered yet.
    Unknown,
    /// The check failed (network error, 5xx, rate limit after retries).
    Failed,
}

/// Why the manager may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowReason {
    /// The guard is switched off.
    Disabled,
    /// The card shows a deal that is not saved yet.
    NewDeal,
    /// The deal is (or is being moved to) won or lost.
    Closed {
        won: bool,
    },
    /// The deal's stage is outside the stages the guard applies to.
    OutOfScope,
    ExemptUser,
    ExemptGroup,
    ExemptAdmin,
    /// The deal has an open task.
    HasOpenTask,
}

/// The guard's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardDecision {
    Allow(AllowReason),
    /// The deal has no next step: hold the navigation and show the task dialog.
    Block,
    /// The open-task state is not known. Show the error with a retry; with `fail_open` the
    /// navigation goes on, otherwise it is held until the retry answers or the manager chooses the
    /// logged "leave anyway".
    AskRetry {
        fail_open: bool,
    },
}

/// Why `user` is exempt from the guard, if they are.
pub fn exemption(user: &UserContext, settings: &NextStepSettings) -> Option<AllowReason> {
    if settings.exempt_users.contains(&user.id) {
        Some(AllowReason::ExemptUser)
    } else if user
        .group_id
        .is_some_and(|group| settings.exempt_groups.contains(&group))
    {
        Some(AllowReason::ExemptGroup)
    } else if settings.admins_exempt && user.is_admin {
        Some(AllowReason::ExemptAdmin)
    } else {
        None
    }
}

/// Decides whether `user` may leave `deal`.
///
/// For a stage change inside the card, pass the deal as it would be after the move
/// ([`DealContext::moved_to`]): a move to an open stage without a next task is blocked the same way,
/// a move to 142/143 is allowed (the refusal picker takes over for 143).
/// The task count only matters once every other reason to allow has been ruled out, so a closed,
/// exempt or out-of-scope deal never waits for the network.
pub fn guard_decision(
    deal: &DealContext,
    user: &UserContext,
    settings: &NextStepSettings,
    open_tasks: OpenTaskKnowledge,
) -> GuardDecision {
    if !settings.enabled {
        return GuardDecision::Allow(AllowReason::Disabled);
    }
    if deal.id == 0 {
        return GuardDecision::Allow(AllowReason::NewDeal);
    }
    if deal.stage().is_closed() {
        return GuardDecision::Allow(AllowReason::Closed {
            won: deal.status_id == STATUS_WON,
        });
    }
    if !settings.scope.contains(deal.stage()) {
        return GuardDecision::Allow(AllowReason::OutOfScope);
    }
    if let Some(reason) = exemption(user, settings) {
        return GuardDecision::Allow(reason);
    }
    match open_tasks {
        OpenTaskKnowledge::Known(0) => GuardDecision::Block,
        OpenTaskKnowledge::Known(_) => GuardDecision::Allow(AllowReason::HasOpenTask),
        OpenTaskKnowledge::Unknown | OpenTaskKnowledge::Failed => GuardDecision::AskRetry {
            fail_open: settings.fail_mode == FailMode::Open,
        },
    }
}

/// The task dialog's presets with their deadlines (Unix seconds): each preset's working days from
/// `now`, at the default time, in the account's zone `tz`, moved past weekends and holidays.
pub fn preset_deadlines(
    now: i64,
    settings: &NextStepSettings,
    tz: &(impl UtcOffset + ?Sized),
    cal: &Calendar,
) -> Vec<(Preset, i64)> {
    let time = settings.default_time;
    settings
        .presets
        .iter()
        .map(|preset| {
            let deadline =
                deadline_after(now, preset.working_days, time.hour, time.minute, tz, cal);
            (preset.clone(), deadline)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::dates::{utc_of_local, Date, FixedOffset, WeekdaySet};
    use crate::deal::StageRef;
    use crate::settings::{StageScope, TimeOfDay};

    fn deal(status_id: u32) -> DealContext {
        DealContext {
            id: 100,
            name: "ООО Ромашка".into(),
            pipeline_id: 1,
            status_id,
            responsible_user_id: 7,
            ..DealContext::default()
        }
    }

    const MANAGER: UserContext = UserContext {
        id: 7,
        group_id: Some(3),
        is_admin: false,
    };

    fn decide(
        deal: &DealContext,
        settings: &NextStepSettings,
        tasks: OpenTaskKnowledge,
    ) -> GuardDecision {
        guard_decision(deal, &MANAGER, settings, tasks)
    }

    #[test]
    fn an_open_deal_without_a_task_is_blocked_and_one_with_a_task_is_not() {
        let settings = NextStepSettings::default();
        assert_eq!(
            decide(&deal(10), &settings, OpenTaskKnowledge::Known(0)),
            GuardDecision::Block
        );
        assert_eq!(
            decide(&deal(10), &settings, OpenTaskKnowledge::Known(2)),
            GuardDecision::Allow(AllowReason::HasOpenTask)
        );
    }

    #[test]
    fn closed_new_and_disabled_deals_are_allowed_without_tasks() {
        let settings = NextStepSettings::default();
        for tasks in [
            OpenTaskKnowledge::Known(0),
            OpenTaskKnowledge::Failed,
            OpenTaskKnowledge::Unknown,
        ] {
            assert_eq!(
                decide(&deal(142), &settings, tasks),
                GuardDecision::Allow(AllowReason::Closed { won: true })
            );
            assert_eq!(
                decide(&deal(143), &settings, tasks),
                GuardDecision::Allow(AllowReason::Closed { won: false })
            );
            let unsaved = DealContext { id: 0, ..deal(10) };
            assert_eq!(
                decide(&unsaved, &settings, tasks),
                GuardDecision::Allow(AllowReason::NewDeal)
            );
        }
        let off = NextStepSettings {
            enabled: false,
            ..NextStepSettings::default()
        };
        assert_eq!(
            decide(&deal(10), &off, OpenTaskKnowledge::Known(0)),
            GuardDecision::Allow(AllowReason::Disabled)
        );
    }

    #[test]
    fn exemptions_by_user_group_and_admin() {
        let mut settings = NextStepSettings::default();
        let admin = UserContext {
            id: 1,
            group_id: None,
            is_admin: true,
        };
        let none = OpenTaskKnowledge::Known(0);
        // Administrators are not exempt by default.
        assert_eq!(
            guard_decision(&deal(10), &admin, &settings, none),
            GuardDecision::Block
        );
        settings.admins_exempt = true;
        assert_eq!(
            guard_decision(&deal(10), &admin, &settings, none),
            GuardDecision::Allow(AllowReason::ExemptAdmin)
        );
        assert_eq!(decide(&deal(10), &settings, none), GuardDecision::Block);
        settings.exempt_groups = vec![3];
        assert_eq!(
            decide(&deal(10), &settings, none),
            GuardDecision::Allow(AllowReason::ExemptGroup)
        );
        settings.exempt_users = vec![7];
        assert_eq!(
            decide(&deal(10), &settings, none),
            GuardDecision::Allow(AllowReason::ExemptUser)
        );
        // An exempt user never waits for the network.
        assert_eq!(
            decide(&deal(10), &settings, OpenTaskKnowledge::Failed),
            GuardDecision::Allow(AllowReason::ExemptUser)
        );
    }

    #[test]
    fn stages_outside_the_scope_are_allowed() {
        let settings = NextStepSettings {
            scope: StageScope::Stages {
                stages: vec![StageRef::new(1, 10)],
            },
            ..NextStepSettings::default()
        };
        let none = OpenTaskKnowledge::Known(0);
        assert_eq!(decide(&deal(10), &settings, none), GuardDecision::Block);
        assert_eq!(
            decide(&deal(11), &settings, none),
            GuardDecision::Allow(AllowReason::OutOfScope)
        );
        let other_pipeline = DealContext {
            pipeline_id: 2,
            ..deal(10)
        };
        assert_eq!(
            decide(&other_pipeline, &settings, none),
            GuardDecision::Allow(AllowReason::OutOfScope)
        );
    }

    #[test]
    fn a_stage_change_is_judged_at_the_target_stage() {
        let settings = NextStepSettings {
            scope: StageScope::Pipelines {
                pipeline_ids: vec![1],
            },
            ..NextStepSettings::default()
        };
        let current = deal(10);
        let none = OpenTaskKnowledge::Known(0);
        assert_eq!(
            decide(&current.moved_to(StageRef::new(1, 11)), &settings, none),
            GuardDecision::Block
        );
        assert_eq!(
            decide(&current.moved_to(StageRef::new(1, 143)), &settings, none),
            GuardDecision::Allow(AllowReason::Closed { won: false })
        );
        assert_eq!(
            decide(&current.moved_to(StageRef::new(2, 20)), &settings, none),
            GuardDecision::Allow(AllowReason::OutOfScope)
        );
    }

    #[test]
    fn unknown_or_failed_state_follows_the_fail_mode() {
        let closed = NextStepSettings::default();
        let open = NextStepSettings {
            fail_mode: FailMode::Open,
            ..NextStepSettings::default()
        };
        for tasks in [OpenTaskKnowledge::Unknown, OpenTaskKnowledge::Failed] {
            assert_eq!(
                decide(&deal(10), &closed, tasks),
                GuardDecision::AskRetry { fail_open: false }
            );
            assert_eq!(
                decide(&deal(10), &open, tasks),
                GuardDecision::AskRetry { fail_open: true }
            );
        }
    }

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    fn deadlines(
        now: i64,
        settings: &NextStepSettings,
        tz: &FixedOffset,
        cal: &Calendar,
    ) -> Vec<i64> {
        preset_deadlines(now, settings, tz, cal)
            .into_iter()
            .map(|(_, deadline)| deadline)
            .collect()
    }

    #[test]
    fn presets_land_on_working_days_at_the_default_hour() {
        let moscow = FixedOffset(3 * 3600);
        let cal = Calendar::russian();
        let settings = NextStepSettings::default();
        let local = |day: Date, hour: u8, minute: u8| utc_of_local(day, hour, minute, &moscow);
        // Friday 16 January 2026, 15:00 in Moscow: Monday, Tuesday and next Friday at 10:00.
        let friday = local(date(2026, 1, 16), 15, 0);
        assert_eq!(
            deadlines(friday, &settings, &moscow, &cal),
            [
                local(date(2026, 1, 19), 10, 0),
                local(date(2026, 1, 20), 10, 0),
                local(date(2026, 1, 23), 10, 0)
            ]
        );
        let labels: Vec<String> = preset_deadlines(friday, &settings, &moscow, &cal)
            .into_iter()
            .map(|(preset, _)| preset.label_key)
            .collect();
        assert_eq!(
            labels,
            [
                "ui.preset.tomorrow",
                "ui.preset.in_two_days",
                "ui.preset.in_a_week"
            ]
        );
        // 30 December 2025: the New Year holidays run until 11 January 2026.
        let before_new_year = local(date(2025, 12, 30), 12, 0);
        assert_eq!(
            deadlines(before_new_year, &settings, &moscow, &cal),
            [
                local(date(2026, 1, 12), 10, 0),
                local(date(2026, 1, 13), 10, 0),
                local(date(2026, 1, 16), 10, 0)
            ]
        );
        // The default time is configurable.
        let late = NextStepSettings {
            default_time: TimeOfDay::new(17, 45),
            ..NextStepSettings::default()
        };
        assert_eq!(
            deadlines(friday, &late, &moscow, &cal)[0],
            local(date(2026, 1, 19), 17, 45)
        );
    }

    #[test]
    fn presets_use_the_account_zone_not_the_browser_zone() {
        let cal = Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        let settings = NextStepSettings::default();
        // Thursday 2026-01-15 22:00 UTC is already Friday 08:00 in Vladivostok (+10).
        let now = utc_of_local(date(2026, 1, 15), 22, 0, &FixedOffset(0));
        let vladivostok = FixedOffset(10 * 3600);
        assert_eq!(
            deadlines(now, &settings, &vladivostok, &cal)[0],
            utc_of_local(date(2026, 1, 19), 10, 0, &vladivostok)
        );
        // The same instant in London is still Thursday: tomorrow is Friday.
        let london = FixedOffset(0);
        assert_eq!(
            deadlines(now, &settings, &london, &cal)[0],
            utc_of_local(date(2026, 1, 16), 10, 0, &london)
        );
    }
}
