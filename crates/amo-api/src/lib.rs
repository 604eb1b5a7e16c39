//! amoCRM REST API v4 wire types: the only crate that knows amoCRM JSON field names.
//!
//! * [`de`]: tolerant decoders for the API's quirks, usable with any self-describing deserializer.
//! * [`hal`]: list pages ([`Page`], [`Collection`]), HTTP 204 empty lists and write results ([`Saved`]).
//! * Entities: [`leads`], [`pipelines`] (with loss reasons), [`tasks`], [`tags`], [`notes`],
//!   [`account`] (with users), [`custom_fields`], [`catalogs`], [`links`].
//! * [`payments`]: LeakGuard's payment records as elements of its own catalog (encode and decode).
//! * [`oauth`] token responses and [`problem`] error bodies.
//! * [`query`]: PHP-bracket query strings for the list endpoints.
//! * [`value`]: a JSON value for data-dependent shapes, without `serde_json`.
//!
//! Read types are `Deserialize` only and write types `Serialize` only; there is no HTTP client here.
//! The crate depends on `leakguard-core` only for the payments record model it encodes.

pub mod account;
pub mod catalogs;
pub mod custom_fields;
pub mod de;
pub mod hal;
pub mod leads;
pub mod links;
pub mod notes;
pub mod oauth;
pub mod payments;
pub mod pipelines;
pub mod problem;
pub mod query;
pub mod tags;
pub mod tasks;
pub mod value;

pub use account::{Account, DatetimeSettings, TaskType, User};
pub use catalogs::{Catalog, CatalogElement};
pub use custom_fields::{CustomField, CustomFieldValues, FieldValue};
pub use hal::{Collection, Page, Saved, NO_CONTENT};
pub use leads::{Lead, LeadPatch, NewLead};
pub use links::Link;
pub use notes::{NewNote, Note};
pub use oauth::TokenResponse;
pub use pipelines::{LossReason, Pipeline, Status, STATUS_LOST, STATUS_WON};
pub use problem::Problem;
pub use query::{LeadsQuery, TasksQuery};
pub use tags::{Tag, TagRef};
pub use tasks::{EntityType, NewTask, Task, TaskPatch, TaskResult};
pub use value::Value;
