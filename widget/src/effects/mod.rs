//! Effects: the only code that talks to the outside world (HTTP to amoCRM, the clock, timers, storage).

pub mod http;
pub mod storage;

/// The current time in Unix seconds, the unit amoCRM uses.
pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

/// The path of the page's address (`/leads/detail/42`).
pub fn pathname() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
}
