//! The payments report ("Отчёт по платежам"): the records of LeakGuard's payments catalog grouped
//! by deal, and the two tables the page shows from them, the month's margin plan (company, then
//! managers: target, fact, completion) and the overdue payments, longest overdue first.
//!
//! Amounts are integer minor units throughout and are shown with the core's `format_money`; the
//! tables carry them as text, so an export shows the same figures as the page.

use std::collections::{BTreeMap, HashMap};

use amo_api::payments::record_of;
use amo_api::{CatalogElement, Page};
use leakguard_core::dates::{UtcOffset, YearMonth};
use leakguard_core::locale::Lang;
use leakguard_core::metrics::Deal;
use leakguard_core::payments::store::{deal_payments, format_date, Record, RecordKind};
use leakguard_core::payments::{
    format_money, margin_report, Currency, DealLedger, DealPayments, MarginRow, Money,
    OverduePayment,
};
use leakguard_core::settings::{MarginTarget, PaymentStore, PlanScope};
use leakguard_core::text::interpolate;

use crate::data::Directory;
use crate::report::{Cell, Locale, Table};

/// The records of the catalog, by deal, as pages of elements arrive.
#[derive(Clone, Debug, Default)]
pub struct Records {
    by_deal: BTreeMap<u64, Vec<Record>>,
}

impl Records {
    /// Adds one page of `GET /api/v4/catalogs/{id}/elements` (`None` for a 204) and answers how
    /// many elements it held. Elements that are not LeakGuard records, and deleted (void) ones, are skipped.
    pub fn add_page(
        &mut self,
        body: Option<&[u8]>,
        store: &PaymentStore,
        currency: Currency,
        tz: &(impl UtcOffset + ?Sized),
    ) -> Result<usize, serde_json::Error> {
        let Some(body) = body else { return Ok(0) };
        let page: Page<CatalogElement> = serde_json::from_slice(body)?;
        let count = page.items.len();
        for element in page.items.iter().filter(|e| !e.is_deleted) {
            if let Some(record) = record_of(element, store, currency, tz) {
                if record.kind != RecordKind::Void && record.lead_id != 0 {
                    self.by_deal.entry(record.lead_id).or_default().push(record);
                }
            }
        }
        Ok(count)
    }

    /// The deals that have records.
    pub fn deal_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_deal.keys().copied()
    }

    /// Each deal's payments model.
    pub fn payments(&self, currency: Currency) -> Vec<(u64, DealPayments)> {
        self.by_deal
            .iter()
            .map(|(&deal, records)| (deal, deal_payments(records, currency)))
            .collect()
    }
}

/// The report's data: every deal's payments and what is known of the deals.
#[derive(Clone, Debug, Default)]
pub struct PaymentsData {
    pub currency: Option<Currency>,
    pub payments: Vec<(u64, DealPayments)>,
    /// The deals with payments, by id (from the page's load or read for the report).
    pub deals: HashMap<u64, Deal>,
}

impl PaymentsData {
    /// The name of deal `id`, when it is known.
    pub fn name(&self, id: u64) -> Option<String> {
        self.deals.get(&id).map(|deal| deal.name.clone())
    }

    /// The ledgers the core's reports take; a deal amoCRM no longer has counts for nobody (user 0).
    pub fn ledgers(&self) -> Vec<DealLedger<'_>> {
        self.payments
            .iter()
            .filter(|(deal, _)| !self.deals.get(deal).is_some_and(|d| d.is_deleted))
            .map(|(deal, payments)| DealLedger {
                deal_id: *deal,
                responsible_user_id: self.deals.get(deal).map_or(0, |d| d.responsible_user_id),
                payments,
            })
            .collect()
    }
}

/// The deal ids among `wanted` that `known` lacks, in batches of `batch` for `filter[id][]`.
pub fn missing_batches(
    wanted: impl Iterator<Item = u64>,
    known: impl Fn(u64) -> bool,
    batch: usize,
) -> Vec<Vec<u64>> {
    let missing: Vec<u64> = wanted.filter(|id| !known(*id)).collect();
    missing.chunks(batch.max(1)).map(<[u64]>::to_vec).collect()
}

/// The path reading the deals `ids` (at most 250) in one page.
pub fn deals_path(ids: &[u64]) -> String {
    let mut path = format!("/api/v4/leads?limit={}", ids.len().clamp(1, 250));
    for id in ids {
        path.push_str(&format!("&filter%5Bid%5D%5B%5D={id}"));
    }
    path
}

/// The path of page `page` of the catalog's elements.
pub fn elements_path(catalog_id: u64, page: u32) -> String {
    format!("/api/v4/catalogs/{catalog_id}/elements?limit=250&page={page}")
}

