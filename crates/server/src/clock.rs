//! The business clock: the "now" the automation rules, deadlines and the quality-control queue use.
//!
//! Leases, rate windows and job schedules stay on the machine's clock (they measure real waiting);
//! only the rules read this one, so tests can move it across a weekend or a holiday. It is the
//! system clock, a fixed instant, the system clock plus an offset, or it follows an amoCRM sandbox's
//! `GET /__sandbox/clock` (mirroring its fixed instant or offset, re-read every second).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use tokio::sync::watch;

use crate::db::now_ms;

/// How the clock computes "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// The machine's clock.
    System,
    /// Frozen at this Unix second.
    Fixed(i64),
    /// The machine's clock plus this many seconds.
    Offset(i64),
}

/// What the configuration asks for (`clock` in TOML, `LEAKGUARD_CLOCK` in the environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClockSource {
    Mode(ClockMode),
    /// Follow the sandbox at this origin.
    Sandbox(String),
}

impl ClockSource {
    /// Parses `system`, `fixed:<unix seconds>`, `offset:<seconds>` or `sandbox:<origin>`.
    pub fn parse(text: &str) -> Result<ClockSource> {
        let text = text.trim();
        let (kind, value) = text.split_once(':').unwrap_or((text, ""));
        let number = || -> Result<i64> {
            value
                .trim()
                .parse()
                .with_context(|| format!("clock {text:?}: not a number of seconds"))
        };
        Ok(match kind {
            "system" | "" => ClockSource::Mode(ClockMode::System),
            "fixed" => ClockSource::Mode(ClockMode::Fixed(number()?)),
            "offset" => ClockSource::Mode(ClockMode::Offset(number()?)),
            "sandbox" if !value.trim().is_empty() => {
                ClockSource::Sandbox(value.trim().trim_end_matches('/').to_owned())
            }
            _ => bail!("clock {text:?}: expected system, fixed:<t>, offset:<s> or sandbox:<url>"),
        })
    }
}

/// A shared, settable clock; cheap to clone.
#[derive(Clone, Debug)]
pub struct Clock(Arc<RwLock<ClockMode>>);

impl Default for Clock {
    fn default() -> Clock {
        Clock::new(ClockMode::System)
    }
}

impl Clock {
    /// A clock in `mode`.
    pub fn new(mode: ClockMode) -> Clock {
        Clock(Arc::new(RwLock::new(mode)))
    }

    /// The current Unix second.
    pub fn now(&self) -> i64 {
        let system = now_ms().div_euclid(1000);
        match *self.0.read().expect("clock lock") {
            ClockMode::System => system,
            ClockMode::Fixed(at) => at,
            ClockMode::Offset(seconds) => system + seconds,
        }
    }

    /// The current mode.
    pub fn mode(&self) -> ClockMode {
        *self.0.read().expect("clock lock")
    }

    /// Switches the mode (tests move time with it).
    pub fn set(&self, mode: ClockMode) {
        *self.0.write().expect("clock lock") = mode;
    }

    /// Reads the sandbox's clock once and takes over its mode.
    pub async fn sync_from_sandbox(&self, http: &reqwest::Client, origin: &str) -> Result<()> {
        #[derive(Deserialize)]
        struct Described {
            now: i64,
            mode: String,
            #[serde(default)]
            offset_seconds: i64,
        }
        let described: Described = http
            .get(format!("{origin}/__sandbox/clock"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .context("reading the sandbox clock")?
            .error_for_status()?
            .json()
            .await
            .context("decoding the sandbox clock")?;
        self.set(match described.mode.as_str() {
            "fixed" => ClockMode::Fixed(described.now),
            "offset" => ClockMode::Offset(described.offset_seconds),
            _ => ClockMode::System,
        });
        Ok(())
    }

    /// Keeps following the sandbox at `origin` until `shutdown` turns true.
    pub async fn follow_sandbox(
        self,
        http: reqwest::Client,
        origin: String,
        mut shutdown: watch::Receiver<bool>,
    ) {
        while !*shutdown.borrow() {
            if let Err(error) = self.sync_from_sandbox(&http, &origin).await {
                tracing::warn!(%error, "following the sandbox clock failed");
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_modes_compute_now() {
        assert_eq!(
            ClockSource::parse("fixed:1781000000").unwrap(),
            ClockSource::Mode(ClockMode::Fixed(1_781_000_000))
        );
        assert_eq!(
            ClockSource::parse("offset:-60").unwrap(),
            ClockSource::Mode(ClockMode::Offset(-60))
        );
        assert_eq!(
            ClockSource::parse("sandbox:http://127.0.0.1:8300/").unwrap(),
            ClockSource::Sandbox("http://127.0.0.1:8300".into())
        );
        assert!(ClockSource::parse("fixed:soon").is_err());
        assert!(ClockSource::parse("sandbox:").is_err());
        let clock = Clock::new(ClockMode::Fixed(42));
        assert_eq!(clock.now(), 42);
        clock.set(ClockMode::Offset(3600));
        let expected = now_ms() / 1000 + 3600;
        assert!((clock.now() - expected).abs() <= 1);
    }
}
