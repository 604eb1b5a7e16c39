//! Payments of a deal: schedules, allocation of actual payments, totals, overdue payments, the monthly margin plan, the stage gate and who may edit.
//!
//! All amounts are integer minor units of the account currency (kopecks, cents); dates are local
//! dates in the account's time zone. Nothing here uses floating point.

mod money;
pub mod store;

pub use money::{format_money, parse_amount, Currency, Money, ParseAmountError};

use std::collections::BTreeMap;

use crate::dates::{add_months, deadline_after, local_date_of, Date, UtcOffset, YearMonth};
use crate::deal::{Account, DealContext, PlannedTask, StageRef, UserContext};
use crate::idempotency::{marker, with_marker, MarkerKind};
use crate::refusal::display_name;
use crate::settings::{
    MarginTarget, PaymentEditors, PaymentSettings, PlanScope, TASK_TYPE_FOLLOW_UP,
};
use crate::text::interpolate;

/// A row of a schedule before it is saved (it has no id yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleRow {
    pub due: Date,
    pub amount: i64,
}

/// A part of a schedule template: `percent` of the total, due `days` calendar days after the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplatePart {
    pub percent: u32,
    pub days: u32,
}

/// Why a schedule cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    /// The template or the instalment count is empty.
    Empty,
    /// The template's percentages do not add up to 100.
    PercentsNot100 { sum: u64 },
    /// The total is negative.
    NegativeTotal,
    /// A hand-entered row has a zero or negative amount.
    NonPositiveAmount { index: usize },
    /// More rows than [`MAX_SCHEDULE_ROWS`].
    TooManyRows,
}

/// The most rows a generated schedule may have (fifty years of monthly instalments).
pub const MAX_SCHEDULE_ROWS: u32 = 600;

/// The sum of amounts, saturating instead of overflowing on absurd input.
fn total(amounts: impl Iterator<Item = i64>) -> i64 {
    amounts.fold(0, i64::saturating_add)
}

/// Splits `total` in proportion to `weights` so that the parts always sum to `total`
/// (largest remainder: every part is rounded down, then the units left over go one by one to the
/// parts with the largest remainders, earlier parts first on ties). `None` if every weight is 0.
pub fn split(total: i64, weights: &[u64]) -> Option<Vec<i64>> {
    let weight_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if weight_sum == 0 {
        return None;
    }
    let magnitude = u128::from(total.unsigned_abs());
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &weight) in weights.iter().enumerate() {
        let exact = magnitude * u128::from(weight);
        parts.push(exact / weight_sum);
        remainders.push((exact % weight_sum, i));
    }
    let left = magnitude - parts.iter().sum::<u128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders
        .iter()
        .take(usize::try_from(left).unwrap_or(usize::MAX))
    {
        parts[i] += 1;
    }
    // Each part is at most |total|, so it fits back into i64 (and -|i64::MIN| into its negative).
    Some(
        parts
            .into_iter()
            .map(|part| {
                let part = i128::try_from(part).unwrap_or(i128::MAX);
                let signed = if total < 0 { -part } else { part };
                i64::try_from(signed).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
            })
            .collect(),
    )
}

/// A schedule from a template such as "50% now, 50% in 30 days":
/// `[TemplatePart { percent: 50, days: 0 }, TemplatePart { percent: 50, days: 30 }]`.
pub fn schedule_from_template(
    total: i64,
    start: Date,
    parts: &[TemplatePart],
) -> Result<Vec<ScheduleRow>, ScheduleError> {
    if parts.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if parts.len() > MAX_SCHEDULE_ROWS as usize {
        return Err(ScheduleError::TooManyRows);
    }
    if total < 0 {
        return Err(ScheduleError::NegativeTotal);
    }
    let sum: u64 = parts.iter().map(|p| u64::from(p.percent)).sum();
    if sum != 100 {
        return Err(ScheduleError::PercentsNot100 { sum });
    }
    let weights: Vec<u64> = parts.iter().map(|p| u64::from(p.percent)).collect();
    let amounts = split(total, &weights).ok_or(ScheduleError::PercentsNot100 { sum })?;
    Ok(parts
        .iter()
        .zip(amounts)
        .map(|(part, amount)| ScheduleRow {
            due: start.add_days(i64::from(part.days)),
            amount,
        })
        .collect())
}

