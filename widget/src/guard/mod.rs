//! The mandatory next step in the lead card: while the deal has no open task, every in-app exit and
//! every move to another open stage is held and the next-step dialog offers a one-click task.
//!
//! * In-app exits (back button, left menu, top navigation, links, `APP.router.navigate`/`back` from
//!   any script) go through amoCRM's page preventer, armed under our own code; its `accept` opens our
//!   dialog, its `decline` keeps the manager on the card, and a created task continues the navigation.
//! * Closing or reloading the tab gets the browser's own leave prompt (`beforeunload`).
//! * Browser Back cannot be held: see [`pending`].
//! * A stage change in the card is reverted and re-applied once the task exists.
//!
//! The decision is the core's ([`guard_decision`]) on the state the card already has ([`book`]),
//! so holding never waits for the network.

pub mod book;
pub mod create;
pub mod pending;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::{Rc, Weak};

use leakguard_core::dates::Calendar;
use leakguard_core::deal::{DealContext, PlannedTask, StageRef};
use leakguard_core::guard::{guard_decision, preset_deadlines, GuardDecision, OpenTaskKnowledge};
use leakguard_core::tasks::OpenTask;
use wasm_bindgen::JsValue;

use crate::audit::{self, AuditEvent, AuditLog};
use crate::card::{self, Card};
use crate::dom::{self, Listener};
use crate::effects::storage::{self, Area};
use crate::effects::{self, http};
use crate::host::{self, ConfirmTexts, Preventer, PreventerHandlers, Subscription};
use crate::render::dialog::{
    self, Action, DialogDom, DialogState, FormChoices, FormValues, Handlers, Mode, PresetChoice,
    Reason,
};
use crate::render::Texts;
use book::TaskEvent;
use create::{find_identical, is_ambiguous, new_task, task_text};
use pending::{PendingReturn, ReturnAction};

/// What the dialog holds back until the deal has a task.
#[derive(Debug)]
enum Interrupted {
    /// A navigation held by amoCRM's page preventer; calling it continues.
    Navigation(js_sys::Function),
    /// A stage the manager chose in the card.
    Stage(StageRef),
}

/// The guard's state in one card.
#[derive(Debug)]
pub(crate) struct Guard {
    /// The page-preventer code, ours alone (`<widget code>:next-step`).
    code: String,
    preventer: RefCell<Option<Preventer>>,
    subscriptions: RefCell<Vec<Subscription>>,
    armed: Cell<bool>,
    armed_at: Cell<i64>,
    /// The manager chose "leave anyway": hold nothing until a check answers again.
    released: Cell<bool>,
    unload: RefCell<Option<Listener>>,
    dialog: RefCell<Option<DialogDom>>,
    state: Cell<Option<DialogState>>,
    values: RefCell<FormValues>,
    interrupted: RefCell<Option<Interrupted>>,
    /// Open the dialog as soon as the tasks are known (back after browser Back).
    reopen: Cell<bool>,
    creating: RefCell<Option<http::InFlight>>,
    /// A task whose creation may have happened (an ambiguous failure not cleared by a re-read).
    unresolved: RefCell<Option<PlannedTask>>,
    /// A stage change let through once (re-applied after the task, or "anyway").
    stage_pass: Cell<Option<StageRef>>,
    calendar: OnceCell<Calendar>,
}

impl Guard {
    pub(crate) fn new(widget_code: &str, reopen: bool) -> Guard {
        Guard {
            code: format!("{widget_code}:next-step"),
            preventer: RefCell::new(None),
            subscriptions: RefCell::new(Vec::new()),
            armed: Cell::new(false),
            armed_at: Cell::new(0),
            released: Cell::new(false),
            unload: RefCell::new(None),
            dialog: RefCell::new(None),
            state: Cell::new(None),
            values: RefCell::new(FormValues::default()),
            interrupted: RefCell::new(None),
            reopen: Cell::new(reopen),
            creating: RefCell::new(None),
            unresolved: RefCell::new(None),
            stage_pass: Cell::new(None),
            calendar: OnceCell::new(),
        }
    }

