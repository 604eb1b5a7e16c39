//! The LeakGuard sandbox: a faithful local amoCRM (API v4 mock, lead card pages, widget CDN).
//!
//! One process serves two loopback origins: the account origin (fake amoCRM pages, `/api/v4`, `/ajax/sandbox/*`,
//! `/__sandbox/*`) and the CDN origin (`/widgets/{code}/{version}/{file}` from uploaded archives).
//! The API follows the contract written down in the project's amoCRM API v4 reference.
//!
//! Where that reference marks behaviour unconfirmed, the sandbox decides as follows (switchable ones are in
//! [`ApiOptions`] and [`RateLimit`]):
//! * `GET /leads/{id}` and `GET /tasks/{id}` for a missing id answer 204, as the RU docs say.
//! * `loss_reason_id` is accepted only when the lead ends up in 143; otherwise the write fails with 400
//!   `validation-errors` at path `loss_reason_id` (code `NotSupportedChoice`), and nothing is written.
//!   Leaving 143 drops the reason.
//! * Entering 142 or 143 sets `closed_at` to now; moving back to an open stage clears it; an explicit `closed_at` wins.
//! * `_embedded.tags` is applied first, then `tags_to_add` and `tags_to_delete`; `_embedded.tags: []` clears like `null`.
//! * `closest_task_at` counts only open tasks attached to the lead itself and is recomputed synchronously on every
//!   task write; task writes do not change the lead's `updated_at`.
//! * Integer fields accept JSON numbers (integral floats are truncated) and reject strings with `InvalidType`.
//! * Lead range filters need `[from]`/`[to]`; a bare value there is ignored like any unknown filter. Task and note
//!   `filter[updated_at]` also take a bare int meaning "changed since".
//! * Lists without `order[...]` come in id order.
//! * A 429 carries `retry_after` = seconds until the client's one-second window frees (at least 1) and no
//!   `Retry-After` header unless configured; the ban answers 403 problem+json unless nginx's HTML page is configured.
//! * One-time widget tokens live 15 minutes and use the machine clock, not the sandbox clock, since their readers do.
//! * `/ajax/*` does not demand `X-Requested-With` (those endpoints are the sandbox's own, not amoCRM's).

pub mod ajax;
pub mod api;
pub mod auth;
pub mod cdn;
pub mod changes;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod faults;
pub mod hal;
pub mod integration;
pub mod jwt;
pub mod oauth;
pub mod pages;
pub mod problem;
pub mod query;
pub mod ratelimit;
pub mod requestlog;
pub mod routes;
pub mod server;
pub mod state;
pub mod webhooks;
pub mod widgets;

pub use config::{ApiOptions, Config, Fixture, OverLimit, RateLimit, Rotation, WidgetSource};
pub use server::{start, Running};
pub use state::SandboxState;
