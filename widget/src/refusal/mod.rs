//! Refusals in the lead card: the "Refuse" picker closes the deal as lost with a loss reason and carries out the core's refusal plan step by step, resuming after failures and reloads without duplicates.
//!
//! The plan and its step machine are the core's ([`refusal_plan`], [`RefusalProgress`]); this module
//! reads the reasons (once per page), sends each step's request, looks a step up by its marker after
//! an answer that may have come after amoCRM wrote it, and keeps the progress in `sessionStorage`.
//! A move to "lost" in the card's status control is put back and opens the picker: the reason is
//! required before the deal is closed.

pub mod saved;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use amo_api::leads::{CompanyLink, ContactLink, NewLeadEmbedded};
use amo_api::query::TimeRange;
use amo_api::{LeadPatch, LeadsQuery, NewLead, NewNote, TagRef};
use leakguard_core::dates::Calendar;
use leakguard_core::deal::{is_closed_status, Account, DealContext, StageRef, STATUS_LOST};
use leakguard_core::idempotency::has_marker;
use leakguard_core::locale::Lang;
use leakguard_core::refusal::{
    lead_is_lost_with, refusal_plan, Lookup, RefusalAction, RefusalPlan, RefusalProgress,
    RefusalStep, StepOutcome,
};
use leakguard_core::settings::{RefusalSettings, Settings};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::card::Card;
use crate::dom::{self, Listener, Owned};
use crate::effects::http::{self, HttpError};
use crate::effects::storage::{self, Area};
use crate::effects::{self};
use crate::guard::{self, create::is_ambiguous, create::new_task};
use crate::host::{self, Subscription};
use crate::render::refusal::{draw, view, Picker, PickerEvent};
use crate::render::Texts;
use saved::{storage_key, Saved};

/// The refusal picker of one card. Dropping it removes its element, listeners and subscription.
#[derive(Debug)]
pub(crate) struct Refusals {
    root: Owned,
    listeners: RefCell<Vec<Listener>>,
    picker: RefCell<Picker>,
    /// The account's loss reasons, read once per page when the picker first opens.
    reasons: RefCell<Option<Vec<(u64, String)>>>,
    request: RefCell<Option<http::InFlight>>,
    /// The stage a move to "lost" was put back to, while the picker asks for the reason.
    held: Cell<Option<StageRef>>,
    /// Set while this module changes the card's stage itself.
    moving: Cell<bool>,
    /// The refusal under way, with its progress.
    run: RefCell<Option<(Saved, RefusalProgress)>>,
    subscription: RefCell<Option<Subscription>>,
}

impl Refusals {
    /// The picker's element, appended to the card's widget block after the panel.
    pub(crate) fn new(body: &Element) -> Result<Refusals, JsValue> {
        let root = dom::element("div", "leakguard-refusal")?;
        root.set_attribute("data-leakguard-refusal", "")?;
        root.set_attribute("aria-live", "polite")?;
        body.append_child(&root)?;
        Ok(Refusals {
            root: Owned::new(root),
            listeners: RefCell::new(Vec::new()),
            picker: RefCell::new(Picker::Hidden),
            reasons: RefCell::new(None),
            request: RefCell::new(None),
            held: Cell::new(None),
            moving: Cell::new(false),
            run: RefCell::new(None),
            subscription: RefCell::new(None),
        })
    }
}

/// Watches the card's status control and shows the action, or the refusal a reload interrupted.
pub(crate) fn attach(card: &Rc<Card>) {
    let weak = Rc::downgrade(card);
    *card.refusals.subscription.borrow_mut() = host::on_card_model_change(move || {
        if let Some(card) = weak.upgrade() {
            model_changed(&card);
        }
    });
    let stored = storage::get(Area::Session, &key(card))
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .and_then(|value| serde_wasm_bindgen::from_value::<Saved>(value).ok())
        .filter(|saved| saved.is_current() && saved.deal_id == card.lead_id);
    if let Some(saved) = stored {
        if let Some(plan) = plan(card, &saved) {
            let progress = saved.resumed(&plan);
            let done = progress.done_steps();
            *card.refusals.run.borrow_mut() = Some((saved, progress));
            set(
                card,
                Picker::Failed {
                    done,
                    error: HttpError::Network,
                },
            );
            return;
        }
    }
    set(card, Picker::Idle);
}