    /// A check answered: "leave anyway" applied to the unknown state only.
    pub(crate) fn checked(&self) {
        self.released.set(false);
    }
}

/// Registers with the page: the preventer config (unarmed), the card model and the feed.
pub(crate) fn attach(card: &Rc<Card>) {
    let texts = confirm_texts(card, GuardDecision::Block);
    let (on_accept, on_decline) = (Rc::downgrade(card), Rc::downgrade(card));
    let preventer = Preventer::register(
        &card.guard.code,
        &texts,
        PreventerHandlers {
            accept: Box::new(move |proceed| {
                if let Some(card) = on_accept.upgrade() {
                    exit_held(&card, proceed);
                }
            }),
            decline: Box::new(move || {
                if let Some(card) = on_decline.upgrade() {
                    record(&card, AuditEvent::BlockedExit);
                }
            }),
        },
    );
    *card.guard.preventer.borrow_mut() = preventer;
    let mut subscriptions = Vec::new();
    let weak = Rc::downgrade(card);
    subscriptions.extend(host::on_card_model_change(move || {
        if let Some(card) = weak.upgrade() {
            stage_changed(&card);
        }
    }));
    let weak = Rc::downgrade(card);
    subscriptions.extend(host::on_card_feed(move |name, subject| {
        if let Some(card) = weak.upgrade() {
            feed_changed(&card, &name, &subject);
        }
    }));
    *card.guard.subscriptions.borrow_mut() = subscriptions;
}

/// The deal as the card shows it now (unsaved stage included).
fn deal(card: &Card) -> DealContext {
    let stage = host::current_stage().unwrap_or(StageRef::new(0, 0));
    DealContext {
        id: card.lead_id,
        pipeline_id: stage.pipeline_id,
        status_id: stage.status_id,
        responsible_user_id: host::card_main_user().unwrap_or_default(),
        ..DealContext::default()
    }
}

/// The core's decision for the deal as the card shows it now.
fn decision(card: &Card) -> GuardDecision {
    let knowledge = card.book.borrow().knowledge();
    guard_decision(&deal(card), &card.user, &card.settings.next_step, knowledge)
}

/// The decision the open dialog waits on: for a held stage change, the deal at the chosen stage.
fn dialog_decision(card: &Card) -> GuardDecision {
    let target = match card.guard.interrupted.borrow().as_ref() {
        Some(Interrupted::Stage(stage)) => Some(*stage),
        _ => None,
    };
    match target {
        Some(stage) => {
            let knowledge = card.book.borrow().knowledge();
            let moved = deal(card).moved_to(stage);
            guard_decision(&moved, &card.user, &card.settings.next_step, knowledge)
        }
        None => decision(card),
    }
}

/// Whether a decision holds the manager on the card.
fn holds(decision: GuardDecision) -> bool {
    matches!(
        decision,
        GuardDecision::Block | GuardDecision::AskRetry { fail_open: false }
    )
}

/// Brings everything in line with the current state: the preventer, the leave prompt, the dialog
/// and the panel. Called after every change; it never waits for the network.
pub(crate) fn refresh(card: &Rc<Card>) {
    let decision = decision(card);
    set_armed(
        card,
        holds(decision) && !card.guard.released.get(),
        decision,
    );
    if decision == GuardDecision::Block {
        // The calendar is built now, not when the manager clicks.
        calendar(card);
    }
    let open = card.guard.state.get();
    let waited_on = if open.is_some() {
        dialog_decision(card)
    } else {
        decision
    };
    match (open, waited_on) {
        (Some(_), GuardDecision::Allow(_) | GuardDecision::AskRetry { fail_open: true }) => {
            close(card);
            continue_interrupted(card);
        }
        (Some(state), waited_on) => {
            let mode = mode_for(card, waited_on);
            if mode != state.mode {
                card.guard.state.set(Some(DialogState { mode, ..state }));
                redraw(card);
            }
        }
        (None, GuardDecision::Block) if card.guard.reopen.replace(false) => {
            open_dialog(card, Reason::Returned);
        }
        (None, GuardDecision::Allow(_)) => card.guard.reopen.set(false),
        (None, _) => {}
    }
    card.show_panel(decision);
}

