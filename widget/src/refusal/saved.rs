//! A refusal in progress as it is kept in `sessionStorage`: what the plan is rebuilt from and which steps are done, so a reload resumes it without duplicates.

use leakguard_core::deal::DealContext;
use leakguard_core::refusal::{RefusalPlan, RefusalProgress, RefusalStep, StepOutcome};
use serde::{Deserialize, Serialize};

/// The storage format version.
const VERSION: u32 = 1;

/// The key of the record of `deal_id` in account `account_id`.
pub fn storage_key(account_id: u64, deal_id: u64) -> String {
    format!("leakguard.refusal.v{VERSION}.{account_id}.{deal_id}")
}

/// Everything a refusal was planned from, and how far it got.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Saved {
    pub v: u32,
    pub deal_id: u64,
    pub name: String,
    pub price: i64,
    pub pipeline_id: u32,
    pub status_id: u32,
    pub responsible_user_id: u64,
    pub contact_ids: Vec<u64>,
    pub company_id: Option<u64>,
    pub reason_id: u64,
    pub reason_name: String,
    pub comment: String,
    /// The refusal moment: the plan's markers and deadline depend on it, so it never changes.
    pub at: i64,
    /// The steps done, by their order in [`STEPS`].
    pub done: Vec<u8>,
    pub copy_id: Option<u64>,
}

/// Every step, in the order their numbers are stored.
const STEPS: [RefusalStep; 5] = [
    RefusalStep::PatchLead,
    RefusalStep::CreateTask,
    RefusalStep::AddNote,
    RefusalStep::CreateCopy,
    RefusalStep::AddCopyNote,
];

impl Saved {
    /// A new refusal of `deal` with a reason and comment, made at `at`.
    pub fn new(deal: &DealContext, reason: (u64, &str), comment: &str, at: i64) -> Saved {
        Saved {
            v: VERSION,
            deal_id: deal.id,
            name: deal.name.clone(),
            price: deal.price,
            pipeline_id: deal.pipeline_id,
            status_id: deal.status_id,
            responsible_user_id: deal.responsible_user_id,
            contact_ids: deal.contact_ids.clone(),
            company_id: deal.company_id,
            reason_id: reason.0,
            reason_name: reason.1.to_owned(),
            comment: comment.to_owned(),
            at,
            done: Vec::new(),
            copy_id: None,
        }
    }

    /// Whether the record is one this code wrote.
    pub fn is_current(&self) -> bool {
        self.v == VERSION && self.deal_id != 0 && self.reason_id != 0
    }

    /// The deal as it was when the refusal was planned.
    pub fn deal(&self) -> DealContext {
        DealContext {
            id: self.deal_id,
            name: self.name.clone(),
            price: self.price,
            pipeline_id: self.pipeline_id,
            status_id: self.status_id,
            responsible_user_id: self.responsible_user_id,
            loss_reason_id: None,
            contact_ids: self.contact_ids.clone(),
            company_id: self.company_id,
        }
    }

    /// Remembers the progress's done steps and copy id.
    pub fn record(&mut self, progress: &RefusalProgress) {
        self.done = progress
            .done_steps()
            .into_iter()
            .filter_map(|step| STEPS.iter().position(|&s| s == step))
            .map(|index| index as u8)
            .collect();
        self.copy_id = progress.copy_id();
    }

    /// The progress after a reload: the done steps, and the next step marked as possibly done,
    /// because the page may have gone away while its request was on the way.
    pub fn resumed(&self, plan: &RefusalPlan) -> RefusalProgress {
        let done: Vec<RefusalStep> = self
            .done
            .iter()
            .filter_map(|&index| STEPS.get(usize::from(index)).copied())
            .collect();
        let mut progress = RefusalProgress::restore(&done, self.copy_id);
        if let Some(step) = progress.next_step(plan) {
            progress.record(step, StepOutcome::Failed);
        }
        progress
    }
}

#[cfg(test)]
mod tests {
    use leakguard_core::dates::{Calendar, FixedOffset};
    use leakguard_core::deal::Account;
    use leakguard_core::locale::Lang;
    use leakguard_core::refusal::{refusal_plan, RefusalAction};
    use leakguard_core::settings::Settings;

    use super::*;

    fn deal() -> DealContext {
        DealContext {
            id: 42,
            name: "Окна <b>".into(),
            price: 1000,
            pipeline_id: 1,
            status_id: 10,
            responsible_user_id: 7,
            loss_reason_id: None,
            contact_ids: vec![3, 4],
            company_id: Some(9),
        }
    }

    fn plan(saved: &Saved) -> RefusalPlan {
        let calendar = Calendar::russian();
        let tz = FixedOffset(3 * 3600);
        let account = Account {
            tz: &tz,
            calendar: &calendar,
            lang: Lang::Ru,
        };
        refusal_plan(
            &saved.deal(),
            saved.reason_id,
            &saved.comment,
            &Settings::default(),
            saved.at,
            &account,
            &[(saved.reason_id, saved.reason_name.as_str())],
        )
        .unwrap()
    }

    #[test]
    fn the_plan_is_the_same_after_a_round_trip_through_json() {
        let saved = Saved::new(&deal(), (5, "Дорого"), "позже", 1_768_550_400);
        let json = serde_json::to_string(&saved).unwrap();
        let back: Saved = serde_json::from_str(&json).unwrap();
        assert!(back.is_current());
        assert_eq!(back.deal(), deal());
        assert_eq!(plan(&back), plan(&saved));
    }

    #[test]
    fn a_resumed_refusal_looks_before_it_repeats_the_interrupted_step() {
        let mut saved = Saved::new(&deal(), (5, "Дорого"), "", 1_768_550_400);
        let plan = plan(&saved);
        let mut progress = RefusalProgress::new();
        progress.record(RefusalStep::PatchLead, StepOutcome::Done { id: None });
        saved.record(&progress);
        assert_eq!(saved.done, vec![0]);
        let resumed = saved.resumed(&plan);
        assert!(resumed.is_done(RefusalStep::PatchLead));
        assert!(matches!(
            resumed.next_action(&plan),
            Some(RefusalAction::Check(RefusalStep::CreateTask, _))
        ));
    }

    #[test]
    fn old_or_foreign_records_are_not_current() {
        assert!(!Saved::default().is_current());
        let stored: Saved = serde_json::from_str(r#"{"v":0,"deal_id":1,"reason_id":2}"#).unwrap();
        assert!(!stored.is_current());
        assert_eq!(storage_key(5, 42), "leakguard.refusal.v1.5.42");
    }
}
