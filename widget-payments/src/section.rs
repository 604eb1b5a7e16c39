//! The payments section drawn into the card: loads the deal's records (2 requests), shows the
//! schedule, payments, expenses and totals, and lets users who may edit add a schedule, payments
//! and expenses, edit and delete them, and remind the manager of an overdue row.
//!
//! The whole section is redrawn from its state after every change; the listeners (click, change,
//! input, keydown) sit on the section's root once, are found by `data-action` and die with it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use amo_api::tasks::EntityType;
use amo_api::NewTask;
use leakguard_core::dates::{local_date_of, Calendar, Date};
use leakguard_core::deal::{Account, DealContext};
use leakguard_core::idempotency::{has_marker, marker, MarkerKind};
use leakguard_core::payments::store::{
    change_note, deal_payments, format_date, Change as NoteChange, Record, RecordKind,
};
use leakguard_core::payments::{
    format_money, may_edit_payments, overdue_payments, reminder_task, DealLedger, Money,
};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event};

use crate::data::{self, Context, Deal};
use crate::dom::{self, Listener, Owned};
use crate::form::{self, Fields, FormError};
use crate::http::{self, HttpError, InFlight};
use crate::pending::{self, Change, Pending, StoredRecord};
use crate::save;

mod draw;

/// What the section can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Loading,
    /// The settings have no catalog yet: an administrator must save them once.
    NoStore,
    /// The stored settings cannot be read.
    Unreadable,
    Failed(HttpError),
    Ready,
}

impl Phase {
    fn code(self) -> &'static str {
        match self {
            Phase::Loading => "loading",
            Phase::NoStore => "no-store",
            Phase::Unreadable => "unreadable",
            Phase::Failed(_) => "failed",
            Phase::Ready => "ready",
        }
    }
}

/// Which form is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormKind {
    Schedule,
    Record {
        kind: RecordKind,
        editing: Option<u64>,
    },
}

#[derive(Clone, Debug)]
struct OpenForm {
    kind: FormKind,
    fields: Fields,
    error: Option<FormError>,
}

/// A reminder's state, per planned payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remind {
    Sending,
    Done,
    Failed(HttpError),
}

#[derive(Debug)]
struct State {
    phase: Phase,
    deal: Deal,
    records: Vec<Record>,
    form: Option<OpenForm>,
    /// The record whose deletion waits for a confirmation.
    confirm: Option<u64>,
    pending: Option<Pending>,
    saving: bool,
    save_error: Option<HttpError>,
    reminders: BTreeMap<u64, Remind>,
}

/// The mounted section. Dropping it removes its element and listeners and aborts its requests.
#[derive(Debug)]
pub struct Section {
    /// Shared with the requests in flight, which hold no strong reference to the section: freeing
    /// it drops its `InFlight` handles and so aborts them.
    context: Rc<Context>,
    root: Owned,
    state: RefCell<State>,
    listeners: RefCell<Vec<Listener>>,
    loading: RefCell<Option<InFlight>>,
    saving: RefCell<Option<InFlight>>,
    reminding: RefCell<Option<InFlight>>,
}

impl Section {
    /// Draws the section into `area` and starts loading.
    pub fn mount(context: Context, area: &Element) -> Result<Rc<Section>, JsValue> {
        let root = dom::child(area, "div", "leakguard-payments")?;
        root.set_attribute("style", draw::style::ROOT)?;
        root.set_attribute("data-leakguard-payments", "")?;
        root.set_attribute("role", "region")?;
        root.set_attribute("aria-label", &context.widget.text("ui.payments.title"))?;
        let stored = dom_storage()
            .and_then(|s| s.get_item(&storage_key(&context)).ok().flatten())
            .and_then(|text| Pending::from_json(&text, context.lead_id));
        let phase = match (&context.settings, context.store()) {
            (None, _) => Phase::Unreadable,
            (Some(_), None) => Phase::NoStore,
            (Some(_), Some(_)) => Phase::Loading,
        };
        let section = Rc::new(Section {
            context: Rc::new(context),
            root: Owned::new(root),
            state: RefCell::new(State {
                phase,
                deal: Deal::default(),
                records: Vec::new(),
                form: None,
                confirm: None,
                pending: stored,
                saving: false,
                save_error: None,
                reminders: BTreeMap::new(),
            }),
            listeners: RefCell::new(Vec::new()),
            loading: RefCell::new(None),
            saving: RefCell::new(None),
            reminding: RefCell::new(None),
        });
        section.listen();
        section.render();
        if phase == Phase::Loading {
            load(&section);
        }
        Ok(section)
    }