fn money(minor: i64, currency: Currency, lang: Lang) -> Cell {
    Cell::Text(format_money(Money::new(minor, currency), lang))
}

fn whose(scope: PlanScope, directory: &Directory, locale: &impl Locale) -> String {
    match scope {
        PlanScope::Company => locale.text("ui.metrics.payments.company"),
        PlanScope::Manager { user_id } => directory.person(user_id).map_or_else(
            || {
                interpolate(
                    &locale.text("ui.metrics.unknown"),
                    &[("id", &user_id.to_string())],
                )
            },
            str::to_owned,
        ),
    }
}

/// The margin plan of `month`: the company line, then one line per manager.
pub fn margin_rows(
    month: YearMonth,
    data: &PaymentsData,
    targets: &[MarginTarget],
) -> Vec<MarginRow> {
    margin_report(month, &data.ledgers(), targets)
}

/// The margin plan table.
pub fn margin_table(
    month: YearMonth,
    rows: &[MarginRow],
    currency: Currency,
    lang: Lang,
    directory: &Directory,
    locale: &impl Locale,
) -> Table {
    let t = |key: &str| locale.text(&format!("ui.metrics.payments.{key}"));
    Table {
        id: format!("margin-{month}"),
        title: interpolate(&t("margin_title"), &[("month", &month.to_string())]),
        columns: vec![
            t("col.whose"),
            t("col.target"),
            t("col.fact"),
            t("col.completion"),
        ],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    Cell::Text(whose(row.scope, directory, locale)),
                    row.target.map_or(Cell::Text("—".to_owned()), |target| {
                        money(target, currency, lang)
                    }),
                    money(row.fact, currency, lang),
                    row.completion_bp
                        .map_or(Cell::Text("—".to_owned()), |bp| Cell::Share {
                            basis_points: bp,
                            text: locale.share(bp),
                        }),
                ]
            })
            .collect(),
    }
}

