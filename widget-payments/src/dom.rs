//! Element helpers of the payments section and owned handles that undo themselves on drop.
//! Text is always set with `textContent`.

use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsValue;
use web_sys::{Document, Element, Event, EventTarget};

/// The page's document, if there is one.
pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// A new element with a class, appended to `parent`.
pub fn child(parent: &Element, tag: &str, class: &str) -> Result<Element, JsValue> {
    let element = document().ok_or("no document")?.create_element(tag)?;
    if !class.is_empty() {
        element.set_class_name(class);
    }
    parent.append_child(&element)?;
    Ok(element)
}

/// A new element with a class and a text, appended to `parent`.
pub fn text(parent: &Element, tag: &str, class: &str, text: &str) -> Result<Element, JsValue> {
    let element = child(parent, tag, class)?;
    element.set_text_content(Some(text));
    Ok(element)
}

/// A `<button type=button>` with `data-action` (and `data-id` when given).
pub fn button(
    parent: &Element,
    action: &str,
    label: &str,
    id: Option<u64>,
) -> Result<Element, JsValue> {
    let button = text(parent, "button", "leakguard-payments__button", label)?;
    button.set_attribute("type", "button")?;
    button.set_attribute("data-action", action)?;
    if let Some(id) = id {
        button.set_attribute("data-id", &id.to_string())?;
    }
    Ok(button)
}

/// The `value` of an input or select.
pub fn value_of(element: &Element) -> String {
    js_sys::Reflect::get(element, &"value".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Sets the `value` of an input or select.
pub fn set_value(element: &Element, value: &str) {
    let _ = js_sys::Reflect::set(element, &"value".into(), &value.into());
}

/// An element the section attached to the page; dropping it detaches it again.
#[derive(Debug)]
pub struct Owned(Element);

impl Owned {
    pub fn new(element: Element) -> Self {
        Self(element)
    }

    pub fn element(&self) -> &Element {
        &self.0
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// A registered listener; dropping it unregisters the handler.
#[derive(Debug)]
#[must_use = "the listener is removed as soon as it is dropped"]
pub struct Listener {
    _listener: EventListener,
}

/// Calls `handler` with every `event` on `target`; the handler may call `preventDefault`.
pub fn on(
    target: &EventTarget,
    event: &'static str,
    handler: impl FnMut(&Event) + 'static,
) -> Listener {
    Listener {
        _listener: EventListener::new_with_options(
            target,
            event,
            EventListenerOptions::enable_prevent_default(),
            handler,
        ),
    }
}
