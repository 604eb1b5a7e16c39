//! The overdue-payment automation (issue 6): one reminder task for the deal's manager per planned
//! payment and due date, and closing the loop when the payment arrives, moves or disappears.
//!
//! * A planned payment not fully paid (core `allocate`) is overdue from the day after its due date;
//!   its reminder is created on the first pass at or after the payments' default time that day
//!   (the start of the working day, in the account's zone), as core `reminder_task` words it: for
//!   the responsible manager, due the next working day at the default time, marker `#lg-p…`.
//!   Payments that fell overdue more than [`REMINDER_LOOKBACK_SECONDS`] before the first full scan
//!   are only listed (the metrics), as the other automations treat what was broken at install.
//! * Creating it is an idempotent effect under that marker, and a task of the deal that already
//!   carries the marker (the card's one-click reminder) is adopted instead of duplicated.
//! * Each reminder is a `payment_reminders` row. When its planned payment is fully paid the task
//!   is completed with a result text and the deal gets one note; when the due date changed or the
//!   plan was deleted the task is completed without a note, and a later overdue gets a new task.

use std::collections::{BTreeMap, HashMap};

use amo_api::TaskPatch;
use leakguard_core::dates::utc_of_local;
use leakguard_core::deal::STATUS_LOST;
use leakguard_core::idempotency::{has_marker, marker, MarkerKind};
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{deal_payments, record_name, Record, RecordKind};
use leakguard_core::payments::{
    allocate, overdue_payments, reminder_task, Currency, DealLedger, DealPayments, OverduePayment,
};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;

use super::env::AccountEnv;
use super::plan::deal_context;
use crate::amo::AmoError;
use crate::audit::{self, Entry};
use crate::copy::{self, LeadRow, TaskRow};
use crate::db::{now_ms, Db};
use crate::jobs::effects;
use crate::jobs::handlers::{JobContext, JobError};
use crate::payments;

/// How long before the automations' start (the first full scan) a payment may have fallen overdue
/// and still get its reminder: older debts at install are listed in the metrics, not turned into a
/// flood of tasks, like the other automations' breaches.
pub const REMINDER_LOOKBACK_SECONDS: i64 = 7 * 86_400;

fn internal(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// Why a reminder was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closing {
    /// The planned payment is fully paid: the task is completed and the deal gets a note.
    Paid,
    /// The planned payment's due date changed: a new overdue gets a new reminder.
    Rescheduled,
    /// The planned payment was deleted.
    Removed,
}

impl Closing {
    pub const fn code(self) -> &'static str {
        match self {
            Closing::Paid => "paid",
            Closing::Rescheduled => "rescheduled",
            Closing::Removed => "removed",
        }
    }

    /// The task's result text.
    fn result(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Closing::Paid, Lang::Ru) => "Платёж получен",
            (Closing::Paid, Lang::En) => "The payment was received",
            (Closing::Paid, Lang::Es) => "Pago recibido",
            (Closing::Paid, Lang::Pt) => "Pagamento recebido",
            (Closing::Rescheduled, Lang::Ru) => "Срок платежа изменён",
            (Closing::Rescheduled, Lang::En) => "The due date changed",
            (Closing::Rescheduled, Lang::Es) => "La fecha de vencimiento cambió",
            (Closing::Rescheduled, Lang::Pt) => "O vencimento mudou",
            (Closing::Removed, Lang::Ru) => "Плановый платёж удалён",
            (Closing::Removed, Lang::En) => "The planned payment was deleted",
            (Closing::Removed, Lang::Es) => "El pago previsto se eliminó",
            (Closing::Removed, Lang::Pt) => "O pagamento previsto foi excluído",
        }
    }
}

/// The note a deal gets when an overdue planned payment is paid.
fn paid_note(plan: &Record, currency: Currency, lang: Lang) -> String {
    let plan = record_name(plan, currency, lang, None);
    let lead = match lang {
        Lang::Ru => "LeakGuard: просроченный платёж оплачен",
        Lang::En => "LeakGuard: the overdue payment is paid",
        Lang::Es => "LeakGuard: el pago vencido está pagado",
        Lang::Pt => "LeakGuard: o pagamento vencido foi pago",
    };
    format!("{lead} — {plan}.")
}