/// The overdue payments table: deal, manager, due date, amount outstanding, days overdue.
pub fn overdue_table(
    overdue: &[OverduePayment],
    deal_name: impl Fn(u64) -> Option<String>,
    currency: Currency,
    lang: Lang,
    directory: &Directory,
    locale: &impl Locale,
) -> Table {
    let t = |key: &str| locale.text(&format!("ui.metrics.payments.{key}"));
    Table {
        id: "overdue-payments".to_owned(),
        title: t("overdue_title"),
        columns: vec![
            t("col.deal"),
            t("col.manager"),
            t("col.due"),
            t("col.outstanding"),
            t("col.days"),
        ],
        rows: overdue
            .iter()
            .map(|payment| {
                let name =
                    deal_name(payment.deal_id).unwrap_or_else(|| format!("#{}", payment.deal_id));
                vec![
                    Cell::Deal {
                        id: payment.deal_id,
                        name,
                    },
                    Cell::Text(whose(
                        PlanScope::Manager {
                            user_id: payment.responsible_user_id,
                        },
                        directory,
                        locale,
                    )),
                    Cell::Text(format_date(payment.due, lang)),
                    money(payment.amount, currency, lang),
                    Cell::Count {
                        value: payment.days_overdue,
                        text: locale.count(payment.days_overdue),
                        drill: None,
                    },
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::{Date, FixedOffset};
    use leakguard_core::payments::overdue_payments;
    use leakguard_core::settings::StoreFieldIds;

    const TZ: FixedOffset = FixedOffset(3 * 3600);

    fn store() -> PaymentStore {
        PaymentStore {
            catalog_id: 9,
            fields: StoreFieldIds {
                kind: 1,
                amount: 2,
                date: 3,
                plan: 4,
                lead: 5,
                comment: 6,
            },
        }
    }

    fn midnight(y: i32, m: u8, d: u8) -> i64 {
        leakguard_core::payments::store::date_value(Date::from_ymd(y, m, d).unwrap(), &TZ)
    }

    fn element(
        id: u64,
        kind: &str,
        amount: &str,
        date: i64,
        lead: u64,
        plan: Option<u64>,
    ) -> String {
        let plan = plan.map_or(String::new(), |p| {
            format!(r#",{{"field_id":4,"values":[{{"value":{p}}}]}}"#)
        });
        format!(
            r#"{{"id":{id},"catalog_id":9,"name":"x","is_deleted":false,"custom_fields_values":[
            {{"field_id":1,"values":[{{"value":"{kind}"}}]}},{{"field_id":2,"values":[{{"value":"{amount}"}}]}},
            {{"field_id":3,"values":[{{"value":{date}}}]}},{{"field_id":5,"values":[{{"value":{lead}}}]}}{plan}]}}"#
        )
    }

    fn page(items: &[String]) -> String {
        format!(
            r#"{{"_page":1,"_embedded":{{"elements":[{}]}}}}"#,
            items.join(",")
        )
    }

    struct Plain;

    impl Locale for Plain {
        fn text(&self, key: &str) -> String {
            key.rsplit('.').next().unwrap_or(key).to_owned()
        }
        fn count(&self, value: i64) -> String {
            value.to_string()
        }
        fn money(&self, value: i64) -> String {
            value.to_string()
        }
        fn share(&self, basis_points: i64) -> String {
            format!("{}.{} %", basis_points / 100, basis_points % 100 / 10)
        }
    }

    fn deal(id: u64, manager: u64) -> Deal {
        Deal {
            id,
            name: format!("Deal {id}"),
            price: 0,
            pipeline_id: 1,
            status_id: 142,
            responsible_user_id: manager,
            group_id: 0,
            created_at: 0,
            closed_at: None,
            loss_reason_id: None,
            stage_since: 0,
            is_deleted: false,
        }
    }

    #[test]
    fn records_become_the_margin_plan_and_the_overdue_list() {
        let rub = Currency::RUB;
        let body = page(&[
            element(1, "plan", "1000", midnight(2026, 11, 1), 10, None),
            element(2, "payment", "400.50", midnight(2026, 11, 5), 10, Some(1)),
            element(3, "expense", "100", midnight(2026, 11, 6), 10, None),
            element(4, "plan", "500", midnight(2026, 11, 20), 20, None),
            element(5, "void", "999", midnight(2026, 11, 2), 20, None),
            element(6, "payment", "50", midnight(2026, 10, 30), 20, None),
        ]);
        let mut records = Records::default();
        assert_eq!(
            records
                .add_page(Some(body.as_bytes()), &store(), rub, &TZ)
                .unwrap(),
            6
        );
        assert_eq!(records.add_page(None, &store(), rub, &TZ).unwrap(), 0);
        let data = PaymentsData {
            currency: Some(rub),
            payments: records.payments(rub),
            deals: [(10, deal(10, 7)), (20, deal(20, 8))].into(),
        };
        let month: YearMonth = "2026-11".parse().unwrap();
        let targets = [MarginTarget {
            month,
            scope: PlanScope::Company,
            amount_minor: 60_000,
        }];
        let rows = margin_rows(month, &data, &targets);
        // Paid 400.50 minus 100 of expenses in November; the October payment is not in the month.
        assert_eq!(rows[0].scope, PlanScope::Company);
        assert_eq!((rows[0].target, rows[0].fact), (Some(60_000), 30_050));
        assert_eq!(rows[0].completion_bp, Some(5_008));
        assert_eq!(rows[1].scope, PlanScope::Manager { user_id: 7 });
        let directory = Directory::default();
        let table = margin_table(month, &rows, rub, Lang::En, &directory, &Plain);
        assert_eq!(
            table.rows[0][3],
            Cell::Share {
                basis_points: 5_008,
                text: "50.0 %".into()
            }
        );
        let now = midnight(2026, 11, 27) + 12 * 3600;
        let overdue = overdue_payments(&data.ledgers(), now, &TZ);
        let list: Vec<(u64, i64, i64)> = overdue
            .iter()
            .map(|p| (p.deal_id, p.amount, p.days_overdue))
            .collect();
        // Deal 10 still owes 599.50 for 26 days; deal 20's October payment covers 50 of its 500.
        assert_eq!(list, [(10, 59_950, 26), (20, 45_000, 7)]);
        let table = overdue_table(
            &overdue,
            |id| data.name(id),
            rub,
            Lang::Ru,
            &directory,
            &Plain,
        );
        assert_eq!(
            table.rows[0][0],
            Cell::Deal {
                id: 10,
                name: "Deal 10".into()
            }
        );
        assert_eq!(table.rows[0][2], Cell::Text("01.11.2026".into()));
        assert_eq!(table.rows[0][3], Cell::Text("599,50\u{a0}₽".into()));
    }

    #[test]
    fn missing_deals_are_read_in_batches() {
        let batches = missing_batches([1, 2, 3, 4, 5].into_iter(), |id| id == 2, 2);
        assert_eq!(batches, [vec![1, 3], vec![4, 5]]);
        assert_eq!(
            deals_path(&[4, 5]),
            "/api/v4/leads?limit=2&filter%5Bid%5D%5B%5D=4&filter%5Bid%5D%5B%5D=5"
        );
        assert_eq!(
            elements_path(9, 3),
            "/api/v4/catalogs/9/elements?limit=250&page=3"
        );
    }
}
