//! The section's forms as plain data: the values typed into them, keyed by field name, and what
//! they become (records, a schedule) once checked. Pure, so it is tested natively.

use std::collections::BTreeMap;

use leakguard_core::dates::Date;
use leakguard_core::payments::store::{Record, RecordKind};
use leakguard_core::payments::{
    check_rows, monthly_instalments, parse_amount, schedule_from_template, Currency, ScheduleError,
    ScheduleRow, TemplatePart, MAX_SCHEDULE_ROWS,
};

/// The values of an open form, by the `data-field` of their inputs (`amount`, `pct.0`, …).
pub type Fields = BTreeMap<String, String>;

/// The schedule templates offered, by i18n key: `(percent, days after the start)` per part.
pub const PRESETS: [(&str, &[(u32, u32)]); 4] = [
    ("ui.payments.preset.half_30", &[(50, 0), (50, 30)]),
    ("ui.payments.preset.full_now", &[(100, 0)]),
    ("ui.payments.preset.prepay_30_14", &[(30, 0), (70, 14)]),
    ("ui.payments.preset.thirds", &[(34, 0), (33, 30), (33, 60)]),
];

/// How a schedule is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleMode {
    /// Percent and day offsets from a start date.
    Template,
    /// N equal monthly instalments.
    Monthly,
    /// Rows typed by hand.
    Manual,
}

impl ScheduleMode {
    pub const ALL: [ScheduleMode; 3] = [
        ScheduleMode::Template,
        ScheduleMode::Monthly,
        ScheduleMode::Manual,
    ];

    /// The value of the mode in the form's `mode` select.
    pub const fn code(self) -> &'static str {
        match self {
            ScheduleMode::Template => "template",
            ScheduleMode::Monthly => "monthly",
            ScheduleMode::Manual => "manual",
        }
    }

    pub fn from_code(code: &str) -> ScheduleMode {
        ScheduleMode::ALL
            .into_iter()
            .find(|mode| mode.code() == code)
            .unwrap_or(ScheduleMode::Template)
    }
}

/// A problem with what was typed: the field it is about and the i18n key of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    pub field: String,
    pub key: &'static str,
}

impl FormError {
    fn new(field: impl Into<String>, key: &'static str) -> FormError {
        FormError {
            field: field.into(),
            key,
        }
    }
}

/// The editable text of an amount: `15000.50`, which [`parse_amount`] reads back exactly.
pub fn amount_input(minor: i64, currency: Currency) -> String {
    leakguard_core::payments::store::amount_text(minor, currency)
}

/// `2026-11-27` as an `<input type=date>` sends it.
pub fn parse_date_input(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_ymd(year, month, day)
}

/// The `<input type=date>` value of `date`.
pub fn date_input_value(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

fn field<'a>(fields: &'a Fields, key: &str) -> &'a str {
    fields.get(key).map_or("", |value| value.trim())
}

/// A positive amount in minor units from the field `key`.
fn amount(fields: &Fields, key: &str, currency: Currency) -> Result<i64, FormError> {
    match parse_amount(field(fields, key), currency) {
        Ok(money) if money.minor > 0 => Ok(money.minor),
        Ok(_) => Err(FormError::new(key, "ui.payments.error.amount_not_positive")),
        Err(error) => Err(FormError::new(key, error.key())),
    }
}

fn date(fields: &Fields, key: &str) -> Result<Date, FormError> {
    parse_date_input(field(fields, key))
        .ok_or_else(|| FormError::new(key, "ui.payments.error.date"))
}

/// A payment or expense (new, or `editing` an existing one) from the record form.
pub fn record_from(
    fields: &Fields,
    kind: RecordKind,
    lead_id: u64,
    editing: Option<&Record>,
    currency: Currency,
) -> Result<Record, FormError> {
    let amount = amount(fields, "amount", currency)?;
    let date = date(fields, "date")?;
    let planned_id = match kind {
        RecordKind::Payment => field(fields, "planned").parse().ok().filter(|&id| id > 0),
        _ => None,
    };
    Ok(Record {
        id: editing.map_or(0, |record| record.id),
        lead_id,
        kind,
        date,
        amount,
        planned_id,
        comment: field(fields, "comment").to_owned(),
    })
}

/// How many numbered rows (`<prefix>.0`, `<prefix>.1`, …) the form has.
pub fn row_count(fields: &Fields, prefix: &str) -> usize {
    (0..)
        .take_while(|i| fields.contains_key(&format!("{prefix}.{i}")))
        .count()
}

