//! The backend's automation rules (issue 9): the next-step watchdog, stuck deals and their tag, overdue-task escalation, deals lost without a reason, and the quality-control queue.
//!
//! Every rule is a pure function of the deal, its tasks, the settings and `now`; each task it
//! plans carries an idempotency marker, so a job that runs twice (retry, restart, redelivered
//! webhook) finds the first task instead of creating a second one.

use crate::dates::{deadline_after, instant_after_working_seconds, working_seconds_between};
use crate::deal::{Account, DealContext, PlannedTask, StageRef, STATUS_LOST};
use crate::idempotency::{marker, with_marker, MarkerKind};
use crate::metrics::{Deal, TaskEntity, TaskIndex, TaskRef};
use crate::refusal::display_name;
use crate::settings::{Limit, NextStepSettings, OverdueTaskSettings, Settings, StuckSettings};
use crate::text::interpolate;

/// The watchdog's view of a deal without a next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watchdog {
    /// The rule does not apply: switched off, unsaved, closed or out of the guard's stages.
    NotApplicable,
    /// The deal has an open task.
    Fine,
    /// No open task, but the grace period runs until `fire_at`.
    Pending { fire_at: i64 },
    /// No open task for longer than the grace period, since `since`.
    Breach { since: i64 },
}

/// Whether a deal that has had `open_tasks` open tasks since `since` (when it entered its open
/// stage without a task, or its last task was completed) breaches the next-step rule at `now`.
/// The watchdog uses the guard's switch and stages; user exemptions only concern the card.
pub fn no_next_step_breach(
    deal: &DealContext,
    open_tasks: usize,
    since: i64,
    now: i64,
    settings: &NextStepSettings,
) -> Watchdog {
    if !settings.enabled || deal.id == 0 || !settings.scope.contains(deal.stage()) {
        return Watchdog::NotApplicable;
    }
    if open_tasks > 0 {
        return Watchdog::Fine;
    }
    let fire_at = since.saturating_add(i64::from(settings.watchdog_grace_minutes) * 60);
    if now < fire_at {
        Watchdog::Pending { fire_at }
    } else {
        Watchdog::Breach { since }
    }
}

/// The watchdog's fallback task ("Schedule the next step") for the deal's manager, due at the
/// first preset (one working day when there are none) at the default time.
pub fn watchdog_task(
    deal: &DealContext,
    since: i64,
    settings: &Settings,
    now: i64,
    account: &Account<'_>,
) -> PlannedTask {
    let next = &settings.next_step;
    let days = next.presets.first().map_or(1, |preset| preset.working_days);
    planned_task(
        deal,
        next.fallback_task_text.get(account.lang),
        next.fallback_task_type_id,
        deal.responsible_user_id,
        deadline_after(
            now,
            days,
            next.default_time.hour,
            next.default_time.minute,
            account.tz,
            account.calendar,
        ),
        &marker(MarkerKind::Watchdog, deal.id, since),
    )
}

fn planned_task(
    deal: &DealContext,
    template: &str,
    task_type_id: u32,
    responsible_user_id: u64,
    complete_till: i64,
    marker: &str,
) -> PlannedTask {
    let text = interpolate(template, &[("deal", &display_name(deal))]);
    PlannedTask {
        deal_id: deal.id,
        text: with_marker(&text, marker),
        task_type_id,
        complete_till,
        responsible_user_id,
    }
}

/// A deal's standing against its stage limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StuckState {
    /// Within the limits; `next_check` is when the next limit will be reached (`None`: never).
    Ok { next_check: Option<i64> },
    /// Past the stuck limit since `since`; `next_check` is when escalation is due (`None`: never).
    Stuck { since: i64, next_check: Option<i64> },
    /// Past the escalation limit since `since`.
    Escalate { since: i64 },
}

impl StuckState {
    /// Whether the deal should carry the stuck tag.
    pub const fn is_stuck(self) -> bool {
        !matches!(self, StuckState::Ok { .. })
    }
}

/// The stuck state of a deal in `stage` since `stage_since` at `now`, counting working time in
/// the account's zone and calendar (a deal that moves on gets a new `stage_since` and so is `Ok`).
pub fn stuck_state(
    stage: StageRef,
    stage_since: i64,
    settings: &StuckSettings,
    now: i64,
    account: &Account<'_>,
) -> StuckState {
    let (limit, escalation) = settings.limits_for(stage);
    let moment = |limit: Option<Limit>| {
        limit.map(|limit| {
            instant_after_working_seconds(
                stage_since,
                limit.seconds(),
                account.tz,
                account.calendar,
            )
        })
    };
    let (stuck_at, escalate_at) = (moment(limit), moment(escalation));
    match (stuck_at, escalate_at) {
        (_, Some(at)) if now >= at => StuckState::Escalate { since: at },
        (Some(at), next) if now >= at => StuckState::Stuck {
            since: at,
            next_check: next,
        },
        (stuck, escalate) => StuckState::Ok {
            next_check: match (stuck, escalate) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        },
    }
}

