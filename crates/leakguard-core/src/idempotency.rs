//! Idempotency markers: short tags embedded in the texts of the tasks and notes LeakGuard creates, so a retry can find what an earlier attempt already created.
//!
//! amoCRM has no idempotency header and does not store `request_id`, so after a timeout or a 5xx
//! the only way to know whether a task or note was created is to list the deal's tasks or notes
//! and look for the marker. A marker is `#lg-<kind><subject>-<occasion>`, e.g. `#lg-r4512-1768550400`
//! for the refusal of deal 4512 at that instant; it reads as a hashtag in amoCRM's feed.

/// What a marked action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// A refusal's follow-up task and notes (subject: the deal).
    Refusal,
    /// The watchdog's fallback task for a deal without a next step (subject: the deal).
    Watchdog,
    /// The task asking to set the reason of a deal lost without one (subject: the deal).
    MissingReason,
    /// A stuck deal's escalation to the supervisor (subject: the deal).
    StuckEscalation,
    /// An overdue task's escalation (subject: the task).
    OverdueTask,
    /// A reminder about an overdue planned payment (subject: the planned payment).
    PaymentReminder,
    /// A payments record (catalog element) being created (subject: the deal, occasion: a nonce per save).
    PaymentRecord,
}

impl MarkerKind {
    const fn letter(self) -> char {
        match self {
            MarkerKind::Refusal => 'r',
            MarkerKind::Watchdog => 'w',
            MarkerKind::MissingReason => 'm',
            MarkerKind::StuckEscalation => 's',
            MarkerKind::OverdueTask => 'o',
            MarkerKind::PaymentReminder => 'p',
            MarkerKind::PaymentRecord => 'e',
        }
    }
}

/// The marker of the action of `kind` about `subject` that happened at `occasion` (Unix seconds or any stable number).
pub fn marker(kind: MarkerKind, subject: u64, occasion: i64) -> String {
    format!("#lg-{}{subject}-{occasion}", kind.letter())
}

/// Whether `text` carries `marker` as a whole word (`#lg-r1-10` is not found in `#lg-r1-100`).
pub fn has_marker(text: &str, marker: &str) -> bool {
    if marker.is_empty() {
        return false;
    }
    text.match_indices(marker).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + marker.len()..].chars().next();
        let joins = |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '-');
        !joins(before) && !joins(after)
    })
}

/// `text` followed by a space and `marker`.
pub fn with_marker(text: &str, marker: &str) -> String {
    format!("{} {marker}", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_stable_and_distinct() {
        assert_eq!(
            marker(MarkerKind::Refusal, 4512, 1_768_550_400),
            "#lg-r4512-1768550400"
        );
        assert_eq!(marker(MarkerKind::OverdueTask, 9, -5), "#lg-o9--5");
        assert_ne!(
            marker(MarkerKind::Refusal, 1, 2),
            marker(MarkerKind::Watchdog, 1, 2)
        );
    }

    #[test]
    fn markers_are_found_only_as_whole_words() {
        let m = marker(MarkerKind::Refusal, 1, 10);
        assert!(has_marker("Позвонить: ООО Ромашка #lg-r1-10", &m));
        assert!(has_marker("#lg-r1-10\nreason", &m));
        assert!(has_marker("a #lg-r1-100 and #lg-r1-10.", &m));
        assert!(!has_marker("Позвонить #lg-r1-100", &m));
        assert!(!has_marker("x#lg-r1-10", &m));
        assert!(!has_marker("#lg-r1-10-2", &m));
        assert!(!has_marker("", &m));
        assert!(!has_marker("anything", ""));
        assert_eq!(with_marker("Позвонить  ", &m), "Позвонить #lg-r1-10");
    }
}
