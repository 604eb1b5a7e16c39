//! The stored configuration as the form edits it: the core's whole `Settings`, plus every top-level
//! key of the stored JSON document the core does not know (such as `backend_url`), kept as stored.

use leakguard_core::settings::{Problem, Settings};
use wasm_bindgen::{JsCast, JsValue};

/// The manifest's settings field that holds LeakGuard's configuration.
pub const CONFIG_FIELD: &str = "config";

/// The top-level key of the LeakGuard backend's address; the core's `Settings` has no such field,
/// so it lives beside the core's sections in the same JSON document.
pub const BACKEND_URL: &str = "backend_url";

/// The configuration being edited.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub settings: Settings,
    /// The backend's address (empty: no backend).
    pub backend_url: String,
    /// The stored document, for the keys this form does not know.
    stored: Option<js_sys::Object>,
}

/// Reads a stored configuration: empty means the defaults; anything unreadable is an error.
pub fn load(config: &JsValue) -> Result<Config, ()> {
    let value = match config.as_string() {
        Some(text) if text.trim().is_empty() => return Ok(Config::default()),
        Some(text) => js_sys::JSON::parse(&text).map_err(drop)?,
        None if config.is_object() => config.clone(),
        None => return Ok(Config::default()),
    };
    let stored: js_sys::Object = value.dyn_into().map_err(drop)?;
    let settings = serde_wasm_bindgen::from_value(stored.clone().into()).map_err(drop)?;
    let backend_url = js_sys::Reflect::get(&stored, &BACKEND_URL.into())
        .ok()
        .and_then(|url| url.as_string())
        .unwrap_or_default();
    Ok(Config {
        settings,
        backend_url,
        stored: Some(stored),
    })
}

impl Config {
    /// Every problem the core finds, plus an address that is not `https://` (or `http://` on loopback).
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = self.settings.validate();
        if !backend_url_is_valid(&self.backend_url) {
            problems.push(Problem {
                path: BACKEND_URL.to_owned(),
                key: "ui.settings.error.backend_url",
            });
        }
        problems
    }

    /// The configuration as the JSON text stored in the `config` field.
    pub fn to_json(&self) -> Option<String> {
        let document = js_sys::Object::assign(
            &js_sys::Object::new(),
            self.stored.as_ref().unwrap_or(&js_sys::Object::new()),
        );
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let settings = serde::Serialize::serialize(&self.settings, &serializer).ok()?;
        let settings: js_sys::Object = settings.dyn_into().ok()?;
        let document = js_sys::Object::assign(&document, &settings);
        let url = self.backend_url.trim();
        if url.is_empty() {
            js_sys::Reflect::delete_property(&document, &BACKEND_URL.into()).ok()?;
        } else {
            js_sys::Reflect::set(&document, &BACKEND_URL.into(), &url.into()).ok()?;
        }
        js_sys::JSON::stringify(&document).ok().map(String::from)
    }
}

/// Whether `url` is empty or an absolute `https://` address (`http://` only for a local backend).
pub fn backend_url_is_valid(url: &str) -> bool {
    let url = url.trim();
    if url.is_empty() {
        return true;
    }
    let host = url
        .strip_prefix("https://")
        .or_else(|| {
            url.strip_prefix("http://")
                .filter(|rest| rest.starts_with("127.0.0.1") || rest.starts_with("localhost"))
        })
        .unwrap_or_default();
    !host.is_empty() && !host.starts_with(['/', ':']) && !host.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::backend_url_is_valid;

    #[test]
    fn backend_addresses_are_https_or_local() {
        assert!(backend_url_is_valid(""));
        assert!(backend_url_is_valid("https://leakguard.example.com"));
        assert!(backend_url_is_valid("http://127.0.0.1:8400"));
        assert!(!backend_url_is_valid("http://leakguard.example.com"));
        assert!(!backend_url_is_valid("https://"));
        assert!(!backend_url_is_valid("leakguard.example.com"));
        assert!(!backend_url_is_valid("https://a b"));
    }
}
