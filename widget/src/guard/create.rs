//! Creating the next task without ever creating it twice: what a failure means and how a retry recognises an earlier success.
//!
//! amoCRM keeps no idempotency key, so after an answer that may have come after the task was
//! written (a 5xx, a dropped connection, an unreadable body) the widget re-reads the deal's open
//! tasks and takes an identical one as the result instead of posting again.

use amo_api::tasks::EntityType;
use amo_api::{NewTask, Task};
use leakguard_core::deal::PlannedTask;

use crate::effects::http::HttpError;

/// The text of the task: what the manager typed, else the name of the chosen task type.
pub fn task_text(typed: &str, type_name: &str) -> String {
    match typed.trim() {
        "" => type_name.trim().to_owned(),
        text => text.to_owned(),
    }
}

/// Whether amoCRM may have created the task although the answer says otherwise.
///
/// A 4xx or a 429 (after the automatic retries) is a refusal before anything was written.
pub fn is_ambiguous(error: HttpError) -> bool {
    match error {
        HttpError::Network | HttpError::Malformed => true,
        HttpError::Status(status) => status >= 500,
    }
}

/// The open task of the deal that is the planned one, if an earlier attempt created it.
pub fn find_identical(tasks: &[Task], planned: &PlannedTask) -> Option<u64> {
    tasks
        .iter()
        .find(|task| {
            !task.is_completed
                && task.entity_type == Some(EntityType::Leads)
                && task.entity_id == Some(planned.deal_id)
                && task.text == planned.text
                && task.complete_till == planned.complete_till
                && task.task_type_id == planned.task_type_id
                && task.responsible_user_id == planned.responsible_user_id
        })
        .map(|task| task.id)
}

/// The body item of `POST /api/v4/tasks` for the planned task; `request_id` is echoed in the answer.
pub fn new_task(planned: &PlannedTask, request_id: String) -> NewTask {
    NewTask {
        task_type_id: Some(planned.task_type_id),
        responsible_user_id: Some(planned.responsible_user_id),
        request_id: Some(request_id),
        ..NewTask::for_lead(planned.deal_id, &planned.text, planned.complete_till)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> PlannedTask {
        PlannedTask {
            deal_id: 42,
            text: "Позвонить".into(),
            task_type_id: 1,
            complete_till: 1_800_000_000,
            responsible_user_id: 7,
        }
    }

    fn task(id: u64) -> Task {
        Task {
            id,
            entity_id: Some(42),
            entity_type: Some(EntityType::Leads),
            text: "Позвонить".into(),
            task_type_id: 1,
            complete_till: 1_800_000_000,
            responsible_user_id: 7,
            ..Task::default()
        }
    }

    #[test]
    fn typed_text_wins_over_the_type_name() {
        assert_eq!(
            task_text("  Call about the offer ", "Follow-up"),
            "Call about the offer"
        );
        assert_eq!(task_text("   ", " Связаться "), "Связаться");
    }

    #[test]
    fn only_server_side_and_transport_failures_are_ambiguous() {
        assert!(is_ambiguous(HttpError::Network));
        assert!(is_ambiguous(HttpError::Malformed));
        assert!(is_ambiguous(HttpError::Status(500)));
        assert!(is_ambiguous(HttpError::Status(504)));
        assert!(!is_ambiguous(HttpError::Status(400)));
        assert!(!is_ambiguous(HttpError::Status(401)));
        assert!(!is_ambiguous(HttpError::Status(429)));
    }

    #[test]
    fn an_identical_open_task_of_the_deal_is_found() {
        let planned = planned();
        assert_eq!(find_identical(&[task(5)], &planned), Some(5));
        let differs: [fn(&mut Task); 7] = [
            |t| t.is_completed = true,
            |t| t.entity_id = Some(43),
            |t| t.entity_type = Some(EntityType::Contacts),
            |t| t.text = "Позвонить!".into(),
            |t| t.complete_till += 60,
            |t| t.task_type_id = 2,
            |t| t.responsible_user_id = 8,
        ];
        for change in differs {
            let mut other = task(6);
            change(&mut other);
            assert_eq!(
                find_identical(&[other.clone()], &planned),
                None,
                "{other:?}"
            );
            assert_eq!(find_identical(&[other, task(9)], &planned), Some(9));
        }
    }

    #[test]
    fn the_post_body_carries_every_field_and_the_request_id() {
        let body = new_task(&planned(), "lg-42-1".into());
        assert_eq!(body.entity_id, Some(42));
        assert_eq!(body.entity_type, Some(EntityType::Leads));
        assert_eq!(body.text, "Позвонить");
        assert_eq!(body.complete_till, 1_800_000_000);
        assert_eq!(body.task_type_id, Some(1));
        assert_eq!(body.responsible_user_id, Some(7));
        assert_eq!(body.request_id.as_deref(), Some("lg-42-1"));
    }
}