    fn text(&self, key: &str) -> String {
        self.context.widget.text(key)
    }

    fn money(&self, minor: i64) -> String {
        format_money(Money::new(minor, self.context.currency), self.context.lang)
    }

    fn date(&self, date: Date) -> String {
        format_date(date, self.context.lang)
    }

    fn today(&self) -> Date {
        local_date_of(now(), &self.context.zone)
    }

    fn may_edit(&self) -> bool {
        self.context
            .settings
            .as_ref()
            .is_some_and(|s| may_edit_payments(&self.context.user, &s.payments))
    }

    fn listen(self: &Rc<Self>) {
        let root = self.root.element();
        let mut listeners = Vec::new();
        let weak = Rc::downgrade(self);
        listeners.push(dom::on(root, "click", move |event| {
            let Some(target) = action_target(event) else {
                return;
            };
            let action = target.get_attribute("data-action").unwrap_or_default();
            let id = target
                .get_attribute("data-id")
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            defer(&weak, move |section| section.act(&action, id));
        }));
        let weak = Rc::downgrade(self);
        listeners.push(dom::on(root, "change", move |event| {
            let field = field_of(event);
            if matches!(field.as_deref(), Some("mode" | "preset")) {
                defer(&weak, move |section| {
                    section.field_changed(field.as_deref())
                });
            }
        }));
        let weak = Rc::downgrade(self);
        listeners.push(dom::on(root, "input", move |_| {
            if let Some(section) = weak.upgrade() {
                section.capture();
                section.preview();
            }
        }));
        let weak = Rc::downgrade(self);
        listeners.push(dom::on(root, "keydown", move |event| {
            let escape = event
                .dyn_ref::<web_sys::KeyboardEvent>()
                .is_some_and(|key| key.key() == "Escape");
            if escape {
                defer(&weak, |section| section.act("cancel-form", 0));
            }
        }));
        *self.listeners.borrow_mut() = listeners;
    }

