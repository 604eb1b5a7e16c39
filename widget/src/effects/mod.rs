//! Effects: the only code that talks to the outside world (HTTP to amoCRM, the clock, timers).

pub mod http;

/// The current time in Unix seconds, the unit amoCRM uses.
pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}
