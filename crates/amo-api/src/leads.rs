//! Leads (`/api/v4/leads`): the read model and the create and update requests.

use serde::{Deserialize, Serialize};

use crate::custom_fields::CustomFieldValues;
use crate::de::{
    int_or_string, null_as_default, object_or_empty, option_int_or_string, option_object_or_empty,
    option_timestamp,
};
use crate::hal::{Collection, Links};
use crate::links::LinkMetadata;
use crate::pipelines::{LossReason, STATUS_LOST, STATUS_WON};
use crate::tags::{Tag, TagRef};

/// A lead (deal) as the API returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Lead {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// The budget in whole currency units.
    #[serde(deserialize_with = "null_as_default")]
    pub price: i64,
    /// The budget with minor units, sent by newer servers for fractional budgets.
    pub price_with_minor_units: Option<f64>,
    pub responsible_user_id: u64,
    /// The group of the responsible user; 0 means none.
    pub group_id: u64,
    pub status_id: u32,
    pub pipeline_id: u32,
    #[serde(deserialize_with = "option_int_or_string")]
    pub loss_reason_id: Option<u64>,
    /// Only with `with=source_id`.
    #[serde(deserialize_with = "option_int_or_string")]
    pub source_id: Option<u64>,
    /// 0 means a robot or the API.
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(deserialize_with = "option_timestamp")]
    pub closed_at: Option<i64>,
    /// The deadline of the nearest open task; `None` (sent as `null` or 0) when the lead has no open task.
    #[serde(deserialize_with = "option_timestamp")]
    pub closest_task_at: Option<i64>,
    #[serde(deserialize_with = "null_as_default")]
    pub is_deleted: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub custom_fields_values: Vec<CustomFieldValues>,
    pub score: Option<i64>,
    pub account_id: u64,
    /// Seconds of work, rarely present.
    pub labor_cost: Option<i64>,
    /// Only with `with=is_price_modified_by_robot`.
    pub is_price_modified_by_robot: Option<bool>,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
    #[serde(rename = "_embedded", deserialize_with = "object_or_empty")]
    pub embedded: LeadEmbedded,
}

impl Collection for Lead {
    const KEY: &'static str = "leads";
}

impl Lead {
    /// Whether the lead is in a closed stage (won or lost).
    pub fn is_closed(&self) -> bool {
        self.status_id == STATUS_WON || self.status_id == STATUS_LOST
    }

    /// The loss reason from `_embedded.loss_reason`, which amoCRM sends as an array of one object.
    pub fn loss_reason(&self) -> Option<&LossReason> {
        self.embedded.loss_reason.first()
    }
}

/// The `_embedded` part of a lead.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LeadEmbedded {
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
    /// At most one company.
    #[serde(deserialize_with = "null_as_default")]
    pub companies: Vec<CompanyRef>,
    /// Only with `with=contacts`.
    #[serde(deserialize_with = "null_as_default")]
    pub contacts: Vec<ContactRef>,
    /// Only with `with=loss_reason`; an array although it holds at most one reason.
    #[serde(deserialize_with = "null_as_default")]
    pub loss_reason: Vec<LossReason>,
    /// Only with `with=catalog_elements`.
    #[serde(deserialize_with = "null_as_default")]
    pub catalog_elements: Vec<CatalogElementRef>,
    /// Only with `with=source`.
    #[serde(deserialize_with = "option_object_or_empty")]
    pub source: Option<Source>,
}

/// A company linked to a lead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CompanyRef {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

/// A contact linked to a lead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContactRef {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub is_main: bool,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

/// A catalog element linked to a lead; read its fields from the catalog's elements endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CatalogElementRef {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    #[serde(deserialize_with = "object_or_empty")]
    pub metadata: LinkMetadata,
}

/// The source a lead came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Source {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
}

/// A lead to create with `POST /api/v4/leads` (the body is an array of these). Unset fields are not sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewLead {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    /// Without a stage the lead goes to the first stage of the main pipeline; send both ids together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<u64>,
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "NewLeadEmbedded::is_empty"
    )]
    pub embedded: NewLeadEmbedded,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The links and tags of a new lead.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewLeadEmbedded {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<CompanyLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagRef>,
}

impl NewLeadEmbedded {
    fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.companies.is_empty() && self.tags.is_empty()
    }
}

/// An existing contact to link to a new lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactLink {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_main: Option<bool>,
}

/// An existing company to link to a new lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompanyLink {
    pub id: u64,
}

/// A partial lead update for `PATCH /api/v4/leads/{id}` (or, with [`LeadPatch::for_lead`], an item of `PATCH /api/v4/leads`).
///
/// Stage changes always send `pipeline_id` and `status_id` together, and `loss_reason_id` can only
/// be set by [`LeadPatch::lose`], so it never travels without status 143. Tags change by delta
/// (`tags_to_add`, `tags_to_delete`), never by replacing the whole set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LeadPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loss_reason_id: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags_to_add: Vec<TagRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags_to_delete: Vec<TagRef>,
}

impl LeadPatch {
    /// A patch that changes nothing yet (add tag changes to it).
    pub fn new() -> LeadPatch {
        LeadPatch::default()
    }

    /// Moves the lead to stage `status_id` of pipeline `pipeline_id`.
    pub fn move_to(pipeline_id: u32, status_id: u32) -> LeadPatch {
        LeadPatch {
            pipeline_id: Some(pipeline_id),
            status_id: Some(status_id),
            ..LeadPatch::default()
        }
    }

    /// Closes the lead as won.
    pub fn win(pipeline_id: u32) -> LeadPatch {
        LeadPatch::move_to(pipeline_id, STATUS_WON)
    }

    /// Closes the lead as lost, with a loss reason when one is given.
    pub fn lose(pipeline_id: u32, loss_reason_id: Option<u64>) -> LeadPatch {
        LeadPatch {
            loss_reason_id,
            ..LeadPatch::move_to(pipeline_id, STATUS_LOST)
        }
    }

    /// Adds the lead id, as items of a batch `PATCH /api/v4/leads` need.
    pub fn for_lead(self, id: u64) -> LeadPatch {
        LeadPatch {
            id: Some(id),
            ..self
        }
    }

    /// Also adds `tag` to the lead.
    pub fn add_tag(mut self, tag: TagRef) -> LeadPatch {
        self.tags_to_add.push(tag);
        self
    }

    /// Also removes `tag` from the lead.
    pub fn delete_tag(mut self, tag: TagRef) -> LeadPatch {
        self.tags_to_delete.push(tag);
        self
    }

    /// Whether the patch would change nothing.
    pub fn is_empty(&self) -> bool {
        self.status_id.is_none() && self.tags_to_add.is_empty() && self.tags_to_delete.is_empty()
    }
}
