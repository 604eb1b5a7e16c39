//! How a deal's payments are kept in the customer's amoCRM: one element of LeakGuard's own catalog per planned payment, actual payment or expense, linked to the deal.
//!
//! The catalog (`type: regular`) is created on first use by the settings module with the fields
//! listed in [`StoreField`]; their ids are saved in [`crate::settings::PaymentStore`]. Every element
//! also carries the deal id, so a reader of the whole catalog (the backend, the payments report)
//! does not need the links. Why not the built-in invoices catalog is written in ARCHITECTURE.md.
//!
//! Amounts travel as plain decimal text in major units (`"15000.50"`), dates as the Unix second of
//! local midnight in the account's zone; this module converts both ways without floating point.

use crate::dates::{local_date_of, utc_of_local, Date, UtcOffset};
use crate::idempotency::{marker, MarkerKind};
use crate::locale::{Lang, Localized};

use super::{format_money, ActualPayment, Currency, DealPayments, Expense, Money, PlannedPayment};

/// The default catalog name, in the language of the account that creates it.
pub fn catalog_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "LeakGuard: платежи",
        Lang::En => "LeakGuard: payments",
        Lang::Es => "LeakGuard: pagos",
        Lang::Pt => "LeakGuard: pagamentos",
    }
}

/// What an element of the catalog is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A planned payment (a row of the schedule); its date is the due date.
    Plan,
    /// Money received; its date is the payment date.
    Payment,
    /// Money spent on the deal; its date is the expense date.
    Expense,
    /// A deleted record: amoCRM's API cannot delete catalog elements, so a deleted record is
    /// unlinked from the deal and marked void; every reader skips it.
    Void,
}

impl RecordKind {
    /// The value stored in the `LG_KIND` field.
    pub const fn code(self) -> &'static str {
        match self {
            RecordKind::Plan => "plan",
            RecordKind::Payment => "payment",
            RecordKind::Expense => "expense",
            RecordKind::Void => "void",
        }
    }

    /// The kind stored as `code`; `None` for anything LeakGuard did not write.
    pub fn from_code(code: &str) -> Option<RecordKind> {
        match code.trim() {
            "plan" => Some(RecordKind::Plan),
            "payment" => Some(RecordKind::Payment),
            "expense" => Some(RecordKind::Expense),
            "void" => Some(RecordKind::Void),
            _ => None,
        }
    }
}

/// A field of the catalog: its `code` identifies it, its ids are in the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreField {
    Kind,
    Amount,
    Date,
    Plan,
    Lead,
    Comment,
}

impl StoreField {
    /// Every field, in the order they are created.
    pub const ALL: [StoreField; 6] = [
        StoreField::Kind,
        StoreField::Amount,
        StoreField::Date,
        StoreField::Plan,
        StoreField::Lead,
        StoreField::Comment,
    ];

    /// The field's `code` in amoCRM.
    pub const fn code(self) -> &'static str {
        match self {
            StoreField::Kind => "LG_KIND",
            StoreField::Amount => "LG_AMOUNT",
            StoreField::Date => "LG_DATE",
            StoreField::Plan => "LG_PLAN",
            StoreField::Lead => "LG_LEAD",
            StoreField::Comment => "LG_COMMENT",
        }
    }

    /// The amoCRM field type (amocrm-api-v4.md §9.2).
    pub const fn field_type(self) -> &'static str {
        match self {
            StoreField::Kind => "text",
            StoreField::Amount | StoreField::Plan | StoreField::Lead => "numeric",
            StoreField::Date => "date",
            StoreField::Comment => "textarea",
        }
    }

    /// The field's visible name, in the language of the account that creates it.
    pub fn name(self, lang: Lang) -> &'static str {
        let names: [&'static str; 4] = match self {
            StoreField::Kind => ["Вид", "Kind", "Tipo", "Tipo"],
            StoreField::Amount => ["Сумма", "Amount", "Importe", "Valor"],
            StoreField::Date => ["Дата", "Date", "Fecha", "Data"],
            StoreField::Plan => [
                "Плановый платёж",
                "Planned payment",
                "Pago previsto",
                "Pagamento previsto",
            ],
            StoreField::Lead => ["Сделка", "Deal", "Negocio", "Negócio"],
            StoreField::Comment => ["Комментарий", "Comment", "Comentario", "Comentário"],
        };
        names[Lang::ALL.iter().position(|&l| l == lang).unwrap_or(1)]
    }
}

