//! The automations (issue 9) as one pass over an account's synced copy: [`plan`] decides with the
//! core's rules, this module carries the actions out in amoCRM, idempotently and within the
//! account's request budget.
//!
//! * Tags go in batches of [`TAG_BATCH`] leads per `PATCH /api/v4/leads`, with `tags_to_add` /
//!   `tags_to_delete` only (adding or removing a tag twice is harmless).
//! * Every other action is a composite effect under its core marker (`#lg-w…`, `#lg-s…`, `#lg-o…`,
//!   `#lg-m…`, `#lg-r…`): once finished it is never repeated, and each of its tasks, notes and copies
//!   is itself an idempotent effect, so a pass that dies half-way resumes without duplicates.
//! * Overdue planned payments get one reminder task each, closed when paid ([`payments`]).
//! * One pass per account at a time (a database lease); the pass runs on the schedule and soon after
//!   webhooks.

pub mod env;
pub mod payments;
pub mod plan;

use std::collections::HashMap;

use amo_api::{EntityType, LeadPatch, NewLead, NewTask, TagRef};
use leakguard_core::automation::{
    escalation_task, missing_reason_task, watchdog_task, EscalationCause, TagChange,
};
use leakguard_core::deal::PlannedTask;
use leakguard_core::idempotency::{marker, MarkerKind};
use leakguard_core::locale::Lang;
use leakguard_core::refusal::{
    refusal_plan, RefusalProgress, RefusalStep, StepOutcome, COPY_CLOCK_SKEW,
};
use leakguard_core::settings::Supervisor;
use reqwest::Method;
use serde_json::json;

use crate::accounts::INSTALLED;
use crate::audit::{self, Entry};
use crate::copy::{self, LeadRow, TagRow};
use crate::jobs::effects::{self, CopyLookup};
use crate::jobs::handlers::{JobContext, JobError};
use crate::leases;
use env::AccountEnv;
use plan::{deal_context, Action, Moment};

/// Leads per tag `PATCH` (amoCRM accepts 250 and recommends at most 50, §1.5).
pub const TAG_BATCH: usize = 50;
/// How long one pass holds its account's lease before another may start (renewed as it goes).
const PASS_LEASE_MS: i64 = 120_000;

fn internal(error: anyhow::Error) -> JobError {
    JobError::Retry(error.to_string())
}

/// Texts LeakGuard writes into notes, in the account's language.
struct Labels {
    reason: &'static str,
    comment: &'static str,
    original: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::Ru => Labels {
            reason: "Причина отказа",
            comment: "Комментарий",
            original: "Исходная сделка",
        },
        Lang::En => Labels {
            reason: "Loss reason",
            comment: "Comment",
            original: "Original deal",
        },
        Lang::Es => Labels {
            reason: "Motivo de pérdida",
            comment: "Comentario",
            original: "Negocio original",
        },
        Lang::Pt => Labels {
            reason: "Motivo da perda",
            comment: "Comentário",
            original: "Negócio original",
        },
    }
}

/// Runs one automation pass for the account (deferred while another pass holds it).
pub async fn pass(ctx: &JobContext, account_id: i64) -> Result<(), JobError> {
    let name = format!("automation:{account_id}");
    let owner = uuid::Uuid::new_v4().to_string();
    if !leases::acquire(&ctx.db, &name, &owner, PASS_LEASE_MS)
        .await
        .map_err(internal)?
    {
        return Err(JobError::Defer {
            after_ms: 2000,
            reason: "another automation pass is running for the account".into(),
        });
    }
    let outcome = run_pass(ctx, account_id, &name, &owner).await;
    if let Err(error) = leases::release(&ctx.db, &name, &owner).await {
        tracing::warn!(%error, "releasing the automation lease failed");
    }
    outcome
}

