//! The log of API and ajax calls that tests read through `GET /__sandbox/requests`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// How many entries are kept before the oldest are dropped.
const CAPACITY: usize = 20_000;

/// One logged call.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Increasing sequence number, starting at 1.
    pub seq: u64,
    /// Wall-clock milliseconds when the request arrived.
    pub ts_ms: u64,
    pub method: String,
    pub path: String,
    /// The raw query string ("" when none).
    pub query: String,
    pub status: u16,
    /// `host`, `session`, `bearer` or `anonymous`.
    pub client: String,
    /// The JSON body (a string when it was not JSON, null when empty).
    pub body: Value,
}

/// The request log.
#[derive(Debug, Default)]
pub struct RequestLog(Mutex<(u64, VecDeque<LogEntry>)>);

impl RequestLog {
    /// Appends an entry, assigning its sequence number.
    pub fn push(&self, mut entry: LogEntry) {
        let mut guard = self.0.lock().expect("log lock");
        guard.0 += 1;
        entry.seq = guard.0;
        if guard.1.len() == CAPACITY {
            guard.1.pop_front();
        }
        guard.1.push_back(entry);
    }

    /// Entries with `seq > since`.
    pub fn since(&self, since: u64) -> Vec<LogEntry> {
        self.0
            .lock()
            .expect("log lock")
            .1
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    /// Forgets every entry; sequence numbers keep increasing.
    pub fn clear(&self) {
        self.0.lock().expect("log lock").1.clear();
    }
}
