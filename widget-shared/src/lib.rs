//! What LeakGuard's wasm modules share on one page: the page-wide limiter of requests to amoCRM.
//!
//! The card, the settings modal, the key-metrics page and the payments section are separate wasm
//! instances, so a limiter kept in wasm memory would be one per module and two modules open
//! together could exceed amoCRM's 7 requests per second. [`PageLimiter`] keeps the send instants
//! in one JavaScript array on `globalThis` instead, which every module on the page reads and writes.

mod limiter;

pub use limiter::{decide, PageLimiter, ARRIVAL_MARGIN_MS, MAX_REQUESTS, STORE_KEY, WINDOW_MS};
