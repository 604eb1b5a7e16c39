//! The LeakGuard widget shell: wasm exports that script.js forwards amoCRM callbacks to.
//!
//! Each export takes the widget object (`self`) and jQuery (`$`), then the callback's own arguments.
//! The state of each location lives in one `thread_local!` slot and is dropped by `destroy`,
//! which removes every element, listener and pending answer the widget owns.

mod card;
mod dom;
mod effects;
mod error;
pub mod host;
mod intl;
mod render;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use card::CardApp;
use host::Widget;

/// What the widget has mounted on the current page, per location.
#[derive(Debug, Default)]
struct App {
    card: Option<CardApp>,
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App::default());
}

/// `render`: in a lead card, draws our block and mounts the next-step panel (once, however often it is called).
#[wasm_bindgen]
pub fn render(widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    if widget.area().as_deref() != Some(host::LEAD_CARD_AREA) {
        return Ok(());
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
    let card = CardApp::mount(widget, lead_id)?;
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

/// `destroy`: drops every view, which removes our elements, stylesheet and listeners and ignores pending answers.
#[wasm_bindgen]
pub fn destroy(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
    drop(APP.take());
    Ok(())
}

/// `settings($modal_body)`: the settings modal has no content of ours yet.
#[wasm_bindgen]
pub fn settings(_widget: Widget, _jquery: JsValue, _modal_body: JsValue) -> Result<(), JsError> {
    Ok(())
}

/// `onSave(evt)`: there are no settings of ours to check yet, so saving (or disabling) always goes ahead.
#[wasm_bindgen]
pub fn on_save(_widget: Widget, _jquery: JsValue, _event: JsValue) -> Result<bool, JsError> {
    Ok(true)
}

/// `advancedSettings`: the metrics page has no content yet.
#[wasm_bindgen]
pub fn advanced_settings(_widget: Widget, _jquery: JsValue) -> Result<(), JsError> {
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