async fn run_pass(
    ctx: &JobContext,
    account_id: i64,
    name: &str,
    owner: &str,
) -> Result<(), JobError> {
    let env = AccountEnv::load(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    let Some(automation_from) = env.account.automation_from else {
        // Nothing to decide on before the first full scan.
        return Ok(());
    };
    if env.account.status != INSTALLED {
        return Ok(());
    }
    let now = ctx.clock.now();
    let leads = copy::leads(&ctx.db, account_id).await.map_err(internal)?;
    let tasks = copy::tasks(&ctx.db, account_id).await.map_err(internal)?;
    let moment = Moment {
        now,
        automation_from,
        lost_settle_seconds: ctx.lost_settle_seconds,
    };
    let actions = plan::plan(&leads, &tasks, &env.settings, moment, &env.rules());
    let by_id: HashMap<i64, &LeadRow> = leads.iter().map(|lead| (lead.id, lead)).collect();
    let mut first_error = None;
    let mut keep = |result: Result<(), JobError>| match result {
        Ok(()) => {}
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(account_id, %reason, "an automation action failed for good");
        }
        Err(error) => {
            tracing::warn!(account_id, %error, "an automation action will be retried");
            first_error.get_or_insert(error);
        }
    };

    let (tags, others): (Vec<Action>, Vec<Action>) = actions
        .into_iter()
        .partition(|action| matches!(action, Action::Tag { .. }));
    let tag = env.settings.stuck.tag.get(env.lang).to_owned();
    for change in [TagChange::Add, TagChange::Remove] {
        let ids: Vec<i64> = tags
            .iter()
            .filter_map(|action| match action {
                Action::Tag { lead_id, change: c } if *c == change => Some(*lead_id),
                _ => None,
            })
            .collect();
        for batch in ids.chunks(TAG_BATCH) {
            keep(apply_tags(ctx, &env, batch, change, &tag, &by_id, now).await);
            renew(ctx, name, owner).await;
        }
    }
    for action in &others {
        let lead_id = match action {
            Action::Watchdog { lead_id, .. }
            | Action::Escalate { lead_id, .. }
            | Action::Refusal { lead_id, .. }
            | Action::MissingReason { lead_id, .. }
            | Action::Tag { lead_id, .. } => *lead_id,
        };
        let Some(lead) = by_id.get(&lead_id) else {
            continue;
        };
        keep(execute(ctx, &env, action, lead, now).await);
        renew(ctx, name, owner).await;
    }
    let checked = payments::run(ctx, &env, &leads, &tasks, now, &mut keep).await;
    keep(checked);
    first_error.map_or(Ok(()), Err)
}

async fn renew(ctx: &JobContext, name: &str, owner: &str) {
    if let Err(error) = leases::acquire(&ctx.db, name, owner, PASS_LEASE_MS).await {
        tracing::warn!(%error, "renewing the automation lease failed");
    }
}