    /// Reads the open form's inputs into the state.
    fn capture(&self) {
        let mut state = self.state.borrow_mut();
        let Some(open) = state.form.as_mut() else {
            return;
        };
        let Ok(inputs) = self.root.element().query_selector_all("[data-field]") else {
            return;
        };
        for i in 0..inputs.length() {
            if let Some(input) = inputs.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                if let Some(name) = input.get_attribute("data-field") {
                    open.fields.insert(name, dom::value_of(&input));
                }
            }
        }
    }

    fn field_changed(self: &Rc<Self>, field: Option<&str>) {
        self.capture();
        if field == Some("preset") {
            if let Some(open) = self.state.borrow_mut().form.as_mut() {
                let index = open
                    .fields
                    .get("preset")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                form::apply_preset(&mut open.fields, index);
            }
        }
        self.render();
        self.focus(&format!("[data-field=\"{}\"]", field.unwrap_or("mode")));
    }

    fn focus(&self, selector: &str) {
        if let Ok(Some(element)) = self.root.element().query_selector(selector) {
            if let Some(element) = element.dyn_ref::<web_sys::HtmlElement>() {
                let _ = element.focus();
            }
        }
    }

    /// A button was pressed.
    fn act(self: &Rc<Self>, action: &str, id: u64) {
        self.capture();
        let today = form::date_input_value(self.today());
        let open = |kind, fields| {
            Some(OpenForm {
                kind,
                fields,
                error: None,
            })
        };
        {
            let mut state = self.state.borrow_mut();
            match action {
                "retry-load" => {
                    drop(state);
                    load(self);
                    return;
                }
                "open-schedule" => {
                    let price = Money::from_major(state.deal.price, self.context.currency)
                        .map(|m| crate::form::amount_input(m.minor, self.context.currency))
                        .unwrap_or_default();
                    state.form = open(
                        FormKind::Schedule,
                        form::schedule_defaults(&price, self.today()),
                    );
                }
                "open-payment" | "open-expense" => {
                    let kind = if action == "open-payment" {
                        RecordKind::Payment
                    } else {
                        RecordKind::Expense
                    };
                    let mut fields = Fields::new();
                    fields.insert("date".into(), today);
                    state.form = open(
                        FormKind::Record {
                            kind,
                            editing: None,
                        },
                        fields,
                    );
                }
                "edit" => {
                    if let Some(record) = state.records.iter().find(|r| r.id == id).cloned() {
                        let mut fields = Fields::new();
                        fields.insert(
                            "amount".into(),
                            form::amount_input(record.amount, self.context.currency),
                        );
                        fields.insert("date".into(), form::date_input_value(record.date));
                        fields.insert(
                            "planned".into(),
                            record.planned_id.map(|p| p.to_string()).unwrap_or_default(),
                        );
                        fields.insert("comment".into(), record.comment.clone());
                        let kind = FormKind::Record {
                            kind: record.kind,
                            editing: Some(record.id),
                        };
                        state.form = open(kind, fields);
                    }
                }
                "cancel-form" => state.form = None,
                "add-part" | "remove-part" | "add-row" | "remove-row" => {
                    if let Some(open) = state.form.as_mut() {
                        let index = usize::try_from(id).unwrap_or(0);
                        match action {
                            "add-part" => form::add_row(&mut open.fields, "pct", "days", "", "0"),
                            "remove-part" => {
                                form::remove_row(&mut open.fields, "pct", "days", index)
                            }
                            "add-row" => form::add_row(
                                &mut open.fields,
                                "row_date",
                                "row_amount",
                                &today,
                                "",
                            ),
                            _ => {
                                form::remove_row(&mut open.fields, "row_date", "row_amount", index)
                            }
                        }
                    }
                }
                "delete" => state.confirm = Some(id),
                "cancel-delete" => state.confirm = None,
                "confirm-delete" => {
                    state.confirm = None;
                    let record = state.records.iter().find(|r| r.id == id).cloned();
                    drop(state);
                    if let Some(record) = record {
                        let note = self.note(&NoteChange::Deleted(&record));
                        self.start_save(
                            Change::Delete {
                                record: StoredRecord::of(&record),
                            },
                            note,
                        );
                    }
                    return;
                }
                "save-form" => {
                    drop(state);
                    self.submit();
                    return;
                }
                "retry-save" => {
                    drop(state);
                    send(self);
                    return;
                }
                "discard-pending" => {
                    state.pending = None;
                    state.save_error = None;
                    if let Some(storage) = dom_storage() {
                        let _ = storage.remove_item(&storage_key(&self.context));
                    }
                }
                "remind" => {
                    drop(state);
                    remind(self, id);
                    return;
                }
                _ => return,
            }
        }
        self.render();
        if matches!(
            action,
            "open-schedule" | "open-payment" | "open-expense" | "edit"
        ) {
            self.focus("[data-field]");
        }
    }

    /// The note of a change, with the marker of the save that carries it.
    fn note(&self, change: &NoteChange<'_>) -> String {
        change_note(
            change,
            &self.context.user_name,
            self.context.currency,
            self.context.lang,
        )
    }

    /// Checks the open form and saves it.
    fn submit(self: &Rc<Self>) {
        let Some(open) = self.state.borrow().form.clone() else {
            return;
        };
        let lead = self.context.lead_id;
        let currency = self.context.currency;
        let result = match open.kind {
            FormKind::Schedule => form::schedule_from(&open.fields, currency).map(|rows| {
                let records = form::plan_records(&rows, lead);
                let note = self.note(&NoteChange::Scheduled(&records));
                (
                    Change::Add {
                        records: records.iter().map(StoredRecord::of).collect(),
                    },
                    note,
                )
            }),
            FormKind::Record { kind, editing } => {
                let before = editing.and_then(|id| {
                    self.state
                        .borrow()
                        .records
                        .iter()
                        .find(|r| r.id == id)
                        .cloned()
                });
                form::record_from(&open.fields, kind, lead, before.as_ref(), currency).map(
                    |record| match &before {
                        Some(before) => {
                            let note = self.note(&NoteChange::Edited {
                                before,
                                after: &record,
                            });
                            (
                                Change::Edit {
                                    before: StoredRecord::of(before),
                                    after: StoredRecord::of(&record),
                                },
                                note,
                            )
                        }
                        None => {
                            let note = self.note(&NoteChange::Added(&record));
                            (
                                Change::Add {
                                    records: vec![StoredRecord::of(&record)],
                                },
                                note,
                            )
                        }
                    },
                )
            }
        };
        match result {
            Ok((change, note)) => {
                self.state.borrow_mut().form = None;
                self.start_save(change, note);
            }
            Err(error) => {
                let field = error.field.clone();
                if let Some(open) = self.state.borrow_mut().form.as_mut() {
                    open.error = Some(error);
                }
                self.render();
                self.focus(&format!("[data-field=\"{field}\"]"));
            }
        }
    }

    /// Keeps the change in `localStorage`, then sends it.
    fn start_save(self: &Rc<Self>, change: Change, note: String) {
        let nonce = js_sys::Date::now() as i64;
        let mut pending = Pending::new(self.context.lead_id, nonce, now(), change, String::new());
        pending.note = leakguard_core::idempotency::with_marker(&note, &pending.marker());
        persist(&self.context, &pending);
        self.state.borrow_mut().pending = Some(pending);
        send(self);
    }

    /// Redraws the preview of the schedule form.
    fn preview(&self) {
        let Ok(Some(preview)) = self.root.element().query_selector("[data-lg-preview]") else {
            return;
        };
        let Some(open) = self.state.borrow().form.clone() else {
            return;
        };
        preview.set_text_content(None);
        match form::schedule_from(&open.fields, self.context.currency) {
            Ok(rows) => {
                for row in rows {
                    let line = format!("{} — {}", self.date(row.due), self.money(row.amount));
                    let _ = dom::text(&preview, "li", "", &line);
                }
            }
            Err(error) => {
                let _ = dom::text(
                    &preview,
                    "li",
                    "leakguard-payments__hint",
                    &self.text(error.key),
                );
            }
        }
    }
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn dom_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn storage_key(context: &Context) -> String {
    pending::storage_key(context.account.id, context.lead_id)
}