/// The reminder marker of a planned payment due on `due_day` (days since the epoch), as core
/// `reminder_task` writes it.
pub fn reminder_marker(planned_id: u64, due_day: i64) -> String {
    marker(MarkerKind::PaymentReminder, planned_id, due_day)
}

/// What the decision needs of one account's payments.
pub struct Ledgers {
    pub currency: Currency,
    pub by_lead: BTreeMap<u64, Vec<Record>>,
    pub payments: BTreeMap<u64, DealPayments>,
}

impl Ledgers {
    /// The copy's records of the account.
    pub async fn load(db: &Db, env: &AccountEnv) -> anyhow::Result<Ledgers> {
        let currency = payments::currency_of(&env.account);
        let by_lead = payments::records(db, env.account.account_id).await?;
        let payments = by_lead
            .iter()
            .map(|(&lead, records)| (lead, deal_payments(records, currency)))
            .collect();
        Ok(Ledgers {
            currency,
            by_lead,
            payments,
        })
    }

    /// Every overdue planned payment of the deals in `leads` (deleted and lost deals are left
    /// out) at `now`, the longest overdue first.
    pub fn overdue(&self, leads: &[LeadRow], env: &AccountEnv, now: i64) -> Vec<OverduePayment> {
        let deals: Vec<DealLedger<'_>> = leads
            .iter()
            .filter(|lead| !lead.is_deleted && lead.status_id != i64::from(STATUS_LOST))
            .filter_map(|lead| {
                self.payments
                    .get(&(lead.id as u64))
                    .map(|payments| DealLedger {
                        deal_id: lead.id as u64,
                        responsible_user_id: lead.responsible_user_id as u64,
                        payments,
                    })
            })
            .collect();
        overdue_payments(&deals, now, &env.zone)
    }

    /// The planned record `planned_id` of deal `lead_id`.
    fn plan(&self, lead_id: u64, planned_id: u64) -> Option<&Record> {
        self.by_lead
            .get(&lead_id)?
            .iter()
            .find(|record| record.id == planned_id && record.kind == RecordKind::Plan)
    }

    /// Whether planned payment `planned_id` of deal `lead_id` is fully covered.
    fn is_paid(&self, lead_id: u64, planned_id: u64) -> bool {
        self.payments.get(&lead_id).is_some_and(|payments| {
            allocate(&payments.planned, &payments.actual)
                .rows
                .iter()
                .any(|row| row.id == planned_id && row.remaining == 0)
        })
    }
}

/// One open reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenReminder {
    pub planned_id: u64,
    pub due_day: i64,
    pub lead_id: u64,
    pub task_id: u64,
}

/// The account's reminders by planned payment and due day, with whether each is still open.
pub async fn reminders(
    db: &Db,
    account_id: i64,
) -> anyhow::Result<HashMap<(u64, i64), (u64, bool)>> {
    let rows = sqlx::query(
        "SELECT planned_id, due_day, task_id, state FROM payment_reminders WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let planned: i64 = row.try_get("planned_id")?;
            let task: i64 = row.try_get("task_id")?;
            let state: String = row.try_get("state")?;
            Ok((
                (planned as u64, row.try_get("due_day")?),
                (task as u64, state == "open"),
            ))
        })
        .collect()
}

async fn open_reminders(db: &Db, account_id: i64) -> anyhow::Result<Vec<OpenReminder>> {
    let rows = sqlx::query(
        "SELECT planned_id, due_day, lead_id, task_id FROM payment_reminders \
         WHERE account_id = $1 AND state = 'open' ORDER BY created_at, planned_id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OpenReminder {
                planned_id: row.try_get::<i64, _>("planned_id")? as u64,
                due_day: row.try_get("due_day")?,
                lead_id: row.try_get::<i64, _>("lead_id")? as u64,
                task_id: row.try_get::<i64, _>("task_id")? as u64,
            })
        })
        .collect()
}

