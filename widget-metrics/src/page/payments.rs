//! The payments report on the key-metrics page ("Отчёт по платежам"): a month selector, the margin
//! plan of the month and the overdue payments with their deals and managers.
//!
//! Its data is read once per page, after the first load of the metrics (so the deals that load
//! already read are reused): every page of LeakGuard's catalog, then only the deals the page does
//! not have yet, in batches of `filter[id][]`. Every request goes through the page's limiter; the
//! load shows its progress and can be cancelled. The "Unpaid money" leak is counted from the same data.

use std::rc::Rc;

use amo_api::{Lead, Page as ApiPage};
use leakguard_core::dates::{local_date_of, YearMonth};
use leakguard_core::deal::Account;
use leakguard_core::metrics::{key_metrics, Filter, MetricsInput, OverduePayments};
use leakguard_core::payments::{overdue_payments, Currency};
use leakguard_core::text::interpolate;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, Element, HtmlInputElement};

use super::{button, error_key, status_of, Page};
use crate::backend::ServedPayments;
use crate::data::deal_of;
use crate::dom;
use crate::http::{get_bytes, HttpError};
use crate::payments::{
    deals_path, elements_path, margin_rows, margin_table, missing_batches, overdue_table,
    PaymentsData, Records,
};
use crate::report::Table;

/// The most catalog pages the report reads (500 000 records).
const MAX_PAGES: u32 = 2_000;

/// How many deals one `filter[id][]` request asks for.
const DEAL_BATCH: usize = 100;

/// Where the report stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the first load of the metrics.
    #[default]
    Waiting,
    /// The settings have no payments catalog yet (or payments are off).
    NotConfigured,
    /// Pages of records read, and deals read.
    Loading {
        pages: u32,
        deals: u32,
    },
    Ready,
    Failed(HttpError),
    Cancelled,
}

/// The report's part of the page state.
#[derive(Default)]
pub(super) struct PaymentsState {
    pub(super) phase: Phase,
    month: Option<YearMonth>,
    pub(super) data: Option<Rc<PaymentsData>>,
    /// The report the backend served with the key metrics, when it keeps a copy of the payments.
    pub(super) served: Option<Rc<ServedPayments>>,
    load: Option<AbortController>,
    /// The tables as last drawn, for the exports.
    tables: Vec<Table>,
}

impl PaymentsState {
    /// The load in flight, taken so it can be aborted.
    pub(super) fn take_load(&mut self) -> Option<AbortController> {
        self.load.take()
    }
}

impl Page {
    fn pt(&self, key: &str) -> String {
        self.widget.text(&format!("ui.metrics.payments.{key}"))
    }

    /// Starts reading the report's data unless it is read or being read.
    pub(super) fn load_payments(self: &Rc<Self>, force: bool) {
        let settings = &self.context.settings.payments;
        let store = settings.store.filter(|_| settings.enabled);
        {
            let state = self.state.borrow();
            let phase = state.payments.phase;
            let busy = matches!(phase, Phase::Loading { .. });
            if busy || (!force && phase != Phase::Waiting) {
                return;
            }
        }
        if self.served_month().is_some() {
            self.state.borrow_mut().payments.phase = Phase::Ready;
            self.draw_payments().ok();
            return;
        }
        let Some(store) = store else {
            self.state.borrow_mut().payments.phase = Phase::NotConfigured;
            self.draw_payments().ok();
            return;
        };
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        {
            let mut state = self.state.borrow_mut();
            state.payments.load = Some(controller);
            state.payments.phase = Phase::Loading { pages: 0, deals: 0 };
        }
        self.draw_payments().ok();
        let weak = Rc::downgrade(self);
        let currency = currency();
        wasm_bindgen_futures::spawn_local(async move {
            let set_phase = |phase: Phase| {
                if let Some(page) = weak.upgrade() {
                    page.state.borrow_mut().payments.phase = phase;
                    page.draw_payments().ok();
                }
            };
            let mut records = Records::default();
            let mut failure = None;
            for number in 1..=MAX_PAGES {
                let body = match get_bytes(&elements_path(store.catalog_id, number), &signal).await
                {
                    Ok(body) => body,
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                };
                let Some(page) = weak.upgrade() else { return };
                let added = records.add_page(body.as_deref(), &store, currency, &page.context.zone);
                match added {
                    Ok(count) if count < amo_api::query::MAX_LIMIT as usize => break,
                    Ok(_) => set_phase(Phase::Loading {
                        pages: number,
                        deals: 0,
                    }),
                    Err(_) => {
                        failure = Some(HttpError::Malformed);
                        break;
                    }
                }
            }
            let mut data = PaymentsData {
                currency: Some(currency),
                payments: records.payments(currency),
                ..PaymentsData::default()
            };
            // The deals the metrics already loaded are taken as they are.
            let batches = {
                let Some(page) = weak.upgrade() else { return };
                let state = page.state.borrow();
                let loaded = state.data.borrow();
                for id in records.deal_ids() {
                    if let Some(&at) = state.index.get(&id) {
                        data.deals.insert(id, loaded.deals[at].clone());
                    }
                }
                missing_batches(
                    records.deal_ids(),
                    |id| data.deals.contains_key(&id),
                    DEAL_BATCH,
                )
            };
            for batch in &batches {
                if failure.is_some() {
                    break;
                }
                match get_bytes(&deals_path(batch), &signal).await {
                    Ok(body) => {
                        let page: Result<ApiPage<Lead>, _> = body
                            .as_deref()
                            .map_or(Ok(ApiPage::empty()), serde_json::from_slice);
                        match page {
                            Ok(page) => {
                                for lead in page.items {
                                    data.deals.insert(lead.id, deal_of(lead));
                                }
                            }
                            Err(_) => failure = Some(HttpError::Malformed),
                        }
                    }
                    Err(error) => failure = Some(error),
                }
                set_phase(Phase::Loading {
                    pages: 0,
                    deals: data.deals.len() as u32,
                });
            }
            let Some(page) = weak.upgrade() else { return };
            let cancelled = signal.aborted();
            {
                let mut state = page.state.borrow_mut();
                state.payments.load = None;
                state.payments.phase = match failure {
                    None => {
                        state.payments.data = Some(Rc::new(data));
                        Phase::Ready
                    }
                    Some(_) if cancelled => Phase::Cancelled,
                    Some(error) => Phase::Failed(error),
                };
            }
            page.draw_payments().ok();
            page.payments_changed();
        });
    }

