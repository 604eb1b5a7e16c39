//! Which page of a list to request next, and how many pages there will be.
//!
//! amoCRM's lead and task lists send no totals, yet the progress bar wants "pages loaded of
//! estimated". A [`PagePlan`] finds the last page while loading pages that are needed anyway: it
//! requests pages 1, 2, 4, 8, … until one is past the end (HTTP 204), then halves the gap
//! between the last full page and the first empty one. Every probe that lands on an existing page
//! is a page the load needs; only the probes past the end (about log2 of the page count) are
//! extra. Pages known to exist are requested in parallel with the search.

use std::collections::BTreeSet;

/// The page plan of one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagePlan {
    limit: usize,
    /// The most pages this plan requests; a guard against a server that never ends a list.
    max_pages: u32,
    /// Pages received with items.
    loaded: BTreeSet<u32>,
    /// Pages requested and not answered yet.
    in_flight: BTreeSet<u32>,
    /// The highest page known to be full (`limit` items); 0 when none is.
    full_up_to: u32,
    /// The lowest page known to be past the end.
    empty_from: Option<u32>,
    /// The last page, once known (0 for an empty list).
    last: Option<u32>,
}

impl PagePlan {
    /// A plan for a list served `limit` items per page, stopping after `max_pages` pages.
    pub fn new(limit: usize, max_pages: u32) -> PagePlan {
        PagePlan {
            limit: limit.max(1),
            max_pages: max_pages.max(1),
            loaded: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            full_up_to: 0,
            empty_from: None,
            last: None,
        }
    }

    /// The next page to request, if one can be requested now; `None` while the search for the
    /// end waits for an answer, and once every page is requested.
    pub fn next_page(&mut self) -> Option<u32> {
        // The search for the end goes first, so the estimate is right early.
        let known = self.last.unwrap_or(self.full_up_to);
        let page = self.probe().or_else(|| {
            (1..=known).find(|p| !self.loaded.contains(p) && !self.in_flight.contains(p))
        });
        if let Some(page) = page {
            self.in_flight.insert(page);
        }
        page
    }

    /// The page that narrows the search for the end, unless a probe is already out.
    fn probe(&self) -> Option<u32> {
        if self.last.is_some() || self.in_flight.iter().any(|&p| p > self.full_up_to) {
            return None;
        }
        let page = match self.empty_from {
            None if self.full_up_to == 0 => 1,
            None => self.full_up_to.saturating_mul(2),
            Some(empty) => self.full_up_to + (empty - self.full_up_to) / 2,
        };
        (page > self.full_up_to && page <= self.max_pages).then_some(page)
    }

    /// Records the answer for `page`: how many items it held (0 for a 204 or an empty list).
    pub fn record(&mut self, page: u32, items: usize) {
        self.in_flight.remove(&page);
        if items == 0 {
            self.empty_from = Some(self.empty_from.map_or(page, |e| e.min(page)));
            // The list shrank while it was read: a page thought to exist is empty, so it ends before.
            if self.full_up_to >= page || self.last.is_some_and(|last| last >= page) {
                self.full_up_to = self.full_up_to.min(page - 1);
                self.last = Some(page - 1);
            }
        } else {
            self.loaded.insert(page);
            if items < self.limit {
                self.last = Some(self.last.map_or(page, |l| l.min(page)));
            } else {
                self.full_up_to = self.full_up_to.max(page);
            }
        }
        if self.last.is_none() {
            if self.empty_from == Some(self.full_up_to + 1) {
                self.last = Some(self.full_up_to);
            } else if self.full_up_to >= self.max_pages {
                // Not yet: a list longer than `max_pages` pages is cut here; the caller reports it.
                self.last = Some(self.max_pages);
            }
        }
    }

    /// Forgets that `page` was requested, so it is requested again (after a failed attempt).
    pub fn retry(&mut self, page: u32) {
        self.in_flight.remove(&page);
    }

    /// Pages received with items.
    pub fn loaded(&self) -> u32 {
        self.loaded.len() as u32
    }

    /// The best estimate of the number of pages: exact once the end is found.
    pub fn estimate(&self) -> u32 {
        let estimate = match (self.last, self.empty_from) {
            (Some(last), _) => last,
            (None, Some(empty)) => (self.full_up_to + empty) / 2,
            (None, None) => (self.full_up_to * 2).max(1),
        };
        estimate.max(self.loaded())
    }