/// Adds or removes the stuck tag on a batch of leads with one request.
async fn apply_tags(
    ctx: &JobContext,
    env: &AccountEnv,
    ids: &[i64],
    change: TagChange,
    tag: &str,
    by_id: &HashMap<i64, &LeadRow>,
    now: i64,
) -> Result<(), JobError> {
    let account_id = env.account.account_id;
    let patches: Vec<LeadPatch> = ids
        .iter()
        .map(|&id| {
            let patch = LeadPatch::new();
            let patch = match change {
                TagChange::Add => patch.add_tag(TagRef::name(tag)),
                TagChange::Remove => patch.delete_tag(TagRef::name(tag)),
            };
            patch.for_lead(id as u64)
        })
        .collect();
    ctx.amo
        .send(account_id, Method::PATCH, "/api/v4/leads", Some(&patches))
        .await?;
    let kind = match change {
        TagChange::Add => "stuck_tag_added",
        TagChange::Remove => "stuck_tag_removed",
    };
    // The copy and the audit log of the whole batch in one transaction.
    let mut tx = ctx.db.begin_write().await.map_err(|e| internal(e.into()))?;
    for &id in ids {
        let Some(lead) = by_id.get(&id) else { continue };
        let mut tags: Vec<TagRow> = lead
            .tags
            .iter()
            .filter(|existing| !existing.name.trim().eq_ignore_ascii_case(tag.trim()))
            .cloned()
            .collect();
        if change == TagChange::Add {
            tags.push(TagRow {
                id: None,
                name: tag.to_owned(),
            });
        }
        copy::set_tags(&mut *tx, account_id, id, &tags)
            .await
            .map_err(internal)?;
        let entry = Entry {
            at: now,
            kind: kind.into(),
            deal_id: id,
            source: audit::SOURCE_UNKNOWN.into(),
            detail: json!({ "tag": tag, "stage_since": lead.stage_since }),
        };
        audit::record(&mut *tx, account_id, &entry)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(|e| internal(e.into()))?;
    ctx.metrics.automation_action(kind, ids.len() as u64);
    Ok(())
}

/// The task a core plan describes, as amoCRM's create request.
fn new_task(task: &PlannedTask) -> NewTask {
    NewTask {
        task_type_id: Some(task.task_type_id),
        responsible_user_id: Some(task.responsible_user_id).filter(|&id| id != 0),
        entity_type: Some(EntityType::Leads),
        ..NewTask::for_lead(task.deal_id, task.text.clone(), task.complete_till)
    }
}

/// Carries out one non-tag action as a composite effect under its marker.
async fn execute(
    ctx: &JobContext,
    env: &AccountEnv,
    action: &Action,
    lead: &LeadRow,
    now: i64,
) -> Result<(), JobError> {
    let account_id = env.account.account_id;
    let deal = deal_context(lead);
    let deal_id = lead.id as u64;
    let action_marker = match *action {
        Action::Watchdog { since, .. } => marker(MarkerKind::Watchdog, deal_id, since),
        Action::Escalate {
            cause: EscalationCause::Stuck { stage_since },
            ..
        } => marker(MarkerKind::StuckEscalation, deal_id, stage_since),
        Action::Escalate {
            cause:
                EscalationCause::OverdueTask {
                    task_id,
                    complete_till,
                },
            ..
        } => marker(MarkerKind::OverdueTask, task_id, complete_till),
        Action::Refusal { closed_at, .. } => marker(MarkerKind::Refusal, deal_id, closed_at),
        Action::MissingReason { closed_at, .. } => {
            marker(MarkerKind::MissingReason, deal_id, closed_at)
        }
        Action::Tag { .. } => return Ok(()),
    };
    let key = effects::kind_key(account_id, "action", &action_marker);
    let lease = ctx.effect_lease_ms;
    if effects::begin(&ctx.db, account_id, &key, "action", lease)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let (kind, source, detail, result_id) =
        match carry_out(ctx, env, action, lead, &deal, &action_marker, now).await {
            Ok(Some((kind, source, detail))) => (kind, source, detail, 0),
            Ok(None) => return Ok(()),
            // An action amoCRM refuses for good (a deleted user, a missing right) is given up
            // once, with an audit row, rather than retried on every pass.
            Err(JobError::Permanent(reason)) => {
                tracing::warn!(account_id, deal_id, %reason, "an automation action was given up");
                let detail = json!({ "marker": action_marker, "error": reason });
                (
                    "action_failed",
                    audit::SOURCE_UNKNOWN.to_owned(),
                    detail,
                    -1,
                )
            }
            Err(error) => return Err(error),
        };
    let entry = Entry {
        at: now,
        kind: kind.into(),
        deal_id: lead.id,
        source,
        detail,
    };
    audit::record(&ctx.db.pool, account_id, &entry)
        .await
        .map_err(internal)?;
    ctx.metrics.automation_action(kind, 1);
    effects::finish(&ctx.db, &key, result_id).await
}

/// Does one action's work; returns the audit kind, source and detail, or `None` when it cannot be
/// done yet (an escalation group without an active user) and stays due.
async fn carry_out(
    ctx: &JobContext,
    env: &AccountEnv,
    action: &Action,
    lead: &LeadRow,
    deal: &leakguard_core::deal::DealContext,
    action_marker: &str,
    now: i64,
) -> Result<Option<(&'static str, String, serde_json::Value)>, JobError> {
    let account_id = env.account.account_id;
    let deal_id = lead.id as u64;
    let lease = ctx.effect_lease_ms;
    let settings = &env.settings;
    let done = match *action {
        Action::Watchdog { since, .. } => {
            let task = watchdog_task(deal, since, settings, now, &env.rules());
            let id = effects::ensure_task(
                &ctx.db,
                &ctx.amo,
                account_id,
                action_marker,
                lease,
                new_task(&task),
            )
            .await?;
            let source = lead
                .no_task_source
                .clone()
                .unwrap_or_else(|| audit::SOURCE_UNKNOWN.into());
            (
                "watchdog",
                source,
                json!({ "task_id": id, "since": since, "complete_till": task.complete_till }),
            )
        }
        Action::Escalate { cause, .. } => {
            let Some(supervisor) = supervisor_of(ctx, env).await? else {
                tracing::warn!(
                    account_id,
                    "escalation is due but the supervisor group has no active user"
                );
                return Ok(None);
            };
            let task = escalation_task(deal, cause, supervisor, settings, now, &env.rules());
            let id = effects::ensure_task(
                &ctx.db,
                &ctx.amo,
                account_id,
                action_marker,
                lease,
                new_task(&task),
            )
            .await?;
            effects::ensure_note(
                &ctx.db,
                &ctx.amo,
                account_id,
                deal_id,
                action_marker,
                lease,
                &task.text,
            )
            .await?;
            let (kind, detail) = match cause {
                EscalationCause::Stuck { stage_since } => (
                    "stuck_escalation",
                    json!({ "task_id": id, "stage_since": stage_since, "supervisor": supervisor }),
                ),
                EscalationCause::OverdueTask {
                    task_id,
                    complete_till,
                } => (
                    "overdue_escalation",
                    json!({ "task_id": id, "overdue_task_id": task_id, "complete_till": complete_till, "supervisor": supervisor }),
                ),
            };
            (kind, audit::SOURCE_UNKNOWN.to_owned(), detail)
        }
        Action::MissingReason { closed_at, .. } => {
            let task = missing_reason_task(deal, closed_at, settings, now, &env.rules());
            let id = effects::ensure_task(
                &ctx.db,
                &ctx.amo,
                account_id,
                action_marker,
                lease,
                new_task(&task),
            )
            .await?;
            (
                "missing_reason",
                audit::SOURCE_UNKNOWN.to_owned(),
                json!({ "task_id": id, "closed_at": closed_at }),
            )
        }
        Action::Refusal {
            reason_id,
            closed_at,
            ..
        } => {
            let detail = lost_anywhere(ctx, env, lead, reason_id, closed_at, action_marker).await?;
            ("lost_anywhere", audit::SOURCE_UNKNOWN.to_owned(), detail)
        }
        Action::Tag { .. } => return Ok(None),
    };
    Ok(Some(done))
}

/// The user an escalation goes to: the chosen user, or the first active user of the chosen group.
async fn supervisor_of(ctx: &JobContext, env: &AccountEnv) -> Result<Option<u64>, JobError> {
    Ok(match env.settings.escalation.supervisor {
        None => None,
        Some(Supervisor::User { id }) => Some(id),
        Some(Supervisor::Group { id }) => copy::users(&ctx.db, env.account.account_id)
            .await
            .map_err(internal)?
            .values()
            .filter(|user| user.is_active && user.group_id == id as i64)
            .map(|user| user.id as u64)
            .min(),
    })
}

/// Whether a refusal made in the card already handled this loss: one of the deal's tasks carries a
/// refusal marker of the deal (other than `ours`) from around `closed_at`.
fn card_refusal(texts: &[String], deal_id: u64, closed_at: i64, ours: &str) -> bool {
    let prefix = format!("#lg-r{deal_id}-");
    texts.iter().any(|text| {
        text.match_indices(&prefix).any(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let whole = &text[at..at + prefix.len() + digits.len()];
            whole != ours
                && digits
                    .parse::<i64>()
                    .is_ok_and(|occasion| (occasion - closed_at).abs() <= COPY_CLOCK_SKEW)
        })
    })
}

