//! Keeping the synced copy current: the full scan (account, users, stages, reasons, every lead in
//! pages of 250, open tasks, and the `lead_status_changed` feed for `stage_since`), the
//! reconciliation by `filter[updated_at][from]` / `filter[created_at][from]`, and webhooks applied
//! straight to the copy without a request.
//!
//! The full scan resumes after a restart from its cursor (phase and page, stored after every page);
//! each scan is one `sync_runs` row with the requests it cost.

use amo_api::query::{LeadsQuery, TasksQuery, TimeRange, MAX_LIMIT};
use amo_api::{Collection, Lead, LossReason, Page, Pipeline, Task, User};
use leakguard_core::settings::Settings;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;

use crate::accounts::{self, Details};
use crate::amo::{AmoClient, AmoError};
use crate::audit;
use crate::copy::{self, LeadFacts, StageRow, TagRow, TaskRow, UserRow};
use crate::db::{now_ms, Db};
use crate::jobs::handlers::{
    enqueue_lead_payments, enqueue_soon, JobContext, JobError, PAYMENTS_CATALOG,
};
use crate::webhook::parser::{Action, Entity, Event};
use crate::{account_settings, payments, webhook_subscription};

/// How much each reconciliation overlaps the previous one (clock skew, slow writes).
pub const OVERLAP_SECONDS: i64 = 300;
/// The largest page of the event feed.
pub const EVENTS_LIMIT: u32 = 100;

/// A full scan's position, stored after every page so a restart resumes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    run_id: String,
    scan_id: i64,
    /// Business time of the scan's start.
    started: i64,
    phase: Phase,
    page: u32,
    counts: Counts,
    /// Set when the payments catalog could not be read: the copy's payments are then kept as they are.
    #[serde(default)]
    payments_unread: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Leads,
    Tasks,
    Events,
    /// LeakGuard's payments catalog (issue 6), when one is configured.
    Payments,
}

/// What a scan cost and read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: i64,
    pub leads: i64,
    pub tasks: i64,
    pub events: i64,
    /// Payment records read from the payments catalog.
    #[serde(default)]
    pub elements: i64,
}

fn internal(error: anyhow::Error) -> JobError {
    JobError::Retry(error.to_string())
}

/// One page of a list, counting the request.
async fn page<T: Collection + DeserializeOwned>(
    amo: &AmoClient,
    account_id: i64,
    path: &str,
    counts: &mut Counts,
) -> Result<Page<T>, AmoError> {
    let reply = amo.send::<()>(account_id, Method::GET, path, None).await?;
    counts.requests += 1;
    Page::from_response(reply.status, || reply.json())
}

/// A stage change from the event feed: the lead, when, and the stage it entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    pub lead_id: i64,
    pub at: i64,
    pub to: Option<(i64, i64)>,
}

