//! Refusals: exactly what closing a deal as lost with a reason must do, and the step machine that resumes it after a partial failure.
//!
//! One refusal is up to five steps, in this order: the lead PATCH (143 + pipeline + reason),
//! the follow-up task, the note with the reason and comment, and, when the reason's rule says so,
//! the copy in the refusal pipeline and the link-back note on the copy. The PATCH comes first
//! because amoCRM requires the status and the reason together; the task comes right after it so
//! a deal is never lost without its follow-up for longer than a retry.
//!
//! After a failure whose outcome is unknown (timeout, 5xx) a step is not simply repeated: the
//! progress asks the shell to look first ([`Lookup`]), using the marker embedded in the texts,
//! so a retry never creates a second task, note or copy.

use crate::dates::deadline_after;
use crate::deal::{Account, DealContext, PlannedTask, STATUS_LOST};
use crate::idempotency::{has_marker, marker, with_marker, MarkerKind};
use crate::settings::Settings;
use crate::text::interpolate;

/// The PATCH that closes the deal as lost (one request: amoCRM needs status and reason together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeadLossPatch {
    pub deal_id: u64,
    pub pipeline_id: u32,
    /// Always 143.
    pub status_id: u32,
    pub loss_reason_id: u64,
}

/// The note on the lost deal, as parts the shell joins with its i18n labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalNote {
    pub deal_id: u64,
    pub reason_name: String,
    /// The manager's comment, trimmed; `None` when empty.
    pub comment: Option<String>,
    pub marker: String,
}

impl RefusalNote {
    /// The note text: `"{reason_label}: {reason}"`, then `"{comment_label}: {comment}"` when there
    /// is a comment, then the marker, one per line.
    pub fn text(&self, reason_label: &str, comment_label: &str) -> String {
        let mut text = format!("{reason_label}: {}", self.reason_name);
        if let Some(comment) = &self.comment {
            text.push_str(&format!("\n{comment_label}: {comment}"));
        }
        text.push('\n');
        text.push_str(&self.marker);
        text
    }
}

/// The copy of the lost deal in the refusal pipeline ("Способ 1" of the article).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalCopy {
    pub name: String,
    pub price: i64,
    pub pipeline_id: u32,
    pub status_id: u32,
    pub responsible_user_id: u64,
    /// Linked on creation: the same contacts (main first) and company as the original.
    pub contact_ids: Vec<u64>,
    pub company_id: Option<u64>,
    /// Added with `tags_to_add`, never replacing tags.
    pub tag: String,
    pub original_deal_id: u64,
    pub marker: String,
}

impl RefusalCopy {
    /// The link-back note on the copy: `"{label}: {origin}/leads/detail/{id}"` and the marker.
    /// `origin` is the account's address, e.g. `https://example.amocrm.ru`.
    pub fn link_back_text(&self, label: &str, origin: &str) -> String {
        format!(
            "{label}: {}/leads/detail/{}\n{}",
            origin.trim_end_matches('/'),
            self.original_deal_id,
            self.marker
        )
    }
}

/// Everything one refusal must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalPlan {
    pub deal_id: u64,
    pub reason_id: u64,
    /// The refusal moment (Unix seconds) the plan was made for.
    pub at: i64,
    /// The marker in the task text and in both notes; stable for this refusal.
    pub marker: String,
    /// `None` when the deal is already lost with this reason (a refusal made outside the card).
    pub lead_patch: Option<LeadLossPatch>,
    pub task: PlannedTask,
    pub note: RefusalNote,
    pub copy: Option<RefusalCopy>,
}

/// Why no plan could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalError {
    /// The deal is not saved yet.
    NewDeal,
    /// No loss reason was chosen.
    NoReason,
}

