//! A change to a deal's payments from the moment the user saves it until amoCRM has all of it.
//!
//! The change is written to `localStorage` (per account and deal) before the first request, with
//! its progress after every step, so a failed save loses nothing typed and a reload offers to send
//! it again. Every step is idempotent or looked up by the change's marker before it is repeated:
//! the element names and the note text carry `record_marker(lead_id, nonce)`.

use leakguard_core::dates::Date;
use leakguard_core::payments::store::{record_marker, Record, RecordKind};
use serde::{Deserialize, Serialize};

/// The format of the stored JSON; anything else is ignored.
pub const VERSION: u32 = 1;

/// The `localStorage` key of a deal's unsent change.
pub fn storage_key(account_id: u64, lead_id: u64) -> String {
    format!("leakguard.payments.v{VERSION}.{account_id}.{lead_id}")
}

/// A record as it is kept in storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub id: u64,
    pub kind: String,
    /// Days since 1970-01-01.
    pub date: i64,
    pub amount: i64,
    pub planned_id: Option<u64>,
    pub comment: String,
}

impl StoredRecord {
    pub fn of(record: &Record) -> StoredRecord {
        StoredRecord {
            id: record.id,
            kind: record.kind.code().to_owned(),
            date: record.date.days_since_epoch(),
            amount: record.amount,
            planned_id: record.planned_id,
            comment: record.comment.clone(),
        }
    }

    pub fn record(&self, lead_id: u64) -> Option<Record> {
        Some(Record {
            id: self.id,
            lead_id,
            kind: RecordKind::from_code(&self.kind)?,
            date: Date::from_days_since_epoch(self.date),
            amount: self.amount,
            planned_id: self.planned_id,
            comment: self.comment.clone(),
        })
    }
}

/// What the change does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// New records: a payment, an expense, or the rows of a schedule (one batch).
    Add { records: Vec<StoredRecord> },
    /// An existing record changed.
    Edit {
        before: StoredRecord,
        after: StoredRecord,
    },
    /// A record deleted (marked void and unlinked).
    Delete { record: StoredRecord },
}

/// One request of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `POST /api/v4/catalogs/{id}/elements` with every new record.
    Create,
    /// `POST /api/v4/leads/{id}/link` with every new element.
    Link,
    /// `PATCH /api/v4/catalogs/{id}/elements` with the changed (or voided) record.
    Patch,
    /// `POST /api/v4/leads/{id}/unlink` for a deleted record.
    Unlink,
    /// `POST /api/v4/leads/{id}/notes` with the change note.
    Note,
}

impl Change {
    /// The requests of the change, in order.
    pub fn steps(&self) -> &'static [Step] {
        match self {
            Change::Add { .. } => &[Step::Create, Step::Link, Step::Note],
            Change::Edit { .. } => &[Step::Patch, Step::Note],
            Change::Delete { .. } => &[Step::Patch, Step::Unlink, Step::Note],
        }
    }
}

/// An unsent (or partly sent) change with its progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub version: u32,
    pub lead_id: u64,
    /// Chosen once per save (the instant it was pressed, in ms); the marker is made from it.
    pub nonce: i64,
    /// When the change was saved (Unix seconds), to look up its note among the recent ones.
    pub saved_at: i64,
    pub change: Change,
    /// The note text, marker included, as it is sent.
    pub note: String,
    /// The ids of the elements created so far (an `Add`).
    #[serde(default)]
    pub created: Vec<u64>,
    /// How many steps are done.
    #[serde(default)]
    pub done: usize,
    /// The last attempt of the next step failed in a way that may have written it: look first.
    #[serde(default)]
    pub uncertain: bool,
}

impl Pending {
    pub fn new(lead_id: u64, nonce: i64, saved_at: i64, change: Change, note: String) -> Pending {
        Pending {
            version: VERSION,
            lead_id,
            nonce,
            saved_at,
            change,
            note,
            created: Vec::new(),
            done: 0,
            uncertain: false,
        }
    }

    /// The marker in the element names and the note.
    pub fn marker(&self) -> String {
        record_marker(self.lead_id, self.nonce)
    }

    /// The next request to send, `None` when everything is done.
    pub fn next_step(&self) -> Option<Step> {
        self.change.steps().get(self.done).copied()
    }

    /// The step went through.
    pub fn advance(&mut self) {
        self.done += 1;
        self.uncertain = false;
    }

