//! The browser-Back return: a deal left through an exit the widget cannot stop, remembered for the next page.
//!
//! Browser Back (popstate) does not go through amoCRM's router, so the card cannot hold it.
//! When the card is destroyed while the guard is armed and the address no longer shows the card,
//! it writes a record to `sessionStorage`; the widget on the next page (location `everywhere`, or
//! another card) reads it and navigates back to the deal, where the dialog opens at once.

/// The record's format version, the first field of the stored text.
const VERSION: &str = "1";

/// A record older than this (seconds) is dropped: the manager came back some other way long ago.
pub const MAX_AGE_SECONDS: i64 = 30 * 60;

/// A deal the manager left while it had no next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingReturn {
    pub deal_id: u64,
    /// When the guard armed on the card (Unix seconds).
    pub armed_at: i64,
    /// When the card was left (Unix seconds).
    pub left_at: i64,
}

/// What a page does with the stored record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnAction {
    /// There is nothing to do.
    None,
    /// The record is stale or unreadable: remove it.
    Discard,
    /// This page is the deal's card: remove the record and open the dialog as soon as the tasks are known.
    Reopen,
    /// Navigate to the deal's card.
    GoBack(u64),
}

impl PendingReturn {
    /// The stored text: `1:<deal>:<armed_at>:<left_at>`.
    pub fn encode(&self) -> String {
        format!(
            "{VERSION}:{}:{}:{}",
            self.deal_id, self.armed_at, self.left_at
        )
    }

    /// Reads a stored text; `None` for another version or anything malformed.
    pub fn decode(text: &str) -> Option<PendingReturn> {
        let mut parts = text.split(':');
        if parts.next()? != VERSION {
            return None;
        }
        let record = PendingReturn {
            deal_id: parts.next()?.parse().ok().filter(|&id| id > 0)?,
            armed_at: parts.next()?.parse().ok()?,
            left_at: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(record)
    }
}

/// Decides what a page does with the stored text `stored` at `now`, when it shows the card of `current_deal`.
pub fn on_page(stored: Option<&str>, now: i64, current_deal: Option<u64>) -> ReturnAction {
    let Some(stored) = stored else {
        return ReturnAction::None;
    };
    let Some(record) = PendingReturn::decode(stored) else {
        return ReturnAction::Discard;
    };
    // A clock that moved back by more than a minute makes the age meaningless too.
    let age = now - record.left_at;
    if !(-60..=MAX_AGE_SECONDS).contains(&age) {
        return ReturnAction::Discard;
    }
    if current_deal == Some(record.deal_id) {
        ReturnAction::Reopen
    } else {
        ReturnAction::GoBack(record.deal_id)
    }
}

/// Whether the address `pathname` has moved away from the card of `deal_id` (amoCRM changes the
/// address before it destroys the widgets of the page being left).
pub fn left_card(pathname: &str, deal_id: u64) -> bool {
    let card = format!("/leads/detail/{deal_id}");
    let rest = pathname.trim_end_matches('/').strip_prefix(&card);
    rest != Some("")
}

/// The path of a deal's card.
pub fn card_path(deal_id: u64) -> String {
    format!("/leads/detail/{deal_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn record(left_at: i64) -> String {
        PendingReturn {
            deal_id: 42,
            armed_at: left_at - 300,
            left_at,
        }
        .encode()
    }

    #[test]
    fn the_record_round_trips_and_rejects_garbage() {
        let record = PendingReturn {
            deal_id: 21_000_003,
            armed_at: NOW - 10,
            left_at: NOW,
        };
        assert_eq!(record.encode(), "1:21000003:1799999990:1800000000");
        assert_eq!(PendingReturn::decode(&record.encode()), Some(record));
        for bad in [
            "",
            "2:1:2:3",
            "1:0:2:3",
            "1:x:2:3",
            "1:1:2",
            "1:1:2:3:4",
            "{\"deal\":1}",
        ] {
            assert_eq!(PendingReturn::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn another_page_goes_back_and_the_card_reopens_the_dialog() {
        assert_eq!(on_page(None, NOW, None), ReturnAction::None);
        assert_eq!(
            on_page(Some(&record(NOW - 2)), NOW, None),
            ReturnAction::GoBack(42)
        );
        assert_eq!(
            on_page(Some(&record(NOW - 2)), NOW, Some(7)),
            ReturnAction::GoBack(42)
        );
        assert_eq!(
            on_page(Some(&record(NOW - 2)), NOW, Some(42)),
            ReturnAction::Reopen
        );
    }

    #[test]
    fn stale_or_unreadable_records_are_discarded() {
        assert_eq!(
            on_page(Some(&record(NOW - MAX_AGE_SECONDS - 1)), NOW, None),
            ReturnAction::Discard
        );
        assert_eq!(
            on_page(Some(&record(NOW - MAX_AGE_SECONDS)), NOW, None),
            ReturnAction::GoBack(42)
        );
        assert_eq!(
            on_page(Some(&record(NOW + 3600)), NOW, None),
            ReturnAction::Discard
        );
        assert_eq!(on_page(Some("junk"), NOW, None), ReturnAction::Discard);
    }

    #[test]
    fn leaving_the_card_is_read_from_the_address() {
        assert!(!left_card("/leads/detail/42", 42));
        assert!(!left_card("/leads/detail/42/", 42));
        assert!(left_card("/leads/detail/420", 42));
        assert!(left_card("/leads/pipeline/7100001", 42));
        assert!(left_card("/", 42));
        assert_eq!(card_path(42), "/leads/detail/42");
    }
}
