//! LeakGuard's payments section of the deal card, a wasm module of its own that the card imports
//! only when a manager opens the section (or a stage gate needs the payments), so none of its code
//! weighs on the card download.
//!
//! * [`mount`]: draws the section for a lead into an element; freeing the returned
//!   [`PaymentsSection`] removes it again and aborts its requests.
//! * [`check_gate`]: whether the deal may enter a stage, reading its payments when the stage is a gate.
//!
//! The money math is the core's (`leakguard_core::payments`); this crate reads and writes the
//! records ([`data`], [`save`]), keeps unsent changes ([`pending`]) and draws the section ([`section`]).

mod data;
mod dom;
pub mod form;
mod gate;
mod host;
mod http;
pub mod model;
pub mod pending;
mod save;
mod section;

use std::rc::Rc;

use leakguard_core::deal::StageRef;
use wasm_bindgen::prelude::*;

/// The mounted section; `free()` (or being dropped) removes it.
#[wasm_bindgen]
pub struct PaymentsSection {
    _section: Rc<section::Section>,
}

/// Draws the payments section of lead `lead_id` for `widget` (amoCRM's widget object) into `area`.
#[wasm_bindgen]
pub fn mount(
    widget: host::Widget,
    area: web_sys::Element,
    lead_id: f64,
) -> Result<PaymentsSection, JsError> {
    let context = data::Context::new(widget, lead_id as u64);
    section::Section::mount(context, &area)
        .map(|section| PaymentsSection { _section: section })
        .map_err(|error| {
            JsError::new(&format!(
                "LeakGuard: the payments section could not be drawn: {error:?}"
            ))
        })
}

/// The stage gate's answer for moving lead `lead_id` to `pipeline_id`/`status_id`:
/// `{allowed: bool, failed: bool, message: string}`.
#[wasm_bindgen]
pub async fn check_gate(
    widget: host::Widget,
    lead_id: f64,
    pipeline_id: u32,
    status_id: u32,
) -> Result<JsValue, JsError> {
    let context = data::Context::new(widget, lead_id as u64);
    let verdict = gate::check(&context, StageRef::new(pipeline_id, status_id)).await;
    let (allowed, failed, message) = match verdict {
        gate::Verdict::Allowed => (true, false, String::new()),
        gate::Verdict::Refused(message) => (false, false, message),
        gate::Verdict::Failed(message) => (false, true, message),
    };
    let answer = js_sys::Object::new();
    let set = |key: &str, value: JsValue| js_sys::Reflect::set(&answer, &key.into(), &value);
    set("allowed", allowed.into()).map_err(|_| JsError::new("answer"))?;
    set("failed", failed.into()).map_err(|_| JsError::new("answer"))?;
    set("message", message.into()).map_err(|_| JsError::new("answer"))?;
    Ok(answer.into())
}