    /// Stops the report's load.
    pub(super) fn cancel_payments(&self) {
        if let Some(load) = self.state.borrow_mut().payments.load.take() {
            load.abort();
        }
    }

    /// Redraws the key metrics with the overdue payments now known.
    fn payments_changed(self: &Rc<Self>) {
        let (filter, now, report) = {
            let state = self.state.borrow();
            (state.filter, state.now, state.metrics.clone())
        };
        if let (Some(filter), Some(metrics)) = (filter, report) {
            self.show_metrics(metrics, filter, now);
        }
    }

    /// The "Unpaid money" leak of `filter` at `now` from the report's data, when it is read.
    pub(super) fn overdue_metric(&self, filter: &Filter, now: i64) -> Option<OverduePayments> {
        if self.source.get() == super::MetricsSource::Backend
            && self.state.borrow().payments.served.is_some()
        {
            // The backend's key metrics already count its copy of the payments.
            return None;
        }
        let data = self.state.borrow().payments.data.clone()?;
        let overdue = overdue_payments(&data.ledgers(), now, &self.context.zone);
        let deals: Vec<_> = data.deals.values().cloned().collect();
        let input = MetricsInput {
            deals: &deals,
            tasks: &[],
            overdue_payments: &overdue,
        };
        let account = Account {
            tz: &self.context.zone,
            calendar: &self.context.calendar,
            lang: self.context.lang,
        };
        let metrics = key_metrics(&input, filter, &self.context.settings.stuck, now, &account);
        Some(metrics.overdue_payments)
    }

    /// The report's month: the chosen one, else the current month in the account's zone.
    fn payments_month(&self) -> YearMonth {
        self.state.borrow().payments.month.unwrap_or_else(|| {
            YearMonth::of(local_date_of(
                crate::effects::now_unix(),
                &self.context.zone,
            ))
        })
    }

    /// The backend's report, when the page shows the backend's numbers and it has the chosen month.
    fn served_month(&self) -> Option<(Rc<ServedPayments>, usize)> {
        if self.source.get() != super::MetricsSource::Backend {
            return None;
        }
        let served = self.state.borrow().payments.served.clone()?;
        let month = self.payments_month();
        let index = served.margin.iter().position(|(m, _)| *m == month)?;
        Some((served, index))
    }

    /// The month selector changed: the backend's report when it has the month, else the
    /// browser's (read now if it was not yet).
    pub(super) fn payments_month_changed(self: &Rc<Self>, input: &Element) {
        let value = input
            .dyn_ref::<HtmlInputElement>()
            .map(HtmlInputElement::value)
            .unwrap_or_default();
        let Ok(month) = value.parse() else { return };
        self.state.borrow_mut().payments.month = Some(month);
        let needs_load = {
            let state = self.state.borrow();
            self.served_month().is_none()
                && state.payments.data.is_none()
                && !matches!(state.payments.phase, Phase::Loading { .. })
        };
        if needs_load {
            self.state.borrow_mut().payments.phase = Phase::Waiting;
            self.load_payments(false);
        } else {
            self.draw_payments().ok();
        }
    }

