//! What a write changed, turned into the two things amoCRM derives from it: entries of the event feed
//! (`/api/v4/events`) and webhook deliveries (amocrm-api-v4.md §11.2).

use serde_json::{json, Value};

use crate::state::model::{Lead, Note, Task};
use crate::state::store::Store;
use crate::webhooks::{payload, Job};

/// One change made through the API or the fake UI.
#[derive(Debug, Clone)]
pub enum Change {
    /// A lead was created.
    LeadAdded(Box<Lead>),
    /// A lead was written; `before` is how it was.
    LeadUpdated { before: Box<Lead>, after: Box<Lead> },
    /// A task was created.
    TaskAdded(Task),
    /// A task was written (completion is an update); `before` is how it was.
    TaskUpdated { before: Box<Task>, after: Box<Task> },
    /// A note was added to a lead.
    NoteAdded(Note),
}

/// Records the events of `changes` at `now` and returns the webhook jobs they cause, in order.
pub fn commit(store: &mut Store, base: &str, now: i64, changes: &[Change]) -> Vec<Job> {
    for change in changes {
        record_events(store, change, now);
    }
    let mut jobs = Vec::new();
    if store.webhooks.iter().all(|w| w.disabled) {
        return jobs;
    }
    let account = payload::account(store, base);
    for change in changes {
        for (event, entity, action, entity_id, item) in hook_items(store, change) {
            let body = payload::form(entity, action, item, account.clone());
            for webhook in store
                .webhooks
                .iter()
                .filter(|w| !w.disabled && w.settings.iter().any(|s| s == event))
            {
                jobs.push(Job {
                    webhook_id: webhook.id,
                    destination: webhook.destination.clone(),
                    event: event.to_owned(),
                    key: format!("{entity}[{action}]"),
                    entity_id,
                    body: body.clone(),
                });
            }
        }
    }
    jobs
}

/// `[{"lead_status": {"id", "pipeline_id"}}]`.
fn lead_status(lead: &Lead) -> Value {
    json!([{"lead_status": {"id": lead.status_id, "pipeline_id": lead.pipeline_id}}])
}

/// The tag names of `ids` that are not in `other`, as `[{"tag": {"name"}}]`.
fn tag_names(store: &Store, ids: &[u64], other: &[u64]) -> Value {
    Value::Array(
        ids.iter()
            .filter(|id| !other.contains(id))
            .filter_map(|id| store.tag("leads", *id))
            .map(|t| json!({"tag": {"name": t.name}}))
            .collect(),
    )
}

/// The event type of a new note, as the RU event types table names them.
fn note_event(kind: &str) -> &'static str {
    match kind {
        "attachment" => "attachment_note_added",
        "service_message" | "extended_service_message" => "service_note_added",
        "geolocation" => "geo_note_added",
        "message_cashier" => "message_to_cashier_note_added",
        "call_in" => "incoming_call",
        "call_out" => "outgoing_call",
        "sms_in" => "incoming_sms",
        "sms_out" => "outgoing_sms",
        _ => "common_note_added",
    }
}