/// Plans the refusal of `deal` with loss reason `reason_id` and the manager's `comment`.
///
/// `now` is the moment of the refusal: the follow-up deadline counts from it, and it names the
/// refusal in the markers, so a retry must reuse the plan (the backend passes the deal's
/// `closed_at`, which stays the same across webhook redeliveries). `reason_names` lists the
/// account's loss reasons; a reason without a configured rule gets the default for its name.
pub fn refusal_plan(
    deal: &DealContext,
    reason_id: u64,
    comment: &str,
    settings: &Settings,
    now: i64,
    account: &Account<'_>,
    reason_names: &[(u64, &str)],
) -> Result<RefusalPlan, RefusalError> {
    if deal.id == 0 {
        return Err(RefusalError::NewDeal);
    }
    if reason_id == 0 {
        return Err(RefusalError::NoReason);
    }
    let reason_name = reason_names
        .iter()
        .find(|(id, _)| *id == reason_id)
        .map(|(_, name)| *name);
    let rule = settings.refusals.rule_for(reason_id, reason_name);
    let marker = marker(MarkerKind::Refusal, deal.id, now);
    let deal_name = display_name(deal);
    let responsible = rule.responsible.resolve(deal.responsible_user_id);

    let already_lost = deal.status_id == STATUS_LOST && deal.loss_reason_id == Some(reason_id);
    let lead_patch = (!already_lost).then_some(LeadLossPatch {
        deal_id: deal.id,
        pipeline_id: deal.pipeline_id,
        status_id: STATUS_LOST,
        loss_reason_id: reason_id,
    });

    let template = rule
        .task_text
        .as_deref()
        .unwrap_or_else(|| settings.refusals.default_task_text.get(account.lang));
    let time = settings.next_step.default_time;
    let task = PlannedTask {
        deal_id: deal.id,
        text: with_marker(&interpolate(template, &[("deal", &deal_name)]), &marker),
        task_type_id: rule.task_type_id,
        complete_till: deadline_after(
            now,
            rule.delay_working_days,
            time.hour,
            time.minute,
            account.tz,
            account.calendar,
        ),
        responsible_user_id: responsible,
    };

    let comment = comment.trim();
    let note = RefusalNote {
        deal_id: deal.id,
        reason_name: reason_name.map_or_else(|| format!("#{reason_id}"), str::to_owned),
        comment: (!comment.is_empty()).then(|| comment.to_owned()),
        marker: marker.clone(),
    };

    let copy = match rule.copy_to {
        Some(stage) if rule.copy => Some(RefusalCopy {
            name: deal.name.clone(),
            price: deal.price,
            pipeline_id: stage.pipeline_id,
            status_id: stage.status_id,
            responsible_user_id: responsible,
            contact_ids: deal.contact_ids.clone(),
            company_id: deal.company_id,
            tag: settings.refusals.copy_tag.get(account.lang).to_owned(),
            original_deal_id: deal.id,
            marker: marker.clone(),
        }),
        _ => None,
    };

    Ok(RefusalPlan {
        deal_id: deal.id,
        reason_id,
        at: now,
        marker,
        lead_patch,
        task,
        note,
        copy,
    })
}

/// The deal's name for texts, or `#id` when it has none.
pub(crate) fn display_name(deal: &DealContext) -> String {
    if deal.name.trim().is_empty() {
        format!("#{}", deal.id)
    } else {
        deal.name.trim().to_owned()
    }
}

/// One step of a refusal, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefusalStep {
    PatchLead,
    CreateTask,
    AddNote,
    CreateCopy,
    AddCopyNote,
}

impl RefusalStep {
    const ALL: [RefusalStep; 5] = [
        RefusalStep::PatchLead,
        RefusalStep::CreateTask,
        RefusalStep::AddNote,
        RefusalStep::CreateCopy,
        RefusalStep::AddCopyNote,
    ];

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// How to find out whether a step whose request failed was carried out after all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Re-read the deal (`GET /api/v4/leads/{id}`): done when it is in 143 with this reason ([`lead_is_lost_with`]).
    LeadLost { deal_id: u64, loss_reason_id: u64 },
    /// List the deal's tasks: done when one text carries the marker ([`has_marker`]).
    TaskWithMarker { deal_id: u64, marker: String },
    /// List the deal's notes: done when one text carries the marker.
    NoteWithMarker { deal_id: u64, marker: String },
    /// List the leads of the pipeline with exactly this name created at or after `created_from`:
    /// done when one of them carries the tag (its id is the copy).
    CopyLead {
        pipeline_id: u32,
        name: String,
        created_from: i64,
        tag: String,
    },
}

/// What the shell should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefusalAction {
    /// Send the step's request.
    Execute(RefusalStep),
    /// An earlier attempt failed without a clear answer: look before sending it again.
    Check(RefusalStep, Lookup),
}

/// The result of an execution or a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// The request succeeded, or the check found the step done; `id` is the created entity's id
    /// when there is one (the copy's id is needed for its note).
    Done { id: Option<u64> },
    /// The request failed; whether it took effect is unknown.
    Failed,
    /// The check found the step not done: it must be executed.
    NotFound,
}

/// Which steps of a refusal are done, so it can be resumed after a failure or a reload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefusalProgress {
    done: u8,
    /// Steps whose last attempt failed with an unknown outcome.
    uncertain: u8,
    copy_id: Option<u64>,
}