    /// The records as they are once the change is complete (the new ones with their ids).
    pub fn records(&self) -> Vec<Record> {
        let lead = self.lead_id;
        match &self.change {
            Change::Add { records } => records
                .iter()
                .enumerate()
                .filter_map(|(i, stored)| {
                    let mut record = stored.record(lead)?;
                    record.id = self.created.get(i).copied().unwrap_or(0);
                    Some(record)
                })
                .collect(),
            Change::Edit { after, .. } => after.record(lead).into_iter().collect(),
            Change::Delete { record } => record
                .record(lead)
                .map(|r| Record {
                    kind: RecordKind::Void,
                    ..r
                })
                .into_iter()
                .collect(),
        }
    }

    /// The stored JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored change of `lead_id`, if `text` is one this version wrote.
    pub fn from_json(text: &str, lead_id: u64) -> Option<Pending> {
        serde_json::from_str::<Pending>(text)
            .ok()
            .filter(|p| p.version == VERSION && p.lead_id == lead_id && p.next_step().is_some())
    }
}

/// Applies a completed change to the records the section shows.
pub fn apply(records: &mut Vec<Record>, pending: &Pending) {
    match &pending.change {
        Change::Add { .. } => {
            // Elements an interrupted attempt already linked may have been read since.
            let added = pending.records();
            records.retain(|r| !added.iter().any(|a| a.id == r.id));
            records.extend(added);
        }
        Change::Edit { .. } | Change::Delete { .. } => {
            for changed in pending.records() {
                records.retain(|r| r.id != changed.id);
                if changed.kind != RecordKind::Void {
                    records.push(changed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, kind: RecordKind, amount: i64) -> Record {
        Record {
            id,
            lead_id: 9,
            kind,
            date: Date::from_ymd(2026, 11, 27).unwrap(),
            amount,
            planned_id: None,
            comment: "typed".into(),
        }
    }

    #[test]
    fn a_pending_change_survives_storage_with_its_progress() {
        let rows = [
            record(0, RecordKind::Plan, 100),
            record(0, RecordKind::Plan, 200),
        ];
        let change = Change::Add {
            records: rows.iter().map(StoredRecord::of).collect(),
        };
        let mut pending = Pending::new(
            9,
            1_700_000_000_123,
            1_700_000_000,
            change,
            "note #lg-e9-1".into(),
        );
        assert_eq!(pending.next_step(), Some(Step::Create));
        pending.created = vec![41, 42];
        pending.advance();
        pending.uncertain = true;
        let back = Pending::from_json(&pending.to_json(), 9).unwrap();
        assert_eq!(back, pending);
        assert_eq!(back.next_step(), Some(Step::Link));
        assert_eq!(back.marker(), "#lg-e9-1700000000123");
        assert_eq!(Pending::from_json(&pending.to_json(), 10), None);
        assert_eq!(Pending::from_json("{", 9), None);
        let ids: Vec<u64> = back.records().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![41, 42]);
    }

    #[test]
    fn steps_follow_the_budget_of_each_change() {
        let r = StoredRecord::of(&record(5, RecordKind::Payment, 100));
        let add = Change::Add {
            records: vec![r.clone()],
        };
        let edit = Change::Edit {
            before: r.clone(),
            after: r.clone(),
        };
        let delete = Change::Delete { record: r };
        assert_eq!(add.steps().len(), 3);
        assert_eq!(edit.steps(), &[Step::Patch, Step::Note]);
        assert_eq!(delete.steps(), &[Step::Patch, Step::Unlink, Step::Note]);
    }

    #[test]
    fn completed_changes_update_the_records() {
        let mut records = vec![
            record(5, RecordKind::Payment, 100),
            record(6, RecordKind::Expense, 50),
        ];
        let edited = Record {
            amount: 300,
            ..records[0].clone()
        };
        let edit = Pending::new(
            9,
            1,
            1,
            Change::Edit {
                before: StoredRecord::of(&records[0]),
                after: StoredRecord::of(&edited),
            },
            String::new(),
        );
        apply(&mut records, &edit);
        assert!(records.iter().any(|r| r.id == 5 && r.amount == 300));
        let delete = Pending::new(
            9,
            2,
            1,
            Change::Delete {
                record: StoredRecord::of(&records[0]),
            },
            String::new(),
        );
        apply(&mut records, &delete);
        assert_eq!(records.len(), 1);
        assert_eq!(delete.records()[0].kind, RecordKind::Void);
        let mut add = Pending::new(
            9,
            3,
            1,
            Change::Add {
                records: vec![StoredRecord::of(&record(0, RecordKind::Plan, 7))],
            },
            String::new(),
        );
        add.created = vec![77];
        apply(&mut records, &add);
        assert!(records
            .iter()
            .any(|r| r.id == 77 && r.kind == RecordKind::Plan));
    }
}