/// What the dialog shows for a holding decision.
fn mode_for(card: &Card, decision: GuardDecision) -> Mode {
    match (decision, card.book.borrow().knowledge()) {
        (GuardDecision::Block, _) => Mode::Form,
        (_, OpenTaskKnowledge::Failed) => {
            Mode::Failed(card.last_error().unwrap_or(http::HttpError::Network))
        }
        _ => Mode::Checking,
    }
}

/// The texts of amoCRM's leave-confirm for a holding decision: "no next step", or "not checked yet".
fn confirm_texts(card: &Card, decision: GuardDecision) -> ConfirmTexts {
    let prefix = if decision == GuardDecision::Block {
        "ui.guard.confirm"
    } else {
        "ui.guard.unknown"
    };
    ConfirmTexts {
        title: card.text(&format!("{prefix}_title")),
        description: card.text(&format!("{prefix}_text")),
        accept: card.text(&format!("{prefix}_accept")),
        decline: card.text("ui.guard.confirm_decline"),
    }
}

/// Arms or disarms the preventer and the leave prompt.
fn set_armed(card: &Rc<Card>, hold: bool, decision: GuardDecision) {
    let guard = &card.guard;
    if let Some(preventer) = guard.preventer.borrow().as_ref() {
        if hold {
            preventer.set_texts(&confirm_texts(card, decision));
        }
        if hold != guard.armed.get() {
            preventer.arm(hold);
        }
    }
    if hold == guard.armed.get() {
        return;
    }
    guard.armed.set(hold);
    if hold {
        guard.armed_at.set(effects::now_unix());
        // The browser shows its own generic prompt; the text cannot be chosen.
        *guard.unload.borrow_mut() = web_sys::window().map(|window| {
            dom::on(&window, "beforeunload", |event| {
                event.prevent_default();
                if let Some(event) =
                    wasm_bindgen::JsCast::dyn_ref::<web_sys::BeforeUnloadEvent>(event)
                {
                    event.set_return_value("leakguard");
                }
            })
        });
    } else {
        guard.unload.take();
    }
}

/// amoCRM's dialog was accepted: our dialog takes over, holding the navigation.
fn exit_held(card: &Rc<Card>, proceed: js_sys::Function) {
    record(card, AuditEvent::BlockedExit);
    if !holds(decision(card)) || card.guard.released.get() {
        // The state changed while amoCRM's dialog was open: nothing to hold any more.
        if let Some(preventer) = card.guard.preventer.borrow().as_ref() {
            preventer.proceed(&proceed);
        }
        return;
    }
    *card.guard.interrupted.borrow_mut() = Some(Interrupted::Navigation(proceed));
    open_dialog(card, Reason::Leaving);
}

/// Lets the next change to `stage` through unheld: the refusal picker putting back a move to "lost"
/// it holds until a reason is chosen (a refusal is never trapped by the guard).
pub(crate) fn let_through(card: &Card, stage: StageRef) {
    card.guard.stage_pass.set(Some(stage));
}

/// The card model changed: a move to an open stage without a next task is reverted and held.
fn stage_changed(card: &Rc<Card>) {
    let Some(previous) = host::stage_change() else {
        return;
    };
    let Some(target) = host::current_stage() else {
        return;
    };
    let passed = card.guard.stage_pass.get() == Some(target);
    if passed {
        card.guard.stage_pass.set(None);
    }
    let decision = decision(card);
    if passed || card.guard.released.get() || !holds(decision) {
        refresh(card);
        return;
    }
    // The nested `set` fires its own change event after this one, with the stage unchanged.
    host::set_stage(previous);
    record(card, AuditEvent::BlockedStageChange);
    *card.guard.interrupted.borrow_mut() = Some(Interrupted::Stage(target));
    if card.book.borrow().knowledge() == OpenTaskKnowledge::Unknown && !card.checking() {
        // A closed deal was never checked; it is checked now.
        card::load(card);
    }
    open_dialog(card, Reason::StageChange);
}