    /// Whether every page of the list has been received.
    pub fn is_done(&self) -> bool {
        self.last.is_some_and(|last| {
            self.in_flight.is_empty() && (1..=last).all(|p| self.loaded.contains(&p))
        })
    }

    /// Whether the list was longer than `max_pages` pages and so was cut.
    pub fn was_cut(&self) -> bool {
        self.last == Some(self.max_pages) && self.full_up_to >= self.max_pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a plan against a list of `items` items, `parallel` requests at a time, and returns the
    /// pages requested in order and the estimates seen.
    fn run(items: usize, limit: usize, parallel: usize) -> (Vec<u32>, PagePlan) {
        let mut plan = PagePlan::new(limit, 1000);
        let mut requested = Vec::new();
        let mut out: Vec<u32> = Vec::new();
        let answer = |page: u32| items.saturating_sub((page as usize - 1) * limit).min(limit);
        while !plan.is_done() {
            while out.len() < parallel {
                match plan.next_page() {
                    Some(page) => {
                        requested.push(page);
                        out.push(page);
                    }
                    None => break,
                }
            }
            assert!(!out.is_empty(), "the plan stalled");
            let page = out.remove(0);
            plan.record(page, answer(page));
        }
        (requested, plan)
    }

    #[test]
    fn every_page_is_loaded_once_and_only_a_few_probes_miss() {
        for items in [0, 1, 249, 250, 251, 500, 1000, 12_345, 75_000, 100_000] {
            for parallel in [1, 3, 6] {
                let (requested, plan) = run(items, 250, parallel);
                let pages = items.div_ceil(250) as u32;
                let mut loaded: Vec<u32> =
                    requested.iter().copied().filter(|&p| p <= pages).collect();
                loaded.sort_unstable();
                assert_eq!(
                    loaded,
                    (1..=pages).collect::<Vec<_>>(),
                    "{items} items, {parallel} at a time"
                );
                let misses = requested.len() as u32 - pages;
                let bound = 1 + (pages.max(1) as f64).log2().ceil() as u32;
                assert!(
                    misses <= bound,
                    "{items} items: {misses} requests past the end, bound {bound}"
                );
                assert_eq!(plan.estimate(), pages);
                assert!(!plan.was_cut());
            }
        }
    }

    #[test]
    fn the_estimate_is_known_early() {
        let mut plan = PagePlan::new(250, 1000);
        // 300 pages: 1, 2, 4, …, 256 are full, 512 is past the end.
        let mut page = plan.next_page();
        let mut answered = 0;
        while let Some(p) = page {
            plan.record(p, if p <= 300 { 250 } else { 0 });
            answered += 1;
            if plan.estimate() == 300 {
                break;
            }
            page = plan.next_page();
        }
        assert!(answered < 40, "the end was found after {answered} answers");
        assert_eq!(plan.estimate(), 300);
    }

    #[test]
    fn a_short_page_ends_the_list_at_once() {
        let mut plan = PagePlan::new(250, 1000);
        assert_eq!(plan.next_page(), Some(1));
        plan.record(1, 250);
        assert_eq!(plan.next_page(), Some(2));
        plan.record(2, 17);
        assert_eq!(plan.estimate(), 2);
        assert!(plan.is_done());
        assert_eq!(plan.next_page(), None);
    }

    #[test]
    fn a_failed_page_is_asked_again() {
        let mut plan = PagePlan::new(250, 1000);
        assert_eq!(plan.next_page(), Some(1));
        assert_eq!(plan.next_page(), None, "one probe at a time");
        plan.retry(1);
        assert_eq!(plan.next_page(), Some(1));
        plan.record(1, 3);
        assert!(plan.is_done());
    }

    #[test]
    fn a_list_that_shrinks_while_it_is_read_still_ends() {
        let mut plan = PagePlan::new(250, 1000);
        assert_eq!(plan.next_page(), Some(1));
        plan.record(1, 250);
        assert_eq!(plan.next_page(), Some(2));
        plan.record(2, 250);
        assert_eq!(plan.next_page(), Some(4));
        plan.record(4, 100);
        assert_eq!(plan.next_page(), Some(3));
        plan.record(3, 0);
        assert!(plan.is_done());
        assert_eq!(plan.estimate(), 3, "three pages were received");
    }

    #[test]
    fn an_endless_list_is_cut_at_the_guard() {
        let mut plan = PagePlan::new(10, 8);
        while let Some(page) = plan.next_page() {
            plan.record(page, 10);
        }
        assert!(plan.is_done());
        assert!(plan.was_cut());
        assert_eq!(plan.loaded(), 8);
    }
}