/// How far past its stage limits a deal is, without the moments: one working-time count, for
/// scanning many deals (the metrics, the queue). It always agrees with [`stuck_state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StuckLevel {
    Ok,
    Stuck,
    Escalate,
}

/// The stuck level of a deal in `stage` since `stage_since` at `now`.
pub fn stuck_level(
    stage: StageRef,
    stage_since: i64,
    settings: &StuckSettings,
    now: i64,
    account: &Account<'_>,
) -> StuckLevel {
    let (limit, escalation) = settings.limits_for(stage);
    if limit.is_none() && escalation.is_none() {
        return StuckLevel::Ok;
    }
    let elapsed = working_seconds_between(stage_since, now, account.tz, account.calendar);
    let reached = |limit: Option<Limit>| limit.is_some_and(|l| elapsed >= l.seconds());
    if reached(escalation) {
        StuckLevel::Escalate
    } else if reached(limit) {
        StuckLevel::Stuck
    } else {
        StuckLevel::Ok
    }
}

/// A change of the stuck tag, applied with `tags_to_add` / `tags_to_delete` so other tags stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagChange {
    Add,
    Remove,
}

/// The tag change a deal needs: add the tag when stuck, remove it as soon as it is not.
pub fn stuck_tag_change(state: StuckState, has_tag: bool) -> Option<TagChange> {
    match (state.is_stuck(), has_tag) {
        (true, false) => Some(TagChange::Add),
        (false, true) => Some(TagChange::Remove),
        _ => None,
    }
}

/// What an escalation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscalationCause {
    /// The deal has been in its stage since `stage_since` past the escalation limit.
    Stuck { stage_since: i64 },
    /// The deal's task `task_id` with deadline `complete_till` is overdue past the limit.
    OverdueTask { task_id: u64, complete_till: i64 },
}

/// The supervisor's task about `deal`, for the user chosen by the caller (the supervisor, or a
/// user of the supervisor group), due today at the default time if that is still ahead and a
/// working day, else the next working day. The marker makes it once per stage stay, or once
/// per task and deadline.
pub fn escalation_task(
    deal: &DealContext,
    cause: EscalationCause,
    supervisor_user_id: u64,
    settings: &Settings,
    now: i64,
    account: &Account<'_>,
) -> PlannedTask {
    let marker = match cause {
        EscalationCause::Stuck { stage_since } => {
            marker(MarkerKind::StuckEscalation, deal.id, stage_since)
        }
        EscalationCause::OverdueTask {
            task_id,
            complete_till,
        } => marker(MarkerKind::OverdueTask, task_id, complete_till),
    };
    let time = settings.next_step.default_time;
    planned_task(
        deal,
        settings.escalation.task_text.get(account.lang),
        settings.escalation.task_type_id,
        supervisor_user_id,
        deadline_after(now, 0, time.hour, time.minute, account.tz, account.calendar),
        &marker,
    )
}

/// Where an open task stands against the overdue-escalation limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverdueEscalation {
    /// Disabled, completed, without a deadline, or not a deal's task.
    NotApplicable,
    /// Escalation will be due at `at` (the task may or may not be overdue yet).
    NotYet { at: i64 },
    /// Escalation is due since `since`.
    Due { since: i64 },
}

/// Whether an open task is overdue past the configured working time at `now`.
pub fn overdue_task_escalation(
    task: &TaskRef,
    settings: &OverdueTaskSettings,
    now: i64,
    account: &Account<'_>,
) -> OverdueEscalation {
    if !settings.enabled
        || task.is_completed
        || task.complete_till == 0
        || task.entity_type != TaskEntity::Lead
    {
        return OverdueEscalation::NotApplicable;
    }
    let at = instant_after_working_seconds(
        task.complete_till,
        settings.escalate_after.seconds(),
        account.tz,
        account.calendar,
    );
    if now >= at {
        OverdueEscalation::Due { since: at }
    } else {
        OverdueEscalation::NotYet { at }
    }
}

/// Whether a deal is lost without a loss reason (0 counts as none).
pub fn lost_without_reason(status_id: u32, loss_reason_id: Option<u64>) -> bool {
    status_id == STATUS_LOST && loss_reason_id.unwrap_or(0) == 0
}