/// A task event of the feed (added in the composer, completed, removed).
fn feed_changed(card: &Rc<Card>, name: &JsValue, subject: &JsValue) {
    let events = host::feed_events(name, subject);
    if events.is_empty() {
        return;
    }
    let mut last_done = false;
    for event in events {
        last_done |= card.book.borrow_mut().apply(event);
    }
    if last_done && card.guard.state.get().is_none() && decision(card) == GuardDecision::Block {
        open_dialog(card, Reason::LastTaskDone);
    }
    refresh(card);
}

/// The panel's "schedule the next step" button.
pub(crate) fn open_manual(card: &Rc<Card>) {
    if decision(card) == GuardDecision::Block {
        open_dialog(card, Reason::Manual);
    }
}

/// Opens the dialog (or brings the open one up to date) for `reason`.
fn open_dialog(card: &Rc<Card>, reason: Reason) {
    let decision = dialog_decision(card);
    let interrupted = card.guard.interrupted.borrow().is_some();
    let state = DialogState {
        reason,
        mode: mode_for(card, decision),
        interrupted,
        creating: card.guard.creating.borrow().is_some(),
        create_error: None,
    };
    let fresh = card.guard.state.replace(Some(state)).is_none();
    if fresh {
        *card.guard.values.borrow_mut() = default_values(card);
        let weak = Rc::downgrade(card);
        let opened = DialogDom::open(move || defer(&weak, close_and_stay));
        *card.guard.dialog.borrow_mut() = opened.ok();
    }
    redraw(card);
}

/// Draws the dialog's content for its state.
fn redraw(card: &Rc<Card>) {
    let Some(state) = card.guard.state.get() else {
        return;
    };
    // The dialog is taken out while it is drawn, so nothing the drawing triggers can find it borrowed.
    let Some(mut dialog) = card.guard.dialog.take() else {
        return;
    };
    if let Some(values) = dialog.values() {
        *card.guard.values.borrow_mut() = values;
    }
    let choices = if state.mode == Mode::Form {
        form_choices(card)
    } else {
        FormChoices::default()
    };
    let view = dialog::view(&state, &choices, &card.guard.values.borrow(), card.as_ref());
    let (on_preset, on_action, on_close) = (
        Rc::downgrade(card),
        Rc::downgrade(card),
        Rc::downgrade(card),
    );
    let handlers = Rc::new(Handlers {
        preset: Box::new(move |deadline| {
            let card = on_preset.clone();
            defer(&card, move |card| create(card, deadline));
        }),
        action: Box::new(move |action| {
            defer(&on_action, move |card| match action {
                Action::Retry => card::load(card),
                Action::LeaveAnyway => leave_anyway(card),
                Action::Refused => {
                    close_and_stay(card);
                    crate::refusal::open(card, false);
                }
            });
        }),
        close: Box::new(move || defer(&on_close, close_and_stay)),
    });
    let _ = dialog.draw(&view, handlers);
    *card.guard.dialog.borrow_mut() = Some(dialog);
}

/// Runs `action` after the current event handler has returned (it may redraw or close the dialog,
/// which drops the listener that is running).
fn defer(card: &Weak<Card>, action: impl FnOnce(&Rc<Card>) + 'static) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(card) = card.upgrade() {
            action(&card);
        }
    });
}

/// Closes the dialog; the focus goes back where it was.
fn close(card: &Card) {
    card.guard.state.set(None);
    drop(card.guard.dialog.take());
}

/// Escape or ×: the dialog closes, the held exit is dropped and the manager stays on the card.
fn close_and_stay(card: &Rc<Card>) {
    close(card);
    card.guard.interrupted.take();
}

