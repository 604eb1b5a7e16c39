//! Tasks (`/api/v4/tasks`): the read model and the create and complete requests.

use serde::{Deserialize, Serialize};

use crate::de::{
    int_or_string, null_as_default, object_or_empty, option_int_or_string, option_object_or_empty,
};
use crate::hal::{Collection, Links};

/// The kind of entity a task, note or link belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Leads,
    Contacts,
    Companies,
    Customers,
    /// An entity type this client does not know; never sent.
    #[serde(other, skip_serializing)]
    Other,
}

impl EntityType {
    /// The name amoCRM uses in paths and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Leads => "leads",
            EntityType::Contacts => "contacts",
            EntityType::Companies => "companies",
            EntityType::Customers => "customers",
            EntityType::Other => "other",
        }
    }
}

/// The built-in task type "Follow-up" (a call), code `FOLLOW_UP`.
pub const TASK_TYPE_FOLLOW_UP: u32 = 1;
/// The built-in task type "Meeting", code `MEETING`.
pub const TASK_TYPE_MEETING: u32 = 2;

/// A task as the API returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Task {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    #[serde(deserialize_with = "option_int_or_string")]
    pub entity_id: Option<u64>,
    pub entity_type: Option<EntityType>,
    #[serde(deserialize_with = "null_as_default")]
    pub is_completed: bool,
    pub task_type_id: u32,
    #[serde(deserialize_with = "null_as_default")]
    pub text: String,
    /// Seconds.
    #[serde(deserialize_with = "null_as_default")]
    pub duration: i64,
    /// The deadline (Unix seconds).
    pub complete_till: i64,
    /// The completion result; amoCRM sends `[]` when there is none.
    #[serde(deserialize_with = "option_object_or_empty")]
    pub result: Option<TaskResult>,
    pub account_id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for Task {
    const KEY: &'static str = "tasks";
}

/// The result text of a completed task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskResult {
    #[serde(deserialize_with = "null_as_default")]
    pub text: String,
}

/// A task to create with `POST /api/v4/tasks` (the body is an array of these). Unset fields are not sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewTask {
    pub text: String,
    /// The deadline (Unix seconds).
    pub complete_till: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<EntityType>,
    /// Defaults to the current user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<u64>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewTask {
    /// A task with `text` due at `complete_till`, attached to lead `lead_id`.
    pub fn for_lead(lead_id: u64, text: impl Into<String>, complete_till: i64) -> NewTask {
        NewTask {
            text: text.into(),
            complete_till,
            task_type_id: None,
            entity_id: Some(lead_id),
            entity_type: Some(EntityType::Leads),
            responsible_user_id: None,
            duration: None,
            request_id: None,
        }
    }
}

/// A partial task update for `PATCH /api/v4/tasks/{id}` (or, with an id, an item of `PATCH /api/v4/tasks`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TaskPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_completed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_till: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<u64>,
}

impl TaskPatch {
    /// Completes the task, with a result text when one is given.
    pub fn complete(result: Option<String>) -> TaskPatch {
        TaskPatch {
            is_completed: Some(true),
            result: result.map(|text| TaskResult { text }),
            ..TaskPatch::default()
        }
    }
}
