//! The entities the sandbox keeps, in amoCRM's terms (amocrm-api-v4.md §2–§10).

use serde_json::Value;

/// The account (`GET /api/v4/account`).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u64,
    pub name: String,
    pub subdomain: String,
    pub country: String,
    pub currency: String,
    pub currency_symbol: String,
    pub timezone: String,
    pub is_loss_reason_enabled: bool,
    pub created_at: i64,
    pub created_by: u64,
    pub uuid: String,
    pub amojo_id: String,
}

/// A user group; group 0 is the account's default group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub uuid: String,
}

/// A user of the account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub lang: String,
    pub is_admin: bool,
    pub is_free: bool,
    pub is_active: bool,
    pub group_id: u64,
    pub role_id: Option<u64>,
    pub uuid: String,
    pub amojo_id: String,
}

/// A task type: 1 `FOLLOW_UP` and 2 `MEETING` are built in, others are the account's own.
#[derive(Debug, Clone)]
pub struct TaskType {
    pub id: u64,
    pub name: String,
    pub color: Option<String>,
    pub icon_id: Option<u64>,
    pub code: Option<String>,
}

/// A pipeline stage; ids 142 (won) and 143 (lost) repeat in every pipeline.
#[derive(Debug, Clone)]
pub struct Status {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub is_editable: bool,
    pub color: String,
    /// 0 = normal, 1 = unsorted.
    pub kind: u8,
}

/// A pipeline with its stages in `sort` order.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub is_main: bool,
    pub is_unsorted_on: bool,
    pub is_archive: bool,
    pub statuses: Vec<Status>,
}

impl Pipeline {
    /// The stage with `id` in this pipeline.
    pub fn status(&self, id: u64) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// Where a lead lands when only the pipeline is given: the first normal stage.
    pub fn first_status(&self) -> u64 {
        self.statuses
            .iter()
            .find(|s| s.kind == 0)
            .map(|s| s.id)
            .unwrap_or(crate::state::WON)
    }
}

/// A loss reason.
#[derive(Debug, Clone)]
pub struct LossReason {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A tag of one entity type's dictionary.
#[derive(Debug, Clone)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub color: Option<String>,
}

/// One enum option of a select-like custom field.
#[derive(Debug, Clone)]
pub struct FieldEnum {
    pub id: u64,
    pub value: String,
    pub sort: i64,
    pub code: Option<String>,
}

/// A custom field definition.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub id: u64,
    pub name: String,
    pub code: Option<String>,
    pub sort: i64,
    /// `text`, `numeric`, `checkbox`, `select`, `multiselect`, `date`, `url`, … (§9.2).
    pub kind: String,
    /// `leads`, `contacts`, or `catalogs`.
    pub entity_type: String,
    pub is_api_only: bool,
    /// Built in by amoCRM (a fixed code, not deletable), as opposed to created by a user or through the API.
    pub is_predefined: bool,
    pub enums: Vec<FieldEnum>,
    pub currency: Option<String>,
}

/// One stored custom-field value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValueItem {
    pub value: Value,
    pub enum_id: Option<u64>,
    pub enum_code: Option<String>,
}

/// The stored values of one custom field on an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValues {
    pub field_id: u64,
    pub values: Vec<FieldValueItem>,
}

/// A link from a lead to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactLink {
    pub id: u64,
    pub is_main: bool,
}

/// A link from a lead to a catalog element.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementLink {
    pub id: u64,
    pub catalog_id: u64,
    pub quantity: f64,
    pub price_id: Option<u64>,
}

/// A lead (deal).
#[derive(Debug, Clone)]
pub struct Lead {
    pub id: u64,
    pub name: String,
    pub price: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub status_id: u64,
    pub pipeline_id: u64,
    pub loss_reason_id: Option<u64>,
    pub source_id: Option<u64>,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub closest_task_at: Option<i64>,
    pub is_deleted: bool,
    pub score: Option<i64>,
    pub custom_fields_values: Vec<FieldValues>,
    pub tags: Vec<u64>,
    pub contacts: Vec<ContactLink>,
    pub companies: Vec<u64>,
    pub catalog_elements: Vec<ElementLink>,
}

/// A contact (only what links and the card need).
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: u64,
    pub name: String,
    pub responsible_user_id: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A company (only what links need).
#[derive(Debug, Clone)]
pub struct Company {
    pub id: u64,
    pub name: String,
}

/// A task.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: u64,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub entity_id: Option<u64>,
    pub entity_type: Option<String>,
    pub is_completed: bool,
    pub task_type_id: u64,
    pub text: String,
    pub duration: i64,
    pub complete_till: i64,
    pub result: Option<String>,
}

/// A note in an entity's feed.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub entity_type: String,
    pub entity_id: u64,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub note_type: String,
    pub params: Value,
}

/// A catalog (list).
#[derive(Debug, Clone)]
pub struct Catalog {
    pub id: u64,
    pub name: String,
    /// `regular`, `invoices` or `products`.
    pub kind: String,
    pub sort: i64,
    pub can_add_elements: bool,
    pub can_show_in_cards: bool,
    pub can_link_multiple: bool,
    pub can_be_deleted: bool,
    pub created_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An element of a catalog.
#[derive(Debug, Clone)]
pub struct CatalogElement {
    pub id: u64,
    pub catalog_id: u64,
    pub name: String,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub is_deleted: bool,
    pub custom_fields_values: Vec<FieldValues>,
}

/// A webhook subscription (amocrm-api-v4.md §11.1).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: u64,
    pub destination: String,
    /// The subscribed events (`add_lead`, `status_lead`, …).
    pub settings: Vec<String>,
    pub sort: i64,
    /// Set by the auto-disable rule of §11.3; cleared by subscribing the destination again.
    pub disabled: bool,
    pub created_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One entry of the account's event feed (`GET /api/v4/events`, the RU "События и примечания" page).
#[derive(Debug, Clone)]
pub struct Event {
    /// A string id like amoCRM's (`01pz58t6p04ymgsgfbmfyfy1mf`).
    pub id: String,
    /// Order of recording (ties of `created_at` are broken by it).
    pub seq: u64,
    /// `lead_added`, `lead_status_changed`, `task_completed`, …
    pub kind: String,
    /// `lead`, `task`, …
    pub entity_type: &'static str,
    pub entity_id: u64,
    pub created_by: u64,
    pub created_at: i64,
    /// Always an array (`[]` when the type carries no value).
    pub value_after: Value,
    /// Always an array (`[]` when the type carries no value).
    pub value_before: Value,
}
