//! LeakGuard domain core: pure rules, working-day date math and view decisions, with no IO, no clock and no wasm dependency.
//!
//! * [`dates`]: civil dates, UTC offsets, working-day calendars and follow-up deadlines.
//! * [`tasks`]: the next-step rule shown on a lead card.
//! * [`ratelimit`]: the request window and retry backoff for amoCRM's rate limit.
//! * [`text`]: `{name}` message templates.

pub mod dates;
pub mod ratelimit;
pub mod tasks;
pub mod text;
