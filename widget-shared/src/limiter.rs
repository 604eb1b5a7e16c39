//! The page-wide sliding window: a pure decision over the page's request slots and their store on `globalThis`.

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Reflect, Symbol};
use wasm_bindgen::{JsCast, JsValue};

/// amoCRM's limit: at most this many requests in one window.
pub const MAX_REQUESTS: usize = 7;

/// A margin beyond amoCRM's second, for timer and clock granularity. Arrival jitter needs no margin:
/// a slot counts from the moment its request's answer came back (see [`decide`]).
pub const ARRIVAL_MARGIN_MS: u64 = 50;

/// The length of the page's window in milliseconds: amoCRM's second plus the margin.
pub const WINDOW_MS: u64 = 1000 + ARRIVAL_MARGIN_MS;

/// The key of the page's store, as `Symbol.for(STORE_KEY)` on `globalThis`.
pub const STORE_KEY: &str = "leakguard.requests";

/// The longest a request can be on its way: every load is aborted after this (`InFlight`).
pub const IN_FLIGHT_LIMIT_MS: u64 = crate::http::LOAD_TIME_LIMIT_MS as u64;

/// How often a send waiting only for requests still on their way looks again.
const IN_FLIGHT_POLL_MS: u64 = 20;

/// Takes a slot at `now_ms` in `slots` if fewer than `max` (at least 1) still count; otherwise
/// answers how long to wait.
///
/// A slot is a number: `-start` while its request is on its way (sent at `start`), then the instant
/// its answer came back ([`finish`]). A slot counts while its request is on its way and for
/// `window_ms` after the answer. amoCRM counts arrivals, and a request arrives before its answer
/// leaves, so a send a window after the answer of the seventh-latest request cannot arrive within a
/// window of it however the network delays either: the guarantee holds on arrival, not only on sending.
/// A request on its way longer than [`IN_FLIGHT_LIMIT_MS`] (it was aborted without being finished)
/// counts as answered then. An instant later than `now_ms` (a clock set back) counts as `now_ms`.
pub fn decide(slots: &mut Vec<i64>, now_ms: u64, max: usize, window_ms: u64) -> Result<(), u64> {
    let max = max.max(1);
    let now = now_ms as i64;
    let window = window_ms as i64;
    for slot in slots.iter_mut() {
        if *slot < 0 && now + *slot >= IN_FLIGHT_LIMIT_MS as i64 {
            *slot = -*slot + IN_FLIGHT_LIMIT_MS as i64;
        }
        if *slot >= 0 {
            *slot = (*slot).min(now);
        } else {
            *slot = (*slot).max(-now);
        }
    }
    slots.retain(|&slot| slot < 0 || now - slot < window);
    if slots.len() >= max {
        let wait = slots
            .iter()
            .map(|&slot| {
                if slot < 0 {
                    IN_FLIGHT_POLL_MS as i64
                } else {
                    slot + window - now
                }
            })
            .min()
            .unwrap_or(1);
        return Err(wait.max(1) as u64);
    }
    // `-0` would read as an answer at instant 0: a clock at the epoch is not a browser's.
    slots.push(-now.max(1));
    Ok(())
}

/// Marks the slot taken at `start_ms` as answered at `now_ms`: from now it counts for one window.
pub fn finish(slots: &mut Vec<i64>, start_ms: u64, now_ms: u64) {
    let taken = -(start_ms.max(1) as i64);
    let answered = now_ms as i64;
    match slots.iter().position(|&slot| slot == taken) {
        Some(at) => slots[at] = answered,
        // Already counted as answered at the in-flight limit: count the real answer too.
        None => slots.push(answered),
    }
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

/// A slot of the page's window, held while its request is on its way: dropping it (when the answer
/// came, or the request failed or was abandoned) starts the window it still counts for.
#[derive(Debug)]
#[must_use = "the slot counts from when it is dropped: hold it until the answer comes"]
pub struct Slot {
    limiter: PageLimiter,
    start_ms: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limiter.update(|slots, now| {
            finish(slots, self.start_ms, now);
        });
    }
}

impl PageLimiter {
    /// The limiter of every LeakGuard request to amoCRM on the page.
    pub const fn page() -> PageLimiter {
        PageLimiter::new(STORE_KEY, MAX_REQUESTS, WINDOW_MS)
    }

    /// A limiter of `max` requests per `window_ms` kept under `Symbol.for(key)`.
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
    pub fn try_acquire(&self) -> Result<Slot, u64> {
        let mut taken = 0;
        let decision = self.update(|slots, now| {
            let decision = decide(slots, now, self.max, self.window_ms);
            taken = now;
            decision
        });
        decision.map(|()| Slot {
            limiter: *self,
            start_ms: taken,
        })
    }

    /// Waits until the window grants a slot.
    pub async fn acquire(&self) -> Slot {
        loop {
            match self.try_acquire() {
                Ok(slot) => return slot,
                Err(wait_ms) => {
                    TimeoutFuture::new(wait_ms.clamp(1, u64::from(u32::MAX)) as u32).await
                }
            }
        }
    }

