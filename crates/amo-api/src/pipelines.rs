//! Pipelines, their stages (statuses) and loss reasons.

use serde::Deserialize;

use crate::de::{int_or_string, null_as_default, object_or_empty};
use crate::hal::{Collection, Links};

/// The id of the "Closed – won" stage, the same in every pipeline.
pub const STATUS_WON: u32 = 142;
/// The id of the "Closed – lost" stage, the same in every pipeline.
pub const STATUS_LOST: u32 = 143;

/// A sales pipeline with its stages (`/api/v4/leads/pipelines`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Pipeline {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u32,
    pub name: String,
    pub sort: i64,
    pub is_main: bool,
    pub is_unsorted_on: bool,
    pub is_archive: bool,
    pub account_id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
    #[serde(rename = "_embedded", deserialize_with = "object_or_empty")]
    pub embedded: PipelineEmbedded,
}

impl Collection for Pipeline {
    const KEY: &'static str = "pipelines";
}

/// The `_embedded` part of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PipelineEmbedded {
    #[serde(deserialize_with = "null_as_default")]
    pub statuses: Vec<Status>,
}

impl Pipeline {
    /// The stages in display order (`sort` ascending).
    pub fn statuses_in_order(&self) -> Vec<&Status> {
        let mut statuses: Vec<&Status> = self.embedded.statuses.iter().collect();
        statuses.sort_by_key(|status| (status.sort, status.id));
        statuses
    }
}

/// A pipeline stage. Identify the closed stages by id ([`STATUS_WON`], [`STATUS_LOST`]), not by `type`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Status {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u32,
    pub name: String,
    pub sort: i64,
    pub is_editable: bool,
    pub pipeline_id: u32,
    pub color: Option<String>,
    /// 0 for a normal stage, 1 for "Incoming" (unsorted).
    #[serde(rename = "type")]
    pub kind: u8,
    pub account_id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for Status {
    const KEY: &'static str = "statuses";
}

impl Status {
    /// Whether this is one of the closed stages, won (142) or lost (143).
    pub fn is_closed(&self) -> bool {
        self.id == STATUS_WON || self.id == STATUS_LOST
    }
}

/// A reason for losing a lead (`/api/v4/leads/loss_reasons`, or `_embedded.loss_reason[]` of a lead).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LossReason {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for LossReason {
    const KEY: &'static str = "loss_reasons";
}