/// Opens the picker (the "Refuse" action, or the next-step dialog's "the client refused").
pub(crate) fn open(card: &Rc<Card>, required: bool) {
    if card.refusals.run.borrow().is_some() {
        return;
    }
    let cached = card.refusals.reasons.borrow().clone();
    match cached {
        Some(reasons) => set(card, Picker::Choose { reasons, required }),
        None => load_reasons(card, required),
    }
}

fn key(card: &Card) -> String {
    storage_key(host::account_id().unwrap_or_default(), card.lead_id)
}

/// Shows `picker`; `Idle` and `Hidden` follow the deal's status.
fn set(card: &Rc<Card>, picker: Picker) {
    let picker = match picker {
        Picker::Idle | Picker::Hidden => {
            let status = host::current_lead_status().unwrap_or_default();
            if card.lead_id == 0 || is_closed_status(status) {
                Picker::Hidden
            } else {
                Picker::Idle
            }
        }
        other => other,
    };
    *card.refusals.picker.borrow_mut() = picker;
    redraw(card);
}

fn redraw(card: &Rc<Card>) {
    let weak = Rc::downgrade(card);
    let view = view(&card.refusals.picker.borrow(), card.as_ref());
    let drawn = draw(
        card.refusals.root.element(),
        &view,
        move |event, comment| {
            on_event(&weak, event, comment);
        },
    );
    // A failed drawing leaves the previous content; there is nothing better to show.
    *card.refusals.listeners.borrow_mut() = drawn.unwrap_or_default();
}

/// A picker button: acts after the click handler has returned, because acting redraws the picker.
fn on_event(card: &Weak<Card>, event: PickerEvent, comment: String) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let Some(card) = card.upgrade() else { return };
        match event {
            PickerEvent::Open => open(&card, false),
            PickerEvent::Cancel => {
                card.refusals.held.set(None);
                set(&card, Picker::Idle);
            }
            PickerEvent::Retry => {
                if card.refusals.run.borrow().is_some() {
                    run(&card).await;
                } else {
                    open(&card, card.refusals.held.get().is_some());
                }
            }
            PickerEvent::Choose(reason_id) => choose(&card, reason_id, &comment).await,
        }
    });
}

/// The card model changed: a move to "lost" is put back until a reason is chosen.
fn model_changed(card: &Rc<Card>) {
    let refusals = &card.refusals;
    if refusals.moving.get() {
        return;
    }
    let (Some(previous), Some(target)) = (host::stage_change(), host::current_stage()) else {
        return;
    };
    if target.status_id != STATUS_LOST || previous.status_id == STATUS_LOST {
        if matches!(*refusals.picker.borrow(), Picker::Idle | Picker::Hidden) {
            set(card, Picker::Idle);
        }
        return;
    }
    move_stage(card, previous);
    refusals.held.set(Some(previous));
    open(card, true);
}

/// Sets the card's stage without this module or the guard holding the change.
fn move_stage(card: &Rc<Card>, stage: StageRef) {
    guard::let_through(card, stage);
    card.refusals.moving.set(true);
    host::set_stage(stage);
    card.refusals.moving.set(false);
}

/// Reads the account's loss reasons into the cache and shows them.
fn load_reasons(card: &Rc<Card>, required: bool) {
    let Ok(request) = http::InFlight::new() else {
        set(card, Picker::LoadFailed(HttpError::Network));
        return;
    };
    let signal = request.signal();
    *card.refusals.request.borrow_mut() = Some(request);
    set(card, Picker::Loading);
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let result = http::loss_reasons(&signal).await;
        let Some(card) = weak.upgrade() else { return };
        card.refusals.request.take();
        match result {
            Ok(mut reasons) => {
                reasons.sort_by_key(|reason| (reason.sort, reason.id));
                let reasons: Vec<(u64, String)> = reasons
                    .into_iter()
                    .map(|reason| (reason.id, reason.name))
                    .collect();
                *card.refusals.reasons.borrow_mut() = Some(reasons.clone());
                set(&card, Picker::Choose { reasons, required });
            }
            Err(error) => set(&card, Picker::LoadFailed(error)),
        }
    });
}

