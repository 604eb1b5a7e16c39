//! The synced copy of the account's payments (issue 6): every LeakGuard record of its payments
//! catalog (`settings.payments.store`), read in pages of 250 by the daily full scan and per deal
//! (two requests) after a webhook about that deal, stored in `payment_records`.

use std::collections::BTreeMap;

use amo_api::{CatalogElement, Lead, Page};
use leakguard_core::dates::Date;
use leakguard_core::payments::store::{Record, RecordKind};
use leakguard_core::payments::Currency;
use leakguard_core::settings::{PaymentStore, Settings};
use reqwest::Method;
use sqlx::Row;

use crate::accounts::Account;
use crate::automation::env::AccountZone;
use crate::db::{now_ms, Db};
use crate::jobs::handlers::{JobContext, JobError};

/// Elements per page of the catalog (amoCRM's largest page).
pub const ELEMENTS_LIMIT: usize = 250;

fn internal(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// The catalog LeakGuard keeps payments in, when the payments panel is on and an administrator
/// prepared the catalog.
pub fn store_of(settings: &Settings) -> Option<PaymentStore> {
    let payments = &settings.payments;
    payments
        .store
        .filter(|store| payments.enabled && store.catalog_id != 0)
}

/// The account's currency: the one amoCRM reported, else roubles (amoCRM's default).
pub fn currency_of(account: &Account) -> Currency {
    account
        .currency
        .as_deref()
        .and_then(Currency::from_code)
        .or_else(|| Currency::from_code("RUB"))
        .expect("RUB is a known currency")
}

/// `GET /api/v4/catalogs/{id}/elements` page `page` of the whole catalog.
pub fn catalog_page_path(catalog_id: u64, page: u32) -> String {
    format!("/api/v4/catalogs/{catalog_id}/elements?limit={ELEMENTS_LIMIT}&page={page}")
}

/// `GET /api/v4/catalogs/{id}/elements` of the elements `ids` (at most [`ELEMENTS_LIMIT`]).
pub fn elements_path(catalog_id: u64, ids: &[u64]) -> String {
    let mut path = format!("/api/v4/catalogs/{catalog_id}/elements?limit={ELEMENTS_LIMIT}");
    for id in ids {
        path.push_str(&format!("&filter%5Bid%5D%5B%5D={id}"));
    }
    path
}

/// The records among `elements`.
fn decode(
    elements: &[CatalogElement],
    store: &PaymentStore,
    currency: Currency,
    zone: &AccountZone,
) -> Vec<Record> {
    elements
        .iter()
        .filter_map(|element| amo_api::payments::record_of(element, store, currency, zone))
        .collect()
}

async fn upsert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: i64,
    record: &Record,
    seen_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_records (account_id, id, lead_id, kind, day, amount, planned_id, comment, seen_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (account_id, id) DO UPDATE SET \
         lead_id = excluded.lead_id, kind = excluded.kind, day = excluded.day, amount = excluded.amount, \
         planned_id = excluded.planned_id, comment = excluded.comment, seen_ms = excluded.seen_ms",
    )
    .bind(account_id)
    .bind(record.id as i64)
    .bind(record.lead_id as i64)
    .bind(record.kind.code())
    .bind(record.date.days_since_epoch())
    .bind(record.amount)
    .bind(record.planned_id.map(|id| id as i64))
    .bind(&record.comment)
    .bind(seen_ms)
    .execute(executor)
    .await?;
    Ok(())
}

