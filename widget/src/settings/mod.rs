//! The settings the card reads, and the `settings` location: LeakGuard's form inside amoCRM's widget
//! settings modal lives in a wasm module of its own (`leakguard_settings`), imported from the widget's
//! base URL only there, so the lead card never downloads it. This hook imports it, mounts the form
//! into the modal's custom field, frees it when the widget is destroyed and hands `onSave` to it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use leakguard_core::settings::{CalendarSettings, NextStepSettings};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

use crate::dom::{self, Owned};
use crate::host::Widget;

#[wasm_bindgen(inline_js = "export function import_module(url) { return import(url); }")]
extern "C" {
    /// `import(url)`: an ES module by address.
    #[wasm_bindgen(catch)]
    fn import_module(url: &str) -> Result<Promise, JsValue>;
}

/// The form module's name in the archive: `<name>.js` (wasm-bindgen glue) and `<name>_bg.wasm`.
const MODULE: &str = "leakguard_settings";

/// The parts of the stored configuration the card works with.
///
/// Only these two sections are decoded: deserializing the whole configuration would put the code of
/// every feature's settings into the wasm, which the card does not need.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub next_step: NextStepSettings,
    pub calendar: CalendarSettings,
}

/// Reads a stored configuration: empty means the defaults; anything unreadable is an error.
pub fn load(config: &JsValue) -> Result<Config, ()> {
    let value = match config.as_string() {
        Some(text) if text.trim().is_empty() => return Ok(Config::default()),
        Some(text) => js_sys::JSON::parse(&text).map_err(drop)?,
        None if config.is_object() => config.clone(),
        None => return Ok(Config::default()),
    };
    if !value.is_object() {
        return Err(());
    }
    let section = |name: &str| Reflect::get(&value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let next_step = match section("next_step") {
        value if value.is_undefined() || value.is_null() => NextStepSettings::default(),
        value => serde_wasm_bindgen::from_value(value).map_err(drop)?,
    };
    let calendar = match section("calendar") {
        value if value.is_undefined() || value.is_null() => CalendarSettings::default(),
        value => serde_wasm_bindgen::from_value(value).map_err(drop)?,
    };
    Ok(Config {
        next_step,
        calendar,
    })
}

/// The settings modal's form, or the note shown while its module loads or after it failed.
#[derive(Debug)]
pub struct SettingsApp {
    slot: Rc<RefCell<Slot>>,
    /// Settles once the module is loaded and the form mounted (or the load failed).
    ready: Promise,
}

#[derive(Debug, Default)]
struct Slot {
    /// "Opening…", then the failure message if the module cannot be loaded.
    note: Option<Owned>,
    /// The form module's `SettingsForm`, freed on drop.
    form: Option<JsValue>,
}

impl SettingsApp {
    /// Shows a note in the modal's custom field and starts importing the form module.
    pub fn mount(widget: Widget, jquery: JsValue) -> Self {
        let content = widget
            .code()
            .and_then(|code| dom::document()?.get_element_by_id(&format!("{code}_custom_content")));
        let note = content.as_ref().and_then(|content| {
            let note = dom::element("p", "leakguard-settings__note").ok()?;
            note.set_attribute("data-leakguard-settings-note", "")
                .ok()?;
            note.set_text_content(Some(&widget.text("ui.settings.opening")));
            content.append_child(&note).ok()?;
            Some(Owned::new(note))
        });
        let slot = Rc::new(RefCell::new(Slot {
            note,
            ..Slot::default()
        }));
        let weak = Rc::downgrade(&slot);
        let ready = wasm_bindgen_futures::future_to_promise(async move {
            open(widget, jquery, weak).await;
            Ok(JsValue::UNDEFINED)
        });
        Self { slot, ready }
    }

    /// `onSave`: waits for the form module, then lets it validate; without it, saving (and disabling)
    /// still goes through with the stored configuration unchanged, as the modal's note says.
    pub fn on_save(&self, event: JsValue) -> impl std::future::Future<Output = bool> {
        let ready = self.ready.clone();
        let slot = Rc::downgrade(&self.slot);
        async move {
            // `open` never rejects; a failure is recorded in the slot.
            let _ = JsFuture::from(ready).await;
            let Some(slot) = slot.upgrade() else {
                return true;
            };
            let form = slot.borrow().form.clone();
            let Some(form) = form else {
                return true;
            };
            // The form answers a Promise: it may have to prepare the payments catalog first.
            let answer = match call(&form, "on_save_async", std::slice::from_ref(&event)) {
                Ok(promise) if promise.is_instance_of::<Promise>() => {
                    JsFuture::from(Promise::from(promise)).await.ok()
                }
                _ => call(&form, "on_save", &[event]).ok(),
            };
            answer.and_then(|answer| answer.as_bool()).unwrap_or(false)
        }
    }
}

impl Drop for SettingsApp {
    fn drop(&mut self) {
        if let Some(form) = self.slot.borrow_mut().form.take() {
            free(&form);
        }
    }
}

/// Calls `name` on `target` with `args`.
fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    function.apply(target, &args.iter().collect())
}

/// Frees the form module's `SettingsForm`, which removes the form and aborts its requests.
fn free(form: &JsValue) {
    // A form that is already gone has nothing left to free.
    let _ = call(form, "free", &[]);
}

/// Imports and initialises the form module, then mounts the form.
async fn mount_form(widget: &Widget, jquery: &JsValue) -> Result<JsValue, JsValue> {
    let base = widget.base_url().ok_or("no base URL")?;
    let base = base.trim_end_matches('/');
    let version = widget.version();
    let module = JsFuture::from(import_module(&format!("{base}/{MODULE}.js?v={version}"))?).await?;
    let options = Object::new();
    let wasm = format!("{base}/{MODULE}_bg.wasm?v={version}");
    Reflect::set(&options, &"module_or_path".into(), &wasm.into())?;
    JsFuture::from(Promise::from(call(&module, "default", &[options.into()])?)).await?;
    call(&module, "mount", &[widget.into(), jquery.clone()])
}

async fn open(widget: Widget, jquery: JsValue, slot: Weak<RefCell<Slot>>) {
    let mounted = mount_form(&widget, &jquery).await;
    let Some(slot) = slot.upgrade() else {
        // The widget was destroyed while the module loaded.
        if let Ok(form) = mounted {
            free(&form);
        }
        return;
    };
    let mut slot = slot.borrow_mut();
    match mounted {
        Ok(form) => {
            slot.note = None;
            slot.form = Some(form);
        }
        Err(_) => {
            if let Some(note) = &slot.note {
                show_failure(note.element(), &widget);
            }
        }
    }
}

/// Turns the note into an alert saying the form is missing and what Save does now.
fn show_failure(note: &Element, widget: &Widget) {
    note.set_class_name("leakguard-settings__note leakguard-settings__note--alert");
    let _ = note.set_attribute("role", "alert");
    note.set_text_content(Some(&widget.text("ui.settings.module_failed")));
}
