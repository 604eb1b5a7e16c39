//! Fault injection: the next N matching requests fail with a status, a 429, a delay or a dropped
//! connection, before or after the request has been served.

use std::sync::Mutex;

use serde::Deserialize;

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` with a problem+json body.
    Status,
    /// Answer 429 exactly as the rate limiter would.
    RateLimit,
    /// Wait `ms` milliseconds, then serve the request normally.
    Latency,
    /// Close the connection without an answer.
    Drop,
    /// Serve the request (its writes happen), then close the connection without the answer: the
    /// ambiguous failure a client must not turn into a duplicate.
    LostAnswer,
    /// Serve the request (its writes happen), then answer `status` instead of the real answer, as a
    /// gateway timing out after the backend did the work would.
    StatusAfter,
}

/// One rule posted to `POST /__sandbox/faults`.
#[derive(Debug, Clone, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match; any method when absent or `*`.
    #[serde(default)]
    pub method: Option<String>,
    /// Path prefix to match, e.g. `/api/v4/tasks`.
    pub path: String,
    /// What to do.
    pub kind: FaultKind,
    /// Status for `status` faults.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Delay for `latency` faults.
    #[serde(default = "default_ms")]
    pub ms: u64,
    /// How many matching requests it applies to.
    #[serde(default = "default_count")]
    pub count: u32,
}

fn default_status() -> u16 {
    500
}

fn default_ms() -> u64 {
    2000
}

fn default_count() -> u32 {
    1
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = match self.method.as_deref() {
            None | Some("*") | Some("") => true,
            Some(m) => m.eq_ignore_ascii_case(method),
        };
        method_ok && path.starts_with(&self.path)
    }
}

/// The pending faults.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Vec<FaultRule>>);

impl Faults {
    /// Adds a rule behind the existing ones.
    pub fn add(&self, rule: FaultRule) {
        if rule.count > 0 {
            self.0.lock().expect("faults lock").push(rule);
        }
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.0.lock().expect("faults lock").clear();
    }

    /// The first rule matching this request, using up one of its applications.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultRule> {
        let mut rules = self.0.lock().expect("faults lock");
        let index = rules.iter().position(|r| r.matches(method, path))?;
        let rule = rules[index].clone();
        rules[index].count -= 1;
        if rules[index].count == 0 {
            rules.remove(index);
        }
        Some(rule)
    }
}
