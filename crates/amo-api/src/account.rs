//! The account (`/api/v4/account`) with its time-zone settings and task types, and users (`/api/v4/users`).

use serde::Deserialize;

use crate::de::{
    int_or_string, null_as_default, object_or_empty, option_int_or_string, option_object_or_empty,
};
use crate::hal::{Collection, Links};

/// The account; the `with`-gated parts are `None` or empty unless requested.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Account {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub subdomain: String,
    pub created_at: i64,
    pub created_by: u64,
    pub updated_at: i64,
    pub updated_by: u64,
    pub current_user_id: u64,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub currency_symbol: Option<String>,
    pub customers_mode: Option<String>,
    pub is_unsorted_on: bool,
    pub is_loss_reason_enabled: bool,
    pub is_helpbot_enabled: bool,
    pub is_technical_account: bool,
    pub contact_name_display_order: Option<i64>,
    pub mobile_feature_version: Option<i64>,
    pub amojo_id: Option<String>,
    pub uuid: Option<String>,
    pub version: Option<i64>,
    pub drive_url: Option<String>,
    pub is_api_filter_enabled: Option<bool>,
    /// Only with `with=invoices_settings`.
    #[serde(deserialize_with = "option_object_or_empty")]
    pub invoices_settings: Option<InvoicesSettings>,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
    #[serde(rename = "_embedded", deserialize_with = "object_or_empty")]
    pub embedded: AccountEmbedded,
}

/// The `_embedded` part of the account.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AccountEmbedded {
    /// Only with `with=datetime_settings`; holds the account's time zone.
    #[serde(deserialize_with = "option_object_or_empty")]
    pub datetime_settings: Option<DatetimeSettings>,
    /// Only with `with=task_types`.
    #[serde(deserialize_with = "null_as_default")]
    pub task_types: Vec<TaskType>,
    /// Only with `with=users_groups`.
    #[serde(deserialize_with = "null_as_default")]
    pub users_groups: Vec<UsersGroup>,
    /// Only with `with=amojo_rights`.
    #[serde(deserialize_with = "option_object_or_empty")]
    pub amojo_rights: Option<AmojoRights>,
}

/// Date formats and the time zone of the account.
///
/// The Russian documentation misspells `date_format` as `date_formant` in one example; only the
/// correct name is read, as the official SDK does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DatetimeSettings {
    pub date_pattern: String,
    pub short_date_pattern: String,
    pub short_time_pattern: String,
    pub date_format: String,
    pub time_format: String,
    /// An IANA time-zone name, e.g. `Europe/Moscow`.
    pub timezone: String,
    /// The current offset, e.g. `+03:00`.
    pub timezone_offset: String,
}

/// A task type: 1 = follow-up (`FOLLOW_UP`), 2 = meeting (`MEETING`), others are the account's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskType {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u32,
    pub name: String,
    pub color: Option<String>,
    #[serde(deserialize_with = "option_int_or_string")]
    pub icon_id: Option<u64>,
    pub code: Option<String>,
}

/// A group of users.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UsersGroup {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub uuid: Option<String>,
}

/// The account's chat rights.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AmojoRights {
    pub can_direct: bool,
    pub can_create_groups: bool,
}

/// `invoices_settings`: where the invoices catalog is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InvoicesSettings {
    pub lang: Option<String>,
    #[serde(deserialize_with = "option_int_or_string")]
    pub invoices_catalog_id: Option<u64>,
}

/// A user of the account (`/api/v4/users`, admin only). Any part may be missing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub lang: Option<String>,
    #[serde(deserialize_with = "object_or_empty")]
    pub rights: UserRights,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
    #[serde(rename = "_embedded", deserialize_with = "object_or_empty")]
    pub embedded: UserEmbedded,
}

impl Collection for User {
    const KEY: &'static str = "users";
}

/// What a user may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserRights {
    #[serde(deserialize_with = "option_object_or_empty")]
    pub leads: Option<EntityRights>,
    #[serde(deserialize_with = "option_object_or_empty")]
    pub contacts: Option<EntityRights>,
    #[serde(deserialize_with = "option_object_or_empty")]
    pub companies: Option<EntityRights>,
    #[serde(deserialize_with = "option_object_or_empty")]
    pub tasks: Option<EntityRights>,
    pub mail_access: Option<bool>,
    pub catalog_access: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    pub status_rights: Vec<StatusRights>,
    #[serde(deserialize_with = "null_as_default")]
    pub is_admin: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub is_free: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub is_active: bool,
    #[serde(deserialize_with = "option_int_or_string")]
    pub group_id: Option<u64>,
    #[serde(deserialize_with = "option_int_or_string")]
    pub role_id: Option<u64>,
}

/// The rights on one kind of entity; absent actions are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EntityRights {
    pub view: Option<Access>,
    pub edit: Option<Access>,
    pub add: Option<Access>,
    pub delete: Option<Access>,
    pub export: Option<Access>,
}

/// A right letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Access {
    /// `A`: everything.
    #[serde(rename = "A")]
    All,
    /// `G`: only if the responsible user is in the same group.
    #[serde(rename = "G")]
    Group,
    /// `M`: only own entities.
    #[serde(rename = "M")]
    Own,
    /// `D`: denied.
    #[serde(rename = "D")]
    Denied,
    /// A letter this client does not know.
    #[serde(other)]
    Other,
}

/// The rights in one pipeline stage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StatusRights {
    pub entity_type: String,
    pub pipeline_id: u32,
    pub status_id: u32,
    #[serde(deserialize_with = "object_or_empty")]
    pub rights: EntityRights,
}

/// The `_embedded` part of a user (with `with=role,group`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserEmbedded {
    #[serde(deserialize_with = "null_as_default")]
    pub roles: Vec<NamedRef>,
    #[serde(deserialize_with = "null_as_default")]
    pub groups: Vec<NamedRef>,
}

/// A role or group: an id and a name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NamedRef {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
}
