//! LeakGuard's payments in the demo account: its catalog and fields as the settings module creates them on an
//! administrator's first save, payment records on a share of the deals, and the widget's stored settings.
//!
//! Everything is built from the widget's own write models (`amo_api::payments`) and checked by the same validation
//! the API runs on `POST …/custom_fields` and `POST …/elements`, so the demo holds exactly what LeakGuard would
//! have written. A separate random stream keeps every other demo entity as it was.

use amo_api::payments::{catalog_write, element_write, field_writes, link_write};
use leakguard_core::dates::{local_date_of, utc_of_local, Date, UtcOffset, YearMonth};
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{
    change_note, record_marker, Change, Record, RecordKind, StoreField,
};
use leakguard_core::payments::{
    monthly_instalments, schedule_from_template, Currency, ScheduleRow, TemplatePart,
};
use leakguard_core::settings::{MarginTarget, PaymentStore, PlanScope, Settings, StoreFieldIds};
use serde_json::{json, Map, Value};

use super::{ADMIN_ID, DAY, FIRST_MANAGER_ID, HOUR};
use crate::api::custom_fields::{apply_values, check_field, parse_values};
use crate::state::model::{Catalog, CatalogElement, ElementLink, Note};
use crate::state::store::Store;
use crate::state::{LOST, WON};

/// The widget code whose stored settings get the payments configuration.
pub const WIDGET_CODE: &str = "leakguard";

/// The manifest's settings field holding LeakGuard's whole configuration as JSON text.
const CONFIG_FIELD: &str = "config";

/// Percent of won deals and of active deals (outside the first stages) that have payment records.
const WON_SHARE: u8 = 55;
const ACTIVE_SHARE: u8 = 35;

/// The account's time zone for the core's date conversions.
struct Zone(jiff::tz::TimeZone);

impl UtcOffset for Zone {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        jiff::Timestamp::from_second(utc_seconds)
            .map(|instant| self.0.to_offset(instant).seconds())
            .unwrap_or(0)
    }
}

/// What one deal's records say about it, for the showcase.
#[derive(Default)]
struct DealState {
    has_payment: bool,
    /// A planned payment due before today is not fully paid.
    overdue: bool,
    /// A planned payment due today or later is not fully paid.
    open: bool,
}

/// Writes LeakGuard's records into the catalog of one account.
struct Writer<'a> {
    store: &'a mut Store,
    rng: fastrand::Rng,
    now: i64,
    today: Date,
    tz: Zone,
    currency: Currency,
    payments: PaymentStore,
    /// Payments minus expenses dated last month, for a plausible margin plan.
    last_month_margin: i64,
}

