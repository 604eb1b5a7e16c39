//! Element helpers: the few DOM operations the page needs, owned handles that undo themselves on
//! drop, delegated listeners and file downloads.

use gloo_events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, Document, Element, EventTarget, HtmlElement};

/// The attribute that marks the stylesheet this page added to `<head>`.
const STYLE_MARK: &str = "data-leakguard-metrics-style";

/// The page's document, if there is one.
pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// A new element with a class, not yet attached anywhere.
pub fn element(tag: &str, class: &str) -> Result<Element, JsValue> {
    let element = document().ok_or("no document")?.create_element(tag)?;
    if !class.is_empty() {
        element.set_class_name(class);
    }
    Ok(element)
}

/// A new element with a class and its text (set with `textContent`).
pub fn text(tag: &str, class: &str, text: &str) -> Result<Element, JsValue> {
    let element = element(tag, class)?;
    element.set_text_content(Some(text));
    Ok(element)
}

/// Appends `child` to `parent`.
pub fn append(parent: &Element, child: &Element) -> Result<(), JsValue> {
    parent.append_child(child).map(drop)
}

/// An element this page attached; dropping it detaches it again.
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
pub struct Listener(#[allow(dead_code)] EventListener);

/// Calls `handler` for every `event` on `target` until the returned listener is dropped.
pub fn on(
    target: &EventTarget,
    event: &'static str,
    mut handler: impl FnMut(web_sys::Event) + 'static,
) -> Listener {
    Listener(EventListener::new(target, event, move |event| {
        handler(event.clone())
    }))
}

/// Adds the page's stylesheet (a constant of this crate, set as text) to `<head>` once.
///
/// Returns the element only when this call added it, so only the owner removes it.
pub fn attach_style(css: &str) -> Result<Option<Owned>, JsValue> {
    let document = document().ok_or("no document")?;
    if document
        .query_selector(&format!("style[{STYLE_MARK}]"))?
        .is_some()
    {
        return Ok(None);
    }
    let style = document.create_element("style")?;
    style.set_attribute(STYLE_MARK, "")?;
    style.set_text_content(Some(css));
    document.head().ok_or("no head")?.append_child(&style)?;
    Ok(Some(Owned::new(style)))
}

/// Saves `content` (a string or bytes) as a file: a Blob, an `a[download]` clicked once, and
/// the Blob's address released a moment later. The link lives in `<body>` for that click only,
/// outside the page's root, so the click does not reach the page's own listener.
pub fn download(content: &JsValue, mime: &str, file_name: &str) -> Result<(), JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_blob_sequence_and_options(&js_sys::Array::of1(content), &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let link: HtmlElement = element("a", "leakguard-metrics__download")?.unchecked_into();
    link.set_attribute("href", &url)?;
    link.set_attribute("download", file_name)?;
    link.set_hidden(true);
    document()
        .and_then(|d| d.body())
        .ok_or("no body")?
        .append_child(&link)?;
    link.click();
    link.remove();
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(30_000).await;
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    Ok(())
}