/// "Lost anywhere": the reason's refusal plan, exactly as the card's picker would carry it out,
/// unless the card did it already.
async fn lost_anywhere(
    ctx: &JobContext,
    env: &AccountEnv,
    lead: &LeadRow,
    reason_id: u64,
    closed_at: i64,
    ours: &str,
) -> Result<serde_json::Value, JobError> {
    let account_id = env.account.account_id;
    let deal_id = lead.id as u64;
    let lease = ctx.effect_lease_ms;
    let existing = effects::tasks_of_lead(&ctx.amo, account_id, deal_id).await?;
    let texts: Vec<String> = existing.into_iter().map(|task| task.text).collect();
    if card_refusal(&texts, deal_id, closed_at, ours) {
        return Ok(json!({ "handled_by": "card", "closed_at": closed_at }));
    }
    let reasons = copy::loss_reasons(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    let names: Vec<(u64, &str)> = reasons
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    let mut deal = deal_context(lead);
    let make = |deal: &leakguard_core::deal::DealContext| {
        refusal_plan(
            deal,
            reason_id,
            "",
            &env.settings,
            closed_at,
            &env.rules(),
            &names,
        )
        .map_err(|error| JobError::Permanent(format!("no refusal plan: {error:?}")))
    };
    let mut plan = make(&deal)?;
    if plan.copy.is_some() {
        // The copy links the same contacts and company: read them once.
        let path = format!("/api/v4/leads/{deal_id}?with=contacts");
        if let Some(full) = ctx.amo.get::<amo_api::Lead>(account_id, &path).await? {
            let mut contacts = full.embedded.contacts.clone();
            contacts.sort_by_key(|contact| !contact.is_main);
            deal.contact_ids = contacts.iter().map(|contact| contact.id).collect();
            deal.company_id = full.embedded.companies.first().map(|company| company.id);
            plan = make(&deal)?;
        }
    }
    let labels = labels(env.lang);
    let mut progress = RefusalProgress::new();
    while let Some(step) = progress.next_step(&plan) {
        let id = match step {
            // The deal is lost with this reason already; the card's PATCH is not needed.
            RefusalStep::PatchLead => None,
            RefusalStep::CreateTask => Some(
                effects::ensure_task(
                    &ctx.db,
                    &ctx.amo,
                    account_id,
                    &plan.marker,
                    lease,
                    new_task(&plan.task),
                )
                .await?,
            ),
            RefusalStep::AddNote => {
                let text = plan.note.text(labels.reason, labels.comment);
                Some(
                    effects::ensure_note(
                        &ctx.db,
                        &ctx.amo,
                        account_id,
                        deal_id,
                        &plan.marker,
                        lease,
                        &text,
                    )
                    .await?,
                )
            }
            RefusalStep::CreateCopy => {
                let copy = plan
                    .copy
                    .as_ref()
                    .expect("the plan has a copy step only with a copy");
                let new = NewLead {
                    name: Some(copy.name.clone()),
                    price: Some(copy.price),
                    pipeline_id: Some(copy.pipeline_id),
                    status_id: Some(copy.status_id),
                    responsible_user_id: Some(copy.responsible_user_id).filter(|&id| id != 0),
                    embedded: amo_api::leads::NewLeadEmbedded {
                        contacts: copy
                            .contact_ids
                            .iter()
                            .enumerate()
                            .map(|(index, &id)| amo_api::leads::ContactLink {
                                id,
                                is_main: Some(index == 0),
                            })
                            .collect(),
                        companies: copy
                            .company_id
                            .map(|id| amo_api::leads::CompanyLink { id })
                            .into_iter()
                            .collect(),
                        tags: vec![TagRef::name(copy.tag.clone())],
                    },
                    request_id: Some(plan.marker.clone()),
                };
                let lookup = CopyLookup {
                    pipeline_id: copy.pipeline_id,
                    name: copy.name.clone(),
                    created_from: closed_at - COPY_CLOCK_SKEW,
                    tag: copy.tag.clone(),
                };
                Some(
                    effects::ensure_copy(
                        &ctx.db,
                        &ctx.amo,
                        account_id,
                        &plan.marker,
                        lease,
                        new,
                        &lookup,
                    )
                    .await?,
                )
            }
            RefusalStep::AddCopyNote => {
                let copy = plan
                    .copy
                    .as_ref()
                    .expect("the plan has a copy note only with a copy");
                let copy_id = progress
                    .copy_id()
                    .ok_or_else(|| JobError::Retry("the copy's id is unknown".into()))?;
                let text = copy.link_back_text(labels.original, &env.account.base_url);
                Some(
                    effects::ensure_note(
                        &ctx.db,
                        &ctx.amo,
                        account_id,
                        copy_id,
                        &plan.marker,
                        lease,
                        &text,
                    )
                    .await?,
                )
            }
        };
        progress.record(step, StepOutcome::Done { id });
    }
    Ok(json!({
        "reason_id": reason_id,
        "closed_at": closed_at,
        "steps": progress.done_steps().iter().map(|step| format!("{step:?}")).collect::<Vec<_>>(),
        "copy_id": progress.copy_id(),
        "complete_till": plan.task.complete_till,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_refusal_is_recognised_by_its_marker() {
        let ours = "#lg-r5-1000";
        let texts = vec!["Follow up: X #lg-r5-995".to_owned()];
        assert!(card_refusal(&texts, 5, 1000, ours));
        assert!(!card_refusal(&[format!("Follow up {ours}")], 5, 1000, ours));
        assert!(!card_refusal(&["#lg-r5-1".to_owned()], 5, 1_000_000, ours));
        assert!(!card_refusal(&["#lg-r55-1000".to_owned()], 5, 1000, ours));
        assert!(!card_refusal(&["Call".to_owned()], 5, 1000, ours));
    }
}