/// Checks the overdue payments and the open reminders of the account; errors of single actions
/// go to `keep` so that one failure does not stop the others.
pub async fn run(
    ctx: &JobContext,
    env: &AccountEnv,
    leads: &[LeadRow],
    tasks: &[TaskRow],
    now: i64,
    keep: &mut impl FnMut(Result<(), JobError>),
) -> Result<(), JobError> {
    if payments::store_of(&env.settings).is_none() {
        return Ok(());
    }
    let account_id = env.account.account_id;
    let ledgers = Ledgers::load(&ctx.db, env).await.map_err(internal)?;
    let known = reminders(&ctx.db, account_id).await.map_err(internal)?;
    let by_id: HashMap<i64, &LeadRow> = leads.iter().map(|lead| (lead.id, lead)).collect();
    let time = env.settings.payments.default_time;
    let oldest = env
        .account
        .automation_from
        .map_or(i64::MIN, |from| from - REMINDER_LOOKBACK_SECONDS);
    for overdue in ledgers.overdue(leads, env, now) {
        let due_day = overdue.due.days_since_epoch();
        if known.contains_key(&(overdue.planned_id, due_day)) {
            continue;
        }
        // The morning after the due date, at the default time, in the account's zone.
        let from = utc_of_local(overdue.due.add_days(1), time.hour, time.minute, &env.zone);
        if now < from || from < oldest {
            continue;
        }
        let Some(lead) = by_id.get(&(overdue.deal_id as i64)) else {
            continue;
        };
        keep(remind(ctx, env, lead, tasks, &overdue, now).await);
    }
    for reminder in open_reminders(&ctx.db, account_id)
        .await
        .map_err(internal)?
    {
        let closing = match ledgers.plan(reminder.lead_id, reminder.planned_id) {
            None => Closing::Removed,
            Some(plan) if plan.date.days_since_epoch() != reminder.due_day => Closing::Rescheduled,
            Some(_) if ledgers.is_paid(reminder.lead_id, reminder.planned_id) => Closing::Paid,
            Some(_) => continue,
        };
        let plan = ledgers.plan(reminder.lead_id, reminder.planned_id);
        let open = tasks.iter().any(|task| task.id == reminder.task_id as i64);
        keep(
            close(
                ctx,
                env,
                &reminder,
                closing,
                plan,
                open,
                ledgers.currency,
                now,
            )
            .await,
        );
    }
    Ok(())
}