/// One stored record, as read from or written to the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The catalog element id; 0 before the record is saved.
    pub id: u64,
    pub lead_id: u64,
    pub kind: RecordKind,
    /// The due date of a plan, the date of a payment or expense.
    pub date: Date,
    /// Minor units of the account currency, positive.
    pub amount: i64,
    /// For a payment: the planned payment it pays first (see [`super::allocate`]).
    pub planned_id: Option<u64>,
    pub comment: String,
}

/// The marker in a new element's name, so that a retry after an ambiguous failure finds the element
/// an earlier attempt created (`GET …/elements?query=<marker>`) instead of creating a second one.
/// `nonce` is chosen once per save by the caller (e.g. the instant the user pressed Save, in ms).
pub fn record_marker(lead_id: u64, nonce: i64) -> String {
    marker(MarkerKind::PaymentRecord, lead_id, nonce)
}

/// The element name amoCRM shows in its own screens, e.g. `План: 50 000,00 ₽ до 27.12.2026 · сделка #12`,
/// followed by `marker` when one is given.
pub fn record_name(
    record: &Record,
    currency: Currency,
    lang: Lang,
    marker: Option<&str>,
) -> String {
    let money = format_money(Money::new(record.amount, currency), lang);
    let date = format_date(record.date, lang);
    let [kind, preposition, deal] = match (lang, record.kind) {
        (Lang::Ru, RecordKind::Plan) => ["План", "до", "сделка"],
        (Lang::Ru, RecordKind::Payment) => ["Оплата", "от", "сделка"],
        (Lang::Ru, RecordKind::Expense) => ["Расход", "от", "сделка"],
        (Lang::Ru, RecordKind::Void) => ["Удалено", "от", "сделка"],
        (Lang::En, RecordKind::Plan) => ["Planned", "due", "deal"],
        (Lang::En, RecordKind::Payment) => ["Payment", "on", "deal"],
        (Lang::En, RecordKind::Expense) => ["Expense", "on", "deal"],
        (Lang::En, RecordKind::Void) => ["Deleted", "on", "deal"],
        (Lang::Es, RecordKind::Plan) => ["Previsto", "vence", "negocio"],
        (Lang::Es, RecordKind::Payment) => ["Pago", "del", "negocio"],
        (Lang::Es, RecordKind::Expense) => ["Gasto", "del", "negocio"],
        (Lang::Es, RecordKind::Void) => ["Eliminado", "del", "negocio"],
        (Lang::Pt, RecordKind::Plan) => ["Previsto", "vence", "negócio"],
        (Lang::Pt, RecordKind::Payment) => ["Pagamento", "de", "negócio"],
        (Lang::Pt, RecordKind::Expense) => ["Despesa", "de", "negócio"],
        (Lang::Pt, RecordKind::Void) => ["Excluído", "de", "negócio"],
    };
    let name = format!(
        "{kind}: {money} {preposition} {date} · {deal} #{}",
        record.lead_id
    );
    match marker {
        Some(marker) => format!("{name} {marker}"),
        None => name,
    }
}

/// `27.12.2026` (ru, es, pt) or `12/27/2026` (en), as amoCRM's own date fields show it.
pub fn format_date(date: Date, lang: Lang) -> String {
    let (y, m, d) = (date.year(), date.month(), date.day());
    match lang {
        Lang::En => format!("{m:02}/{d:02}/{y}"),
        Lang::Ru => format!("{d:02}.{m:02}.{y}"),
        Lang::Es | Lang::Pt => format!("{d:02}/{m:02}/{y}"),
    }
}

/// The `LG_AMOUNT` text of `minor` units: `"15000.50"`, `"-3.07"`, `"120"` for a currency without minor units.
pub fn amount_text(minor: i64, currency: Currency) -> String {
    let per = currency.minor_per_major();
    let digits = currency.minor_digits();
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    let per = per.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{magnitude}");
    }
    format!(
        "{sign}{}.{:0width$}",
        magnitude / per,
        magnitude % per,
        width = usize::from(digits)
    )
}