/// `count` equal monthly instalments, the first due on `first_due` and each next one a calendar
/// month later on the same day (or the month's last day: 31 January, 28 February, 31 March).
pub fn monthly_instalments(
    total: i64,
    first_due: Date,
    count: u32,
) -> Result<Vec<ScheduleRow>, ScheduleError> {
    if count == 0 {
        return Err(ScheduleError::Empty);
    }
    if count > MAX_SCHEDULE_ROWS {
        return Err(ScheduleError::TooManyRows);
    }
    if total < 0 {
        return Err(ScheduleError::NegativeTotal);
    }
    let weights = vec![1; count as usize];
    let amounts = split(total, &weights).ok_or(ScheduleError::Empty)?;
    Ok(amounts
        .into_iter()
        .enumerate()
        .map(|(k, amount)| ScheduleRow {
            due: add_months(first_due, i32::try_from(k).unwrap_or(i32::MAX)),
            amount,
        })
        .collect())
}

/// Checks hand-entered rows: every amount must be positive.
pub fn check_rows(rows: &[ScheduleRow]) -> Result<(), ScheduleError> {
    match rows.iter().position(|row| row.amount <= 0) {
        Some(index) => Err(ScheduleError::NonPositiveAmount { index }),
        None => Ok(()),
    }
}

/// A planned payment of a deal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedPayment {
    pub id: u64,
    pub due: Date,
    pub amount: i64,
}

/// Money actually received, linked to a planned payment or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActualPayment {
    pub id: u64,
    pub date: Date,
    pub amount: i64,
    pub planned_id: Option<u64>,
}

/// An expense of a deal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expense {
    pub id: u64,
    pub date: Date,
    pub amount: i64,
}

/// Everything about one deal's money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealPayments {
    pub currency: Currency,
    pub planned: Vec<PlannedPayment>,
    pub actual: Vec<ActualPayment>,
    pub expenses: Vec<Expense>,
}

/// A planned payment after allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowState {
    pub id: u64,
    pub due: Date,
    pub amount: i64,
    pub paid: i64,
    pub remaining: i64,
    /// When the row became fully paid: the latest date of the payments that cover it.
    pub paid_on: Option<Date>,
}

/// How actual payments cover the planned ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The planned payments, oldest due first (ties by id).
    pub rows: Vec<RowState>,
    /// Money received beyond every planned payment.
    pub unallocated: i64,
}

/// Allocates actual payments to planned ones: a payment linked to a planned row pays that row
/// first; whatever it does not need, and every unlinked payment, pays the oldest unpaid rows,
/// spanning as many rows as it covers. Payments are applied in date order (ties by id);
/// non-positive amounts are ignored, and links to unknown rows count as unlinked.
pub fn allocate(planned: &[PlannedPayment], actual: &[ActualPayment]) -> Allocation {
    let mut rows: Vec<RowState> = planned
        .iter()
        .map(|p| RowState {
            id: p.id,
            due: p.due,
            amount: p.amount.max(0),
            paid: 0,
            remaining: p.amount.max(0),
            paid_on: None,
        })
        .collect();
    rows.sort_by_key(|row| (row.due, row.id));
    let mut payments: Vec<&ActualPayment> = actual.iter().filter(|a| a.amount > 0).collect();
    payments.sort_by_key(|a| (a.date, a.id));

    let mut latest: BTreeMap<u64, Date> = BTreeMap::new();
    let mut pay = |row: &mut RowState, amount: i64, date: Date| -> i64 {
        let used = amount.min(row.remaining);
        if used > 0 {
            row.paid += used;
            row.remaining -= used;
            let last = latest.entry(row.id).or_insert(date);
            *last = (*last).max(date);
            if row.remaining == 0 {
                row.paid_on = Some(*last);
            }
        }
        amount - used
    };
    let mut spill: Vec<(Date, u64, i64)> = Vec::new();
    for payment in &payments {
        let linked = payment
            .planned_id
            .and_then(|id| rows.iter_mut().find(|row| row.id == id));
        let left = match linked {
            Some(row) => pay(row, payment.amount, payment.date),
            None => payment.amount,
        };
        if left > 0 {
            spill.push((payment.date, payment.id, left));
        }
    }
    let mut unallocated: i64 = 0;
    for (date, _, mut left) in spill {
        for row in rows.iter_mut().filter(|row| row.remaining > 0) {
            left = pay(row, left, date);
            if left == 0 {
                break;
            }
        }
        unallocated = unallocated.saturating_add(left);
    }
    Allocation { rows, unallocated }
}