/// Prepares the payments catalog, records and the widget's settings in a demo `store` built at `now`.
pub fn prepare(store: &mut Store, seed: u64, now: i64) {
    let tz =
        Zone(jiff::tz::TimeZone::get(&store.account.timezone).unwrap_or(jiff::tz::TimeZone::UTC));
    let currency = Currency::from_code(&store.account.currency)
        .unwrap_or_else(|| Currency::from_code("RUB").expect("RUB is a known currency"));
    let created = store
        .leads
        .values()
        .map(|l| l.created_at)
        .min()
        .unwrap_or(now)
        - DAY;
    let payments = create_catalog(store, created);
    let mut writer = Writer {
        today: local_date_of(now, &tz),
        store,
        rng: fastrand::Rng::with_seed(seed ^ 0x9a7e_5eed),
        now,
        tz,
        currency,
        payments,
        last_month_margin: 0,
    };
    let first_stages: Vec<u64> = writer
        .store
        .pipelines
        .iter()
        .flat_map(|p| {
            p.statuses
                .iter()
                .filter(|s| s.kind == 0)
                .take(2)
                .map(|s| s.id)
        })
        .chain(
            writer
                .store
                .pipelines
                .iter()
                .flat_map(|p| p.statuses.iter().filter(|s| s.kind == 1).map(|s| s.id)),
        )
        .collect();
    let showcase = writer.store.showcase.clone();
    let reserved = [
        showcase.deal_with_task,
        showcase.deal_overdue,
        showcase.deal_without_task,
        showcase.deal_won,
        showcase.deal_lost,
        showcase.deal_new_stage,
        showcase.deal_stuck,
    ];
    let ids: Vec<u64> = writer.store.leads.keys().copied().collect();
    let (mut overdue, mut partial, mut without) = (None, None, None);
    for id in ids {
        let lead = &writer.store.leads[&id];
        if lead.is_deleted || lead.status_id == LOST || reserved.contains(&Some(id)) {
            continue;
        }
        let won = lead.status_id == WON;
        let early = first_stages.contains(&lead.status_id);
        let share = if won {
            WON_SHARE
        } else if early {
            0
        } else {
            ACTIVE_SHARE
        };
        let roll = writer.rng.u8(0..100);
        if roll >= share {
            if !won && !early && without.is_none() {
                without = Some(id);
            }
            continue;
        }
        let state = writer.deal(id, won);
        if !won {
            if state.overdue {
                overdue.get_or_insert(id);
            } else if state.has_payment && state.open {
                partial.get_or_insert(id);
            }
        }
    }
    let margin_plan = writer.margin_plan();
    let Writer {
        store, payments, ..
    } = writer;
    store.showcase.payments_catalog_id = Some(payments.catalog_id);
    store.showcase.deal_payments_overdue = overdue;
    store.showcase.deal_payments_partial = partial;
    store.showcase.deal_without_payments = without;
    let mut settings = Settings::default();
    settings.payments.store = Some(payments);
    settings.payments.margin_plan = margin_plan;
    let config = serde_json::to_string(&settings).expect("settings serialise");
    let mut fields = Map::new();
    fields.insert(CONFIG_FIELD.into(), Value::String(config));
    store.widget_settings.insert(WIDGET_CODE.into(), fields);
}

/// Creates the catalog and its six fields from the widget's create bodies; returns their ids.
fn create_catalog(store: &mut Store, created: i64) -> PaymentStore {
    let body = serde_json::to_value(catalog_write(Lang::Ru)).expect("catalog body");
    let id = store.next_id("catalog");
    store.catalogs.push(Catalog {
        id,
        name: body["name"].as_str().unwrap_or_default().to_owned(),
        kind: body["type"].as_str().unwrap_or("regular").to_owned(),
        sort: 10 * id as i64,
        can_add_elements: body["can_add_elements"].as_bool().unwrap_or(true),
        can_show_in_cards: true,
        can_link_multiple: body["can_link_multiple"].as_bool().unwrap_or(false),
        can_be_deleted: true,
        created_by: ADMIN_ID,
        created_at: created,
        updated_at: created,
    });
    let body = serde_json::to_value(field_writes(Lang::Ru)).expect("fields body");
    let mut codes = Vec::new();
    let mut fields = Vec::new();
    let mut ids = StoreFieldIds::default();
    for (item, field) in body.as_array().into_iter().flatten().zip(StoreField::ALL) {
        let mut errors = Vec::new();
        let object = item.as_object().cloned().unwrap_or_default();
        let mut def = check_field(&object, &mut codes, &mut errors).expect("a valid field");
        assert!(
            errors.is_empty(),
            "the widget's field body is refused: {errors:?}"
        );
        def.id = store.next_id("field");
        ids.set(field, def.id);
        fields.push(def);
    }
    store.catalog_fields.insert(id, fields);
    PaymentStore {
        catalog_id: id,
        fields: ids,
    }
}

