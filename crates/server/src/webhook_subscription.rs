//! The account's webhook subscription in amoCRM (`POST`/`DELETE /api/v4/webhooks`, admin only,
//! amocrm-api-v4.md §11.1): subscribed by the first scan after an install, unsubscribed on revoke.
//!
//! The events are those the automations need: leads added, updated, moved, reassigned, deleted and
//! restored, and tasks added, updated (completed), deleted and reassigned.

use reqwest::Method;
use serde_json::json;

use crate::accounts;
use crate::amo::{AmoClient, AmoError};
use crate::jobs::handlers::{JobContext, JobError};

/// The webhook events LeakGuard subscribes to.
pub const EVENTS: &[&str] = &[
    "add_lead",
    "update_lead",
    "status_lead",
    "responsible_lead",
    "delete_lead",
    "restore_lead",
    "add_task",
    "update_task",
    "delete_task",
    "responsible_task",
    // Every change of a deal's payments adds a note: its hook re-reads that deal's payments.
    "note_lead",
];

/// Subscribes the server's webhook URL unless the account already has it with every event of
/// [`EVENTS`] (posting the same destination again updates its events); returns the number of
/// requests sent (0 or 1).
pub async fn subscribe(ctx: &JobContext, account_id: i64) -> Result<u8, JobError> {
    let account = accounts::get(&ctx.db, account_id)
        .await
        .map_err(|error| JobError::Retry(error.to_string()))?
        .ok_or_else(|| JobError::Permanent(format!("account {account_id} is unknown")))?;
    let destination = &ctx.webhook_destination;
    let events = EVENTS.join(",");
    if account.webhook_destination.as_deref() == Some(destination.as_str())
        && account.webhook_events.as_deref() == Some(events.as_str())
    {
        return Ok(0);
    }
    let body = json!({ "destination": destination, "settings": EVENTS, "sort": 10 });
    ctx.amo
        .send(account_id, Method::POST, "/api/v4/webhooks", Some(&body))
        .await
        .map_err(JobError::from)?;
    accounts::set_webhook_destination(&ctx.db, account_id, Some(destination), Some(&events))
        .await
        .map_err(|error| JobError::Retry(error.to_string()))?;
    tracing::info!(account_id, %destination, "webhooks subscribed");
    Ok(1)
}

/// Removes the subscription recorded for the account. An already revoked token cannot do it; the
/// caller then relies on the receiver refusing hooks of uninstalled accounts, which makes amoCRM
/// disable the webhook after its invalid-answer limit (§11.3).
pub async fn unsubscribe(
    db: &crate::db::Db,
    amo: &AmoClient,
    account_id: i64,
) -> Result<bool, AmoError> {
    let Some(destination) = accounts::get(db, account_id)
        .await?
        .and_then(|account| account.webhook_destination)
    else {
        return Ok(false);
    };
    let body = json!({ "destination": destination });
    match amo
        .send(account_id, Method::DELETE, "/api/v4/webhooks", Some(&body))
        .await
    {
        Ok(_) | Err(AmoError::Status { status: 404, .. }) => {
            accounts::set_webhook_destination(db, account_id, None, None).await?;
            Ok(true)
        }
        Err(error) => Err(error),
    }
}