/// Reads an `LG_AMOUNT` value back: plain decimal text with `.` (or a JSON number amoCRM turned into
/// text), at most as many decimals as the currency has. `None` for anything else.
pub fn parse_amount_text(text: &str, currency: Currency) -> Option<i64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = usize::from(currency.minor_digits());
    let fraction = fraction.trim_end_matches('0');
    let valid = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !valid(whole) || !valid(fraction) || fraction.len() > digits {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let mut minor = whole.checked_mul(currency.minor_per_major())?;
    if !fraction.is_empty() {
        let scale = 10i64.pow(u32::try_from(digits - fraction.len()).ok()?);
        minor = minor.checked_add(fraction.parse::<i64>().ok()?.checked_mul(scale)?)?;
    }
    Some(if negative { -minor } else { minor })
}

/// The `LG_DATE` value of `date`: local midnight in the account's zone.
pub fn date_value(date: Date, tz: &(impl UtcOffset + ?Sized)) -> i64 {
    utc_of_local(date, 0, 0, tz)
}

/// The date of an `LG_DATE` value. Local midnight is what LeakGuard writes, but amoCRM may
/// normalise date fields to midnight UTC; reading the instant half a day later gives the intended
/// date either way for every zone from UTC−12 to UTC+11.
pub fn date_of_value(seconds: i64, tz: &(impl UtcOffset + ?Sized)) -> Date {
    local_date_of(seconds.saturating_add(12 * 3600), tz)
}

/// The payments model of one deal's records (void records are skipped).
pub fn deal_payments(records: &[Record], currency: Currency) -> DealPayments {
    let mut payments = DealPayments {
        currency,
        planned: Vec::new(),
        actual: Vec::new(),
        expenses: Vec::new(),
    };
    for record in records {
        match record.kind {
            RecordKind::Plan => payments.planned.push(PlannedPayment {
                id: record.id,
                due: record.date,
                amount: record.amount,
            }),
            RecordKind::Payment => payments.actual.push(ActualPayment {
                id: record.id,
                date: record.date,
                amount: record.amount,
                planned_id: record.planned_id,
            }),
            RecordKind::Expense => payments.expenses.push(Expense {
                id: record.id,
                date: record.date,
                amount: record.amount,
            }),
            RecordKind::Void => {}
        }
    }
    payments
}