/// One page of `GET /api/v4/events` reduced to its stage changes (other types are skipped, in case
/// the account ignored the type filter), and whether another page follows.
///
/// Not yet in `amo-api` (which has no event type), so the page is read as JSON here.
pub fn status_events(body: &Value) -> (Vec<StatusEvent>, bool) {
    let events = body["_embedded"]["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|event| event["type"] == "lead_status_changed")
                .filter_map(|event| {
                    let int = |value: &Value| {
                        value
                            .as_i64()
                            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                    };
                    let status = &event["value_after"][0]["lead_status"];
                    Some(StatusEvent {
                        lead_id: int(&event["entity_id"])?,
                        at: int(&event["created_at"])?,
                        to: int(&status["pipeline_id"]).zip(int(&status["id"])),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // Another page follows when the server links one and this page had any event at all (an
    // account that ignores filters sends other types too, §1.4).
    let listed = body["_embedded"]["events"]
        .as_array()
        .is_some_and(|events| !events.is_empty());
    let next = listed && body["_links"]["next"]["href"].is_string();
    (events, next)
}

fn events_path(created_from: Option<i64>, page: u32) -> String {
    let mut path = format!(
        "/api/v4/events?filter%5Btype%5D=lead_status_changed&limit={EVENTS_LIMIT}&page={page}"
    );
    if let Some(from) = created_from {
        path.push_str(&format!("&filter%5Bcreated_at%5D%5Bfrom%5D={from}"));
    }
    path
}

/// Reads one page of stage changes and applies it; returns whether another page follows.
async fn events_page(
    ctx: &JobContext,
    account_id: i64,
    created_from: Option<i64>,
    number: u32,
    counts: &mut Counts,
    settled: &mut std::collections::HashSet<i64>,
) -> Result<bool, JobError> {
    let reply = ctx
        .amo
        .send::<()>(
            account_id,
            Method::GET,
            &events_path(created_from, number),
            None,
        )
        .await?;
    counts.requests += 1;
    if reply.status == amo_api::NO_CONTENT || reply.body.is_empty() {
        return Ok(false);
    }
    let body: Value = reply.json()?;
    let (events, next) = status_events(&body);
    let mut tx = ctx.db.begin_write().await.map_err(AmoError::from)?;
    for event in &events {
        counts.events += 1;
        // Newest first: the first change seen for a lead is its latest, the rest change nothing.
        if !settled.insert(event.lead_id) {
            continue;
        }
        copy::apply_status_event(&mut *tx, account_id, event.lead_id, event.at, event.to)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(AmoError::from)?;
    Ok(next)
}

/// Applies one page of leads; returns whether another page follows. Leads that changed since the
/// copy last heard of them (no webhook told it, as for a linked catalog element) go to `stale`.
async fn leads_page(
    ctx: &JobContext,
    account_id: i64,
    query: &LeadsQuery,
    number: u32,
    scan_id: Option<i64>,
    counts: &mut Counts,
    stale: &mut Vec<u64>,
) -> Result<bool, JobError> {
    let path = LeadsQuery {
        page: Some(number),
        limit: Some(MAX_LIMIT),
        ..query.clone()
    }
    .to_path();
    let leads: Page<Lead> = page(&ctx.amo, account_id, &path, counts).await?;
    let mut tx = ctx.db.begin_write().await.map_err(AmoError::from)?;
    for lead in &leads.items {
        counts.leads += 1;
        if scan_id.is_none() {
            let known = copy::lead(&mut *tx, account_id, lead.id as i64)
                .await
                .map_err(internal)?;
            if known.is_none_or(|row| row.updated_at < lead.updated_at) {
                stale.push(lead.id);
            }
        }
        copy::apply_lead(&mut tx, account_id, &LeadFacts::from_api(lead), scan_id)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(AmoError::from)?;
    Ok(leads.next.is_some() && !leads.items.is_empty())
}

/// Applies one page of tasks (open ones are kept, completed ones dropped); returns whether another
/// page follows and the leads whose tasks changed.
async fn tasks_page(
    ctx: &JobContext,
    account_id: i64,
    query: &TasksQuery,
    number: u32,
    scan_id: i64,
    counts: &mut Counts,
) -> Result<(bool, Vec<(i64, i64)>), JobError> {
    let path = TasksQuery {
        page: Some(number),
        limit: Some(MAX_LIMIT),
        ..query.clone()
    }
    .to_path();
    let tasks: Page<Task> = page(&ctx.amo, account_id, &path, counts).await?;
    let mut touched = Vec::new();
    let mut tx = ctx.db.begin_write().await.map_err(AmoError::from)?;
    for task in &tasks.items {
        counts.tasks += 1;
        let lead_id = match (task.entity_type, task.entity_id) {
            (Some(amo_api::EntityType::Leads), Some(id)) => id as i64,
            _ => continue,
        };
        if task.is_completed {
            copy::remove_task(&mut *tx, account_id, task.id as i64)
                .await
                .map_err(internal)?;
        } else {
            let row = TaskRow {
                id: task.id as i64,
                lead_id,
                responsible_user_id: task.responsible_user_id as i64,
                complete_till: task.complete_till,
                text: task.text.clone(),
                updated_at: task.updated_at,
            };
            copy::upsert_task(&mut *tx, account_id, &row, scan_id)
                .await
                .map_err(internal)?;
        }
        touched.push((lead_id, task.updated_at));
    }
    tx.commit().await.map_err(AmoError::from)?;
    Ok((tasks.next.is_some() && !tasks.items.is_empty(), touched))
}

async fn save_run(
    db: &Db,
    account_id: i64,
    run_id: &str,
    kind: &str,
    counts: Counts,
    finished: bool,
) {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO sync_runs (id, account_id, kind, started_at, finished_at, requests, leads, tasks, events) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET \
         finished_at = excluded.finished_at, requests = excluded.requests, leads = excluded.leads, \
         tasks = excluded.tasks, events = excluded.events",
    )
    .bind(run_id)
    .bind(account_id)
    .bind(kind)
    .bind(now)
    .bind(finished.then_some(now))
    .bind(counts.requests)
    .bind(counts.leads)
    .bind(counts.tasks)
    .bind(counts.events)
    .execute(&db.pool)
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, "recording a sync run failed");
    }
}

/// One recorded scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    pub kind: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub requests: i64,
    pub leads: i64,
    pub tasks: i64,
    pub events: i64,
}

/// The account's scans, oldest first.
pub async fn runs(db: &Db, account_id: i64) -> anyhow::Result<Vec<Run>> {
    let rows = sqlx::query(
        "SELECT kind, started_at, finished_at, requests, leads, tasks, events FROM sync_runs \
         WHERE account_id = $1 ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Run {
                kind: row.try_get("kind")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                requests: row.try_get("requests")?,
                leads: row.try_get("leads")?,
                tasks: row.try_get("tasks")?,
                events: row.try_get("events")?,
            })
        })
        .collect()
}