/// Creates (or adopts) the reminder task of one overdue planned payment and records it.
async fn remind(
    ctx: &JobContext,
    env: &AccountEnv,
    lead: &LeadRow,
    tasks: &[TaskRow],
    overdue: &OverduePayment,
    now: i64,
) -> Result<(), JobError> {
    let account_id = env.account.account_id;
    let due_day = overdue.due.days_since_epoch();
    let marker = reminder_marker(overdue.planned_id, due_day);
    let adopted = tasks
        .iter()
        .find(|task| task.lead_id == lead.id && has_marker(&task.text, &marker))
        .map(|task| task.id as u64);
    let (task_id, complete_till, source) = match adopted {
        Some(id) => {
            let key = effects::effect_key(account_id, &marker);
            let ours = effects::adopt(&ctx.db, account_id, &key, "task", id as i64).await?;
            (id, None, if ours { audit::SOURCE_UNKNOWN } else { "card" })
        }
        None => {
            let task = reminder_task(
                &deal_context(lead),
                overdue,
                &env.settings.payments,
                now,
                &env.rules(),
            );
            let id = effects::ensure_task(
                &ctx.db,
                &ctx.amo,
                account_id,
                &marker,
                ctx.effect_lease_ms,
                super::new_task(&task),
            )
            .await?;
            (id, Some(task.complete_till), audit::SOURCE_UNKNOWN)
        }
    };
    let mut tx = ctx.db.begin_write().await.map_err(internal)?;
    let inserted = sqlx::query(
        "INSERT INTO payment_reminders (account_id, planned_id, due_day, lead_id, task_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6) ON CONFLICT (account_id, planned_id, due_day) DO NOTHING",
    )
    .bind(account_id)
    .bind(overdue.planned_id as i64)
    .bind(due_day)
    .bind(lead.id)
    .bind(task_id as i64)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(internal)?
    .rows_affected()
        == 1;
    if inserted {
        let entry = Entry {
            at: now,
            kind: "payment_reminder".into(),
            deal_id: lead.id,
            source: source.into(),
            detail: json!({
                "task_id": task_id,
                "planned_id": overdue.planned_id,
                "due": overdue.due.to_string(),
                "outstanding": overdue.amount,
                "days_overdue": overdue.days_overdue,
                "complete_till": complete_till,
            }),
        };
        audit::record(&mut *tx, account_id, &entry)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    if inserted {
        ctx.metrics.automation_action("payment_reminder", 1);
    }
    Ok(())
}

/// Completes a reminder's task (when it is still open), adds the paid note, and closes the row.
#[allow(clippy::too_many_arguments)]
async fn close(
    ctx: &JobContext,
    env: &AccountEnv,
    reminder: &OpenReminder,
    closing: Closing,
    plan: Option<&Record>,
    task_open: bool,
    currency: Currency,
    now: i64,
) -> Result<(), JobError> {
    let account_id = env.account.account_id;
    if task_open {
        let patch = TaskPatch::complete(Some(closing.result(env.lang).to_owned()));
        let path = format!("/api/v4/tasks/{}", reminder.task_id);
        match ctx
            .amo
            .send(account_id, Method::PATCH, &path, Some(&patch))
            .await
        {
            // A task deleted meanwhile needs no completing.
            Ok(_) | Err(AmoError::Status { status: 404, .. }) => {}
            Err(error) => return Err(error.into()),
        }
        copy::remove_task(&ctx.db.pool, account_id, reminder.task_id as i64)
            .await
            .map_err(internal)?;
    }
    let mut note_id = None;
    if let (Closing::Paid, Some(plan)) = (closing, plan) {
        let marker = reminder_marker(reminder.planned_id, reminder.due_day);
        let text = paid_note(plan, currency, env.lang);
        note_id = Some(
            effects::ensure_note(
                &ctx.db,
                &ctx.amo,
                account_id,
                reminder.lead_id,
                &marker,
                ctx.effect_lease_ms,
                &text,
            )
            .await?,
        );
    }
    let mut tx = ctx.db.begin_write().await.map_err(internal)?;
    let closed = sqlx::query(
        "UPDATE payment_reminders SET state = 'closed', closed_reason = $1, closed_at = $2 \
         WHERE account_id = $3 AND planned_id = $4 AND due_day = $5 AND state = 'open'",
    )
    .bind(closing.code())
    .bind(now_ms())
    .bind(account_id)
    .bind(reminder.planned_id as i64)
    .bind(reminder.due_day)
    .execute(&mut *tx)
    .await
    .map_err(internal)?
    .rows_affected()
        == 1;
    if closed {
        let entry = Entry {
            at: now,
            kind: "payment_reminder_closed".into(),
            deal_id: reminder.lead_id as i64,
            source: audit::SOURCE_UNKNOWN.into(),
            detail: json!({
                "task_id": reminder.task_id,
                "planned_id": reminder.planned_id,
                "reason": closing.code(),
                "note_id": note_id,
                "task_was_open": task_open,
            }),
        };
        audit::record(&mut *tx, account_id, &entry)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    if closed {
        ctx.metrics.automation_action("payment_reminder_closed", 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::Date;

    #[test]
    fn the_marker_names_the_plan_and_its_due_day() {
        let due = Date::from_ymd(2026, 6, 11).unwrap();
        assert_eq!(
            reminder_marker(77, due.days_since_epoch()),
            format!("#lg-p77-{}", due.days_since_epoch())
        );
    }

    #[test]
    fn the_paid_note_names_the_planned_payment() {
        let plan = Record {
            id: 5,
            lead_id: 12,
            kind: RecordKind::Plan,
            date: Date::from_ymd(2026, 12, 27).unwrap(),
            amount: 5_000_000,
            planned_id: None,
            comment: String::new(),
        };
        let rub = Currency::from_code("RUB").unwrap();
        assert_eq!(
            paid_note(&plan, rub, Lang::Ru),
            "LeakGuard: просроченный платёж оплачен — План: 50\u{a0}000,00\u{a0}₽ до 27.12.2026 · сделка #12."
        );
        assert_eq!(
            Closing::Rescheduled.result(Lang::En),
            "The due date changed"
        );
    }
}