/// A change to a deal's payments, for the note every change adds to the deal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Added(&'a Record),
    Edited {
        before: &'a Record,
        after: &'a Record,
    },
    Deleted(&'a Record),
    /// A schedule of several planned payments saved at once.
    Scheduled(&'a [Record]),
}

/// The note text of `change` made by `author`, e.g.
/// `LeakGuard · Анна Смирнова: добавлена оплата 5 000,00 ₽ от 27.11.2026.`
pub fn change_note(change: &Change<'_>, author: &str, currency: Currency, lang: Lang) -> String {
    let describe = |r: &Record| record_name(r, currency, lang, None);
    let words = Localized::new(
        "добавлено|изменено|удалено|график платежей|было|стало",
        "added|changed|deleted|payment schedule|was|now",
        "añadido|modificado|eliminado|calendario de pagos|antes|ahora",
        "adicionado|alterado|excluído|cronograma de pagamentos|antes|agora",
    );
    let words: Vec<&str> = words.get(lang).split('|').collect();
    let body = match change {
        Change::Added(r) => format!("{} {}", words[0], describe(r)),
        Change::Deleted(r) => format!("{} {}", words[2], describe(r)),
        Change::Edited { before, after } => format!(
            "{} — {}: {}; {}: {}",
            words[1],
            words[4],
            describe(before),
            words[5],
            describe(after)
        ),
        Change::Scheduled(rows) => {
            let list: Vec<String> = rows.iter().map(describe).collect();
            format!("{}: {}", words[3], list.join("; "))
        }
    };
    let comment = match change {
        Change::Added(r) | Change::Deleted(r) | Change::Edited { after: r, .. }
            if !r.comment.trim().is_empty() =>
        {
            format!(" ({})", r.comment.trim())
        }
        _ => String::new(),
    };
    format!("LeakGuard · {author}: {body}{comment}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::FixedOffset;

    fn rub() -> Currency {
        Currency::from_code("RUB").unwrap()
    }

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn amounts_round_trip_exactly() {
        let rub = rub();
        for minor in [0, 1, 7, 99, 100, 150_050, -307, 12_345_678_901] {
            let text = amount_text(minor, rub);
            assert_eq!(parse_amount_text(&text, rub), Some(minor), "{text}");
        }
        assert_eq!(amount_text(1_500_050, rub), "15000.50");
        assert_eq!(amount_text(-307, rub), "-3.07");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(amount_text(120, jpy), "120");
        assert_eq!(parse_amount_text("120", jpy), Some(120));
        assert_eq!(parse_amount_text("120.5", jpy), None);
    }

    #[test]
    fn amocrm_number_forms_are_read() {
        let rub = rub();
        assert_eq!(parse_amount_text("15000.5", rub), Some(1_500_050));
        assert_eq!(parse_amount_text("15000", rub), Some(1_500_000));
        assert_eq!(parse_amount_text("15000.500", rub), Some(1_500_050));
        assert_eq!(parse_amount_text(" 42 ", rub), Some(4_200));
        for bad in ["", "1,5", "1.234", "abc", "1e3", ".5", "--1"] {
            assert_eq!(parse_amount_text(bad, rub), None, "{bad}");
        }
    }

    #[test]
    fn dates_survive_local_and_utc_midnight() {
        for offset in [-12 * 3600, -5 * 3600, 0, 3 * 3600, 11 * 3600] {
            let tz = FixedOffset(offset);
            let day = date(2026, 12, 27);
            assert_eq!(date_of_value(date_value(day, &tz), &tz), day, "{offset}");
            let utc_midnight = date_value(day, &FixedOffset(0));
            assert_eq!(date_of_value(utc_midnight, &tz), day, "{offset}");
        }
    }

    #[test]
    fn kinds_and_fields_have_stable_codes() {
        for kind in [
            RecordKind::Plan,
            RecordKind::Payment,
            RecordKind::Expense,
            RecordKind::Void,
        ] {
            assert_eq!(RecordKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(RecordKind::from_code("invoice"), None);
        let codes: Vec<&str> = StoreField::ALL.iter().map(|f| f.code()).collect();
        assert_eq!(
            codes,
            [
                "LG_KIND",
                "LG_AMOUNT",
                "LG_DATE",
                "LG_PLAN",
                "LG_LEAD",
                "LG_COMMENT"
            ]
        );
        assert_eq!(StoreField::Amount.name(Lang::Ru), "Сумма");
    }

    #[test]
    fn names_and_notes_read_well() {
        let record = Record {
            id: 5,
            lead_id: 12,
            kind: RecordKind::Plan,
            date: date(2026, 12, 27),
            amount: 5_000_000,
            planned_id: None,
            comment: String::new(),
        };
        assert_eq!(
            record_name(&record, rub(), Lang::Ru, Some("#lg-e12-1")),
            "План: 50\u{a0}000,00\u{a0}₽ до 27.12.2026 · сделка #12 #lg-e12-1"
        );
        let paid = Record {
            kind: RecordKind::Payment,
            amount: 500_000,
            comment: "аванс".into(),
            ..record.clone()
        };
        assert_eq!(
            change_note(&Change::Added(&paid), "Анна", rub(), Lang::Ru),
            "LeakGuard · Анна: добавлено Оплата: 5\u{a0}000,00\u{a0}₽ от 27.12.2026 · сделка #12 (аванс)."
        );
        let note = change_note(
            &Change::Edited {
                before: &record,
                after: &paid,
            },
            "Ann",
            rub(),
            Lang::En,
        );
        assert!(
            note.starts_with("LeakGuard · Ann: changed — was: Planned"),
            "{note}"
        );
    }

    #[test]
    fn records_become_the_payments_model() {
        let plan = Record {
            id: 1,
            lead_id: 9,
            kind: RecordKind::Plan,
            date: date(2026, 1, 10),
            amount: 100,
            planned_id: None,
            comment: String::new(),
        };
        let pay = Record {
            id: 2,
            kind: RecordKind::Payment,
            planned_id: Some(1),
            ..plan.clone()
        };
        let cost = Record {
            id: 3,
            kind: RecordKind::Expense,
            ..plan.clone()
        };
        let gone = Record {
            id: 4,
            kind: RecordKind::Void,
            ..plan.clone()
        };
        let model = deal_payments(&[plan, pay, cost, gone], rub());
        assert_eq!(model.planned.len(), 1);
        assert_eq!(model.actual[0].planned_id, Some(1));
        assert_eq!(model.expenses.len(), 1);
    }
}
