//! The advanced-settings location (`advancedSettings`): the key-metrics page lives in a wasm
//! module of its own (`leakguard_metrics`), imported from the widget's base URL only here, so the
//! lead card never downloads it. This hook imports it, mounts it into `#work-area-<code>` and
//! frees it when the widget is destroyed.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

use crate::dom::{self, Owned};
use crate::error::Error;
use crate::host::Widget;

#[wasm_bindgen(inline_js = "export function import_module(url) { return import(url); }")]
extern "C" {
    /// `import(url)`: an ES module by address.
    #[wasm_bindgen(catch)]
    pub(crate) fn import_module(url: &str) -> Result<Promise, JsValue>;
}

/// The page module's name in the archive: `<name>.js` (wasm-bindgen glue) and `<name>_bg.wasm`.
const MODULE: &str = "leakguard_metrics";

/// The mounted metrics page, or the note shown while its module loads.
#[derive(Debug)]
pub struct MetricsApp {
    slot: Rc<RefCell<Slot>>,
}

#[derive(Debug, Default)]
struct Slot {
    /// "Opening…", then the failure message if the module cannot be loaded.
    note: Option<Owned>,
    /// The page module's `MetricsPage`, freed on drop.
    page: Option<JsValue>,
}

impl MetricsApp {
    /// Shows a note in `#work-area-<code>` and starts importing the page module.
    pub fn mount(widget: Widget) -> Result<Self, Error> {
        let area = widget
            .code()
            .and_then(|code| dom::document()?.get_element_by_id(&format!("work-area-{code}")))
            .ok_or_else(|| {
                Error::Host(JsValue::from_str(
                    "the page has no #work-area for LeakGuard",
                ))
            })?;
        let note = dom::element("p", "leakguard-metrics-note")?;
        note.set_attribute("data-leakguard-metrics-note", "")?;
        note.set_text_content(Some(&widget.text("ui.metrics.opening")));
        area.append_child(&note)?;
        let slot = Rc::new(RefCell::new(Slot {
            note: Some(Owned::new(note)),
            page: None,
        }));
        wasm_bindgen_futures::spawn_local(open(widget, area, Rc::downgrade(&slot)));
        Ok(Self { slot })
    }
}

impl Drop for MetricsApp {
    fn drop(&mut self) {
        if let Some(page) = self.slot.borrow_mut().page.take() {
            free(&page);
        }
    }
}

/// Calls `name` on `target` with `args`.
pub(crate) fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    function.apply(target, &args.iter().collect())
}

/// Frees the page module's `MetricsPage`, which removes the page and aborts its requests.
fn free(page: &JsValue) {
    // A page that is already gone has nothing left to free.
    let _ = call(page, "free", &[]);
}

/// Imports and initialises the page module, then mounts the page into `area`.
async fn mount_page(widget: &Widget, area: &Element) -> Result<JsValue, JsValue> {
    let base = widget.base_url().ok_or("no base URL")?;
    let base = base.trim_end_matches('/');
    let version = widget.version();
    let module = JsFuture::from(import_module(&format!("{base}/{MODULE}.js?v={version}"))?).await?;
    let options = Object::new();
    let wasm = format!("{base}/{MODULE}_bg.wasm?v={version}");
    Reflect::set(&options, &"module_or_path".into(), &wasm.into())?;
    JsFuture::from(Promise::from(call(&module, "default", &[options.into()])?)).await?;
    call(&module, "mount", &[widget.into(), area.into()])
}

async fn open(widget: Widget, area: Element, slot: Weak<RefCell<Slot>>) {
    let mounted = mount_page(&widget, &area).await;
    let Some(slot) = slot.upgrade() else {
        // The widget was destroyed while the module loaded.
        if let Ok(page) = mounted {
            free(&page);
        }
        return;
    };
    let mut slot = slot.borrow_mut();
    match mounted {
        Ok(page) => {
            slot.note = None;
            slot.page = Some(page);
        }
        Err(_) => {
            if let Some(note) = &slot.note {
                let note = note.element();
                note.set_class_name("leakguard-metrics-note leakguard-metrics-note--alert");
                note.set_attribute("role", "alert").ok();
                note.set_text_content(Some(&widget.text("ui.metrics.module_failed")));
            }
        }
    }
}