/// The totals shown in the payments section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub planned: i64,
    pub paid: i64,
    /// Planned money not yet covered (never negative; overpayment is `unallocated`).
    pub remaining: i64,
    /// The uncovered money of rows whose due date has passed.
    pub overdue: i64,
    /// Days since the oldest overdue row was due (0 when nothing is overdue).
    pub days_overdue: i64,
    pub unallocated: i64,
    pub expenses: i64,
    /// Paid minus expenses.
    pub margin: i64,
}

/// Whether a row is overdue on `today`: money is missing and its due date has passed.
fn days_overdue(row: &RowState, today: Date) -> Option<i64> {
    (row.remaining > 0 && row.due < today).then(|| row.due.days_until(today))
}

/// The totals of a deal at `now`, with "today" taken in the account's zone `tz`.
pub fn totals(payments: &DealPayments, now: i64, tz: &(impl UtcOffset + ?Sized)) -> Totals {
    let today = local_date_of(now, tz);
    let allocation = allocate(&payments.planned, &payments.actual);
    let planned = total(allocation.rows.iter().map(|r| r.amount));
    let paid = total(payments.actual.iter().map(|a| a.amount.max(0)));
    let expenses = total(payments.expenses.iter().map(|e| e.amount.max(0)));
    let overdue_rows = allocation
        .rows
        .iter()
        .filter_map(|row| days_overdue(row, today).map(|days| (row.remaining, days)));
    let (overdue, days) = overdue_rows.fold((0i64, 0), |(sum, max), (remaining, days)| {
        (sum.saturating_add(remaining), days.max(max))
    });
    Totals {
        planned,
        paid,
        remaining: total(allocation.rows.iter().map(|r| r.remaining)),
        overdue,
        days_overdue: days,
        unallocated: allocation.unallocated,
        expenses,
        margin: paid.saturating_sub(expenses),
    }
}

/// A deal's payments with the deal facts the reports need.
#[derive(Clone, Copy, Debug)]
pub struct DealLedger<'a> {
    pub deal_id: u64,
    pub responsible_user_id: u64,
    pub payments: &'a DealPayments,
}

/// One overdue planned payment, for the overdue list and the key metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverduePayment {
    pub deal_id: u64,
    pub planned_id: u64,
    pub responsible_user_id: u64,
    pub due: Date,
    /// The uncovered part of the planned payment.
    pub amount: i64,
    pub days_overdue: i64,
}

/// Every overdue planned payment of `deals` at `now` (today in the account's zone), the longest overdue first.
pub fn overdue_payments(
    deals: &[DealLedger<'_>],
    now: i64,
    tz: &(impl UtcOffset + ?Sized),
) -> Vec<OverduePayment> {
    let today = local_date_of(now, tz);
    let mut list: Vec<OverduePayment> = deals
        .iter()
        .flat_map(|deal| {
            allocate(&deal.payments.planned, &deal.payments.actual)
                .rows
                .into_iter()
                .filter_map(move |row| {
                    days_overdue(&row, today).map(|days| OverduePayment {
                        deal_id: deal.deal_id,
                        planned_id: row.id,
                        responsible_user_id: deal.responsible_user_id,
                        due: row.due,
                        amount: row.remaining,
                        days_overdue: days,
                    })
                })
        })
        .collect();
    list.sort_by_key(|p| (std::cmp::Reverse(p.days_overdue), p.deal_id, p.planned_id));
    list
}

/// The reminder task for an overdue payment: for the deal's manager, due the next working day at
/// the payments' default time. Its marker names the planned payment and its due date, so the
/// backend's daily job and the card's one-click button never create it twice.
pub fn reminder_task(
    deal: &DealContext,
    overdue: &OverduePayment,
    settings: &PaymentSettings,
    now: i64,
    account: &Account<'_>,
) -> PlannedTask {
    let marker = marker(
        MarkerKind::PaymentReminder,
        overdue.planned_id,
        overdue.due.days_since_epoch(),
    );
    let text = interpolate(
        settings.reminder_task_text.get(account.lang),
        &[("deal", &display_name(deal))],
    );
    let time = settings.default_time;
    PlannedTask {
        deal_id: deal.id,
        text: with_marker(&text, &marker),
        task_type_id: TASK_TYPE_FOLLOW_UP,
        complete_till: deadline_after(now, 1, time.hour, time.minute, account.tz, account.calendar),
        responsible_user_id: overdue.responsible_user_id,
    }
}

/// One line of the margin plan: the target, the fact (paid minus expenses dated in the month) and
/// the completion in basis points (10 000 = 100 %), `None` without a positive target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginRow {
    pub scope: PlanScope,
    pub target: Option<i64>,
    pub fact: i64,
    pub completion_bp: Option<i64>,
}

