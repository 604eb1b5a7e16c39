//! The page-wide sliding window: a pure decision over stored send instants and its store on `globalThis`.

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Reflect, Symbol};
use wasm_bindgen::{JsCast, JsValue};

/// amoCRM's limit: at most this many requests in one window.
pub const MAX_REQUESTS: usize = 7;

/// The window's length beyond amoCRM's second: requests sent exactly a second apart can arrive
/// less than a second apart when the earlier one was held up on the way, and amoCRM counts arrivals.
pub const ARRIVAL_MARGIN_MS: u64 = 150;

/// The length of the page's window in milliseconds: amoCRM's second plus the arrival margin.
pub const WINDOW_MS: u64 = 1000 + ARRIVAL_MARGIN_MS;

/// The key of the page's store, as `Symbol.for(STORE_KEY)` on `globalThis`.
pub const STORE_KEY: &str = "leakguard.requests";

/// Records a send at `now_ms` in `recent` (send instants, in milliseconds) if that keeps every window
/// of `window_ms` at no more than `max` sends (at least 1); otherwise answers how long to wait.
///
/// `recent` is in send order, oldest first, as this function leaves it. Instants that left the
/// window are dropped, so it never holds more than `max` entries. An instant later than `now_ms`
/// (a clock set back) counts as sent at `now_ms`, which keeps the order and lets the wait end.
pub fn decide(recent: &mut Vec<u64>, now_ms: u64, max: usize, window_ms: u64) -> Result<(), u64> {
    let max = max.max(1);
    for instant in recent.iter_mut() {
        *instant = (*instant).min(now_ms);
    }
    recent.retain(|&instant| now_ms - instant < window_ms);
    let excess = recent.len().saturating_sub(max);
    recent.drain(..excess);
    if recent.len() == max {
        // The window starting at the oldest kept send is full until that send leaves it.
        return Err(recent[0] + window_ms - now_ms);
    }
    recent.push(now_ms);
    Ok(())
}

/// A handle on a sliding window whose state lives in a JavaScript array on `globalThis`.
///
/// Handles hold no state of their own: every handle with the same key, in any wasm module of the
/// page, takes its slots from the same array, with instants from `Date.now()` (one clock for all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimiter {
    key: &'static str,
    max: usize,
    window_ms: u64,
}

impl PageLimiter {
    /// The limiter of every LeakGuard request to amoCRM on the page.
    pub const fn page() -> PageLimiter {
        PageLimiter::new(STORE_KEY, MAX_REQUESTS, WINDOW_MS)
    }

    /// A limiter of `max` sends per `window_ms` kept under `Symbol.for(key)`.
    pub const fn new(key: &'static str, max: usize, window_ms: u64) -> PageLimiter {
        PageLimiter {
            key,
            max,
            window_ms,
        }
    }

    /// Takes a slot now if the window has one; otherwise answers how many milliseconds to wait.
    ///
    /// The read, the decision and the write happen without yielding, so on the page's one thread
    /// no other module can take a slot in between.
    pub fn try_acquire(&self) -> Result<(), u64> {
        let store = self.store();
        let mut recent: Vec<u64> = store
            .iter()
            .filter_map(|value| value.as_f64())
            .filter(|instant| instant.is_finite() && *instant >= 0.0)
            .map(|instant| instant as u64)
            .collect();
        let decision = decide(
            &mut recent,
            js_sys::Date::now() as u64,
            self.max,
            self.window_ms,
        );
        store.set_length(0);
        for instant in recent {
            store.push(&JsValue::from_f64(instant as f64));
        }
        decision
    }

    /// Waits until the window grants a slot.
    pub async fn acquire(&self) {
        while let Err(wait_ms) = self.try_acquire() {
            TimeoutFuture::new(wait_ms.clamp(1, u64::from(u32::MAX)) as u32).await;
        }
    }

    /// The page's array for this key, created on first use.
    fn store(&self) -> Array {
        let global = js_sys::global();
        let key = Symbol::for_(self.key);
        if let Ok(array) = Reflect::get(&global, &key).and_then(|value| value.dyn_into::<Array>()) {
            return array;
        }
        let array = Array::new();
        // A global that refuses the property leaves a fresh array per call: each request is then
        // limited by nothing shared, which no browser page does.
        let _ = Reflect::set(&global, &key, &array);
        array
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::ratelimit::SlidingWindow;

    #[test]
    fn the_eighth_send_in_a_window_waits_for_the_oldest() {
        let mut recent = Vec::new();
        for t in 0..7 {
            assert_eq!(decide(&mut recent, 1000 + t * 10, 7, 1150), Ok(()));
        }
        assert_eq!(decide(&mut recent, 1070, 7, 1150), Err(1080));
        assert_eq!(decide(&mut recent, 2149, 7, 1150), Err(1));
        assert_eq!(decide(&mut recent, 2150, 7, 1150), Ok(()));
        assert_eq!(recent, [1010, 1020, 1030, 1040, 1050, 1060, 2150]);
    }

    #[test]
    fn the_store_never_holds_more_than_the_window() {
        let mut recent = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(decide(&mut recent, 500, 3, 1000), Err(508));
        assert_eq!(recent, [8, 9, 10]);
        assert_eq!(decide(&mut recent, 5000, 3, 1000), Ok(()));
        assert_eq!(recent, [5000]);
    }

    #[test]
    fn a_clock_set_back_counts_later_sends_as_now() {
        let mut recent = vec![10_000, 10_001];
        assert_eq!(decide(&mut recent, 100, 2, 1000), Err(1000));
        assert_eq!(recent, [100, 100]);
        assert_eq!(decide(&mut recent, 1100, 2, 1000), Ok(()));
    }

    #[test]
    fn a_zero_max_still_allows_one_per_window() {
        let mut recent = Vec::new();
        assert_eq!(decide(&mut recent, 5, 0, 100), Ok(()));
        assert_eq!(decide(&mut recent, 6, 0, 100), Err(99));
    }

    /// A small seeded generator (SplitMix64) so the comparison is reproducible.
    struct SplitMix(u64);

    impl SplitMix {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % bound
        }
    }

    /// On a clock that never goes back the shared window decides exactly as the core's sliding window.
    #[test]
    fn decides_as_the_cores_sliding_window() {
        for seed in 0..200 {
            let mut rng = SplitMix(seed);
            let max = 1 + rng.below(9) as usize;
            let window_ms = 1 + rng.below(2000);
            let mut core = SlidingWindow::new(max as u32, window_ms);
            let mut recent = Vec::new();
            let mut now = rng.below(1 << 40);
            for _ in 0..500 {
                now += match rng.below(4) {
                    0 => 0,
                    1 => rng.below(5),
                    2 => rng.below(window_ms / 2 + 1),
                    _ => rng.below(window_ms * 2),
                };
                assert_eq!(
                    decide(&mut recent, now, max, window_ms),
                    core.try_acquire(now),
                    "seed {seed} at {now}"
                );
                assert!(recent.len() <= max);
            }
        }
    }
}
