//! What the section shows for a deal's records at an instant: the schedule with each row's paid and
//! remaining money and status, the payments with the planned row they pay, the expenses and the
//! totals. Pure (the core does the money math), so it is tested natively.

use leakguard_core::dates::{local_date_of, Date, UtcOffset};
use leakguard_core::payments::store::{deal_payments, Record, RecordKind};
use leakguard_core::payments::{allocate, totals, Currency, Totals};

/// The state of a planned payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Paid,
    /// Partly or not paid, not yet due.
    Due,
    /// Money missing and the due date passed `days` days ago.
    Overdue {
        days: i64,
    },
}

/// A row of the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRow {
    pub record: Record,
    pub paid: i64,
    pub remaining: i64,
    pub status: RowStatus,
}

/// A payment or an expense, with the due date of the planned row a payment is linked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRow {
    pub record: Record,
    pub planned_due: Option<Date>,
}

/// Everything the section shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub plans: Vec<PlanRow>,
    pub payments: Vec<EntryRow>,
    pub expenses: Vec<EntryRow>,
    pub totals: Totals,
}

/// The view of `records` at `now`, "today" in the account's zone `tz`.
pub fn view(
    records: &[Record],
    currency: Currency,
    now: i64,
    tz: &(impl UtcOffset + ?Sized),
) -> View {
    let payments = deal_payments(records, currency);
    let today = local_date_of(now, tz);
    let allocation = allocate(&payments.planned, &payments.actual);
    let record_of = |id: u64| records.iter().find(|r| r.id == id);
    let plans = allocation
        .rows
        .iter()
        .filter_map(|row| {
            let status = if row.remaining == 0 {
                RowStatus::Paid
            } else if row.due < today {
                RowStatus::Overdue {
                    days: row.due.days_until(today),
                }
            } else {
                RowStatus::Due
            };
            Some(PlanRow {
                record: record_of(row.id)?.clone(),
                paid: row.paid,
                remaining: row.remaining,
                status,
            })
        })
        .collect();
    let entries = |kind: RecordKind| {
        let mut rows: Vec<EntryRow> = records
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| EntryRow {
                record: r.clone(),
                planned_due: r
                    .planned_id
                    .and_then(record_of)
                    .filter(|p| p.kind == RecordKind::Plan)
                    .map(|p| p.date),
            })
            .collect();
        rows.sort_by_key(|row| (row.record.date, row.record.id));
        rows
    };
    View {
        plans,
        payments: entries(RecordKind::Payment),
        expenses: entries(RecordKind::Expense),
        totals: totals(&payments, now, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::FixedOffset;

    fn day(m: u8, d: u8) -> Date {
        Date::from_ymd(2026, m, d).unwrap()
    }

    fn rec(id: u64, kind: RecordKind, date: Date, amount: i64, planned_id: Option<u64>) -> Record {
        Record {
            id,
            lead_id: 1,
            kind,
            date,
            amount,
            planned_id,
            comment: String::new(),
        }
    }

    #[test]
    fn a_partial_payment_spans_two_rows_and_the_rest_is_overdue() {
        let rub = Currency::from_code("RUB").unwrap();
        let records = vec![
            rec(10, RecordKind::Plan, day(10, 1), 50_000, None),
            rec(11, RecordKind::Plan, day(11, 1), 50_000, None),
            rec(12, RecordKind::Plan, day(12, 20), 20_000, None),
            rec(20, RecordKind::Payment, day(10, 2), 70_000, Some(10)),
            rec(30, RecordKind::Expense, day(10, 5), 10_000, None),
            rec(40, RecordKind::Void, day(10, 5), 99_999, None),
        ];
        // 2026-11-27 12:00 UTC, Moscow.
        let now = 1_795_780_800;
        let v = view(&records, rub, now, &FixedOffset(3 * 3600));
        assert_eq!(v.plans[0].status, RowStatus::Paid);
        assert_eq!((v.plans[1].paid, v.plans[1].remaining), (20_000, 30_000));
        assert_eq!(v.plans[1].status, RowStatus::Overdue { days: 26 });
        assert_eq!(v.plans[2].status, RowStatus::Due);
        assert_eq!(v.payments[0].planned_due, Some(day(10, 1)));
        assert_eq!(v.expenses.len(), 1);
        assert_eq!(v.totals.planned, 120_000);
        assert_eq!(v.totals.paid, 70_000);
        assert_eq!(v.totals.remaining, 50_000);
        assert_eq!((v.totals.overdue, v.totals.days_overdue), (30_000, 26));
        assert_eq!(v.totals.margin, 60_000);
    }
}
