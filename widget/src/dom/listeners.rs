//! Owned DOM listeners: a thin layer over `gloo-events`, so every handler dies with the view that owns it.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use web_sys::{Event, EventTarget};

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

/// Like [`on`], in the capture phase: the handler sees the event before the page's own handlers.
pub fn on_capture(
    target: &EventTarget,
    event: &'static str,
    handler: impl FnMut(&Event) + 'static,
) -> Listener {
    let options = EventListenerOptions {
        phase: EventListenerPhase::Capture,
        passive: false,
    };
    Listener {
        _listener: EventListener::new_with_options(target, event, options, handler),
    }
}
