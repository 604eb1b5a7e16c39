//! The 7 requests/second limit per client and the ban for repeated abuse (amocrm-api-v4.md §13.1).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// The limiter's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allow,
    /// 429; the window frees up after this many seconds.
    Limited { retry_after: u64 },
    /// 403; the client is banned.
    Banned,
}

#[derive(Debug, Default)]
struct Client {
    hits: VecDeque<Instant>,
    violations: VecDeque<Instant>,
    banned_until: Option<Instant>,
}

/// Sliding one-second windows per client key plus a violation counter.
#[derive(Debug)]
pub struct RateLimiter {
    config: Mutex<RateLimit>,
    clients: Mutex<HashMap<String, Client>>,
}

impl RateLimiter {
    /// A limiter with `config`.
    pub fn new(config: RateLimit) -> RateLimiter {
        RateLimiter {
            config: Mutex::new(config),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The current limits.
    pub fn config(&self) -> RateLimit {
        self.config.lock().expect("limiter lock").clone()
    }

    /// Replaces the limits (the clients' history is kept).
    pub fn set_config(&self, config: RateLimit) {
        *self.config.lock().expect("limiter lock") = config;
    }

    /// Forgets every client's history and ban.
    pub fn clear(&self) {
        self.clients.lock().expect("limiter lock").clear();
    }

    /// Counts a request of `key` and decides. Only served requests fill the window.
    pub fn check(&self, key: &str) -> Verdict {
        let config = self.config();
        if !config.enabled {
            return Verdict::Allow;
        }
        let now = Instant::now();
        let mut clients = self.clients.lock().expect("limiter lock");
        let client = clients.entry(key.to_owned()).or_default();
        if let Some(until) = client.banned_until {
            if now < until {
                return Verdict::Banned;
            }
            client.banned_until = None;
            client.violations.clear();
        }
        let second = Duration::from_secs(1);
        while client
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= second)
        {
            client.hits.pop_front();
        }
        if client.hits.len() < config.per_second as usize {
            client.hits.push_back(now);
            return Verdict::Allow;
        }
        while client
            .violations
            .front()
            .is_some_and(|t| now.duration_since(*t) >= config.violation_window)
        {
            client.violations.pop_front();
        }
        client.violations.push_back(now);
        if client.violations.len() >= config.ban_after_violations as usize {
            client.banned_until = Some(now + config.ban_duration);
            return Verdict::Banned;
        }
        let oldest = client.hits.front().copied().unwrap_or(now);
        let wait = second.saturating_sub(now.duration_since(oldest));
        Verdict::Limited {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}