/// Writes the pending change (or its progress) to `localStorage`.
fn persist(context: &Context, pending: &Pending) {
    if let Some(storage) = dom_storage() {
        let _ = storage.set_item(&storage_key(context), &pending.to_json());
    }
}

/// The element with `data-action` the event came from, inside the section.
fn action_target(event: &Event) -> Option<Element> {
    let target: Element = event.target()?.dyn_into().ok()?;
    target.closest("[data-action]").ok().flatten()
}

fn field_of(event: &Event) -> Option<String> {
    let target: Element = event.target()?.dyn_into().ok()?;
    target.get_attribute("data-field")
}

/// Runs `action` after the current event handler has returned (it redraws the section).
fn defer(section: &Weak<Section>, action: impl FnOnce(&Rc<Section>) + 'static) {
    let section = section.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(section) = section.upgrade() {
            action(&section);
        }
    });
}

/// Loads the deal and its records.
fn load(section: &Rc<Section>) {
    let Some(store) = section.context.store() else {
        return;
    };
    let Ok(request) = InFlight::new() else {
        section.state.borrow_mut().phase = Phase::Failed(HttpError::Network);
        section.render();
        return;
    };
    let signal = request.signal();
    *section.loading.borrow_mut() = Some(request);
    section.state.borrow_mut().phase = Phase::Loading;
    section.render();
    let weak = Rc::downgrade(section);
    let context = Rc::clone(&section.context);
    wasm_bindgen_futures::spawn_local(async move {
        let result = data::load(&context, &store, &signal).await;
        let Some(section) = weak.upgrade() else {
            return;
        };
        section.loading.take();
        {
            let mut state = section.state.borrow_mut();
            match result {
                Ok((deal, records)) => {
                    state.deal = deal;
                    state.records = records;
                    state.phase = Phase::Ready;
                }
                Err(error) => state.phase = Phase::Failed(error),
            }
        }
        section.render();
    });
}

