//! Client-side rate limiting: a sliding window of request times and a retry backoff.

use std::collections::VecDeque;

/// The delay before the first retry, in milliseconds.
pub const BACKOFF_BASE_MS: u64 = 500;
/// The longest computed retry delay, in milliseconds (a server's Retry-After may ask for more).
pub const BACKOFF_CAP_MS: u64 = 30_000;

/// At most `max` acquisitions in any `window_ms` milliseconds (amoCRM allows 7 requests per second).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlidingWindow {
    max: u32,
    window_ms: u64,
    /// The times of the last (up to `max`) acquisitions, oldest first.
    recent: VecDeque<u64>,
}

impl SlidingWindow {
    /// A window allowing `max` acquisitions (at least 1) per `window_ms` milliseconds.
    pub fn new(max: u32, window_ms: u64) -> SlidingWindow {
        let max = max.max(1);
        SlidingWindow {
            max,
            window_ms,
            recent: VecDeque::with_capacity(max as usize),
        }
    }

    /// Records an acquisition at `now_ms` if that keeps every window of `window_ms` milliseconds
    /// at no more than `max` acquisitions; otherwise returns how many milliseconds to wait.
    ///
    /// Time is treated as monotonic: a `now_ms` earlier than the last acquisition counts as the
    /// time of the last acquisition.
    pub fn try_acquire(&mut self, now_ms: u64) -> Result<(), u64> {
        let now = self.recent.back().map_or(now_ms, |&last| now_ms.max(last));
        if self.recent.len() == self.max as usize {
            // The window [oldest, oldest + window_ms) already holds `max` acquisitions.
            let oldest = self.recent[0];
            let free_at = oldest.saturating_add(self.window_ms);
            if now < free_at {
                return Err(free_at - now);
            }
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        Ok(())
    }
}

impl Default for SlidingWindow {
    /// amoCRM's limit: 7 requests per 1000 ms.
    fn default() -> SlidingWindow {
        SlidingWindow::new(7, 1000)
    }
}

/// The delay before retry number `attempt` (0 for the first retry), in milliseconds.
///
/// It doubles from [`BACKOFF_BASE_MS`] up to [`BACKOFF_CAP_MS`]; when the server sent a
/// Retry-After (header or amoCRM's `retry_after` body field, in seconds) the delay is at least that long.
pub fn backoff_ms(attempt: u32, retry_after_seconds: Option<u64>) -> u64 {
    // `checked_shl` only rejects shifts of 64 or more, so the factor is shifted alone and then multiplied.
    let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
    let exponential = BACKOFF_BASE_MS.saturating_mul(factor).min(BACKOFF_CAP_MS);
    let requested = retry_after_seconds.map_or(0, |seconds| seconds.saturating_mul(1000));
    exponential.max(requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded generator (SplitMix64) so the property tests are reproducible.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    /// Checks that no half-open window [t, t + window_ms) holds more than `max` of `granted` (sorted).
    fn assert_window_invariant(granted: &[u64], max: u32, window_ms: u64) {
        let max = max as usize;
        for (i, pair) in granted.windows(max + 1).enumerate() {
            assert!(
                pair[max] - pair[0] >= window_ms,
                "{} grants within {window_ms} ms starting at index {i}: {pair:?}",
                max + 1
            );
        }
    }

    #[test]
    fn the_eighth_request_in_a_second_waits() {
        let mut window = SlidingWindow::default();
        for t in 0..7 {
            assert_eq!(window.try_acquire(1000 + t * 10), Ok(()));
        }
        assert_eq!(window.try_acquire(1070), Err(930));
        assert_eq!(window.try_acquire(1999), Err(1));
        assert_eq!(window.try_acquire(2000), Ok(()));
        assert_eq!(window.try_acquire(2000), Err(10));
    }

    #[test]
    fn a_burst_at_one_instant_is_capped() {
        let mut window = SlidingWindow::new(3, 1000);
        assert_eq!(window.try_acquire(0), Ok(()));
        assert_eq!(window.try_acquire(0), Ok(()));
        assert_eq!(window.try_acquire(0), Ok(()));
        assert_eq!(window.try_acquire(0), Err(1000));
        // A clock that goes back is treated as standing still.
        assert_eq!(window.try_acquire(0), Err(1000));
    }

    #[test]
    fn a_zero_max_still_allows_one_per_window() {
        let mut window = SlidingWindow::new(0, 100);
        assert_eq!(window.try_acquire(5), Ok(()));
        assert_eq!(window.try_acquire(6), Err(99));
    }

    #[test]
    fn random_sequences_never_exceed_the_window() {
        for seed in 0..200 {
            let mut rng = SplitMix(seed);
            let max = 1 + rng.below(9) as u32;
            let window_ms = 1 + rng.below(2000);
            let mut window = SlidingWindow::new(max, window_ms);
            let mut now = rng.below(1 << 40);
            let mut granted = Vec::new();
            for _ in 0..500 {
                now += match rng.below(4) {
                    0 => 0,
                    1 => rng.below(5),
                    2 => rng.below(window_ms / 2 + 1),
                    _ => rng.below(window_ms * 2),
                };
                match window.try_acquire(now) {
                    Ok(()) => granted.push(now),
                    Err(wait) => {
                        assert!(wait > 0 && wait <= window_ms, "seed {seed}: wait {wait}");
                        // The wait is exact: one millisecond earlier is still refused, then it succeeds.
                        let mut probe = window.clone();
                        assert_eq!(probe.try_acquire(now + wait - 1), Err(1), "seed {seed}");
                        if rng.below(2) == 0 {
                            now += wait;
                            assert_eq!(window.try_acquire(now), Ok(()), "seed {seed}");
                            granted.push(now);
                        }
                    }
                }
            }
            assert_window_invariant(&granted, max, window_ms);
            assert!(
                granted.len() >= 50,
                "seed {seed}: only {} grants",
                granted.len()
            );
        }
    }

    #[test]
    fn a_greedy_client_gets_exactly_max_per_window() {
        let mut window = SlidingWindow::default();
        let mut now = 0;
        let mut granted = Vec::new();
        while now < 10_000 {
            match window.try_acquire(now) {
                Ok(()) => granted.push(now),
                Err(wait) => now += wait,
            }
        }
        assert_window_invariant(&granted, 7, 1000);
        assert_eq!(granted.len(), 70);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_ms(0, None), 500);
        assert_eq!(backoff_ms(1, None), 1000);
        assert_eq!(backoff_ms(5, None), 16_000);
        assert_eq!(backoff_ms(6, None), 30_000);
        assert_eq!(backoff_ms(63, None), 30_000);
        assert_eq!(backoff_ms(64, None), 30_000);
        assert_eq!(backoff_ms(u32::MAX, None), 30_000);
    }

    #[test]
    fn backoff_honours_retry_after() {
        assert_eq!(backoff_ms(0, Some(2)), 2000);
        assert_eq!(backoff_ms(0, Some(300)), 300_000);
        assert_eq!(backoff_ms(5, Some(1)), 16_000);
        assert_eq!(backoff_ms(0, Some(0)), 500);
        assert_eq!(backoff_ms(0, Some(u64::MAX)), u64::MAX);
    }
}
