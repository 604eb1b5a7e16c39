//! What LeakGuard's wasm modules share on one page: the page-wide limiter of requests to amoCRM and
//! the request with the session that every module sends once it has a slot.
//!
//! The card, the settings modal, the key-metrics page and the payments section are separate wasm
//! instances, so a limiter kept in wasm memory would be one per module and two modules open
//! together could exceed amoCRM's 7 requests per second. [`PageLimiter`] keeps the request slots
//! in one JavaScript array on `globalThis` instead, which every module on the page reads and writes;
//! a slot counts until a window after its request's answer came back, so the limit holds on arrival.
//! [`send_paced`] waits for a slot, sends with [`send`] and retries a 429 as the module's [`Pacing`] says.

mod http;
mod limiter;
mod zone;

pub use http::{
    drain, json_answer, retry_after_header, retry_after_or_problem, same_origin, send, send_paced,
    HttpError, InFlight, Pacing, LOAD_TIME_LIMIT_MS,
};
pub use limiter::{
    decide, finish, PageLimiter, Slot, ARRIVAL_MARGIN_MS, IN_FLIGHT_LIMIT_MS, MAX_REQUESTS,
    STORE_KEY, WINDOW_MS,
};
pub use zone::{parse_gmt_offset, Zone};