/// The configured refusal rules, read from the stored configuration (defaults when there are none).
fn refusal_settings(card: &Card) -> RefusalSettings {
    let config = card.widget.config();
    let value = match config.as_string() {
        Some(text) => js_sys::JSON::parse(&text).unwrap_or(JsValue::UNDEFINED),
        None => config,
    };
    js_sys::Reflect::get(&value, &"refusals".into())
        .ok()
        .filter(|section| section.is_object())
        .and_then(|section| serde_wasm_bindgen::from_value(section).ok())
        .unwrap_or_default()
}

/// The core's plan for a saved refusal, with the account's zone, calendar and language.
fn plan(card: &Card, saved: &Saved) -> Option<RefusalPlan> {
    let settings = Settings {
        next_step: card.settings.next_step.clone(),
        calendar: card.settings.calendar.clone(),
        refusals: refusal_settings(card),
        ..Settings::default()
    };
    let calendar = card
        .settings
        .calendar
        .build(host::account_country().as_deref())
        .unwrap_or_else(|_| Calendar::russian());
    let lang = Lang::from_code(&host::user_language().unwrap_or_default());
    let account = Account {
        tz: &card.zone,
        calendar: &calendar,
        lang,
    };
    refusal_plan(
        &saved.deal(),
        saved.reason_id,
        &saved.comment,
        &settings,
        saved.at,
        &account,
        &[(saved.reason_id, saved.reason_name.as_str())],
    )
    .ok()
}