/// Reads page `page` of the whole catalog into the copy; returns the records read and whether
/// another page follows. `seen_ms` is the full scan's start (see [`finish_full_read`]).
pub async fn catalog_page(
    ctx: &JobContext,
    account_id: i64,
    store: &PaymentStore,
    (currency, zone): (Currency, &AccountZone),
    page: u32,
    seen_ms: i64,
) -> Result<(usize, bool), JobError> {
    let path = catalog_page_path(store.catalog_id, page);
    let reply = ctx
        .amo
        .send::<()>(account_id, Method::GET, &path, None)
        .await?;
    let elements: Page<CatalogElement> = Page::from_response(reply.status, || reply.json())?;
    let records = decode(&elements.items, store, currency, zone);
    let mut tx = ctx.db.begin_write().await.map_err(internal)?;
    for record in &records {
        upsert(&mut *tx, account_id, record, seen_ms)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    let more = elements.next.is_some() && !elements.items.is_empty();
    Ok((records.len(), more))
}

/// Ends a full read of the catalog that started at `started_ms`: rows it did not see are gone
/// (a record whose element left the catalog, or a whole catalog that is no longer configured).
pub async fn finish_full_read(db: &Db, account_id: i64, started_ms: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM payment_records WHERE account_id = $1 AND seen_ms < $2")
        .bind(account_id)
        .bind(started_ms)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Reads the whole catalog into the copy outside the full scan (after a reconciliation saw many
/// deals change); returns the requests made.
pub async fn read_catalog(ctx: &JobContext, account_id: i64) -> Result<u32, JobError> {
    let env = crate::automation::env::AccountEnv::load(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    let Some(store) = store_of(&env.settings) else {
        return Ok(0);
    };
    let currency = currency_of(&env.account);
    let started = now_ms();
    let mut requests = 0;
    for page in 1..=crate::amo::MAX_PAGES {
        let (_, more) = catalog_page(
            ctx,
            account_id,
            &store,
            (currency, &env.zone),
            page,
            started,
        )
        .await?;
        requests += 1;
        if !more {
            break;
        }
    }
    finish_full_read(&ctx.db, account_id, started)
        .await
        .map_err(internal)?;
    Ok(requests)
}

/// Re-reads one deal's records with exactly two requests (one when nothing is linked): the deal
/// with its linked catalog elements, then those of our catalog by id. Returns the requests made.
pub async fn read_lead(
    ctx: &JobContext,
    account: &Account,
    store: &PaymentStore,
    zone: &AccountZone,
    lead_id: u64,
) -> Result<u32, JobError> {
    let account_id = account.account_id;
    let path = format!("/api/v4/leads/{lead_id}?with=catalog_elements");
    let lead: Option<Lead> = ctx.amo.get(account_id, &path).await?;
    let mut requests = 1;
    let linked: Vec<u64> = lead
        .iter()
        .flat_map(|lead| &lead.embedded.catalog_elements)
        .filter(|element| element.metadata.catalog_id == Some(store.catalog_id))
        .map(|element| element.id)
        .collect();
    let mut records = Vec::new();
    for ids in linked.chunks(ELEMENTS_LIMIT) {
        let path = elements_path(store.catalog_id, ids);
        let reply = ctx
            .amo
            .send::<()>(account_id, Method::GET, &path, None)
            .await?;
        requests += 1;
        let page: Page<CatalogElement> = Page::from_response(reply.status, || reply.json())?;
        // Filters may be ignored (§1.4): only the linked ids count.
        let elements: Vec<CatalogElement> = page
            .items
            .into_iter()
            .filter(|element| ids.contains(&element.id))
            .collect();
        records.extend(decode(&elements, store, currency_of(account), zone));
    }
    // A record linked here but naming another deal keeps its own deal.
    records.retain(|record| record.lead_id == lead_id);
    replace_lead(&ctx.db, account_id, lead_id, &records)
        .await
        .map_err(internal)?;
    Ok(requests)
}

/// Replaces the records of one deal in the copy.
async fn replace_lead(
    db: &Db,
    account_id: i64,
    lead_id: u64,
    records: &[Record],
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM payment_records WHERE account_id = $1 AND lead_id = $2")
        .bind(account_id)
        .bind(lead_id as i64)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    for record in records {
        upsert(&mut *tx, account_id, record, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every record of the account in the copy, by deal.
pub async fn records(db: &Db, account_id: i64) -> anyhow::Result<BTreeMap<u64, Vec<Record>>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, kind, day, amount, planned_id, comment FROM payment_records \
         WHERE account_id = $1 ORDER BY lead_id, id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    let mut by_lead: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
    for row in &rows {
        let kind: String = row.try_get("kind")?;
        let Some(kind) = RecordKind::from_code(&kind) else {
            continue;
        };
        let record = Record {
            id: row.try_get::<i64, _>("id")? as u64,
            lead_id: row.try_get::<i64, _>("lead_id")? as u64,
            kind,
            date: Date::from_days_since_epoch(row.try_get("day")?),
            amount: row.try_get("amount")?,
            planned_id: row
                .try_get::<Option<i64>, _>("planned_id")?
                .map(|id| id as u64),
            comment: row.try_get("comment")?,
        };
        by_lead.entry(record.lead_id).or_default().push(record);
    }
    Ok(by_lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_paths_follow_the_api() {
        assert_eq!(
            catalog_page_path(7, 2),
            "/api/v4/catalogs/7/elements?limit=250&page=2"
        );
        assert_eq!(
            elements_path(7, &[11, 12]),
            "/api/v4/catalogs/7/elements?limit=250&filter%5Bid%5D%5B%5D=11&filter%5Bid%5D%5B%5D=12"
        );
    }

    #[test]
    fn only_a_prepared_enabled_catalog_is_read() {
        let mut settings = Settings::default();
        assert_eq!(store_of(&settings), None);
        let store = PaymentStore {
            catalog_id: 9,
            ..PaymentStore::default()
        };
        settings.payments.store = Some(store);
        assert_eq!(store_of(&settings), Some(store));
        settings.payments.enabled = false;
        assert_eq!(store_of(&settings), None);
    }
}
