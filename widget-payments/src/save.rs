//! Sends a pending change step by step: a record = create the element(s), link, note (3 requests);
//! an edit = patch, note (2); a delete = patch to void, unlink, note (3). After a failure that may
//! have written the step, the next attempt first looks it up by the change's marker, so a retry
//! never duplicates an element, a link or a note.

use amo_api::payments::{element_write, link_write};
use amo_api::NewNote;
use gloo_timers::future::TimeoutFuture;
use leakguard_core::idempotency::has_marker;
use leakguard_core::payments::store::Record;
use leakguard_core::payments::store::RecordKind;
use leakguard_core::ratelimit::backoff_ms;
use leakguard_core::settings::PaymentStore;
use web_sys::AbortSignal;

use crate::data::Context;
use crate::http::{self, HttpError};
use crate::pending::{Change, Pending, Step};

/// How far back (seconds before the save) a retry looks for its note.
const NOTE_LOOKBACK: i64 = 600;

/// How often a step refused with 429 is tried again (after a pause, looking first) before the
/// section reports it.
const RATE_LIMIT_RETRIES: u32 = 2;

/// Runs the remaining steps of `pending`; `persist` is called after every step and failure so the
/// progress survives a reload.
pub async fn run(
    context: &Context,
    store: &PaymentStore,
    pending: &mut Pending,
    persist: &dyn Fn(&Pending),
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let mut limited = 0;
    while let Some(step) = pending.next_step() {
        match attempt(context, store, pending, step, signal).await {
            Ok(()) => pending.advance(),
            Err(error) => {
                pending.uncertain = error.is_ambiguous();
                persist(pending);
                if error == HttpError::Status(429) && limited < RATE_LIMIT_RETRIES {
                    TimeoutFuture::new(backoff_ms(limited, None).clamp(1, 10_000) as u32).await;
                    limited += 1;
                    continue;
                }
                return Err(error);
            }
        }
        persist(pending);
    }
    Ok(())
}

async fn attempt(
    context: &Context,
    store: &PaymentStore,
    pending: &mut Pending,
    step: Step,
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let lead = pending.lead_id;
    let catalog = store.catalog_id;
    let marker = pending.marker();
    let write = |record: &Record, marker: Option<&str>| {
        element_write(
            record,
            store,
            context.currency,
            context.lang,
            &context.zone,
            marker,
        )
    };
    match step {
        Step::Create => {
            let records = pending.records();
            if pending.uncertain {
                let mut found: Vec<u64> = http::find_elements(catalog, &marker, signal)
                    .await?
                    .into_iter()
                    .filter(|element| has_marker(&element.name, &marker))
                    .map(|element| element.id)
                    .collect();
                if found.len() >= records.len() {
                    // A browser resends a POST whose connection closed unanswered, so the batch
                    // may have been written twice: the first copy is kept, later ones are voided
                    // (they were never linked to the deal).
                    found.sort_unstable();
                    let extra = found.split_off(records.len());
                    if !extra.is_empty() {
                        let voided: Vec<_> = extra
                            .iter()
                            .zip(records.iter().cycle())
                            .map(|(&id, record)| {
                                let void = Record {
                                    id,
                                    kind: RecordKind::Void,
                                    ..record.clone()
                                };
                                write(&void, Some(&marker))
                            })
                            .collect();
                        http::patch_elements(catalog, &voided, signal).await?;
                    }
                    pending.created = found;
                    return Ok(());
                }
            }
            let bodies: Vec<_> = records.iter().map(|r| write(r, Some(&marker))).collect();
            pending.created = http::create_elements(catalog, &bodies, signal).await?;
            Ok(())
        }
        Step::Link => {
            let mut missing = pending.created.clone();
            if pending.uncertain {
                let linked = http::linked(lead, catalog, signal).await?;
                missing.retain(|id| !linked.iter().any(|link| link.to_entity_id == *id));
                if missing.is_empty() {
                    return Ok(());
                }
            }
            let links: Vec<_> = missing.iter().map(|&id| link_write(id, catalog)).collect();
            http::link(lead, &links, signal).await
        }
        Step::Patch => {
            // Writing the same values again is harmless, so a patch is simply repeated.
            let bodies: Vec<_> = pending.records().iter().map(|r| write(r, None)).collect();
            http::patch_elements(catalog, &bodies, signal).await
        }
        Step::Unlink => {
            let Change::Delete { record } = &pending.change else {
                return Ok(());
            };
            // Unlinking an element that is no longer linked is harmless too.
            http::unlink(lead, &[link_write(record.id, catalog)], signal).await
        }
        Step::Note => {
            if pending.uncertain {
                let since = pending.saved_at - NOTE_LOOKBACK;
                let notes = http::recent_notes(lead, since, signal).await?;
                if notes
                    .iter()
                    .any(|note| note.text().is_some_and(|text| has_marker(text, &marker)))
                {
                    return Ok(());
                }
            }
            http::add_note(lead, &NewNote::common(pending.note.clone()), signal).await
        }
    }
}
