//! The deal's open tasks as the card knows them: the one check on card open, kept current by the card's own task events.
//!
//! The check answers once; tasks added in the composer or completed in the feed after the card opened
//! are applied on top, in whatever order the two arrive, so the guard decides without waiting for the network.

use leakguard_core::guard::OpenTaskKnowledge;
use leakguard_core::tasks::OpenTask;

/// Where the one check of the open tasks stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Check {
    #[default]
    Pending,
    Done,
    Failed,
}

/// A task event of the card's feed, as the host reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    /// An open task appeared (added in the composer, or reopened).
    Open(OpenTask),
    /// A task was completed or removed from the feed.
    Closed(u64),
}

/// The open tasks of one deal (a handful: plain vectors keep the wasm small).
#[derive(Debug, Default)]
pub struct TaskBook {
    open: Vec<OpenTask>,
    /// Tasks the card saw completed since it opened: a late check answer must not bring them back.
    closed: Vec<u64>,
    check: Check,
}

impl TaskBook {
    /// A new check is under way (a retry after a failure); a successful check is never undone.
    pub fn checking(&mut self) {
        if self.check != Check::Done {
            self.check = Check::Pending;
        }
    }

    /// The check answered with the deal's open tasks.
    pub fn checked(&mut self, tasks: impl IntoIterator<Item = OpenTask>) {
        for task in tasks {
            if !self.closed.contains(&task.id) && !self.open.iter().any(|t| t.id == task.id) {
                self.open.push(task);
            }
        }
        self.check = Check::Done;
    }

    /// The check failed; what the card's own events showed is kept.
    pub fn check_failed(&mut self) {
        if self.check != Check::Done {
            self.check = Check::Failed;
        }
    }

    /// Applies a task event; answers `true` when it completed the deal's last known open task.
    pub fn apply(&mut self, event: TaskEvent) -> bool {
        match event {
            TaskEvent::Open(task) => {
                self.closed.retain(|&closed| closed != task.id);
                self.open.retain(|t| t.id != task.id);
                self.open.push(task);
                false
            }
            TaskEvent::Closed(id) => {
                if !self.closed.contains(&id) {
                    self.closed.push(id);
                }
                let before = self.open.len();
                self.open.retain(|t| t.id != id);
                self.open.len() < before && self.open.is_empty() && self.check == Check::Done
            }
        }
    }

    /// What the guard knows: any open task seen is enough to let the manager go, even before the check answers.
    pub fn knowledge(&self) -> OpenTaskKnowledge {
        match (self.open.len(), self.check) {
            (0, Check::Done) => OpenTaskKnowledge::Known(0),
            (0, Check::Pending) => OpenTaskKnowledge::Unknown,
            (0, Check::Failed) => OpenTaskKnowledge::Failed,
            (count, _) => OpenTaskKnowledge::Known(count),
        }
    }

    /// The open tasks, for the panel.
    pub fn tasks(&self) -> Vec<OpenTask> {
        self.open.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64) -> OpenTask {
        OpenTask {
            id,
            text: format!("task {id}"),
            complete_till: 1_800_000_000,
            task_type_id: 1,
            responsible_user_id: 7,
        }
    }

    #[test]
    fn unknown_until_the_check_answers_then_counted() {
        let mut book = TaskBook::default();
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Unknown);
        book.checked([task(1), task(2)]);
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(2));
        assert_eq!(book.tasks().len(), 2);
        let mut empty = TaskBook::default();
        empty.checked([]);
        assert_eq!(empty.knowledge(), OpenTaskKnowledge::Known(0));
    }

    #[test]
    fn completing_the_last_task_is_reported_once() {
        let mut book = TaskBook::default();
        book.checked([task(1), task(2)]);
        assert!(!book.apply(TaskEvent::Closed(1)));
        assert!(book.apply(TaskEvent::Closed(2)));
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(0));
        // A second event about the same task changes nothing.
        assert!(!book.apply(TaskEvent::Closed(2)));
    }

    #[test]
    fn a_task_added_before_the_check_answers_already_allows() {
        let mut book = TaskBook::default();
        book.apply(TaskEvent::Open(task(9)));
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(1));
        book.checked([task(9)]);
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(1));
    }

    #[test]
    fn a_late_check_answer_does_not_revive_a_completed_task() {
        let mut book = TaskBook::default();
        // The feed shows the task completed while the check was still on its way.
        assert!(!book.apply(TaskEvent::Closed(4)));
        book.checked([task(4)]);
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(0));
        // Reopening it counts it again.
        book.apply(TaskEvent::Open(task(4)));
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(1));
    }

    #[test]
    fn a_failed_check_is_failed_until_a_retry_answers() {
        let mut book = TaskBook::default();
        book.check_failed();
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Failed);
        // Completing a task of an unknown total does not claim it was the last one.
        book.apply(TaskEvent::Open(task(3)));
        assert!(!book.apply(TaskEvent::Closed(3)));
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Failed);
        book.checking();
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Unknown);
        book.checked([]);
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(0));
        // A later failure does not undo a successful check.
        book.check_failed();
        book.checking();
        assert_eq!(book.knowledge(), OpenTaskKnowledge::Known(0));
    }
}
