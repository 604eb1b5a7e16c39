//! The payments section in the card's widget block and the payments stage gate. The section lives in
//! a wasm module of its own (`leakguard_payments`), imported from the widget's base URL only when a
//! manager opens it or a gate needs the payments, so the card download does not carry it.
//!
//! * A "Payments" button mounts the module's section below it; pressing it again (or `destroy`)
//!   frees the section, which removes it and aborts its requests. A change the module kept in
//!   `localStorage` because it could not be saved opens the section with the card, to be resent.
//! * A move in the card's status control to a stage listed in `payments.gate_stages` is put back at
//!   once; the module reads the deal's payments and the move is re-applied only if every planned
//!   payment is paid. Otherwise the reason stays under the button; when the payments cannot be read
//!   the move stays refused with a retry (fail closed).
//!
//! Only `payments.enabled` and `payments.gate_stages` are read here, by hand: the module decodes
//! the section itself, so its serde code stays out of the card.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Object, Promise, Reflect};
use leakguard_core::deal::StageRef;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

use crate::card::Card;
use crate::dom::{self, Listener, Owned};
use crate::effects::storage::{self, Area};
use crate::guard;
use crate::host::{self, Subscription, Widget};
use crate::metrics::{call, import_module};

/// The module's name in the archive: `<name>.js` (wasm-bindgen glue) and `<name>_bg.wasm`.
const MODULE: &str = "leakguard_payments";

/// The payments part of one card. Dropping it frees the section and removes everything it added.
#[derive(Debug)]
pub(crate) struct Payments {
    _root: Owned,
    toggle: Element,
    gate_line: Element,
    area: Element,
    gates: Vec<StageRef>,
    listeners: RefCell<Vec<Listener>>,
    /// The module's `PaymentsSection` while the section is open.
    section: RefCell<Option<JsValue>>,
    opening: Cell<bool>,
    /// A gated move put back while the payments are checked: `(previous, target)`.
    held: Cell<Option<(StageRef, StageRef)>>,
    /// Counts gate checks, so an answer to an older one is ignored.
    checks: Cell<u32>,
    /// Set while this module changes the card's stage itself.
    moving: Cell<bool>,
    subscription: RefCell<Option<Subscription>>,
}

/// `payments.enabled` (default on) and `payments.gate_stages` of the stored configuration.
fn read_config(config: &JsValue) -> (bool, Vec<StageRef>) {
    let value = match config.as_string() {
        Some(text) => js_sys::JSON::parse(&text).unwrap_or(JsValue::UNDEFINED),
        None => config.clone(),
    };
    let get = |target: &JsValue, key: &str| {
        if target.is_object() {
            Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let section = get(&value, "payments");
    let enabled = get(&section, "enabled").as_bool().unwrap_or(true);
    let number = |stage: &JsValue, key| get(stage, key).as_f64().map_or(0, |n| n as u32);
    let stages = get(&section, "gate_stages");
    let stages = stages
        .dyn_ref::<js_sys::Array>()
        .map(|a| a.to_vec())
        .unwrap_or_default();
    let gates = stages
        .iter()
        .map(|stage| StageRef::new(number(stage, "pipeline_id"), number(stage, "status_id")))
        .filter(|stage| stage.status_id != 0)
        .collect();
    (enabled, gates)
}

/// Whether `gate` covers `target`: the same status, and the same pipeline unless one does not say.
fn is_gate(gate: StageRef, target: StageRef) -> bool {
    gate.status_id == target.status_id
        && (gate.pipeline_id == target.pipeline_id
            || gate.pipeline_id == 0
            || target.pipeline_id == 0)
}

impl Payments {
    /// The button and its areas, appended to the widget block; `None` when payments are switched off.
    pub(crate) fn new(body: &Element, widget: &Widget) -> Result<Option<Payments>, JsValue> {
        let (enabled, gates) = read_config(&widget.config());
        if !enabled {
            return Ok(None);
        }
        let root = dom::element("div", "leakguard-payments-slot")?;
        root.set_attribute("data-leakguard-payments-slot", "")?;
        let toggle = dom::element("button", "leakguard-card__button")?;
        toggle.set_attribute("type", "button")?;
        toggle.set_attribute("data-leakguard-payments-toggle", "")?;
        toggle.set_attribute("aria-expanded", "false")?;
        toggle.set_text_content(Some(&widget.text("ui.payments.open")));
        let gate_line = dom::element("div", "leakguard-payments-gate")?;
        gate_line.set_attribute("data-leakguard-gate", "")?;
        gate_line.set_attribute("aria-live", "polite")?;
        let area = dom::element("div", "leakguard-payments-area")?;
        for child in [&toggle, &gate_line, &area] {
            root.append_child(child)?;
        }
        body.append_child(&root)?;
        Ok(Some(Payments {
            _root: Owned::new(root),
            toggle,
            gate_line,
            area,
            gates,
            listeners: RefCell::new(Vec::new()),
            section: RefCell::new(None),
            opening: Cell::new(false),
            held: Cell::new(None),
            checks: Cell::new(0),
            moving: Cell::new(false),
            subscription: RefCell::new(None),
        }))
    }
}

impl Drop for Payments {
    fn drop(&mut self) {
        if let Some(section) = self.section.take() {
            free(&section);
        }
    }
}

/// Frees the module's section, which removes it and aborts its requests.
fn free(section: &JsValue) {
    // A section that is already gone has nothing left to free.
    let _ = call(section, "free", &[]);
}

/// Binds the button and watches the card's status control.
pub(crate) fn attach(card: &Rc<Card>) {
    let Some(payments) = &card.payments else {
        return;
    };
    let weak = Rc::downgrade(card);
    let listener = dom::on_click(&payments.toggle, move || {
        defer(&weak, toggle);
    });
    payments.listeners.borrow_mut().push(listener);
    // A change the module could not save is offered again as soon as the card opens.
    let pending = format!(
        "leakguard.payments.v1.{}.{}",
        host::account_id().unwrap_or_default(),
        card.lead_id
    );
    if storage::get(Area::Local, &pending).is_some() {
        defer(&Rc::downgrade(card), toggle);
    }
    if payments.gates.is_empty() {
        return;
    }
    let weak = Rc::downgrade(card);
    *payments.subscription.borrow_mut() = host::on_card_model_change(move || {
        if let Some(card) = weak.upgrade() {
            model_changed(&card);
        }
    });
}

/// Runs `action` after the current event handler has returned.
fn defer(card: &Weak<Card>, action: impl FnOnce(&Rc<Card>) + 'static) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(card) = card.upgrade() {
            action(&card);
        }
    });
}

