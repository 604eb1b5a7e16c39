//! The sandbox's clock: system time, a fixed instant, or system time shifted by an offset.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// How `now` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The machine's clock.
    System,
    /// Frozen at this Unix second.
    Fixed(i64),
    /// The machine's clock plus this many seconds.
    Offset(i64),
}

/// The clock used for `created_at`, `updated_at`, `closed_at` and demo data.
#[derive(Debug)]
pub struct Clock(Mutex<ClockMode>);

impl Default for Clock {
    fn default() -> Self {
        Clock(Mutex::new(ClockMode::System))
    }
}

/// Unix seconds of the machine's clock.
pub fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix milliseconds of the machine's clock.
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    /// The sandbox's current Unix second.
    pub fn now(&self) -> i64 {
        match *self.0.lock().expect("clock lock") {
            ClockMode::System => system_now(),
            ClockMode::Fixed(t) => t,
            ClockMode::Offset(d) => system_now() + d,
        }
    }

    /// Switches the mode.
    pub fn set(&self, mode: ClockMode) {
        *self.0.lock().expect("clock lock") = mode;
    }

    /// `{"now", "mode", "offset_seconds"}` for `GET /__sandbox/clock`.
    pub fn describe(&self) -> Value {
        let mode = *self.0.lock().expect("clock lock");
        let (name, offset) = match mode {
            ClockMode::System => ("system", 0),
            ClockMode::Fixed(t) => ("fixed", t - system_now()),
            ClockMode::Offset(d) => ("offset", d),
        };
        json!({"now": self.now(), "mode": name, "offset_seconds": offset})
    }
}