/// Sends the pending change.
fn send(section: &Rc<Section>) {
    let Some(store) = section.context.store() else {
        return;
    };
    let Some(mut pending) = section.state.borrow().pending.clone() else {
        return;
    };
    if section.saving.borrow().is_some() {
        return;
    }
    let Ok(request) = InFlight::new() else {
        return;
    };
    let signal = request.signal();
    *section.saving.borrow_mut() = Some(request);
    {
        let mut state = section.state.borrow_mut();
        state.saving = true;
        state.save_error = None;
    }
    section.render();
    let weak = Rc::downgrade(section);
    let context = Rc::clone(&section.context);
    wasm_bindgen_futures::spawn_local(async move {
        let keep = |p: &Pending| persist(&context, p);
        let result = save::run(&context, &store, &mut pending, &keep, &signal).await;
        let Some(strong) = weak.upgrade() else { return };
        strong.saving.take();
        {
            let mut state = strong.state.borrow_mut();
            state.saving = false;
            match result {
                Ok(()) => {
                    pending::apply(&mut state.records, &pending);
                    state.pending = None;
                    if let Some(storage) = dom_storage() {
                        let _ = storage.remove_item(&storage_key(&strong.context));
                    }
                }
                Err(error) => {
                    state.save_error = Some(error);
                    state.pending = Some(pending);
                }
            }
        }
        strong.render();
    });
}

/// Creates the reminder task of an overdue planned payment, unless an open one with its marker exists.
fn remind(section: &Rc<Section>, planned_id: u64) {
    if section.reminding.borrow().is_some() {
        return;
    }
    let Some(settings) = section.context.settings.clone() else {
        return;
    };
    let (deal, records) = {
        let state = section.state.borrow();
        (state.deal.clone(), state.records.clone())
    };
    let context = &section.context;
    let payments = deal_payments(&records, context.currency);
    let time = now();
    let ledger = DealLedger {
        deal_id: context.lead_id,
        responsible_user_id: deal.responsible_user_id,
        payments: &payments,
    };
    let Some(overdue) = overdue_payments(&[ledger], time, &context.zone)
        .into_iter()
        .find(|o| o.planned_id == planned_id)
    else {
        return;
    };
    let calendar = settings
        .calendar
        .build(context.account.country.as_deref())
        .unwrap_or_else(|_| Calendar::russian());
    let deal_context = DealContext {
        id: context.lead_id,
        name: deal.name.clone(),
        price: deal.price,
        responsible_user_id: deal.responsible_user_id,
        ..DealContext::default()
    };
    let account = Account {
        tz: &context.zone,
        calendar: &calendar,
        lang: context.lang,
    };
    let task = reminder_task(&deal_context, &overdue, &settings.payments, time, &account);
    let task_marker = marker(
        MarkerKind::PaymentReminder,
        planned_id,
        overdue.due.days_since_epoch(),
    );
    let Ok(request) = InFlight::new() else {
        return;
    };
    let signal = request.signal();
    *section.reminding.borrow_mut() = Some(request);
    section
        .state
        .borrow_mut()
        .reminders
        .insert(planned_id, Remind::Sending);
    section.render();
    let weak = Rc::downgrade(section);
    wasm_bindgen_futures::spawn_local(async move {
        let lead = task.deal_id;
        // The open tasks are read first, so neither a second click nor a retry after a lost
        // answer creates the reminder twice.
        let result = match http::open_tasks(lead, &signal).await {
            Ok(tasks)
                if tasks
                    .iter()
                    .any(|t| !t.is_completed && has_marker(&t.text, &task_marker)) =>
            {
                Ok(())
            }
            Ok(_) => {
                let body = NewTask {
                    task_type_id: Some(task.task_type_id),
                    responsible_user_id: Some(task.responsible_user_id),
                    entity_type: Some(EntityType::Leads),
                    ..NewTask::for_lead(lead, task.text.clone(), task.complete_till)
                };
                http::create_task(&body, &signal).await
            }
            Err(error) => Err(error),
        };
        let Some(section) = weak.upgrade() else {
            return;
        };
        section.reminding.take();
        let state = match result {
            Ok(()) => Remind::Done,
            Err(error) => Remind::Failed(error),
        };
        section
            .state
            .borrow_mut()
            .reminders
            .insert(planned_id, state);
        section.render();
    });
}