/// Imports and initialises the module (the browser keeps one instance per address).
async fn module(widget: &Widget) -> Result<JsValue, JsValue> {
    let base = widget.base_url().ok_or("no base URL")?;
    let base = base.trim_end_matches('/');
    let version = widget.version();
    let module = JsFuture::from(import_module(&format!("{base}/{MODULE}.js?v={version}"))?).await?;
    let options = Object::new();
    let wasm = format!("{base}/{MODULE}_bg.wasm?v={version}");
    Reflect::set(&options, &"module_or_path".into(), &wasm.into())?;
    JsFuture::from(Promise::from(call(&module, "default", &[options.into()])?)).await?;
    Ok(module)
}

/// Opens or closes the section.
fn toggle(card: &Rc<Card>) {
    let Some(payments) = &card.payments else {
        return;
    };
    if let Some(section) = payments.section.take() {
        free(&section);
        let _ = payments.toggle.set_attribute("aria-expanded", "false");
        return;
    }
    if payments.opening.replace(true) {
        return;
    }
    let _ = payments.toggle.set_attribute("aria-expanded", "true");
    let note = dom::element("p", "leakguard-payments-note").ok();
    if let Some(note) = &note {
        note.set_text_content(Some(&card.widget.text("ui.payments.opening")));
        let _ = payments.area.append_child(note);
    }
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let Some(widget) = weak.upgrade().map(|card| card.widget.clone()) else {
            return;
        };
        let lead_id = weak.upgrade().map_or(0, |card| card.lead_id);
        let mounted = match module(&widget).await {
            Ok(module) => {
                let area = weak
                    .upgrade()
                    .and_then(|card| Some(card.payments.as_ref()?.area.clone()));
                match area {
                    Some(area) => call(
                        &module,
                        "mount",
                        &[widget.clone().into(), area.into(), (lead_id as f64).into()],
                    ),
                    None => return,
                }
            }
            Err(error) => Err(error),
        };
        let Some(card) = weak.upgrade() else {
            if let Ok(section) = mounted {
                free(&section);
            }
            return;
        };
        let Some(payments) = &card.payments else {
            return;
        };
        payments.opening.set(false);
        match mounted {
            Ok(section) => {
                if let Some(note) = note {
                    note.remove();
                }
                *payments.section.borrow_mut() = Some(section);
            }
            Err(_) => {
                if let Some(note) = note {
                    note.set_attribute("role", "alert").ok();
                    note.set_text_content(Some(&card.widget.text("ui.payments.module_failed")));
                }
                let _ = payments.toggle.set_attribute("aria-expanded", "false");
            }
        }
    });
}

/// Sets the card's stage without this module or the guard holding the change.
fn move_stage(card: &Card, payments: &Payments, stage: StageRef) {
    guard::let_through(card, stage);
    payments.moving.set(true);
    host::set_stage(stage);
    payments.moving.set(false);
}