/// The first values of a schedule form: the template mode with the first preset, the deal's budget
/// as the total, today as the start.
pub fn schedule_defaults(total: &str, today: Date) -> Fields {
    let mut fields = Fields::new();
    fields.insert("mode".into(), ScheduleMode::Template.code().into());
    fields.insert("total".into(), total.into());
    fields.insert("start".into(), date_input_value(today));
    fields.insert("count".into(), "3".into());
    fields.insert("row_date.0".into(), date_input_value(today));
    fields.insert("row_amount.0".into(), String::new());
    apply_preset(&mut fields, 0);
    fields
}

/// Replaces the template rows with preset `index`.
pub fn apply_preset(fields: &mut Fields, index: usize) {
    let Some((_, parts)) = PRESETS.get(index) else {
        return;
    };
    fields.retain(|key, _| !key.starts_with("pct.") && !key.starts_with("days."));
    for (i, (percent, days)) in parts.iter().enumerate() {
        fields.insert(format!("pct.{i}"), percent.to_string());
        fields.insert(format!("days.{i}"), days.to_string());
    }
    fields.insert("preset".into(), index.to_string());
}

/// Adds an empty row `<a>.n`/`<b>.n` at the end.
pub fn add_row(fields: &mut Fields, a: &str, b: &str, first: &str, second: &str) {
    let n = row_count(fields, a);
    if n < MAX_SCHEDULE_ROWS as usize {
        fields.insert(format!("{a}.{n}"), first.into());
        fields.insert(format!("{b}.{n}"), second.into());
    }
}

/// Removes row `index` of the pair `a`/`b`, moving the later rows up.
pub fn remove_row(fields: &mut Fields, a: &str, b: &str, index: usize) {
    let n = row_count(fields, a);
    if index >= n || n <= 1 {
        return;
    }
    for prefix in [a, b] {
        for i in index..n - 1 {
            let next = fields.get(&format!("{prefix}.{}", i + 1)).cloned();
            fields.insert(format!("{prefix}.{i}"), next.unwrap_or_default());
        }
        fields.remove(&format!("{prefix}.{}", n - 1));
    }
}

fn number(fields: &Fields, key: &str) -> Result<u32, FormError> {
    field(fields, key)
        .parse()
        .map_err(|_| FormError::new(key, "ui.payments.error.number"))
}

fn schedule_error(error: ScheduleError) -> FormError {
    match error {
        ScheduleError::Empty => FormError::new("count", "ui.payments.error.schedule_empty"),
        ScheduleError::PercentsNot100 { .. } => {
            FormError::new("pct.0", "ui.payments.error.percents_not_100")
        }
        ScheduleError::NegativeTotal => {
            FormError::new("total", "ui.payments.error.amount_not_positive")
        }
        ScheduleError::NonPositiveAmount { index } => FormError::new(
            format!("row_amount.{index}"),
            "ui.payments.error.amount_not_positive",
        ),
        ScheduleError::TooManyRows => FormError::new("count", "ui.payments.error.too_many_rows"),
    }
}

/// The planned payments the schedule form describes.
pub fn schedule_from(fields: &Fields, currency: Currency) -> Result<Vec<ScheduleRow>, FormError> {
    match ScheduleMode::from_code(field(fields, "mode")) {
        ScheduleMode::Template => {
            let total = amount(fields, "total", currency)?;
            let start = date(fields, "start")?;
            let parts = (0..row_count(fields, "pct"))
                .map(|i| {
                    Ok(TemplatePart {
                        percent: number(fields, &format!("pct.{i}"))?,
                        days: number(fields, &format!("days.{i}"))?,
                    })
                })
                .collect::<Result<Vec<_>, FormError>>()?;
            schedule_from_template(total, start, &parts).map_err(schedule_error)
        }
        ScheduleMode::Monthly => {
            let total = amount(fields, "total", currency)?;
            let start = date(fields, "start")?;
            monthly_instalments(total, start, number(fields, "count")?).map_err(schedule_error)
        }
        ScheduleMode::Manual => {
            let rows = (0..row_count(fields, "row_date"))
                .map(|i| {
                    Ok(ScheduleRow {
                        due: date(fields, &format!("row_date.{i}"))?,
                        amount: amount(fields, &format!("row_amount.{i}"), currency)?,
                    })
                })
                .collect::<Result<Vec<_>, FormError>>()?;
            check_rows(&rows).map_err(schedule_error)?;
            if rows.is_empty() {
                return Err(schedule_error(ScheduleError::Empty));
            }
            Ok(rows)
        }
    }
}

