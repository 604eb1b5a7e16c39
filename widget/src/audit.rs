//! The guard's audit: blocked exits, tasks created from the dialog and "leave anyway" choices, counted per manager.
//!
//! Until the backend exists the counts live in the browser's `localStorage`, under a versioned key
//! namespaced by account and widget code, for the key-metrics report to collect later.

use serde::{Deserialize, Serialize};

/// The format version written into the stored JSON and the key.
pub const VERSION: u32 = 1;

/// Something the guard did that the audit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditEvent {
    /// An in-app exit (back button, menu, link, `navigate`) was held on a deal without a next step.
    BlockedExit,
    /// A stage change inside the card was reverted.
    BlockedStageChange,
    /// The manager left with browser Back and was brought back to the card.
    ReturnedAfterBack,
    /// A task was created from the dialog.
    TaskCreated,
    /// The tasks could not be checked and the manager chose "leave anyway".
    LeftAnyway,
}

/// The counts of one manager.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub user_id: u64,
    pub blocked_exits: u32,
    pub blocked_stage_changes: u32,
    pub returned_after_back: u32,
    pub tasks_created: u32,
    pub left_anyway: u32,
    /// The time of the last counted event (Unix seconds).
    pub last_at: i64,
}

/// Every manager's counts on this account, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditLog {
    pub version: u32,
    /// One entry per user.
    pub managers: Vec<Counts>,
}

impl Default for AuditLog {
    fn default() -> AuditLog {
        AuditLog {
            version: VERSION,
            managers: Vec::new(),
        }
    }
}

impl AuditLog {
    /// Counts `event` for user `user_id` at `now`.
    pub fn record(&mut self, user_id: u64, event: AuditEvent, now: i64) {
        let at = match self.managers.iter().position(|c| c.user_id == user_id) {
            Some(at) => at,
            None => {
                self.managers.push(Counts {
                    user_id,
                    ..Counts::default()
                });
                self.managers.len() - 1
            }
        };
        let counts = &mut self.managers[at];
        let field = match event {
            AuditEvent::BlockedExit => &mut counts.blocked_exits,
            AuditEvent::BlockedStageChange => &mut counts.blocked_stage_changes,
            AuditEvent::ReturnedAfterBack => &mut counts.returned_after_back,
            AuditEvent::TaskCreated => &mut counts.tasks_created,
            AuditEvent::LeftAnyway => &mut counts.left_anyway,
        };
        *field = field.saturating_add(1);
        counts.last_at = now;
    }

    /// The counts of one user.
    #[cfg(test)]
    pub fn of(&self, user_id: u64) -> Counts {
        self.managers
            .iter()
            .find(|c| c.user_id == user_id)
            .copied()
            .unwrap_or_default()
    }
}

/// The `localStorage` key of the audit of `account_id` for the widget installed as `widget_code`.
pub fn storage_key(account_id: u64, widget_code: &str) -> String {
    format!("leakguard.audit.v{VERSION}.{account_id}.{widget_code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_per_manager() {
        let mut log = AuditLog::default();
        log.record(7, AuditEvent::BlockedExit, 10);
        log.record(7, AuditEvent::BlockedExit, 11);
        log.record(7, AuditEvent::TaskCreated, 12);
        log.record(8, AuditEvent::LeftAnyway, 13);
        log.record(8, AuditEvent::BlockedStageChange, 14);
        log.record(8, AuditEvent::ReturnedAfterBack, 15);
        assert_eq!(
            log.of(7),
            Counts {
                user_id: 7,
                blocked_exits: 2,
                tasks_created: 1,
                last_at: 12,
                ..Counts::default()
            }
        );
        assert_eq!(
            log.of(8),
            Counts {
                user_id: 8,
                left_anyway: 1,
                blocked_stage_changes: 1,
                returned_after_back: 1,
                last_at: 15,
                ..Counts::default()
            }
        );
        assert_eq!(log.of(9), Counts::default());
    }

    #[test]
    fn the_stored_json_is_versioned_and_tolerant() {
        let mut log = AuditLog::default();
        log.record(8_100_002, AuditEvent::BlockedExit, 1_800_000_000);
        let json = serde_json::to_value(&log).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["managers"][0]["user_id"], 8_100_002);
        assert_eq!(json["managers"][0]["blocked_exits"], 1);
        assert_eq!(json["managers"][0]["last_at"], 1_800_000_000);
        // A document from an older or newer release keeps what it can.
        let loaded: AuditLog = serde_json::from_str(
            r#"{"managers":[{"user_id":5,"tasks_created":3,"colour":"red"}],"extra":1}"#,
        )
        .unwrap();
        assert_eq!(loaded.of(5).tasks_created, 3);
        assert_eq!(loaded.version, VERSION);
        assert_eq!(
            storage_key(30_125_479, "leakguard"),
            "leakguard.audit.v1.30125479.leakguard"
        );
    }
}
