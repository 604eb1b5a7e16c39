//! The next-step rule: what the card panel says about a lead's open tasks.

/// The status id of "Closed – won", the same in every amoCRM pipeline.
pub const STATUS_WON: u32 = 142;
/// The status id of "Closed – lost", the same in every amoCRM pipeline.
pub const STATUS_LOST: u32 = 143;

/// An open (not completed) task of a lead, as far as the next-step rule needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTask {
    pub id: u64,
    pub text: String,
    /// The deadline in Unix seconds; 0 means the task has no deadline.
    pub complete_till: i64,
    pub task_type_id: u32,
    pub responsible_user_id: u64,
}

/// The state of a lead's next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// The lead is closed, so no next step is needed.
    Closed { won: bool },
    /// The lead is open and has no open task with a deadline.
    Missing,
    /// The earliest open task is still ahead; `others` counts the remaining open tasks with a deadline.
    Scheduled { task: OpenTask, others: usize },
    /// The earliest open task is past its deadline; `others` counts the remaining open tasks with a deadline.
    Overdue { task: OpenTask, others: usize },
}

/// Decides the next step of a lead in status `lead_status_id` with the given open tasks at `now` (Unix seconds).
///
/// Tasks whose `complete_till` is 0 have no deadline and are ignored. The open task with the
/// earliest deadline decides (the lower id wins a tie); it is overdue iff its deadline is before `now`.
pub fn next_step(lead_status_id: u32, open_tasks: &[OpenTask], now: i64) -> NextStep {
    match lead_status_id {
        STATUS_WON => return NextStep::Closed { won: true },
        STATUS_LOST => return NextStep::Closed { won: false },
        _ => {}
    }
    let dated = open_tasks.iter().filter(|task| task.complete_till != 0);
    let Some(first) = dated
        .clone()
        .min_by_key(|task| (task.complete_till, task.id))
    else {
        return NextStep::Missing;
    };
    let others = dated.count() - 1;
    let task = first.clone();
    if task.complete_till < now {
        NextStep::Overdue { task, others }
    } else {
        NextStep::Scheduled { task, others }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_768_550_400;

    fn task(id: u64, complete_till: i64) -> OpenTask {
        OpenTask {
            id,
            text: format!("task {id}"),
            complete_till,
            task_type_id: 1,
            responsible_user_id: 7,
        }
    }

    #[test]
    fn closed_leads_need_no_next_step() {
        let overdue = [task(1, NOW - 10)];
        assert_eq!(
            next_step(142, &overdue, NOW),
            NextStep::Closed { won: true }
        );
        assert_eq!(
            next_step(143, &overdue, NOW),
            NextStep::Closed { won: false }
        );
        assert_eq!(next_step(143, &[], NOW), NextStep::Closed { won: false });
    }

    #[test]
    fn no_tasks_or_only_undated_tasks_is_missing() {
        assert_eq!(next_step(100, &[], NOW), NextStep::Missing);
        assert_eq!(
            next_step(100, &[task(1, 0), task(2, 0)], NOW),
            NextStep::Missing
        );
    }

    #[test]
    fn the_earliest_deadline_decides() {
        let tasks = [
            task(1, NOW + 7200),
            task(2, NOW + 60),
            task(3, 0),
            task(4, NOW + 86_400),
        ];
        assert_eq!(
            next_step(100, &tasks, NOW),
            NextStep::Scheduled {
                task: task(2, NOW + 60),
                others: 2
            }
        );
        let with_overdue = [task(1, NOW + 7200), task(5, NOW - 1)];
        assert_eq!(
            next_step(100, &with_overdue, NOW),
            NextStep::Overdue {
                task: task(5, NOW - 1),
                others: 1
            }
        );
    }

    #[test]
    fn a_deadline_equal_to_now_is_not_yet_overdue() {
        assert_eq!(
            next_step(100, &[task(1, NOW)], NOW),
            NextStep::Scheduled {
                task: task(1, NOW),
                others: 0
            }
        );
        assert_eq!(
            next_step(100, &[task(1, NOW)], NOW + 1),
            NextStep::Overdue {
                task: task(1, NOW),
                others: 0
            }
        );
    }

    #[test]
    fn ties_are_broken_by_the_lower_id() {
        let tasks = [task(9, NOW + 60), task(3, NOW + 60)];
        assert_eq!(
            next_step(100, &tasks, NOW),
            NextStep::Scheduled {
                task: task(3, NOW + 60),
                others: 1
            }
        );
    }
}