/// The planned-payment records of a schedule, not yet saved.
pub fn plan_records(rows: &[ScheduleRow], lead_id: u64) -> Vec<Record> {
    rows.iter()
        .map(|row| Record {
            id: 0,
            lead_id,
            kind: RecordKind::Plan,
            date: row.due,
            amount: row.amount,
            planned_id: None,
            comment: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub() -> Currency {
        Currency::from_code("RUB").unwrap()
    }

    fn day(y: i32, m: u8, d: u8) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn dates_round_trip_through_the_date_input() {
        assert_eq!(parse_date_input("2026-11-27"), Some(day(2026, 11, 27)));
        assert_eq!(date_input_value(day(2026, 1, 5)), "2026-01-05");
        for bad in ["", "2026-13-01", "2026-02-30", "27.11.2026"] {
            assert_eq!(parse_date_input(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_half_now_half_in_30_days_preset_splits_the_budget() {
        let fields = schedule_defaults("100 000,01", day(2026, 11, 27));
        let rows = schedule_from(&fields, rub()).unwrap();
        assert_eq!(
            rows,
            vec![
                ScheduleRow {
                    due: day(2026, 11, 27),
                    amount: 5_000_001
                },
                ScheduleRow {
                    due: day(2026, 12, 27),
                    amount: 5_000_000
                },
            ]
        );
        assert_eq!(rows.iter().map(|r| r.amount).sum::<i64>(), 10_000_001);
    }

    #[test]
    fn template_rows_are_edited_and_checked() {
        let mut fields = schedule_defaults("900", day(2026, 11, 27));
        apply_preset(&mut fields, 3);
        assert_eq!(row_count(&fields, "pct"), 3);
        fields.insert("pct.2".into(), "30".into());
        assert_eq!(
            schedule_from(&fields, rub()).unwrap_err().key,
            "ui.payments.error.percents_not_100"
        );
        remove_row(&mut fields, "pct", "days", 2);
        fields.insert("pct.1".into(), "66".into());
        let rows = schedule_from(&fields, rub()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].due, day(2026, 12, 27));
        assert_eq!(rows[0].amount + rows[1].amount, 90_000);
    }

    #[test]
    fn monthly_instalments_and_manual_rows() {
        let mut fields = schedule_defaults("1000", day(2026, 1, 31));
        fields.insert("mode".into(), "monthly".into());
        let rows = schedule_from(&fields, rub()).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.amount).collect::<Vec<_>>(),
            vec![33_334, 33_333, 33_333]
        );
        assert_eq!(rows[1].due, day(2026, 2, 28));

        fields.insert("mode".into(), "manual".into());
        fields.insert("row_amount.0".into(), "10".into());
        add_row(&mut fields, "row_date", "row_amount", "2026-03-01", "");
        let error = schedule_from(&fields, rub()).unwrap_err();
        assert_eq!(error.field, "row_amount.1");
        fields.insert("row_amount.1".into(), "5.5".into());
        let rows = schedule_from(&fields, rub()).unwrap();
        assert_eq!(
            rows[1],
            ScheduleRow {
                due: day(2026, 3, 1),
                amount: 550
            }
        );
        let records = plan_records(&rows, 12);
        assert!(records
            .iter()
            .all(|r| r.kind == RecordKind::Plan && r.lead_id == 12 && r.id == 0));
    }

    #[test]
    fn a_payment_form_becomes_a_record() {
        let mut fields = Fields::new();
        fields.insert("amount".into(), "15 000,50".into());
        fields.insert("date".into(), "2026-11-27".into());
        fields.insert("planned".into(), "77".into());
        fields.insert("comment".into(), " by card ".into());
        let record = record_from(&fields, RecordKind::Payment, 5, None, rub()).unwrap();
        assert_eq!(record.amount, 1_500_050);
        assert_eq!(record.planned_id, Some(77));
        assert_eq!(record.comment, "by card");
        let expense = record_from(&fields, RecordKind::Expense, 5, Some(&record), rub()).unwrap();
        assert_eq!(expense.planned_id, None);
        fields.insert("amount".into(), "0".into());
        assert_eq!(
            record_from(&fields, RecordKind::Payment, 5, None, rub())
                .unwrap_err()
                .key,
            "ui.payments.error.amount_not_positive"
        );
        fields.insert("amount".into(), "1".into());
        fields.insert("date".into(), "".into());
        assert_eq!(
            record_from(&fields, RecordKind::Payment, 5, None, rub())
                .unwrap_err()
                .field,
            "date"
        );
    }
}