/// The task asking the manager to set the reason of a deal lost without one, due the next
/// working day at the default time; `closed_at` names the loss in the marker.
pub fn missing_reason_task(
    deal: &DealContext,
    closed_at: i64,
    settings: &Settings,
    now: i64,
    account: &Account<'_>,
) -> PlannedTask {
    let time = settings.next_step.default_time;
    planned_task(
        deal,
        settings.refusals.missing_reason_task_text.get(account.lang),
        crate::settings::TASK_TYPE_FOLLOW_UP,
        deal.responsible_user_id,
        deadline_after(now, 1, time.hour, time.minute, account.tz, account.calendar),
        &marker(MarkerKind::MissingReason, deal.id, closed_at),
    )
}

/// The kind of a quality-control breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BreachKind {
    NoNextStep,
    Stuck,
    /// Stuck past the escalation limit.
    Escalated,
    OverdueTask,
    LostWithoutReason,
}

/// One line of the quality-control queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breach {
    pub kind: BreachKind,
    pub deal_id: u64,
    pub manager_id: u64,
    pub stage: StageRef,
    /// The deal's budget.
    pub value: i64,
    /// When the breach began.
    pub since: i64,
    /// `now - since`, in seconds.
    pub age: i64,
    /// The overdue task, for [`BreachKind::OverdueTask`].
    pub task_id: Option<u64>,
}

/// Every current breach of `deals`, the oldest first (ties by deal id and kind).
///
/// * No next step: open deals in the guard's stages without an open task for longer than the
///   watchdog grace, counted from `no_task_since(deal)` when the caller knows it (the backend
///   records when a deal lost its last task), else from the deal's `stage_since`.
/// * Stuck and escalated: by the stage limits.
/// * Overdue task: open deals whose earliest open task is past its deadline.
/// * Lost without reason: deals in 143 without a loss reason, since `closed_at`.
pub fn quality_queue(
    deals: &[Deal],
    tasks: &[TaskRef],
    settings: &Settings,
    now: i64,
    account: &Account<'_>,
    no_task_since: &dyn Fn(&Deal) -> Option<i64>,
) -> Vec<Breach> {
    let index = TaskIndex::new(tasks);
    let mut queue = Vec::new();
    for deal in deals.iter().filter(|deal| !deal.is_deleted) {
        let mut push = |kind, since: i64, task_id| {
            queue.push(Breach {
                kind,
                deal_id: deal.id,
                manager_id: deal.responsible_user_id,
                stage: deal.stage(),
                value: deal.price,
                since,
                age: now.saturating_sub(since),
                task_id,
            });
        };
        if lost_without_reason(deal.status_id, deal.loss_reason_id) {
            push(
                BreachKind::LostWithoutReason,
                deal.closed_at.unwrap_or(deal.stage_since),
                None,
            );
            continue;
        }
        if !deal.is_open() {
            continue;
        }
        let open = index.open_tasks(deal.id);
        let context = DealContext {
            id: deal.id,
            pipeline_id: deal.pipeline_id,
            status_id: deal.status_id,
            responsible_user_id: deal.responsible_user_id,
            ..DealContext::default()
        };
        let since = no_task_since(deal).unwrap_or(deal.stage_since);
        let count = open.map_or(0, |open| open.count as usize);
        if let Watchdog::Breach { since } =
            no_next_step_breach(&context, count, since, now, &settings.next_step)
        {
            push(BreachKind::NoNextStep, since, None);
        }
        if let Some(open) = open.filter(|open| open.earliest.0 < now) {
            push(
                BreachKind::OverdueTask,
                open.earliest.0,
                Some(open.earliest.1),
            );
        }
        // The cheap level first; the moments only for the deals that are stuck.
        let (stage, since) = (deal.stage(), deal.stage_since);
        if stuck_level(stage, since, &settings.stuck, now, account) != StuckLevel::Ok {
            match stuck_state(stage, since, &settings.stuck, now, account) {
                StuckState::Ok { .. } => {}
                StuckState::Stuck { since, .. } => push(BreachKind::Stuck, since, None),
                StuckState::Escalate { since } => push(BreachKind::Escalated, since, None),
            }
        }
    }
    queue.sort_by_key(|breach| (breach.since, breach.deal_id, breach.kind));
    queue
}

/// The working time a deal has spent in its stage, for the queue's "age in stage" column.
pub fn working_time_in_stage(stage_since: i64, now: i64, account: &Account<'_>) -> i64 {
    working_seconds_between(stage_since, now, account.tz, account.calendar)
}

#[cfg(test)]
mod tests;
