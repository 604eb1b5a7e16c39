//! Element helpers: the few DOM operations the views need, and owned handles that undo themselves on drop.

mod listeners;

pub use listeners::{on, on_capture, on_click, Listener};

use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

/// The attribute that marks the stylesheet link this widget added to `<head>`.
const STYLE_MARK: &str = "data-leakguard-style";

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

/// An element this widget attached to the page; dropping it detaches it again.
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

/// Appends `<link rel="stylesheet" href=…>` to `<head>` unless this widget's stylesheet is already there.
///
/// Returns the link only when this call added it, so only the owner removes it.
pub fn attach_stylesheet(href: &str) -> Result<Option<Owned>, JsValue> {
    let document = document().ok_or("no document")?;
    if document
        .query_selector(&format!("link[{STYLE_MARK}]"))?
        .is_some()
    {
        return Ok(None);
    }
    let head = document.head().ok_or("no head")?;
    let link = document.create_element("link")?;
    link.set_attribute("rel", "stylesheet")?;
    link.set_attribute("href", href)?;
    link.set_attribute(STYLE_MARK, "")?;
    head.append_child(&link)?;
    Ok(Some(Owned::new(link)))
}