/// The margin plan of `month`: the company line first, then one line per manager who has a target
/// or margin in the month, by user id. A manager's margin is that of the deals they are responsible for.
pub fn margin_report(
    month: YearMonth,
    deals: &[DealLedger<'_>],
    targets: &[MarginTarget],
) -> Vec<MarginRow> {
    let in_month = |date: Date| YearMonth::of(date) == month;
    let mut facts: BTreeMap<PlanScope, i64> = BTreeMap::new();
    facts.insert(PlanScope::Company, 0);
    for deal in deals {
        let actual = deal.payments.actual.iter().filter(|a| in_month(a.date));
        let spending = deal.payments.expenses.iter().filter(|e| in_month(e.date));
        let paid = total(actual.map(|a| a.amount.max(0)));
        let spent = total(spending.map(|e| e.amount.max(0)));
        let has_activity = deal.payments.actual.iter().any(|a| in_month(a.date))
            || deal.payments.expenses.iter().any(|e| in_month(e.date));
        if !has_activity {
            continue;
        }
        let margin = paid.saturating_sub(spent);
        let manager = PlanScope::Manager {
            user_id: deal.responsible_user_id,
        };
        for scope in [PlanScope::Company, manager] {
            let fact = facts.entry(scope).or_default();
            *fact = fact.saturating_add(margin);
        }
    }
    for target in targets.iter().filter(|t| t.month == month) {
        facts.entry(target.scope).or_default();
    }
    facts
        .into_iter()
        .map(|(scope, fact)| {
            let target = targets
                .iter()
                .find(|t| t.month == month && t.scope == scope)
                .map(|t| t.amount_minor);
            MarginRow {
                scope,
                target,
                fact,
                completion_bp: target.filter(|&t| t > 0).map(|t| ratio_bp(fact, t)),
            }
        })
        .collect()
}

/// `part / whole` in basis points, rounded half away from zero.
fn ratio_bp(part: i64, whole: i64) -> i64 {
    let numerator = i128::from(part) * 10_000;
    let whole = i128::from(whole);
    let rounded = (2 * numerator + numerator.signum() * whole) / (2 * whole);
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// Why the stage gate refused a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateRefusal {
    /// The planned money not yet paid.
    pub unpaid: i64,
    /// How many planned payments are not fully paid.
    pub unpaid_rows: usize,
}

/// Whether a deal may enter `target`: stages listed as gates need every planned payment fully
/// paid, whatever its due date; other stages, and deals without planned payments, always may.
pub fn may_enter_stage(
    target: StageRef,
    settings: &PaymentSettings,
    payments: &DealPayments,
) -> Result<(), GateRefusal> {
    if !settings.gate_stages.contains(&target) {
        return Ok(());
    }
    let allocation = allocate(&payments.planned, &payments.actual);
    let unpaid: Vec<&RowState> = allocation.rows.iter().filter(|r| r.remaining > 0).collect();
    if unpaid.is_empty() {
        Ok(())
    } else {
        Err(GateRefusal {
            unpaid: total(unpaid.iter().map(|r| r.remaining)),
            unpaid_rows: unpaid.len(),
        })
    }
}

/// Whether `user` may add, edit and delete payments. Administrators always may: they can change
/// this setting anyway.
pub fn may_edit_payments(user: &UserContext, settings: &PaymentSettings) -> bool {
    user.is_admin
        || match &settings.editors {
            PaymentEditors::All => true,
            PaymentEditors::Users { ids } => ids.contains(&user.id),
            PaymentEditors::Admins => false,
        }
}

#[cfg(test)]
mod tests;