/// Lets the held exit or stage change go on, once nothing holds it any more.
fn continue_interrupted(card: &Rc<Card>) {
    match card.guard.interrupted.take() {
        Some(Interrupted::Navigation(proceed)) => {
            if let Some(preventer) = card.guard.preventer.borrow().as_ref() {
                preventer.proceed(&proceed);
            }
        }
        Some(Interrupted::Stage(stage)) => {
            card.guard.stage_pass.set(Some(stage));
            host::set_stage(stage);
        }
        None => {}
    }
}

/// "I understand, leave anyway" after a failed check (fail-closed): logged, then the exit goes on.
fn leave_anyway(card: &Rc<Card>) {
    record(card, AuditEvent::LeftAnyway);
    card.guard.released.set(true);
    close(card);
    refresh(card);
    continue_interrupted(card);
}

/// The account's working-day calendar, built once per card.
fn calendar(card: &Card) -> &Calendar {
    card.guard.calendar.get_or_init(|| {
        card.settings
            .calendar
            .build(host::account_country().as_deref())
            .unwrap_or_else(|_| Calendar::russian())
    })
}

/// The presets with today's deadlines, the task types and the users.
fn form_choices(card: &Card) -> FormChoices {
    let presets = preset_deadlines(
        effects::now_unix(),
        &card.settings.next_step,
        &card.zone,
        calendar(card),
    )
    .into_iter()
    .map(|(preset, deadline)| PresetChoice {
        label_key: preset.label_key,
        working_days: preset.working_days,
        deadline,
        when: card.weekday_dates.format(deadline),
    })
    .collect();
    FormChoices {
        presets,
        task_types: host::task_types(),
        users: host::managers(),
    }
}

/// The form's first values: the settings' task type (or the first one), no text, the deal's manager.
fn default_values(card: &Card) -> FormValues {
    let types = host::task_types();
    let preferred = u64::from(card.settings.next_step.fallback_task_type_id);
    let task_type = types
        .iter()
        .find(|t| t.id == preferred)
        .or(types.first())
        .map_or(preferred, |t| t.id);
    FormValues {
        task_type,
        text: String::new(),
        responsible: host::card_main_user().unwrap_or(card.user.id),
    }
}

/// A preset was clicked: create the task, never twice.
fn create(card: &Rc<Card>, deadline: i64) {
    let Some(state) = card.guard.state.get() else {
        return;
    };
    if card.guard.creating.borrow().is_some() || state.mode != Mode::Form {
        return;
    }
    if let Some(values) = card
        .guard
        .dialog
        .borrow()
        .as_ref()
        .and_then(DialogDom::values)
    {
        *card.guard.values.borrow_mut() = values;
    }
    let values = card.guard.values.borrow().clone();
    let type_name = host::task_types()
        .into_iter()
        .find(|t| t.id == values.task_type)
        .map_or_else(|| card.text("ui.guard.default_text"), |t| t.name);
    let planned = PlannedTask {
        deal_id: card.lead_id,
        text: task_text(&values.text, &type_name),
        task_type_id: u32::try_from(values.task_type).unwrap_or_default(),
        complete_till: deadline,
        responsible_user_id: values.responsible,
    };
    let Ok(request) = http::InFlight::new() else {
        return;
    };
    let signal = request.signal();
    *card.guard.creating.borrow_mut() = Some(request);
    card.guard.state.set(Some(DialogState {
        creating: true,
        create_error: None,
        ..state
    }));
    redraw(card);
    let unresolved = card.guard.unresolved.borrow().clone();
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = attempt(&planned, unresolved.as_ref(), &signal).await;
        let Some(card) = weak.upgrade() else {
            return;
        };
        card.guard.creating.take();
        let state = card.guard.state.get();
        match outcome {
            Ok((id, created)) => {
                card.guard.unresolved.take();
                record(&card, AuditEvent::TaskCreated);
                card.book.borrow_mut().apply(TaskEvent::Open(OpenTask {
                    id,
                    text: created.text,
                    complete_till: created.complete_till,
                    task_type_id: created.task_type_id,
                    responsible_user_id: created.responsible_user_id,
                }));
                if let Some(state) = state {
                    card.guard.state.set(Some(DialogState {
                        creating: false,
                        ..state
                    }));
                }
                refresh(&card);
            }
            Err((error, unresolved)) => {
                *card.guard.unresolved.borrow_mut() = unresolved;
                if let Some(state) = state {
                    card.guard.state.set(Some(DialogState {
                        creating: false,
                        create_error: Some(error),
                        ..state
                    }));
                    redraw(&card);
                }
            }
        }
    });
}