fn record_events(store: &mut Store, change: &Change, now: i64) {
    let empty = || json!([]);
    match change {
        Change::LeadAdded(lead) => {
            store.record_event(
                "lead_added",
                "lead",
                lead.id,
                lead.created_by,
                now,
                empty(),
                empty(),
            );
        }
        Change::LeadUpdated { before, after } => {
            let by = after.updated_by;
            if (before.status_id, before.pipeline_id) != (after.status_id, after.pipeline_id) {
                store.record_event(
                    "lead_status_changed",
                    "lead",
                    after.id,
                    by,
                    now,
                    lead_status(before),
                    lead_status(after),
                );
            }
            if before.responsible_user_id != after.responsible_user_id {
                store.record_event(
                    "entity_responsible_changed",
                    "lead",
                    after.id,
                    by,
                    now,
                    json!([{"responsible_user": {"id": before.responsible_user_id}}]),
                    json!([{"responsible_user": {"id": after.responsible_user_id}}]),
                );
            }
            let added = tag_names(store, &after.tags, &before.tags);
            if added.as_array().is_some_and(|a| !a.is_empty()) {
                store.record_event(
                    "entity_tag_added",
                    "lead",
                    after.id,
                    by,
                    now,
                    empty(),
                    added,
                );
            }
            let removed = tag_names(store, &before.tags, &after.tags);
            if removed.as_array().is_some_and(|a| !a.is_empty()) {
                store.record_event(
                    "entity_tag_deleted",
                    "lead",
                    after.id,
                    by,
                    now,
                    removed,
                    empty(),
                );
            }
        }
        Change::TaskAdded(task) => {
            store.record_event(
                "task_added",
                "task",
                task.id,
                task.created_by,
                now,
                empty(),
                empty(),
            );
        }
        Change::TaskUpdated { before, after } => {
            let by = after.updated_by;
            if after.is_completed && !before.is_completed {
                store.record_event(
                    "task_completed",
                    "task",
                    after.id,
                    by,
                    now,
                    empty(),
                    empty(),
                );
            }
            if before.text != after.text {
                store.record_event(
                    "task_text_changed",
                    "task",
                    after.id,
                    by,
                    now,
                    json!([{"task": {"text": before.text}}]),
                    json!([{"task": {"text": after.text}}]),
                );
            }
            if before.complete_till != after.complete_till {
                store.record_event(
                    "task_deadline_changed",
                    "task",
                    after.id,
                    by,
                    now,
                    json!([{"task_deadline": {"timestamp": before.complete_till}}]),
                    json!([{"task_deadline": {"timestamp": after.complete_till}}]),
                );
            }
            if before.task_type_id != after.task_type_id {
                store.record_event(
                    "task_type_changed",
                    "task",
                    after.id,
                    by,
                    now,
                    json!([{"task_type": {"id": before.task_type_id}}]),
                    json!([{"task_type": {"id": after.task_type_id}}]),
                );
            }
        }
        Change::NoteAdded(note) => {
            store.record_event(
                note_event(&note.note_type),
                "lead",
                note.entity_id,
                note.created_by,
                now,
                empty(),
                json!([{"note": {"id": note.id}}]),
            );
        }
    }
}

/// The hook items a change produces: `(event, entity key, action key, entity id, item)`.
fn hook_items(
    store: &Store,
    change: &Change,
) -> Vec<(&'static str, &'static str, &'static str, u64, Value)> {
    match change {
        Change::LeadAdded(lead) => vec![(
            "add_lead",
            "leads",
            "add",
            lead.id,
            Value::Object(payload::lead(store, lead)),
        )],
        Change::LeadUpdated { before, after } => {
            let moved =
                (before.status_id, before.pipeline_id) != (after.status_id, after.pipeline_id);
            let mut item = payload::lead(store, after);
            if moved {
                item.insert("old_status_id".into(), json!(before.status_id.to_string()));
                item.insert(
                    "old_pipeline_id".into(),
                    json!(before.pipeline_id.to_string()),
                );
            }
            let mut items = vec![(
                "update_lead",
                "leads",
                "update",
                after.id,
                Value::Object(item.clone()),
            )];
            if moved {
                items.push((
                    "status_lead",
                    "leads",
                    "status",
                    after.id,
                    Value::Object(item.clone()),
                ));
            }
            if before.responsible_user_id != after.responsible_user_id {
                let mut responsible = payload::lead(store, after);
                responsible.insert(
                    "old_responsible_user_id".into(),
                    json!(before.responsible_user_id.to_string()),
                );
                items.push((
                    "responsible_lead",
                    "leads",
                    "responsible",
                    after.id,
                    Value::Object(responsible),
                ));
            }
            items
        }
        Change::TaskAdded(task) => vec![(
            "add_task",
            "task",
            "add",
            task.id,
            Value::Object(payload::task(store, task, None)),
        )],
        Change::TaskUpdated { before, after } => {
            let item = Value::Object(payload::task(store, after, Some(before)));
            let mut items = vec![("update_task", "task", "update", after.id, item.clone())];
            if before.responsible_user_id != after.responsible_user_id {
                items.push(("responsible_task", "task", "responsible", after.id, item));
            }
            items
        }
        Change::NoteAdded(note) => vec![(
            "note_lead",
            "leads",
            "note",
            note.entity_id,
            payload::note(store, note),
        )],
    }
}
