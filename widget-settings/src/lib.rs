//! LeakGuard's settings form, a wasm module of its own that the widget imports only in amoCRM's
//! widget settings modal, so none of its code weighs on the lead card.
//!
//! * [`mount`]: draws every settings section into the modal's custom field; freeing the returned
//!   [`SettingsForm`] removes it again and aborts its requests.
//! * [`SettingsForm::on_save`]: the `onSave` decision, validated by the core's `Settings::validate()`.
//!
//! The sections are the next-step guard ([`form`], [`render`]), the refusal rules ([`refusals`]) and
//! the automations with the calendar and the backend address ([`automations`]).

pub mod automations;
mod config;
mod dom;
pub mod form;
mod host;
mod http;
mod page;
pub mod refusals;
mod render;

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
    /// settings. Disabling the widget is never refused.
    pub fn on_save(&self, event: JsValue) -> bool {
        let (active, config) = host::save_event(&event, CONFIG_FIELD);
        if !active {
            return true;
        }
        let problems = match config::load(&config) {
            Ok(config) => {
                let mut problems = config.validate();
                if let Some(page) = &self.page {
                    problems.extend(page.form_problems.borrow().iter().cloned());
                }
                problems
            }
            Err(()) => vec![Problem {
                path: CONFIG_FIELD.to_owned(),
                key: "ui.settings.error.unreadable",
            }],
        };
        if let Some(page) = &self.page {
            page.show(&problems);
        }
        problems.is_empty()
    }
}
