//! The facts the rules decide on (stages, the deal, the user, the account) and the tasks they plan.

use serde::{Deserialize, Serialize};

use crate::dates::{Calendar, UtcOffset};
use crate::locale::Lang;

pub use crate::tasks::{STATUS_LOST, STATUS_WON};

/// Whether a status id is one of the two closed statuses (142 won, 143 lost) every pipeline has.
pub const fn is_closed_status(status_id: u32) -> bool {
    status_id == STATUS_WON || status_id == STATUS_LOST
}

/// A stage: a status inside a pipeline (142 and 143 exist in every pipeline, so the pair is needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StageRef {
    pub pipeline_id: u32,
    pub status_id: u32,
}

impl StageRef {
    /// The stage `status_id` of pipeline `pipeline_id`.
    pub const fn new(pipeline_id: u32, status_id: u32) -> StageRef {
        StageRef {
            pipeline_id,
            status_id,
        }
    }

    /// Whether this is the won or lost stage of its pipeline.
    pub const fn is_closed(self) -> bool {
        is_closed_status(self.status_id)
    }
}

/// A deal as the card, the backend and the rules see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DealContext {
    pub id: u64,
    pub name: String,
    /// The budget in the account currency's major units, as amoCRM's `price`.
    pub price: i64,
    pub pipeline_id: u32,
    pub status_id: u32,
    pub responsible_user_id: u64,
    pub loss_reason_id: Option<u64>,
    /// The linked contacts, main contact first (needed to copy the deal).
    pub contact_ids: Vec<u64>,
    pub company_id: Option<u64>,
}

impl DealContext {
    /// The deal's current stage.
    pub const fn stage(&self) -> StageRef {
        StageRef::new(self.pipeline_id, self.status_id)
    }

    /// The same deal as it would be after a move to `stage`, to ask the rules about a stage change
    /// before it is saved.
    pub fn moved_to(&self, stage: StageRef) -> DealContext {
        DealContext {
            pipeline_id: stage.pipeline_id,
            status_id: stage.status_id,
            ..self.clone()
        }
    }
}

/// The user in front of the card (or the user the backend acts for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    pub id: u64,
    /// amoCRM puts every user in at most one group.
    pub group_id: Option<u64>,
    pub is_admin: bool,
}

/// What the rules need to know about the account: its time zone, working-day calendar and language.
#[derive(Clone, Copy)]
pub struct Account<'a> {
    /// The account's zone (`datetime_settings.timezone`), not the browser's.
    pub tz: &'a dyn UtcOffset,
    pub calendar: &'a Calendar,
    /// Picks the per-language texts of the settings (tag names, task texts).
    pub lang: Lang,
}

/// A task a rule wants created in amoCRM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTask {
    /// The deal the task is attached to (`entity_type` is always `leads`).
    pub deal_id: u64,
    /// The text, ending with the idempotency marker (see [`crate::idempotency`]).
    pub text: String,
    pub task_type_id: u32,
    /// The deadline in Unix seconds.
    pub complete_till: i64,
    pub responsible_user_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_stages_are_142_and_143() {
        assert!(StageRef::new(1, 142).is_closed());
        assert!(StageRef::new(1, 143).is_closed());
        assert!(!StageRef::new(1, 144).is_closed());
        let deal = DealContext {
            id: 5,
            pipeline_id: 1,
            status_id: 10,
            ..DealContext::default()
        };
        let moved = deal.moved_to(StageRef::new(2, 143));
        assert_eq!(moved.stage(), StageRef::new(2, 143));
        assert_eq!(moved.id, 5);
    }
}