/// The full scan of an account, resumed from its cursor when one is stored. One scan per account
/// runs at a time; a scan asked for at `requested_ms` is skipped when another finished after that.
pub async fn full_scan(
    ctx: &JobContext,
    account_id: i64,
    requested_ms: Option<i64>,
) -> Result<(), JobError> {
    let name = format!("scan:{account_id}");
    let owner = uuid::Uuid::new_v4().to_string();
    if !crate::leases::acquire(&ctx.db, &name, &owner, ctx.effect_lease_ms)
        .await
        .map_err(internal)?
    {
        return Err(JobError::Defer {
            after_ms: 5000,
            reason: "another full scan of the account is running".into(),
        });
    }
    let finished = accounts::full_finished_ms(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    let served = matches!((requested_ms, finished), (Some(asked), Some(done)) if done > asked);
    let outcome = if served {
        Ok(())
    } else {
        run_full_scan(ctx, account_id, &name, &owner).await
    };
    if let Err(error) = crate::leases::release(&ctx.db, &name, &owner).await {
        tracing::warn!(%error, "releasing the scan lease failed");
    }
    outcome
}

async fn run_full_scan(
    ctx: &JobContext,
    account_id: i64,
    lease: &str,
    owner: &str,
) -> Result<(), JobError> {
    let stored = accounts::scan_cursor(&ctx.db, account_id)
        .await
        .map_err(internal)?
        .and_then(|text| serde_json::from_str::<Cursor>(&text).ok());
    let mut cursor = match stored {
        Some(cursor) => cursor,
        None => {
            let mut cursor = Cursor {
                run_id: uuid::Uuid::now_v7().to_string(),
                scan_id: now_ms(),
                started: ctx.clock.now(),
                phase: Phase::Leads,
                page: 1,
                counts: Counts::default(),
                payments_unread: false,
            };
            preamble(ctx, account_id, &mut cursor.counts).await?;
            cursor
        }
    };
    let save = |cursor: &Cursor| {
        let text = serde_json::to_string(cursor).expect("a cursor serialises");
        let db = ctx.db.clone();
        async move {
            accounts::set_scan_cursor(&db, account_id, &text)
                .await
                .map_err(internal)
        }
    };
    save(&cursor).await?;
    save_run(
        &ctx.db,
        account_id,
        &cursor.run_id,
        "full",
        cursor.counts,
        false,
    )
    .await;
    let mut settled = std::collections::HashSet::new();
    loop {
        let more = match cursor.phase {
            Phase::Leads => {
                leads_page(
                    ctx,
                    account_id,
                    &LeadsQuery::default(),
                    cursor.page,
                    Some(cursor.scan_id),
                    &mut cursor.counts,
                    &mut Vec::new(),
                )
                .await?
            }
            Phase::Tasks => {
                let query = TasksQuery {
                    entity_type: Some(amo_api::EntityType::Leads),
                    is_completed: Some(false),
                    ..TasksQuery::default()
                };
                tasks_page(
                    ctx,
                    account_id,
                    &query,
                    cursor.page,
                    cursor.scan_id,
                    &mut cursor.counts,
                )
                .await?
                .0
            }
            Phase::Events => {
                events_page(
                    ctx,
                    account_id,
                    None,
                    cursor.page,
                    &mut cursor.counts,
                    &mut settled,
                )
                .await?
            }
            Phase::Payments => payments_page(ctx, account_id, &mut cursor).await?,
        };
        if more {
            cursor.page += 1;
        } else {
            cursor.page = 1;
            cursor.phase = match cursor.phase {
                Phase::Leads => Phase::Tasks,
                Phase::Tasks => Phase::Events,
                Phase::Events => Phase::Payments,
                Phase::Payments => break,
            };
        }
        save(&cursor).await?;
        save_run(
            &ctx.db,
            account_id,
            &cursor.run_id,
            "full",
            cursor.counts,
            false,
        )
        .await;
        // Keep the scan's lease as long as pages keep coming.
        crate::leases::acquire(&ctx.db, lease, owner, ctx.effect_lease_ms)
            .await
            .map_err(internal)?;
    }
    copy::finish_full_scan(&ctx.db, account_id, cursor.scan_id)
        .await
        .map_err(internal)?;
    copy::refresh_no_task_all(&ctx.db.pool, account_id)
        .await
        .map_err(internal)?;
    if !cursor.payments_unread {
        payments::finish_full_read(&ctx.db, account_id, cursor.scan_id)
            .await
            .map_err(internal)?;
    }
    accounts::finish_full_scan(&ctx.db, account_id, cursor.started, ctx.clock.now())
        .await
        .map_err(internal)?;
    save_run(
        &ctx.db,
        account_id,
        &cursor.run_id,
        "full",
        cursor.counts,
        true,
    )
    .await;
    tracing::info!(
        account_id,
        requests = cursor.counts.requests,
        leads = cursor.counts.leads,
        tasks = cursor.counts.tasks,
        events = cursor.counts.events,
        payment_records = cursor.counts.elements,
        "full scan finished"
    );
    Ok(())
}

/// Reads one page of the payments catalog (nothing when no catalog is configured); returns whether
/// another page follows. A catalog amoCRM refuses to list is left as the copy has it.
async fn payments_page(
    ctx: &JobContext,
    account_id: i64,
    cursor: &mut Cursor,
) -> Result<bool, JobError> {
    let env = crate::automation::env::AccountEnv::load(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    let Some(store) = payments::store_of(&env.settings) else {
        return Ok(false);
    };
    let currency = payments::currency_of(&env.account);
    let read = payments::catalog_page(
        ctx,
        account_id,
        &store,
        (currency, &env.zone),
        cursor.page,
        cursor.scan_id,
    )
    .await;
    match read {
        Ok((records, more)) => {
            cursor.counts.requests += 1;
            cursor.counts.elements += records as i64;
            Ok(more)
        }
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(account_id, %reason, "the payments catalog could not be read");
            cursor.counts.requests += 1;
            cursor.payments_unread = true;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// The scan's first requests: the account, its users, stages and loss reasons, the widget's saved
/// settings, and the webhook subscription.
async fn preamble(ctx: &JobContext, account_id: i64, counts: &mut Counts) -> Result<(), JobError> {
    let amo = &ctx.amo;
    let account = amo
        .get::<amo_api::Account>(account_id, "/api/v4/account?with=datetime_settings")
        .await?;
    counts.requests += 1;
    let Some(account) = account else {
        return Err(JobError::Retry("the account answered nothing".into()));
    };
    let mut users: Vec<User> = Vec::new();
    for number in 1..=crate::amo::MAX_PAGES {
        let path = format!("/api/v4/users?limit={MAX_LIMIT}&page={number}");
        match page::<User>(amo, account_id, &path, counts).await {
            Ok(page) => {
                let done = page.next.is_none() || page.items.is_empty();
                users.extend(page.items);
                if done {
                    break;
                }
            }
            // Only admins may list users (§8.1); without them the queue shows ids.
            Err(AmoError::Forbidden { .. }) => {
                counts.requests += 1;
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    let lang = users
        .iter()
        .find(|user| user.id == account.current_user_id)
        .and_then(|user| user.lang.clone());
    let timezone = account
        .embedded
        .datetime_settings
        .as_ref()
        .map(|settings| settings.timezone.as_str())
        .filter(|timezone| !timezone.is_empty());
    accounts::update_details(
        &ctx.db,
        account_id,
        &Details {
            subdomain: Some(account.subdomain.as_str()).filter(|s| !s.is_empty()),
            timezone,
            country: account.country.as_deref().filter(|c| !c.is_empty()),
            lang: lang.as_deref().filter(|l| !l.is_empty()),
            currency: account.currency.as_deref().filter(|c| !c.is_empty()),
        },
    )
    .await
    .map_err(internal)?;
    let rows: Vec<UserRow> = users
        .iter()
        .map(|user| UserRow {
            id: user.id as i64,
            name: user.name.clone(),
            group_id: user
                .rights
                .group_id
                .or_else(|| user.embedded.groups.first().map(|group| group.id))
                .unwrap_or(0) as i64,
            lang: user.lang.clone(),
            is_active: user.rights.is_active,
        })
        .collect();
    if !rows.is_empty() {
        copy::replace_users(&ctx.db, account_id, &rows)
            .await
            .map_err(internal)?;
    }

    let pipelines: Page<Pipeline> =
        page(amo, account_id, "/api/v4/leads/pipelines", counts).await?;
    let stages: Vec<StageRow> = pipelines
        .items
        .iter()
        .flat_map(|pipeline| {
            pipeline.embedded.statuses.iter().map(|status| StageRow {
                pipeline_id: i64::from(pipeline.id),
                status_id: i64::from(status.id),
                pipeline_name: pipeline.name.clone(),
                name: status.name.clone(),
            })
        })
        .collect();
    let reasons: Vec<(i64, String)> =
        match page::<LossReason>(amo, account_id, "/api/v4/leads/loss_reasons", counts).await {
            Ok(page) => page
                .items
                .iter()
                .map(|reason| (reason.id as i64, reason.name.clone()))
                .collect(),
            Err(AmoError::Status { status: 404, .. }) | Err(AmoError::Forbidden { .. }) => {
                Vec::new()
            }
            Err(error) => return Err(error.into()),
        };
    copy::replace_stages_and_reasons(&ctx.db, account_id, &stages, &reasons)
        .await
        .map_err(internal)?;

    adopt_widget_settings(ctx, account_id, counts).await?;
    match webhook_subscription::subscribe(ctx, account_id).await {
        Ok(sent) => counts.requests += i64::from(sent),
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(account_id, %reason, "webhooks could not be subscribed; reconciliation alone keeps the copy current")
        }
        Err(error) => return Err(error),
    }
    Ok(())
}

/// Reads the widget's own settings in amoCRM (`settings.config`) and adopts them when they are
/// valid and differ from the stored ones.
async fn adopt_widget_settings(
    ctx: &JobContext,
    account_id: i64,
    counts: &mut Counts,
) -> Result<(), JobError> {
    let path = format!("/api/v4/widgets/{}", ctx.widget_code);
    let widget = match ctx.amo.get::<Value>(account_id, &path).await {
        Ok(widget) => widget,
        Err(AmoError::Status { .. }) | Err(AmoError::Forbidden { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    counts.requests += 1;
    let config = widget
        .as_ref()
        .and_then(|widget| widget["settings"]["config"].as_str().map(str::to_owned))
        .filter(|text| !text.trim().is_empty());
    let Some(config) = config else { return Ok(()) };
    let Ok(settings) = serde_json::from_str::<Settings>(&config) else {
        tracing::warn!(
            account_id,
            "the widget's saved settings are not readable; keeping ours"
        );
        return Ok(());
    };
    let current = account_settings::stored(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    if current.as_ref().map(|(stored, _)| stored) != Some(&settings) {
        match account_settings::save(&ctx.db, account_id, &settings, None)
            .await
            .map_err(internal)?
        {
            Ok(()) => tracing::info!(account_id, "adopted the widget's settings from amoCRM"),
            Err(problems) => {
                tracing::warn!(
                    account_id,
                    count = problems.len(),
                    "the widget's saved settings are invalid; keeping ours"
                )
            }
        }
    }
    Ok(())
}

/// The reconciliation: stage changes, leads and tasks changed since the last one.
pub async fn delta_scan(ctx: &JobContext, account_id: i64) -> Result<(), JobError> {
    let account = accounts::get(&ctx.db, account_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| JobError::Permanent(format!("account {account_id} is unknown")))?;
    let (Some(_), Some(last)) = (account.full_synced_at, account.delta_synced_at) else {
        // The full scan comes first and covers everything.
        return Ok(());
    };
    let started = ctx.clock.now();
    let from = last - OVERLAP_SECONDS;
    let run_id = uuid::Uuid::now_v7().to_string();
    let mut counts = Counts::default();
    let mut settled = std::collections::HashSet::new();
    // Stage changes first, so a lead row that moved finds the event of its move.
    let mut number = 1;
    while events_page(
        ctx,
        account_id,
        Some(from),
        number,
        &mut counts,
        &mut settled,
    )
    .await?
    {
        number += 1;
    }
    let since = TimeRange {
        from: Some(from),
        to: None,
    };
    let leads = LeadsQuery {
        updated_at: since,
        ..LeadsQuery::default()
    };
    let mut number = 1;
    let mut stale = Vec::new();
    while leads_page(
        ctx,
        account_id,
        &leads,
        number,
        None,
        &mut counts,
        &mut stale,
    )
    .await?
    {
        number += 1;
    }
    let tasks = TasksQuery {
        updated_at: since,
        ..TasksQuery::default()
    };
    let mut touched = Vec::new();
    let mut number = 1;
    loop {
        let (more, leads) = tasks_page(ctx, account_id, &tasks, number, 0, &mut counts).await?;
        touched.extend(leads);
        if !more {
            break;
        }
        number += 1;
    }
    for (lead_id, at) in touched {
        copy::refresh_no_task(
            &ctx.db.pool,
            account_id,
            lead_id,
            at,
            audit::SOURCE_TASK_COMPLETED,
        )
        .await
        .map_err(internal)?;
    }
    copy::refresh_no_task_all(&ctx.db.pool, account_id)
        .await
        .map_err(internal)?;
    reread_payments(ctx, account_id, &stale).await?;
    accounts::finish_delta(&ctx.db, account_id, started)
        .await
        .map_err(internal)?;
    save_run(&ctx.db, account_id, &run_id, "delta", counts, true).await;
    Ok(())
}

/// The most deals whose payments a reconciliation re-reads one by one (two requests each); with
/// more, the whole catalog is read instead (one request per 250 records).
pub const PAYMENT_REREADS: usize = 20;

/// Re-reads the payments of deals that changed without a webhook (linking a catalog element
/// changes the deal's `updated_at` and sends none), when the account keeps payments.
async fn reread_payments(ctx: &JobContext, account_id: i64, stale: &[u64]) -> Result<(), JobError> {
    if stale.is_empty() {
        return Ok(());
    }
    let settings = account_settings::load(&ctx.db, account_id)
        .await
        .map_err(internal)?;
    if payments::store_of(&settings).is_none() {
        return Ok(());
    }
    if stale.len() > PAYMENT_REREADS {
        return enqueue_soon(&ctx.db, &ctx.wake, account_id, PAYMENTS_CATALOG, 1)
            .await
            .map_err(internal);
    }
    for &lead_id in stale {
        enqueue_lead_payments(&ctx.db, &ctx.wake, account_id, lead_id, 1)
            .await
            .map_err(internal)?;
    }
    Ok(())
}

/// Applies one webhook event to the copy (no request); returns the lead it concerns.
pub async fn apply_event(
    ctx: &JobContext,
    account_id: i64,
    event: &Event,
) -> anyhow::Result<Option<i64>> {
    let now = ctx.clock.now();
    let at = event.modified_at().unwrap_or(now);
    let mut tx = ctx.db.begin_write().await?;
    let lead_id = match (event.entity, event.action) {
        // A payments note changes nothing in the copy; the deal's payments are re-read.
        (Entity::Lead, Action::Note) => event.lead_id,
        (Entity::Lead, Action::Delete) => {
            copy::delete_lead(&mut *tx, account_id, event.id).await?;
            None
        }
        (Entity::Lead, _) => {
            let facts = LeadFacts {
                id: event.id,
                name: event.name.clone(),
                price: event.price,
                pipeline_id: event.pipeline_id,
                status_id: event.status_id,
                responsible_user_id: event.responsible_user_id,
                group_id: None,
                created_at: event.created_at,
                updated_at: at,
                closed_at: None,
                loss_reason_id: event.loss_reason_id.map(|id| Some(id).filter(|&id| id > 0)),
                tags: event.tags.as_ref().map(|tags| {
                    tags.iter()
                        .map(|tag| TagRow {
                            id: tag.id,
                            name: tag.name.clone(),
                        })
                        .collect()
                }),
                is_deleted: (event.action == Action::Restore).then_some(false),
                from_api: false,
            };
            copy::apply_lead(&mut tx, account_id, &facts, None).await?;
            copy::refresh_no_task(&mut *tx, account_id, event.id, at, audit::source_of(event))
                .await?;
            Some(event.id)
        }
        (Entity::Task, Action::Delete) => {
            let lead = copy::remove_task(&mut *tx, account_id, event.id).await?;
            if let Some(lead) = lead {
                copy::refresh_no_task(&mut *tx, account_id, lead, at, audit::SOURCE_TASK_COMPLETED)
                    .await?;
            }
            lead
        }
        (Entity::Task, _) => match event.lead_id {
            Some(lead) => {
                if event.completed == Some(true) {
                    copy::remove_task(&mut *tx, account_id, event.id).await?;
                } else {
                    let row = TaskRow {
                        id: event.id,
                        lead_id: lead,
                        responsible_user_id: event.responsible_user_id.unwrap_or(0),
                        complete_till: event.complete_till.unwrap_or(0),
                        text: event.name.clone().unwrap_or_default(),
                        updated_at: event
                            .modified
                            .as_deref()
                            .and_then(|text| text.parse().ok())
                            .unwrap_or(at),
                    };
                    copy::upsert_task(&mut *tx, account_id, &row, 0).await?;
                }
                copy::refresh_no_task(&mut *tx, account_id, lead, at, audit::SOURCE_TASK_COMPLETED)
                    .await?;
                Some(lead)
            }
            // A task of a contact or company moved away from a lead: drop it if we had it.
            None => copy::remove_task(&mut *tx, account_id, event.id).await?,
        },
    };
    tx.commit().await?;
    Ok(lead_id)
}

/// The JSON `GET /api/sync` shows: the freshness of the copy and the latest scans.
pub async fn describe(db: &Db, account_id: i64) -> anyhow::Result<Value> {
    let account = accounts::get(db, account_id).await?;
    let runs = runs(db, account_id).await?;
    Ok(json!({
        "full_synced_at": account.as_ref().and_then(|a| a.full_synced_at),
        "delta_synced_at": account.as_ref().and_then(|a| a.delta_synced_at),
        "runs": runs.iter().rev().take(20).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_events_come_from_the_feed_page() {
        let page = json!({
            "_links": {"next": {"href": "http://x/api/v4/events?page=2"}},
            "_embedded": {"events": [
                {"type": "lead_status_changed", "entity_id": 5, "created_at": 1_700_000_000,
                 "value_after": [{"lead_status": {"id": 142, "pipeline_id": 3}}]},
                {"type": "lead_added", "entity_id": 6, "created_at": 1_700_000_001},
                {"type": "lead_status_changed", "entity_id": "7", "created_at": "1700000002",
                 "value_after": []},
            ]},
        });
        let (events, next) = status_events(&page);
        assert!(next);
        assert_eq!(
            events,
            vec![
                StatusEvent {
                    lead_id: 5,
                    at: 1_700_000_000,
                    to: Some((3, 142))
                },
                StatusEvent {
                    lead_id: 7,
                    at: 1_700_000_002,
                    to: None
                },
            ]
        );
        let only_others = json!({
            "_links": {"next": {"href": "x"}},
            "_embedded": {"events": [{"type": "lead_added", "entity_id": 6, "created_at": 1}]},
        });
        assert_eq!(status_events(&only_others), (Vec::new(), true));
        assert_eq!(status_events(&json!({"_links": {}})), (Vec::new(), false));
    }
}
