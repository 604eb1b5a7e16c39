//! The LeakGuard sandbox: a faithful local amoCRM (API v4 mock, lead card pages, widget CDN).
//!
//! One process serves two loopback origins: the account origin (fake amoCRM pages, `/api/v4`, `/oauth2/access_token`,
//! `/ajax/sandbox/*`, `/__sandbox/*`) and the CDN origin (`/widgets/{code}/{version}/{file}` from uploaded archives).
//! Each uploaded widget is an OAuth integration; writes are recorded in the event feed and sent to subscribed webhooks.
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
//!
//! Catalogs (§9, §10):
//! * `POST /catalogs/{id}/custom_fields` answers 200 (the reference's status summary allows 201 for some field
//!   creates; clients should accept both). Types are those of §9.2 without the contacts' `multitext`; select-like
//!   types need `enums`, `monetary` a `currency`. A `code` must be unique in the catalog and written in capitals,
//!   digits and underscores (`InvalidCode`, `NotUnique` at path `code`). Fields created this way are deletable and not
//!   predefined; the invoices catalog's `BILL_*` fields are predefined.
//! * Numeric values are a plain decimal (`"15000.50"`, `"-3"`, `"1,5"`) or a JSON number; text is stored as sent and
//!   a number as its shortest decimal (`15000.5` → `"15000.5"`). Exponents, `NaN` and spaces are `InvalidType`.
//! * Element `query` is a case-insensitive substring of the name or of any text value (numbers included).
//! * `can_link_multiple: false` is stored and shown but not enforced: the reference documents no refusal, so an element
//!   may be linked to several leads either way. A link whose `metadata.catalog_id` is not the element's catalog is
//!   `NotSupportedChoice` at `metadata.catalog_id`.
//!
//! OAuth (§12; the token endpoint runs league/oauth2-server, whose messages amoCRM passes through):
//! * Code problems are 400 "Некорректный запрос" with league's hints ("Authorization code has expired", "… has been
//!   revoked", "Cannot decrypt the authorization code", "Check the `code` parameter"). An unknown client, a wrong
//!   secret or a `redirect_uri` that differs from the integration's is 401 "Некорректный клиент" without a hint
//!   (amocrm-api-php#150, #218, #235). Refresh-token problems are 401 with league's hints: a used or revoked token
//!   "Token has been revoked" (observed in amocrm-api-php#123, #315), an unknown one "Cannot decrypt the refresh
//!   token", an old one "Token has expired". The reference's "Invalid refresh token" has no source and is not used.
//! * Refreshing never revokes the old access token; it lives its 24 hours unless the integration is uninstalled.
//!   Under `grace` the used refresh token works until the new pair is first used (its access token on the API or its
//!   refresh token at the endpoint); under `single_use` it dies at once.
//! * A widget whose integration has a Redirect URI starts not installed. Each switch from off to on (settings page or
//!   `POST /api/v4/widgets/{code}`) sends the install hook (`platform=2`); each switch from on to off revokes the
//!   integration's codes and tokens and sends the revoke hook. `POST /__sandbox/oauth/code` mints a code whatever the
//!   install state, like the integration's Keys tab.
//!
//! Webhooks (§11):
//! * One request per event and change: a stage change sent to a destination subscribed to `update_lead` and
//!   `status_lead` arrives as two requests. `update_lead` fires on every lead write, stage and owner changes included.
//! * `X-Amocrm-Requestid` is new on every attempt. No answer within 2 s is recorded as 499 (what the retry table's 499
//!   stands for), an unreachable receiver as 0.
//! * Subscribing an existing destination again replaces its settings and enables it; a 101st destination is 422;
//!   unsubscribing drops its pending retries. A disabled webhook gets no new hooks and no retries.
//! * Notes carry legacy numeric types (common 4, attachment 5, call_in 10, call_out 11, service messages 25, sms_in
//!   102, sms_out 103); other types keep their v4 name. A task's `result` carries only `text`.
//!
//! Events (the RU "События и примечания" page):
//! * Newest first. `filter[entity_id]` counts only with exactly one `filter[entity]`; a bare `filter[created_at]`
//!   means "created at or after". A missing id answers 204.
//! * `lead_added` carries empty values (the docs show a note id; the sandbox keeps no creation note). Task events
//!   belong to the task (`entity_type: task`).
//! * Demo leads were accepted from "Неразобранное" into the first stage and moved on stage by stage; leads still in
//!   "Неразобранное" have no stage change, since nothing moves a lead into that stage.

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
