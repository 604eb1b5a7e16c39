//! The LeakGuard widget shell: wasm exports that script.js forwards amoCRM callbacks to.
//!
//! Each export takes the widget object (`self`) and jQuery (`$`), then the callback's own arguments.
//! The state of each location lives in one `thread_local!` slot and is dropped by `destroy`,
//! which removes every element, listener, timer and pending answer the widget owns and disarms the guard.

mod audit;
mod card;
mod dom;
mod effects;
mod error;
mod guard;
pub mod host;
mod intl;
mod metrics;
mod payments;
mod refusal;
mod render;
mod settings;

use std::cell::RefCell;

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;

use card::CardApp;
use guard::pending::{card_path, ReturnAction};
use host::Widget;
use metrics::MetricsApp;
use settings::SettingsApp;

/// What the widget has mounted on the current page, per location.
#[derive(Debug, Default)]
struct App {
    card: Option<CardApp>,
    settings: Option<SettingsApp>,
    metrics: Option<MetricsApp>,
    /// The navigation back to a deal left with browser Back, about to run.
    returning: Option<Timeout>,
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App::default());
}

/// Navigates back to a deal left with browser Back, once this callback has returned.
fn go_back(deal_id: u64) {
    let timeout = Timeout::new(0, move || {
        host::navigate(&card_path(deal_id));
    });
    APP.with_borrow_mut(|app| app.returning = Some(timeout));
}

/// `render`: in a lead card, draws our block and mounts the next-step panel and guard (once, however
/// often it is called); on any other page, brings back a manager who left a held deal with browser Back.
#[wasm_bindgen]
pub fn render(widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    let code = widget.code().unwrap_or_default();
    match widget.area().as_deref() {
        Some(host::LEAD_CARD_AREA) => {}
        Some(host::SETTINGS_AREA) => return Ok(()),
        _ => {
            if let ReturnAction::GoBack(deal_id) = guard::take_return(&code, None) {
                go_back(deal_id);
            }
            return Ok(());
        }
    }
    let Some(lead_id) = host::current_lead_id() else {
        return Ok(());
    };
    let mounted = APP.with_borrow(|app| match &app.card {
        Some(card) if card.lead_id() == lead_id => Some(card.remount(&widget)),
        _ => None,
    });
    if let Some(result) = mounted {
        return Ok(result?);
    }
    // Another card's panel (if amoCRM skipped `destroy`) goes before the new one is mounted.
    drop(APP.with_borrow_mut(|app| app.card.take()));
    let reopen = match guard::take_return(&code, Some(lead_id)) {
        ReturnAction::GoBack(deal_id) => {
            go_back(deal_id);
            return Ok(());
        }
        action => action == ReturnAction::Reopen,
    };
    let card = CardApp::mount(widget, lead_id, reopen)?;
    APP.with_borrow_mut(|app| app.card = Some(card));
    Ok(())
}

/// `init`: starts loading what the mounted views show.
#[wasm_bindgen]
pub fn init(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    APP.with_borrow(|app| app.card.as_ref().map(CardApp::start));
    Ok(())
}

/// `bind_actions`: every view binds its own listeners when it draws them, so there is nothing left to bind.
#[wasm_bindgen]
pub fn bind_actions(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    Ok(())
}

/// `destroy`: drops every view, which removes our elements, stylesheet, dialog and listeners,
/// disarms the guard and ignores pending answers.
#[wasm_bindgen]
pub fn destroy(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    drop(APP.take());
    Ok(())
}

/// `settings($modal_body)`: imports the settings form module and draws the form into the modal's custom field.
#[wasm_bindgen]
pub fn settings(widget: Widget, jquery: JsValue, _modal_body: JsValue) -> Result<(), JsError> {
    drop(APP.with_borrow_mut(|app| app.settings.take()));
    let page = SettingsApp::mount(widget, jquery);
    APP.with_borrow_mut(|app| app.settings = Some(page));
    Ok(())
}

/// `onSave(evt)`: the form module validates the settings with the core; `false` keeps the modal open
/// with the problems shown. Without the module, saving and disabling still go through.
#[wasm_bindgen]
pub async fn on_save(_widget: Widget, _jquery: JsValue, event: JsValue) -> Result<bool, JsError> {
    let pending = APP.with_borrow(|app| app.settings.as_ref().map(|page| page.on_save(event)));
    Ok(match pending {
        Some(pending) => pending.await,
        None => true,
    })
}

/// `advancedSettings`: the key-metrics page, a module of its own imported only here.
#[wasm_bindgen]
pub fn advanced_settings(widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    drop(APP.with_borrow_mut(|app| app.metrics.take()));
    let page = MetricsApp::mount(widget)?;
    APP.with_borrow_mut(|app| app.metrics = Some(page));
    Ok(())
}

/// `leads.selected`: no action on selected leads yet.
#[wasm_bindgen]
pub fn leads_selected(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    Ok(())
}

/// `contacts.selected`: no action on selected contacts yet.
#[wasm_bindgen]
pub fn contacts_selected(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    Ok(())
}

/// `todo.selected`: no action on selected tasks yet.
#[wasm_bindgen]
pub fn todo_selected(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    Ok(())
}

/// `tasks.selected` (the name older widgets use for `todo.selected`): no action yet.
#[wasm_bindgen]
pub fn tasks_selected(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    Ok(())
}