/// The card model changed: a move to a gate stage is put back until the payments allow it.
fn model_changed(card: &Rc<Card>) {
    let Some(payments) = &card.payments else {
        return;
    };
    if payments.moving.get() {
        return;
    }
    let (Some(previous), Some(target)) = (host::stage_change(), host::current_stage()) else {
        return;
    };
    if !payments.gates.iter().any(|&gate| is_gate(gate, target)) {
        // Another stage was chosen meanwhile: a check still running must not move the deal.
        if payments.held.take().is_some() {
            payments.checks.set(payments.checks.get() + 1);
            payments.gate_line.set_text_content(None);
        }
        return;
    }
    move_stage(card, payments, previous);
    payments.held.set(Some((previous, target)));
    check(card);
}

/// Asks the module whether the held move may stand.
fn check(card: &Rc<Card>) {
    let Some(payments) = &card.payments else {
        return;
    };
    let Some((_, target)) = payments.held.get() else {
        return;
    };
    let generation = payments.checks.get() + 1;
    payments.checks.set(generation);
    show_gate(
        card,
        &card.widget.text("ui.payments.gate.checking"),
        false,
        false,
    );
    let (widget, lead_id) = (card.widget.clone(), card.lead_id);
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let answer = async {
            let module = module(&widget).await?;
            let args = [
                widget.clone().into(),
                (lead_id as f64).into(),
                target.pipeline_id.into(),
                target.status_id.into(),
            ];
            JsFuture::from(Promise::from(call(&module, "check_gate", &args)?)).await
        }
        .await;
        let Some(card) = weak.upgrade() else { return };
        let Some(payments) = &card.payments else {
            return;
        };
        if payments.checks.get() != generation {
            return;
        }
        let field = |answer: &JsValue, key: &str| {
            Reflect::get(answer, &key.into()).unwrap_or(JsValue::UNDEFINED)
        };
        match answer {
            Ok(answer) if field(&answer, "allowed").as_bool() == Some(true) => {
                payments.held.set(None);
                payments.gate_line.set_text_content(None);
                payments.moving.set(true);
                host::set_stage(target);
                payments.moving.set(false);
            }
            Ok(answer) => {
                let message = field(&answer, "message").as_string().unwrap_or_default();
                let failed = field(&answer, "failed").as_bool().unwrap_or(true);
                show_gate(&card, &message, true, failed);
            }
            Err(_) => show_gate(
                &card,
                &card.widget.text("ui.payments.module_failed"),
                true,
                true,
            ),
        }
    });
}

/// Shows the gate's line; a failed check offers a retry.
fn show_gate(card: &Rc<Card>, message: &str, alert: bool, retry: bool) {
    let Some(payments) = &card.payments else {
        return;
    };
    let line = &payments.gate_line;
    line.set_text_content(None);
    payments.listeners.borrow_mut().truncate(1);
    let Ok(text) = dom::element("p", "leakguard-payments-gate__text") else {
        return;
    };
    text.set_text_content(Some(message));
    if alert {
        let _ = text.set_attribute("role", "alert");
    }
    let _ = line.append_child(&text);
    let _ = line.set_attribute(
        "data-state",
        if alert {
            if retry {
                "failed"
            } else {
                "refused"
            }
        } else {
            "checking"
        },
    );
    if retry {
        let Ok(button) = dom::element("button", "leakguard-card__button") else {
            return;
        };
        let _ = button.set_attribute("type", "button");
        let _ = button.set_attribute("data-leakguard-gate-retry", "");
        button.set_text_content(Some(&card.widget.text("ui.payments.retry")));
        let _ = line.append_child(&button);
        let weak = Rc::downgrade(card);
        let listener = dom::on_click(&button, move || defer(&weak, check));
        payments.listeners.borrow_mut().push(listener);
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn only_the_two_payment_keys_are_read() {
        let config = JsValue::from_str(
            r#"{"payments":{"enabled":true,"gate_stages":[{"pipeline_id":7,"status_id":142},{"status_id":0}]}}"#,
        );
        let other = JsValue::from_str(r#"{"refusals":{},"payments":{"gate_stages":null}}"#);
        assert_eq!(read_config(&other), (true, vec![]));
        assert_eq!(read_config(&config), (true, vec![StageRef::new(7, 142)]));
        assert_eq!(read_config(&JsValue::UNDEFINED), (true, vec![]));
        let off = JsValue::from_str(r#"{"payments":{"enabled":false}}"#);
        assert!(!read_config(&off).0);
        assert!(is_gate(StageRef::new(0, 142), StageRef::new(7, 142)));
        assert!(!is_gate(StageRef::new(8, 142), StageRef::new(7, 142)));
    }
}
