//! Element helpers of the settings form and owned handles that undo themselves on drop.

use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsValue;
use web_sys::{Document, Element, Event, EventTarget};

/// The page's document, if there is one.
pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// A new element with a class, not yet attached anywhere.
pub fn element(tag: &str, class: &str) -> Result<Element, JsValue> {
    let element = document().ok_or("no document")?.create_element(tag)?;
    element.set_class_name(class);
    Ok(element)
}

/// An element the form attached to the page; dropping it detaches it again.
#[derive(Debug)]
pub struct Owned(Element);

impl Owned {
    /// Takes ownership of an element that is (or is about to be) attached to the page.
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
