//! The browser's `localStorage` (the audit) and `sessionStorage` (the browser-Back return), failing softly.
//!
//! Storage can be missing or full (private mode, quotas); the guard then works without it.

use web_sys::Storage;

/// Which storage of the page.
#[derive(Clone, Copy, Debug)]
pub enum Area {
    /// Kept across sessions, per origin.
    Local,
    /// Kept for the tab, per origin.
    Session,
}

fn storage(area: Area) -> Option<Storage> {
    let window = web_sys::window()?;
    match area {
        Area::Local => window.local_storage(),
        Area::Session => window.session_storage(),
    }
    .ok()
    .flatten()
}

/// The stored text under `key`.
pub fn get(area: Area, key: &str) -> Option<String> {
    storage(area)?.get_item(key).ok().flatten()
}

/// Stores `value` under `key`; answers whether it was stored.
pub fn set(area: Area, key: &str, value: &str) -> bool {
    storage(area).is_some_and(|s| s.set_item(key, value).is_ok())
}

/// Removes `key`.
pub fn remove(area: Area, key: &str) {
    if let Some(s) = storage(area) {
        let _ = s.remove_item(key);
    }
}