/// One creation attempt. An earlier attempt that may have succeeded is looked for first; a failure
/// that may have written the task is followed by a re-read before it is reported. The error comes
/// with the task whose creation is still unknown, if any.
async fn attempt(
    planned: &PlannedTask,
    unresolved: Option<&PlannedTask>,
    signal: &web_sys::AbortSignal,
) -> Result<(u64, PlannedTask), (http::HttpError, Option<PlannedTask>)> {
    let lead = planned.deal_id;
    if let Some(earlier) = unresolved {
        match http::open_lead_tasks(lead, signal).await {
            Ok(tasks) => {
                if let Some(id) = find_identical(&tasks, earlier) {
                    return Ok((id, earlier.clone()));
                }
            }
            Err(error) => return Err((error, Some(earlier.clone()))),
        }
    }
    let request_id = format!("leakguard-{lead}-{}", js_sys::Date::now() as u64);
    match http::create_task(&new_task(planned, request_id), signal).await {
        Ok(id) => Ok((id, planned.clone())),
        Err(error) if is_ambiguous(error) => match http::open_lead_tasks(lead, signal).await {
            Ok(tasks) => match find_identical(&tasks, planned) {
                Some(id) => Ok((id, planned.clone())),
                // Not written: the next attempt may post again.
                None => Err((error, None)),
            },
            Err(_) => Err((error, Some(planned.clone()))),
        },
        Err(error) => Err((error, None)),
    }
}

/// Counts an event for the current user in the audit (`localStorage`).
pub(crate) fn record(card: &Card, event: AuditEvent) {
    let key = audit::storage_key(
        host::account_id().unwrap_or_default(),
        &card.widget.code().unwrap_or_default(),
    );
    let mut log: AuditLog = storage::get(Area::Local, &key)
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .and_then(|value| serde_wasm_bindgen::from_value(value).ok())
        .unwrap_or_default();
    log.record(card.user.id, event, effects::now_unix());
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    if let Some(text) = serde::Serialize::serialize(&log, &serializer)
        .ok()
        .and_then(|value| js_sys::JSON::stringify(&value).ok())
    {
        storage::set(Area::Local, &key, &String::from(text));
    }
}

/// The `sessionStorage` key of the browser-Back return.
fn pending_key(widget_code: &str) -> String {
    format!(
        "leakguard.pending.v1.{}.{widget_code}",
        host::account_id().unwrap_or_default()
    )
}

/// The card goes away: if the guard still held the deal and the address has moved on, the manager
/// left through an exit nobody can hold (browser Back); the next page brings them back.
pub(crate) fn remember_exit(card: &Card) {
    let guard = &card.guard;
    if !guard.armed.get()
        || guard.released.get()
        || !pending::left_card(&effects::pathname(), card.lead_id)
    {
        return;
    }
    let record = PendingReturn {
        deal_id: card.lead_id,
        armed_at: guard.armed_at.get(),
        left_at: effects::now_unix(),
    };
    storage::set(
        Area::Session,
        &pending_key(&card.widget.code().unwrap_or_default()),
        &record.encode(),
    );
}

/// What a page does about a deal left with browser Back: for the card of `current_deal`,
/// whether to open the dialog there (the record is consumed); elsewhere, the deal to go back to.
pub(crate) fn take_return(widget_code: &str, current_deal: Option<u64>) -> ReturnAction {
    let key = pending_key(widget_code);
    let action = pending::on_page(
        storage::get(Area::Session, &key).as_deref(),
        effects::now_unix(),
        current_deal,
    );
    if matches!(action, ReturnAction::Discard | ReturnAction::Reopen) {
        storage::remove(Area::Session, &key);
    }
    action
}