impl Writer<'_> {
    /// A schedule, payments and expenses for deal `id`, written as LeakGuard writes them.
    fn deal(&mut self, id: u64, won: bool) -> DealState {
        let lead = self.store.leads[&id].clone();
        let mut state = DealState::default();
        let total = lead.price * self.currency.minor_per_major();
        if total <= 0 {
            return state;
        }
        let age = (self.now - lead.created_at).max(HOUR);
        let start_at = match lead.closed_at.filter(|_| won) {
            Some(closed) => closed - self.rng.i64(0..=age.min(7 * DAY)),
            None => self.now - self.rng.i64(0..=age.min(45 * DAY)),
        }
        .clamp(lead.created_at, self.now);
        let start = local_date_of(start_at, &self.tz);
        let rows = self.schedule(total, start);
        let plans: Vec<Record> = rows
            .iter()
            .map(|row| self.record(id, RecordKind::Plan, row.due, row.amount, None, ""))
            .collect();
        let plans: Vec<Record> = plans
            .into_iter()
            .map(|plan| self.save(plan, start_at))
            .collect();
        self.note(&lead, &Change::Scheduled(&plans), start_at);
        for plan in &plans {
            let due = plan.date <= self.today;
            let roll = self.rng.u8(0..100);
            let paid = match (due, won) {
                (true, true) if roll < 92 => plan.amount,
                (true, true) if roll < 97 => self.part_of(plan.amount),
                (true, false) if roll < 70 => plan.amount,
                (true, false) if roll < 85 => self.part_of(plan.amount),
                (false, _) if roll < 10 => plan.amount,
                _ => 0,
            };
            if paid < plan.amount {
                if plan.date < self.today {
                    state.overdue = true;
                } else {
                    state.open = true;
                }
            }
            if paid == 0 {
                continue;
            }
            state.has_payment = true;
            let offset = self.rng.i64(-5..=7);
            let date = plan.date.add_days(offset).clamp(start, self.today);
            let linked = (self.rng.u8(0..100) < 90).then_some(plan.id);
            let comment = match self.rng.u8(0..100) {
                0..20 => "Аванс".to_owned(),
                20..45 => format!("Платёжное поручение №{}", self.rng.u32(100..9999)),
                _ => String::new(),
            };
            let payment = self.record(id, RecordKind::Payment, date, paid, linked, &comment);
            let at = self.at_noon(date);
            let payment = self.save(payment, at);
            self.tally(&payment);
            self.note(&lead, &Change::Added(&payment), at);
        }
        if self.rng.u8(0..100) < 35 {
            for _ in 0..self.rng.u8(1..=2) {
                let amount = (total * self.rng.i64(3..=20) / 100).max(1) / 100 * 100;
                let days = (self.today.days_since_epoch() - start.days_since_epoch()).max(0);
                let date = start.add_days(self.rng.i64(0..=days));
                let comment =
                    ["Доставка", "Субподряд", "Комиссия агента", "Монтаж"][self.rng.usize(0..4)];
                let expense = self.record(
                    id,
                    RecordKind::Expense,
                    date,
                    amount.max(100),
                    None,
                    comment,
                );
                let at = self.at_noon(date);
                let expense = self.save(expense, at);
                self.tally(&expense);
                self.note(&lead, &Change::Added(&expense), at);
            }
        }
        state
    }

    /// Counts `record` into last month's margin when it is dated last month.
    fn tally(&mut self, record: &Record) {
        if YearMonth::of(record.date) != YearMonth::of(self.today).add_months(-1) {
            return;
        }
        match record.kind {
            RecordKind::Payment => self.last_month_margin += record.amount,
            RecordKind::Expense => self.last_month_margin -= record.amount,
            RecordKind::Plan | RecordKind::Void => {}
        }
    }

    /// A schedule of 1–4 planned payments from one of the usual templates, or monthly instalments.
    fn schedule(&mut self, total: i64, start: Date) -> Vec<ScheduleRow> {
        let part = |percent, days| TemplatePart { percent, days };
        let rows = match self.rng.u8(0..100) {
            0..25 => schedule_from_template(total, start, &[part(100, 0)]),
            25..55 => schedule_from_template(total, start, &[part(50, 0), part(50, 30)]),
            55..75 => {
                schedule_from_template(total, start, &[part(30, 0), part(40, 30), part(30, 60)])
            }
            75..90 => monthly_instalments(total, start, 3),
            _ => monthly_instalments(total, start, 4),
        };
        rows.expect("the demo's templates are valid")
    }

    /// 30–70 % of `amount`, in whole major units.
    fn part_of(&mut self, amount: i64) -> i64 {
        let per = self.currency.minor_per_major();
        let part = amount * self.rng.i64(30..=70) / 100 / per * per;
        part.clamp(per.min(amount), amount)
    }

    fn record(
        &self,
        lead_id: u64,
        kind: RecordKind,
        date: Date,
        amount: i64,
        planned_id: Option<u64>,
        comment: &str,
    ) -> Record {
        Record {
            id: 0,
            lead_id,
            kind,
            date,
            amount,
            planned_id,
            comment: comment.to_owned(),
        }
    }

    /// Noon of `date` in the account's zone, but never later than now.
    fn at_noon(&self, date: Date) -> i64 {
        utc_of_local(date, 12, 0, &self.tz).min(self.now)
    }

    /// Creates the element of `record` at `at` from the widget's element body (validated like `POST …/elements`)
    /// and links it to the deal; returns the record with its id.
    fn save(&mut self, mut record: Record, at: i64) -> Record {
        let marker = record_marker(record.lead_id, at * 1000);
        let write = element_write(
            &record,
            &self.payments,
            self.currency,
            Lang::Ru,
            &self.tz,
            Some(&marker),
        );
        let body = serde_json::to_value(&write).expect("element body");
        let fields = &self.store.catalog_fields[&self.payments.catalog_id];
        let mut errors = Vec::new();
        let updates = parse_values(
            fields,
            &body["custom_fields_values"],
            "custom_fields_values",
            &mut errors,
        );
        assert!(
            errors.is_empty(),
            "the widget's element body is refused: {errors:?}"
        );
        let mut values = Vec::new();
        apply_values(&mut values, updates);
        let author = self.store.leads[&record.lead_id].responsible_user_id;
        let id = self.store.next_id("element");
        self.store.elements.insert(
            id,
            CatalogElement {
                id,
                catalog_id: self.payments.catalog_id,
                name: write.name,
                created_by: author,
                updated_by: author,
                created_at: at,
                updated_at: at,
                is_deleted: false,
                custom_fields_values: values,
            },
        );
        let link = link_write(id, self.payments.catalog_id);
        if let Some(lead) = self.store.leads.get_mut(&record.lead_id) {
            lead.catalog_elements.push(ElementLink {
                id: link.to_entity_id,
                catalog_id: link.metadata.catalog_id,
                quantity: 1.0,
                price_id: None,
            });
        }
        record.id = id;
        record
    }

    /// The note LeakGuard adds to the deal for `change`, by the deal's responsible manager.
    fn note(&mut self, lead: &crate::state::model::Lead, change: &Change<'_>, at: i64) {
        let by = lead.responsible_user_id;
        let author = self
            .store
            .user(by)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let text = change_note(change, &author, self.currency, Lang::Ru);
        let id = self.store.next_id("note");
        let group_id = self.store.group_of(by);
        self.store.notes.insert(
            id,
            Note {
                id,
                entity_type: "leads".into(),
                entity_id: lead.id,
                created_by: by,
                updated_by: by,
                created_at: at,
                updated_at: at,
                responsible_user_id: by,
                group_id,
                note_type: "common".into(),
                params: json!({ "text": text }),
            },
        );
    }

    /// A margin plan for last month and this month: the company's, a little above last month's margin, and the
    /// first manager's share of it.
    fn margin_plan(&self) -> Vec<MarginTarget> {
        let this_month = YearMonth::of(self.today);
        let last_month = this_month.add_months(-1);
        let margin = self.last_month_margin;
        let step = 100_000 * self.currency.minor_per_major();
        let company = (margin.max(step) * 11 / 10 / step + 1) * step;
        let managers = self
            .store
            .users
            .iter()
            .filter(|u| !u.is_admin)
            .count()
            .max(1) as i64;
        vec![
            MarginTarget {
                month: last_month,
                scope: PlanScope::Company,
                amount_minor: company,
            },
            MarginTarget {
                month: this_month,
                scope: PlanScope::Company,
                amount_minor: company,
            },
            MarginTarget {
                month: this_month,
                scope: PlanScope::Manager {
                    user_id: FIRST_MANAGER_ID,
                },
                amount_minor: company / managers / step * step + step,
            },
        ]
    }
}