    /// A table of the report, for the exports.
    pub(super) fn payments_table(&self, id: &str) -> Option<Table> {
        let state = self.state.borrow();
        state.payments.tables.iter().find(|t| t.id == id).cloned()
    }

    pub(super) fn draw_payments(&self) -> Result<(), JsValue> {
        let part = self.part("payments");
        part.set_text_content(None);
        let phase = self.state.borrow().payments.phase;
        part.set_attribute(
            "data-state",
            match phase {
                Phase::Waiting | Phase::Loading { .. } => "loading",
                Phase::NotConfigured => "not-configured",
                Phase::Ready => "ready",
                Phase::Failed(_) => "error",
                Phase::Cancelled => "cancelled",
            },
        )?;
        dom::append(
            &part,
            &dom::text("h2", "leakguard-metrics__section-title", &self.pt("title"))?,
        )?;
        let month = self.payments_month();
        let field = dom::element("label", "leakguard-metrics__field")?;
        dom::append(
            &field,
            &dom::text("span", "leakguard-metrics__label", &self.pt("month"))?,
        )?;
        let input = dom::element("input", "leakguard-metrics__select")?;
        input.set_attribute("type", "month")?;
        input.set_attribute("name", "payments-month")?;
        input.set_attribute("data-payments-month", "")?;
        input.set_attribute("value", &month.to_string())?;
        dom::append(&field, &input)?;
        dom::append(&part, &field)?;
        let message = |text: String, alert: bool| -> Result<(), JsValue> {
            let class = if alert {
                "leakguard-metrics__message leakguard-metrics__message--alert"
            } else {
                "leakguard-metrics__message"
            };
            let line = dom::text("p", class, &text)?;
            line.set_attribute("data-payments-status", "")?;
            dom::append(&part, &line)
        };
        match phase {
            Phase::Waiting => message(self.pt("waiting"), false)?,
            Phase::NotConfigured => message(self.pt("not_configured"), false)?,
            Phase::Loading { pages, deals } => {
                message(
                    interpolate(
                        &self.pt("loading"),
                        &[
                            ("pages", &self.formats.count(i64::from(pages))),
                            ("deals", &self.formats.count(i64::from(deals))),
                        ],
                    ),
                    false,
                )?;
                dom::append(&part, &button(&self.t("cancel"), "payments-cancel")?)?;
            }
            Phase::Failed(error) => {
                message(
                    interpolate(
                        &self.widget.text(error_key(error)),
                        &[("status", &status_of(error))],
                    ),
                    true,
                )?;
                dom::append(&part, &button(&self.pt("retry"), "payments-retry")?)?;
            }
            Phase::Cancelled => {
                message(self.t("cancelled"), false)?;
                dom::append(&part, &button(&self.pt("retry"), "payments-retry")?)?;
            }
            Phase::Ready => {}
        }
        let Some(directory) = self.state.borrow().directory.clone() else {
            return Ok(());
        };
        let (margin, overdue) = if let Some((served, index)) = self.served_month() {
            part.set_attribute("data-source", "backend")?;
            let rows = &served.margin[index].1;
            let list: Vec<_> = served.overdue.iter().map(|(p, _)| *p).collect();
            let name = |id: u64| {
                served
                    .overdue
                    .iter()
                    .find(|(p, _)| p.deal_id == id)
                    .and_then(|(_, name)| name.clone())
            };
            let currency = served.currency;
            (
                margin_table(month, rows, currency, self.lang, &directory, self),
                overdue_table(&list, name, currency, self.lang, &directory, self),
            )
        } else {
            let data = self.state.borrow().payments.data.clone();
            let Some(data) = data else {
                self.state.borrow_mut().payments.tables.clear();
                return Ok(());
            };
            part.set_attribute("data-source", "browser")?;
            let currency = data.currency.unwrap_or_else(currency);
            let targets = &self.context.settings.payments.margin_plan;
            let rows = margin_rows(month, &data, targets);
            let now = self.state.borrow().now.max(crate::effects::now_unix());
            let overdue = overdue_payments(&data.ledgers(), now, &self.context.zone);
            (
                margin_table(month, &rows, currency, self.lang, &directory, self),
                overdue_table(
                    &overdue,
                    |id| data.name(id),
                    currency,
                    self.lang,
                    &directory,
                    self,
                ),
            )
        };
        for table in [&margin, &overdue] {
            dom::append(&part, &self.table_element(table, usize::MAX)?)?;
        }
        self.state.borrow_mut().payments.tables = vec![margin, overdue];
        Ok(())
    }
}

/// The account currency the amounts are in.
pub(super) fn currency() -> Currency {
    crate::host::account()
        .currency
        .as_deref()
        .and_then(Currency::from_code)
        .unwrap_or(Currency::RUB)
}