    /// Reads the page's array, lets `change` work on it at `Date.now()` and writes it back, in one
    /// step without yielding.
    fn update<T>(&self, change: impl FnOnce(&mut Vec<i64>, u64) -> T) -> T {
        let store = self.store();
        let mut slots: Vec<i64> = store
            .iter()
            .filter_map(|value| value.as_f64())
            .filter(|slot| slot.is_finite())
            .map(|slot| slot as i64)
            .collect();
        let answer = change(&mut slots, js_sys::Date::now() as u64);
        store.set_length(0);
        for slot in slots {
            store.push(&JsValue::from_f64(slot as f64));
        }
        answer
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

    /// Takes a slot and finishes it at once, as a request answered instantly.
    fn send(slots: &mut Vec<i64>, now: u64, max: usize, window: u64) -> Result<(), u64> {
        decide(slots, now, max, window)?;
        finish(slots, now, now);
        Ok(())
    }

    #[test]
    fn the_eighth_send_in_a_window_waits_for_the_oldest_answer() {
        let mut slots = Vec::new();
        for t in 0..7 {
            assert_eq!(send(&mut slots, 1000 + t * 10, 7, 1050), Ok(()));
        }
        assert_eq!(decide(&mut slots, 1070, 7, 1050), Err(980));
        assert_eq!(decide(&mut slots, 2049, 7, 1050), Err(1));
        assert_eq!(send(&mut slots, 2050, 7, 1050), Ok(()));
        assert_eq!(slots, [1010, 1020, 1030, 1040, 1050, 1060, 2050]);
    }

    #[test]
    fn a_request_on_its_way_counts_until_a_window_after_its_answer() {
        let mut slots = Vec::new();
        assert_eq!(decide(&mut slots, 1000, 1, 1000), Ok(()));
        // Slow answer: two seconds later the slot still counts.
        assert_eq!(decide(&mut slots, 3000, 1, 1000), Err(IN_FLIGHT_POLL_MS));
        finish(&mut slots, 1000, 3500);
        assert_eq!(decide(&mut slots, 4000, 1, 1000), Err(500));
        assert_eq!(decide(&mut slots, 4500, 1, 1000), Ok(()));
    }

    #[test]
    fn a_request_never_finished_stops_counting_after_the_in_flight_limit() {
        let mut slots = Vec::new();
        assert_eq!(decide(&mut slots, 1000, 1, 1000), Ok(()));
        let limit = IN_FLIGHT_LIMIT_MS;
        assert!(decide(&mut slots, 1000 + limit - 1, 1, 1000).is_err());
        assert_eq!(slots, [-1000]);
        assert!(decide(&mut slots, 1000 + limit, 1, 1000).is_err());
        assert_eq!(slots, [(1000 + limit) as i64]);
        assert_eq!(decide(&mut slots, 2000 + limit, 1, 1000), Ok(()));
        // Its late answer still counts one window.
        finish(&mut slots, 1000, 2100 + limit);
        assert!(slots.contains(&((2100 + limit) as i64)));
    }

    #[test]
    fn a_clock_set_back_counts_later_instants_as_now() {
        let mut slots = vec![10_000, 10_001];
        assert_eq!(decide(&mut slots, 100, 2, 1000), Err(1000));
        assert_eq!(slots, [100, 100]);
        assert_eq!(send(&mut slots, 1100, 2, 1000), Ok(()));
    }

    #[test]
    fn a_zero_max_still_allows_one_per_window() {
        let mut slots = Vec::new();
        assert_eq!(send(&mut slots, 5, 0, 100), Ok(()));
        assert_eq!(decide(&mut slots, 6, 0, 100), Err(99));
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

    /// With every request answered at once, the shared window decides exactly as the core's sliding window.
    #[test]
    fn instant_answers_decide_as_the_cores_sliding_window() {
        for seed in 0..200 {
            let mut rng = SplitMix(seed);
            let max = 1 + rng.below(9) as usize;
            let window_ms = 1 + rng.below(2000);
            let mut core = SlidingWindow::new(max as u32, window_ms);
            let mut slots = Vec::new();
            let mut now = 1 + rng.below(1 << 40);
            for _ in 0..500 {
                now += match rng.below(4) {
                    0 => 0,
                    1 => rng.below(5),
                    2 => rng.below(window_ms / 2 + 1),
                    _ => rng.below(window_ms * 2),
                };
                assert_eq!(
                    send(&mut slots, now, max, window_ms),
                    core.try_acquire(now),
                    "seed {seed} at {now}"
                );
                assert!(slots.len() <= max);
            }
        }
    }

    /// Whatever the delays, no window of a second ever holds more than `max` arrivals when each
    /// request arrives somewhere between its send and its answer.
    #[test]
    fn arrivals_never_exceed_the_limit_whatever_the_delays() {
        for seed in 0..100 {
            let mut rng = SplitMix(seed);
            let mut slots = Vec::new();
            let mut now = 1_000_000;
            let mut on_the_way: Vec<(u64, u64)> = Vec::new(); // (start, answer)
            let mut arrivals = Vec::new();
            for _ in 0..400 {
                now += rng.below(60);
                on_the_way.retain(|&(start, answer)| {
                    if answer <= now {
                        finish(&mut slots, start, answer);
                        false
                    } else {
                        true
                    }
                });
                if decide(&mut slots, now, 7, 1000).is_ok() {
                    let answer = now + 1 + rng.below(400);
                    arrivals.push(now + rng.below(answer - now));
                    on_the_way.push((now, answer));
                }
            }
            arrivals.sort_unstable();
            for (i, &first) in arrivals.iter().enumerate() {
                let within = arrivals[i..]
                    .iter()
                    .take_while(|&&a| a < first + 1000)
                    .count();
                assert!(within <= 7, "seed {seed}: {within} arrivals from {first}");
            }
        }
    }
}