impl RefusalPlan {
    /// The steps this plan needs, in order.
    pub fn steps(&self) -> Vec<RefusalStep> {
        RefusalStep::ALL
            .into_iter()
            .filter(|step| match step {
                RefusalStep::PatchLead => self.lead_patch.is_some(),
                RefusalStep::CreateTask | RefusalStep::AddNote => true,
                RefusalStep::CreateCopy | RefusalStep::AddCopyNote => self.copy.is_some(),
            })
            .collect()
    }

    /// How to check whether `step` was carried out; the copy note needs the copy's id.
    pub fn lookup(&self, step: RefusalStep, copy_id: Option<u64>) -> Option<Lookup> {
        let marker = self.marker.clone();
        Some(match step {
            RefusalStep::PatchLead => Lookup::LeadLost {
                deal_id: self.deal_id,
                loss_reason_id: self.reason_id,
            },
            RefusalStep::CreateTask => Lookup::TaskWithMarker {
                deal_id: self.deal_id,
                marker,
            },
            RefusalStep::AddNote => Lookup::NoteWithMarker {
                deal_id: self.deal_id,
                marker,
            },
            RefusalStep::CreateCopy => {
                let copy = self.copy.as_ref()?;
                Lookup::CopyLead {
                    pipeline_id: copy.pipeline_id,
                    name: copy.name.clone(),
                    created_from: self.at - COPY_CLOCK_SKEW,
                    tag: copy.tag.clone(),
                }
            }
            RefusalStep::AddCopyNote => Lookup::NoteWithMarker {
                deal_id: copy_id?,
                marker,
            },
        })
    }
}

/// How much earlier than the refusal moment a copy may look created: the card's clock is the
/// browser's, the copy's `created_at` is amoCRM's.
pub const COPY_CLOCK_SKEW: i64 = 3600;

/// Whether a re-read deal shows the refusal's PATCH applied.
pub fn lead_is_lost_with(status_id: u32, loss_reason_id: Option<u64>, reason_id: u64) -> bool {
    status_id == STATUS_LOST && loss_reason_id == Some(reason_id)
}

impl RefusalProgress {
    /// Nothing done yet.
    pub fn new() -> RefusalProgress {
        RefusalProgress::default()
    }

    /// Whether `step` is done.
    pub fn is_done(&self, step: RefusalStep) -> bool {
        self.done & step.bit() != 0
    }

    /// The copy's id once it exists.
    pub fn copy_id(&self) -> Option<u64> {
        self.copy_id
    }

    /// The steps done so far, in order (to persist the progress or to tell the manager).
    pub fn done_steps(&self) -> Vec<RefusalStep> {
        RefusalStep::ALL
            .into_iter()
            .filter(|&step| self.is_done(step))
            .collect()
    }

    /// Rebuilds a progress from persisted done steps and copy id.
    pub fn restore(done: &[RefusalStep], copy_id: Option<u64>) -> RefusalProgress {
        let mut progress = RefusalProgress::new();
        for &step in done {
            progress.done |= step.bit();
        }
        progress.copy_id = copy_id;
        progress
    }

    /// The next step of `plan`, or `None` when the refusal is complete.
    pub fn next_step(&self, plan: &RefusalPlan) -> Option<RefusalStep> {
        plan.steps().into_iter().find(|&step| !self.is_done(step))
    }

    /// What to do next: execute the next step, or check it first when its last attempt failed.
    pub fn next_action(&self, plan: &RefusalPlan) -> Option<RefusalAction> {
        let step = self.next_step(plan)?;
        if self.uncertain & step.bit() != 0 {
            if let Some(lookup) = plan.lookup(step, self.copy_id) {
                return Some(RefusalAction::Check(step, lookup));
            }
        }
        Some(RefusalAction::Execute(step))
    }

    /// Records the outcome of executing or checking `step`.
    pub fn record(&mut self, step: RefusalStep, outcome: StepOutcome) {
        match outcome {
            StepOutcome::Done { id } => {
                if step == RefusalStep::CreateCopy {
                    self.copy_id = id.or(self.copy_id);
                    if self.copy_id.is_none() {
                        // The copy's note needs its id: without one, look the copy up again.
                        self.uncertain |= step.bit();
                        return;
                    }
                }
                self.done |= step.bit();
                self.uncertain &= !step.bit();
            }
            StepOutcome::Failed => self.uncertain |= step.bit(),
            StepOutcome::NotFound => self.uncertain &= !step.bit(),
        }
    }

    /// Whether every step of `plan` is done.
    pub fn is_complete(&self, plan: &RefusalPlan) -> bool {
        self.next_step(plan).is_none()
    }
}

/// Whether a task or note text belongs to the refusal of `plan`.
pub fn belongs_to(plan: &RefusalPlan, text: &str) -> bool {
    has_marker(text, &plan.marker)
}

#[cfg(test)]
mod tests;
