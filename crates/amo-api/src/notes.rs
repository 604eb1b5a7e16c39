//! Notes on leads (`/api/v4/leads/notes`, `/api/v4/leads/{id}/notes`): the read model and the create request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::{int_or_string, object_or_empty, option_int_or_string};
use crate::hal::{Collection, Links};
use crate::value::Value;

/// A note as the API returns it; `params` depends on `note_type`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Note {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    #[serde(deserialize_with = "option_int_or_string")]
    pub entity_id: Option<u64>,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    /// `common`, `call_in`, `service_message`, `invoice_paid`, …
    pub note_type: String,
    #[serde(deserialize_with = "object_or_empty")]
    pub params: BTreeMap<String, Value>,
    pub account_id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for Note {
    const KEY: &'static str = "notes";
}

impl Note {
    /// `params.text`, which most note types carry.
    pub fn text(&self) -> Option<&str> {
        self.params.get("text").and_then(Value::as_str)
    }
}

/// A note to create with `POST /api/v4/leads/{id}/notes` (or, with `entity_id`, `POST /api/v4/leads/notes`).
///
/// The type and its params are set together by the constructors; the other fields are optional.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewNote {
    /// Needed only for `POST /api/v4/leads/notes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<u64>,
    note_type: &'static str,
    params: NoteParams,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<u64>,
    /// 0 means a robot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<u64>,
    /// Whether digital-pipeline triggers may fire on this note (amoCRM's default is yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_need_to_trigger_digital_pipeline: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct NoteParams {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
}

impl NewNote {
    /// A plain text note (`common`).
    pub fn common(text: impl Into<String>) -> NewNote {
        NewNote::with(
            "common",
            NoteParams {
                text: text.into(),
                service: None,
            },
        )
    }

    /// A service message (`service_message`) signed with the name of the service, e.g. the widget.
    pub fn service_message(service: impl Into<String>, text: impl Into<String>) -> NewNote {
        NewNote::with(
            "service_message",
            NoteParams {
                text: text.into(),
                service: Some(service.into()),
            },
        )
    }

    /// The same note for `POST /api/v4/leads/notes`, attached to lead `lead_id`.
    pub fn for_lead(self, lead_id: u64) -> NewNote {
        NewNote {
            entity_id: Some(lead_id),
            ..self
        }
    }

    /// The `note_type` that will be sent.
    pub fn note_type(&self) -> &'static str {
        self.note_type
    }

    fn with(note_type: &'static str, params: NoteParams) -> NewNote {
        NewNote {
            entity_id: None,
            note_type,
            params,
            responsible_user_id: None,
            created_by: None,
            is_need_to_trigger_digital_pipeline: None,
            request_id: None,
        }
    }
}