/// A text attribute of the card's form model (`lead[NAME]`, `lead[PRICE]`).
fn model_text(key: &str) -> Option<String> {
    let global = js_sys::global();
    let get = |target: &JsValue, name: &str| {
        js_sys::Reflect::get(target, &name.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let app = get(&global, "APP").or_else(|| get(&global, "AMOCRM"))?;
    let card = get(&get(&app, "data")?, "current_card")?;
    let model = get(&card, "model").or_else(|| get(&get(&card, "form")?, "model"))?;
    let getter: js_sys::Function = get(&model, "get")?.dyn_into().ok()?;
    let value = getter.call1(&model, &key.into()).ok()?;
    value
        .as_string()
        .or_else(|| value.as_f64().map(|n| n.to_string()))
}

/// The deal as the card shows it (before a held move to "lost").
fn card_deal(card: &Card) -> DealContext {
    let stage = card
        .refusals
        .held
        .get()
        .or_else(host::current_stage)
        .unwrap_or(StageRef::new(0, 0));
    DealContext {
        id: card.lead_id,
        name: model_text("lead[NAME]").unwrap_or_default(),
        price: model_text("lead[PRICE]")
            .and_then(|price| price.trim().parse::<f64>().ok())
            .map_or(0, |price| price as i64),
        pipeline_id: stage.pipeline_id,
        status_id: stage.status_id,
        responsible_user_id: host::card_main_user().unwrap_or_default(),
        ..DealContext::default()
    }
}

/// A reason was chosen: plans the refusal (reading the deal's contacts only when it is copied) and runs it.
async fn choose(card: &Rc<Card>, reason_id: u64, comment: &str) {
    let reason_name = card
        .refusals
        .reasons
        .borrow()
        .iter()
        .flatten()
        .find(|(id, _)| *id == reason_id)
        .map(|(_, name)| name.clone())
        .unwrap_or_default();
    let mut saved = Saved::new(
        &card_deal(card),
        (reason_id, &reason_name),
        comment,
        effects::now_unix(),
    );
    let Some(plan) = plan(card, &saved) else {
        return;
    };
    if plan.copy.is_some() {
        set(card, Picker::Running);
        let Ok(request) = http::InFlight::new() else {
            set(card, Picker::LoadFailed(HttpError::Network));
            return;
        };
        match http::lead_with_contacts(card.lead_id, &request.signal()).await {
            Ok(lead) => {
                let mut contacts = lead.embedded.contacts;
                contacts.sort_by_key(|contact| !contact.is_main);
                saved.contact_ids = contacts.iter().map(|contact| contact.id).collect();
                saved.company_id = lead.embedded.companies.first().map(|company| company.id);
                saved.name = lead.name;
                saved.price = lead.price;
            }
            Err(error) => {
                set(card, Picker::LoadFailed(error));
                return;
            }
        }
    }
    *card.refusals.run.borrow_mut() = Some((saved, RefusalProgress::new()));
    run(card).await;
}

/// Stores the refusal under way, so a reload resumes it.
fn persist(card: &Card) {
    let run = card.refusals.run.borrow();
    let Some((saved, progress)) = run.as_ref() else {
        return;
    };
    let mut saved = saved.clone();
    saved.record(progress);
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let text = serde::Serialize::serialize(&saved, &serializer)
        .ok()
        .and_then(|value| js_sys::JSON::stringify(&value).ok())
        .map(String::from);
    if let Some(text) = text {
        storage::set(Area::Session, &key(card), &text);
    }
}

/// Carries out the refusal's remaining steps; stops at the first failure and says what was done.
async fn run(card: &Rc<Card>) {
    let Some(saved) = card.refusals.run.borrow().as_ref().map(|(s, _)| s.clone()) else {
        return;
    };
    let Some(plan) = plan(card, &saved) else {
        return;
    };
    set(card, Picker::Running);
    let Ok(request) = http::InFlight::new() else {
        let done = card
            .refusals
            .run
            .borrow()
            .as_ref()
            .map(|(_, progress)| progress.done_steps())
            .unwrap_or_default();
        set(
            card,
            Picker::Failed {
                done,
                error: HttpError::Network,
            },
        );
        return;
    };
    let signal = request.signal();
    *card.refusals.request.borrow_mut() = Some(request);
    persist(card);
    let weak = Rc::downgrade(card);
    loop {
        let Some(card) = weak.upgrade() else { return };
        let progress = card.refusals.run.borrow().as_ref().map(|(_, p)| *p);
        let Some(progress) = progress else { return };
        let Some(action) = progress.next_action(&plan) else {
            finish(&card, &plan, &saved);
            return;
        };
        drop(card);
        let (step, outcome) = match action {
            RefusalAction::Execute(step) => {
                let result = execute(&weak, &plan, step, progress.copy_id(), &signal).await;
                match result {
                    Ok(id) => (step, Ok(StepOutcome::Done { id })),
                    Err(error) if is_ambiguous(error) => (step, Err((error, true))),
                    Err(error) => (step, Err((error, false))),
                }
            }
            RefusalAction::Check(step, lookup) => match check(&lookup, &signal).await {
                Ok(Some(id)) => (step, Ok(StepOutcome::Done { id })),
                Ok(None) => (step, Ok(StepOutcome::NotFound)),
                Err(error) => (step, Err((error, false))),
            },
        };
        let Some(card) = weak.upgrade() else { return };
        let failure = {
            let mut run = card.refusals.run.borrow_mut();
            let Some((_, progress)) = run.as_mut() else {
                return;
            };
            match outcome {
                Ok(outcome) => {
                    progress.record(step, outcome);
                    None
                }
                Err((error, ambiguous)) => {
                    if ambiguous {
                        progress.record(step, StepOutcome::Failed);
                    }
                    Some((error, progress.done_steps()))
                }
            }
        };
        persist(&card);
        if let Some((error, done)) = failure {
            card.refusals.request.take();
            set(&card, Picker::Failed { done, error });
            return;
        }
    }
}

/// Sends one step's request; answers the created entity's id when there is one.
async fn execute(
    card: &Weak<Card>,
    plan: &RefusalPlan,
    step: RefusalStep,
    copy_id: Option<u64>,
    signal: &web_sys::AbortSignal,
) -> Result<Option<u64>, HttpError> {
    let text = |key: &str| {
        card.upgrade()
            .map(|card| card.text(key))
            .unwrap_or_default()
    };
    match step {
        RefusalStep::PatchLead => {
            let Some(patch) = plan.lead_patch else {
                return Ok(None);
            };
            let body = LeadPatch::lose(patch.pipeline_id, Some(patch.loss_reason_id));
            http::patch_lead(patch.deal_id, &body, signal).await?;
            Ok(None)
        }
        RefusalStep::CreateTask => {
            let request_id = format!("lg-refusal-{}", plan.deal_id);
            http::create_task(&new_task(&plan.task, request_id), signal)
                .await
                .map(Some)
        }
        RefusalStep::AddNote => {
            let note = plan.note.text(
                &text("ui.refusal.note_reason"),
                &text("ui.refusal.note_comment"),
            );
            http::add_lead_note(plan.deal_id, &NewNote::common(note), signal)
                .await
                .map(Some)
        }
        RefusalStep::CreateCopy => {
            let Some(copy) = plan.copy.as_ref() else {
                return Ok(None);
            };
            let lead = NewLead {
                name: Some(copy.name.clone()),
                price: Some(copy.price),
                pipeline_id: Some(copy.pipeline_id),
                status_id: Some(copy.status_id),
                responsible_user_id: Some(copy.responsible_user_id),
                embedded: NewLeadEmbedded {
                    contacts: copy
                        .contact_ids
                        .iter()
                        .enumerate()
                        .map(|(index, &id)| ContactLink {
                            id,
                            is_main: Some(index == 0),
                        })
                        .collect(),
                    companies: copy
                        .company_id
                        .map(|id| CompanyLink { id })
                        .into_iter()
                        .collect(),
                    tags: vec![TagRef::name(copy.tag.clone())],
                },
                request_id: None,
            };
            http::create_lead(&lead, signal).await.map(Some)
        }
        RefusalStep::AddCopyNote => {
            let (Some(copy), Some(copy_id)) = (plan.copy.as_ref(), copy_id) else {
                return Err(HttpError::Malformed);
            };
            let origin = web_sys::window()
                .and_then(|window| window.location().origin().ok())
                .unwrap_or_default();
            let note = copy.link_back_text(&text("ui.refusal.copy_link"), &origin);
            http::add_lead_note(copy_id, &NewNote::common(note), signal)
                .await
                .map(Some)
        }
    }
}

/// Looks whether a step whose answer was lost was carried out: `Some(id)` when it was.
async fn check(
    lookup: &Lookup,
    signal: &web_sys::AbortSignal,
) -> Result<Option<Option<u64>>, HttpError> {
    Ok(match lookup {
        Lookup::LeadLost {
            deal_id,
            loss_reason_id,
        } => {
            let lead = http::lead_with_contacts(*deal_id, signal).await?;
            lead_is_lost_with(lead.status_id, lead.loss_reason_id, *loss_reason_id).then_some(None)
        }
        Lookup::TaskWithMarker { deal_id, marker } => http::open_lead_tasks(*deal_id, signal)
            .await?
            .into_iter()
            .find(|task| has_marker(&task.text, marker))
            .map(|task| Some(task.id)),
        Lookup::NoteWithMarker { deal_id, marker } => http::lead_notes(*deal_id, signal)
            .await?
            .into_iter()
            .find(|note| note.text().is_some_and(|text| has_marker(text, marker)))
            .map(|note| Some(note.id)),
        Lookup::CopyLead {
            pipeline_id,
            name,
            created_from,
            tag,
        } => {
            let query = LeadsQuery {
                pipeline_ids: vec![*pipeline_id],
                created_at: TimeRange {
                    from: Some(*created_from),
                    to: None,
                },
                limit: Some(250),
                ..LeadsQuery::default()
            };
            http::leads(&query, signal)
                .await?
                .into_iter()
                .find(|lead| {
                    lead.name == *name && lead.embedded.tags.iter().any(|t| t.name == *tag)
                })
                .map(|lead| Some(lead.id))
        }
    })
}

/// Every step is done: forget the progress, show the result and the deal as lost in the card.
fn finish(card: &Rc<Card>, plan: &RefusalPlan, saved: &Saved) {
    card.refusals.run.take();
    card.refusals.request.take();
    storage::remove(Area::Session, &key(card));
    let stage = card
        .refusals
        .held
        .take()
        .or_else(host::current_stage)
        .unwrap_or(StageRef::new(saved.pipeline_id, 0));
    move_stage(card, StageRef::new(stage.pipeline_id, STATUS_LOST));
    set(
        card,
        Picker::Done {
            reason: saved.reason_name.clone(),
            due: card.date(plan.task.complete_till),
        },
    );
    guard::refresh(card);
}
