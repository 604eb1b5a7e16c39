//! LeakGuard domain core: pure rules, working-day date math and view decisions, with no IO, no clock and no wasm dependency.
//!
//! * [`dates`]: civil dates, months, UTC offsets, working-day calendars, working time and follow-up deadlines.
//! * [`deal`]: the deal, stage and user facts the rules decide on.
//! * [`locale`]: the four languages and per-language setting values.
//! * [`settings`]: the whole persisted configuration with defaults and validation.
//! * [`guard`]: the mandatory next step: whether a manager may leave a deal, and the deadline presets.
//! * [`idempotency`]: markers in created texts so retries never duplicate.
//! * [`refusal`]: what closing a deal as lost must do, step by step, with idempotency keys.
//! * [`payments`]: money in minor units, schedules, allocation, totals, margin plan, stage gate, formatting.
//! * [`metrics`]: the four leaks and stuck deals over plain slices, with drill-down lists.
//! * [`automation`]: the backend's rules: watchdog, stuck state, overdue-task escalation, quality-control queue.
//! * [`export`]: CSV for any table.
//! * [`tasks`]: the next-step rule shown on a lead card.
//! * [`ratelimit`]: the request window and retry backoff for amoCRM's rate limit.
//! * [`text`]: `{name}` message templates.

pub mod automation;
pub mod dates;
pub mod deal;
pub mod export;
pub mod guard;
pub mod idempotency;
pub mod locale;
pub mod metrics;
pub mod payments;
pub mod ratelimit;
pub mod refusal;
pub mod settings;
pub mod tasks;
pub mod text;
