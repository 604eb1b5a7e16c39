//! The shell's error type, turned into a `JsError` at the wasm exports.

use std::fmt;

use wasm_bindgen::{JsCast, JsValue};

/// Something in the host page is not as the platform documents it.
#[derive(Debug)]
pub enum Error {
    /// `render_template` drew no block for this widget in the card's right column.
    NoCardBlock,
    /// A host or DOM call threw.
    Host(JsValue),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoCardBlock => {
                f.write_str("LeakGuard: the lead card has no widget block for LeakGuard")
            }
            Error::Host(value) => {
                let message = value
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()));
                f.write_str("LeakGuard: the page refused an operation: ")?;
                f.write_str(&message.or_else(|| value.as_string()).unwrap_or_default())
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<JsValue> for Error {
    fn from(value: JsValue) -> Self {
        Error::Host(value)
    }
}
