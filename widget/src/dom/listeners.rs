//! Owned DOM listeners: a thin layer over `gloo-events`, so every handler dies with the view that owns it.

use gloo_events::EventListener;
use web_sys::EventTarget;

/// A registered listener; dropping it unregisters the handler.
#[derive(Debug)]
#[must_use = "the listener is removed as soon as it is dropped"]
pub struct Listener {
    _listener: EventListener,
}

/// Calls `handler` on every click on `target` until the returned listener is dropped.
pub fn on_click(target: &EventTarget, mut handler: impl FnMut() + 'static) -> Listener {
    Listener {
        _listener: EventListener::new(target, "click", move |_| handler()),
    }
}
