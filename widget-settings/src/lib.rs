//! LeakGuard's settings form, a wasm module of its own that the widget imports only in amoCRM's
//! widget settings modal, so none of its code weighs on the lead card.
//!
//! * [`mount`]: draws every settings section into the modal's custom field; freeing the returned
//!   [`SettingsForm`] removes it again and aborts its requests.
//! * [`SettingsForm::on_save`]: the `onSave` decision, validated by the core's `Settings::validate()`.
//! * [`SettingsForm::on_save_async`]: the same decision as a Promise, which also prepares the
//!   payments catalog (see [`store`]) and writes its ids into `evt.fields.config`, then PUTs the
//!   settings to the LeakGuard backend when one is configured (see [`backend`]).
//!
//! The sections are the next-step guard ([`form`], [`render`]), the refusal rules ([`refusals`]) and
//! the payments section ([`payments`], with the catalog it prepares on save: [`store`]) and the
//! automations with the calendar and the backend address ([`automations`]).

pub mod automations;
pub mod backend;
mod config;
mod dom;
pub mod form;
mod host;
mod http;
mod page;
pub mod payments;
pub mod refusals;
mod render;
pub mod store;

use std::rc::Rc;

use leakguard_core::settings::Problem;
use wasm_bindgen::prelude::*;

use config::CONFIG_FIELD;

/// The mounted form (nothing when the modal has no custom field); `free()` removes it.
#[wasm_bindgen]
pub struct SettingsForm {
    page: Option<Rc<page::Page>>,
}

/// Draws the settings form for `widget` (amoCRM's widget object); `jquery` fires amoCRM's `change`.
#[wasm_bindgen]
pub fn mount(widget: host::Widget, jquery: JsValue) -> Result<SettingsForm, JsError> {
    page::Page::mount(widget, jquery)
        .map(|page| SettingsForm { page })
        .map_err(|error| {
            JsError::new(&format!(
                "LeakGuard: the settings form could not be drawn: {error:?}"
            ))
        })
}

#[wasm_bindgen]
impl SettingsForm {
    /// `onSave(evt)`: `true` to save; `false` (with the problems shown in the form) for invalid
    /// settings. Disabling the widget is never refused. With payments on, it cannot wait for the
    /// payments catalog: unless the store was checked while the modal is open, it refuses this save,
    /// prepares the store, puts its ids in the form and asks for Save again
    /// ([`SettingsForm::on_save_async`] does it all in one save). A save that goes on is PUT to the
    /// backend in the background, marked pending until the backend takes it.
    pub fn on_save(&self, event: JsValue) -> bool {
        let ok = match (self.checked(&event), &self.page) {
            (Some(Some(config)), Some(page)) => page.store_ready_for(&config),
            (checked, _) => checked.is_some(),
        };
        if let (true, Some(page)) = (ok && active(&event), &self.page) {
            page.push_in_background(&event);
        }
        ok
    }

    /// `onSave(evt)` as amoCRM also accepts it, a Promise of `true` or `false`: validates like
    /// [`SettingsForm::on_save`], then, with payments on, makes sure LeakGuard's catalog and its
    /// fields exist (looking before creating, so a retry never makes a second one) and writes
    /// their ids into `evt.fields.config`. When that fails the save is refused with the reason
    /// next to the payments section, and the form keeps everything the admin typed.
    /// Last, when the settings name a backend, they are PUT to `<backend_url>/api/settings`
    /// ([`backend`]): a refusal (422) refuses the save with the backend's problems shown; a backend
    /// that cannot be reached lets the save go on and leaves the push pending until the next opening.
    pub fn on_save_async(&self, event: JsValue) -> js_sys::Promise {
        let checked = self.checked(&event);
        let page = self.page.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let ok = match (checked, &page) {
                (Some(Some(config)), Some(page)) => page.prepare_store(config, &event).await,
                (checked, _) => checked.is_some(),
            };
            let ok = match page {
                Some(page) if ok && active(&event) => page.push_saved(&event).await,
                _ => ok,
            };
            Ok(JsValue::from_bool(ok))
        })
    }
}

/// Whether `event` saves the widget switched on (disabling it sends nothing to the backend).
fn active(event: &JsValue) -> bool {
    host::save_event(event, CONFIG_FIELD).0
}

impl SettingsForm {
    /// `None` when the save must be refused (the problems are shown); `Some(None)` when it may go
    /// on as is; `Some(Some(config))` when it may go on once the payments store is prepared.
    fn checked(&self, event: &JsValue) -> Option<Option<config::Config>> {
        let (active, config) = host::save_event(event, CONFIG_FIELD);
        if !active {
            return Some(None);
        }
        let (problems, config) = match config::load(&config) {
            Ok(config) => {
                let mut problems = config.validate();
                if let Some(page) = &self.page {
                    problems.extend(page.form_problems.borrow().iter().cloned());
                }
                (problems, Some(config))
            }
            Err(()) => (
                vec![Problem {
                    path: CONFIG_FIELD.to_owned(),
                    key: "ui.settings.error.unreadable",
                }],
                None,
            ),
        };
        if let Some(page) = &self.page {
            page.show(&problems);
        }
        if !problems.is_empty() {
            return None;
        }
        Some(config.filter(|config| config.settings.payments.enabled))
    }
}
