//! The widget-facing API beyond `/api/account`, every route scoped to the JWT's account:
//!
//! * `GET /api/qc` — the quality-control queue (`leakguard_core::automation::quality_queue` over the
//!   synced copy): kind, deal, manager, stage, value, age, plus the supervisor's acknowledgement and
//!   comments; `POST /api/qc/{id}/ack`, `…/comment` (`{"text"}`), `…/reassign` (`{"user_id"}`, which
//!   PATCHes the lead's responsible user in amoCRM).
//! * `GET /api/settings`, `PUT /api/settings` — the account's `Settings`, validated.
//! * `GET /api/metrics?from&to&pipeline&manager&group` — `leakguard_core::metrics::key_metrics` from
//!   the copy, with `synced_at`.
//! * `GET /api/audit` — what the automations did; `GET /api/sync` — the copy's freshness and scans.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use leakguard_core::automation::{quality_queue, Breach, BreachKind};
use leakguard_core::metrics::{
    key_metrics, Breakdown, Bucket, Filter, KeyMetrics, LostDeals, MetricsInput, Period,
};
use leakguard_core::settings::Settings;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::app::AppState;
use crate::auth::Widget;
use crate::automation::env::AccountEnv;
use crate::automation::payments::Ledgers;
use crate::copy::{self, LeadRow};
use crate::db::now_ms;
use crate::jobs::handlers::{enqueue_soon, AUTOMATION_PASS};
use crate::{account_settings, audit, automation, sync};
use leakguard_core::dates::{local_date_of, YearMonth};
use leakguard_core::payments::{margin_report, DealLedger, OverduePayment};
use leakguard_core::settings::PlanScope;

fn error(status: StatusCode, code: &str, detail: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({ "error": code, "detail": detail.to_string() })),
    )
        .into_response()
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a widget API request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "internal error" })),
    )
        .into_response()
}

fn kind_name(kind: BreachKind) -> &'static str {
    match kind {
        BreachKind::NoNextStep => "no_next_step",
        BreachKind::Stuck => "stuck",
        BreachKind::Escalated => "escalated",
        BreachKind::OverdueTask => "overdue_task",
        BreachKind::LostWithoutReason => "lost_without_reason",
    }
}

/// A breach's stable id: kind, deal and start (and the task of an overdue-task breach).
pub fn breach_id(breach: &Breach) -> String {
    let mut id = format!(
        "{}-{}-{}",
        kind_name(breach.kind),
        breach.deal_id,
        breach.since
    );
    if let Some(task) = breach.task_id {
        id.push_str(&format!("-{task}"));
    }
    id
}

/// The deal id inside a breach id.
fn deal_of(breach_id: &str) -> Option<i64> {
    // `kind-deal-since` or `kind-deal-since-task`; kinds contain no dashes.
    let mut fields = breach_id.split('-');
    let _kind = fields.next()?;
    fields.next()?.parse().ok()
}

/// Everything the queue and the metrics read from the copy.
struct Snapshot {
    env: AccountEnv,
    leads: Vec<LeadRow>,
    tasks: Vec<copy::TaskRow>,
}

async fn snapshot(state: &AppState, account_id: i64) -> anyhow::Result<Option<Snapshot>> {
    if crate::accounts::get(&state.db, account_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(Snapshot {
        env: AccountEnv::load(&state.db, account_id).await?,
        leads: copy::leads(&state.db, account_id).await?,
        tasks: copy::tasks(&state.db, account_id).await?,
    }))
}

fn not_installed() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_installed",
        "the account has not installed LeakGuard",
    )
}

/// Query of `GET /api/qc`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QcQuery {
    pub kind: Option<String>,
    pub manager: Option<i64>,
}

/// `GET /api/qc`: the current breaches, oldest first.
pub async fn qc_list(
    State(state): State<AppState>,
    Widget(claims): Widget,
    Query(query): Query<QcQuery>,
) -> Response {
    let account_id = claims.account_id;
    let snap = match snapshot(&state, account_id).await {
        Ok(Some(snap)) => snap,
        Ok(None) => return not_installed(),
        Err(error) => return internal(error),
    };
    let now = state.clock.now();
    let deals: Vec<_> = snap.leads.iter().map(LeadRow::deal).collect();
    let tasks: Vec<_> = snap.tasks.iter().map(copy::TaskRow::task_ref).collect();
    let no_task: HashMap<u64, i64> = snap
        .leads
        .iter()
        .filter_map(|lead| Some((lead.id as u64, lead.no_task_since?)))
        .collect();
    let breaches = quality_queue(
        &deals,
        &tasks,
        &snap.env.settings,
        now,
        &snap.env.rules(),
        &|deal| no_task.get(&deal.id).copied(),
    );
    let (users, stages, notes) = match tokio::try_join!(
        copy::users(&state.db, account_id),
        copy::stages(&state.db, account_id),
        qc_notes(&state, account_id),
    ) {
        Ok(all) => all,
        Err(error) => return internal(error),
    };
    let names: HashMap<u64, &str> = snap
        .leads
        .iter()
        .map(|lead| (lead.id as u64, lead.name.as_str()))
        .collect();
    let base = &snap.env.account.base_url;
    let items: Vec<Value> = breaches
        .iter()
        .filter(|breach| query.kind.as_deref().is_none_or(|kind| kind == kind_name(breach.kind)))
        .filter(|breach| query.manager.is_none_or(|id| breach.manager_id == id as u64))
        .map(|breach| {
            let id = breach_id(breach);
            let manager = users.get(&(breach.manager_id as i64));
            let stage = stages.get(&(
                i64::from(breach.stage.pipeline_id),
                i64::from(breach.stage.status_id),
            ));
            let note = notes.get(&id);
            json!({
                "id": id,
                "kind": kind_name(breach.kind),
                "deal": {
                    "id": breach.deal_id,
                    "name": names.get(&breach.deal_id).copied().unwrap_or_default(),
                    "url": format!("{base}/leads/detail/{}", breach.deal_id),
                },
                "manager": { "id": breach.manager_id, "name": manager.map(|user| user.name.as_str()) },
                "stage": {
                    "pipeline_id": breach.stage.pipeline_id,
                    "status_id": breach.stage.status_id,
                    "pipeline": stage.map(|stage| stage.pipeline_name.as_str()),
                    "name": stage.map(|stage| stage.name.as_str()),
                },
                "value": breach.value,
                "since": breach.since,
                "age_seconds": breach.age,
                "task_id": breach.task_id,
                "acknowledged": note.and_then(|note| note.get("acknowledged").cloned()),
                "comments": note.map_or(json!([]), |note| note["comments"].clone()),
            })
        })
        .collect();
    Json(json!({
        "now": now,
        "synced_at": snap.env.account.delta_synced_at.max(snap.env.account.full_synced_at),
        "breaches": items,
    }))
    .into_response()
}

async fn qc_notes(state: &AppState, account_id: i64) -> anyhow::Result<HashMap<String, Value>> {
    let rows = sqlx::query(
        "SELECT breach_id, acked_by, acked_at, comments FROM qc_notes WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let acked_at: Option<i64> = row.try_get("acked_at")?;
            let acked_by: Option<i64> = row.try_get("acked_by")?;
            let comments: String = row.try_get("comments")?;
            Ok((
                row.try_get("breach_id")?,
                json!({
                    "acknowledged": acked_at.map(|at| json!({ "at": at, "by": acked_by })),
                    "comments": serde_json::from_str::<Value>(&comments).unwrap_or(json!([])),
                }),
            ))
        })
        .collect()
}

/// Adds to a breach's note: an acknowledgement and/or a comment.
async fn touch_note(
    state: &AppState,
    account_id: i64,
    breach: &str,
    user_id: Option<i64>,
    ack: bool,
    comment: Option<&str>,
) -> anyhow::Result<Value> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(
        "SELECT acked_by, acked_at, comments FROM qc_notes WHERE account_id = $1 AND breach_id = $2",
    )
    .bind(account_id)
    .bind(breach)
    .fetch_optional(&mut *tx)
    .await?;
    let (mut acked_by, mut acked_at, mut comments) = match row {
        Some(row) => (
            row.try_get::<Option<i64>, _>("acked_by")?,
            row.try_get::<Option<i64>, _>("acked_at")?,
            serde_json::from_str::<Vec<Value>>(&row.try_get::<String, _>("comments")?)
                .unwrap_or_default(),
        ),
        None => (None, None, Vec::new()),
    };
    if ack {
        acked_by = user_id;
        acked_at = Some(now);
    }
    if let Some(text) = comment {
        comments.push(json!({ "at": now, "by": user_id, "text": text }));
    }
    sqlx::query(
        "INSERT INTO qc_notes (account_id, breach_id, acked_by, acked_at, comments, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, breach_id) DO UPDATE SET \
         acked_by = excluded.acked_by, acked_at = excluded.acked_at, comments = excluded.comments, \
         updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(breach)
    .bind(acked_by)
    .bind(acked_at)
    .bind(serde_json::to_string(&comments)?)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(json!({
        "id": breach,
        "acknowledged": acked_at.map(|at| json!({ "at": at, "by": acked_by })),
        "comments": comments,
    }))
}

/// The breach id of a request, if it names a deal of the caller's account.
async fn own_breach(state: &AppState, account_id: i64, id: &str) -> Result<i64, Response> {
    let Some(deal) = deal_of(id) else {
        return Err(error(StatusCode::BAD_REQUEST, "bad_id", "not a breach id"));
    };
    match copy::lead(&state.db.pool, account_id, deal).await {
        Ok(Some(_)) => Ok(deal),
        Ok(None) => Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such deal in this account",
        )),
        Err(error) => Err(internal(error)),
    }
}

/// `POST /api/qc/{id}/ack`.
pub async fn qc_ack(
    State(state): State<AppState>,
    Widget(claims): Widget,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = own_breach(&state, claims.account_id, &id).await {
        return response;
    }
    match touch_note(&state, claims.account_id, &id, claims.user_id, true, None).await {
        Ok(note) => Json(note).into_response(),
        Err(error) => internal(error),
    }
}

/// Body of `POST /api/qc/{id}/comment`.
#[derive(Debug, Deserialize)]
pub struct CommentBody {
    pub text: String,
}

/// `POST /api/qc/{id}/comment`.
pub async fn qc_comment(
    State(state): State<AppState>,
    Widget(claims): Widget,
    Path(id): Path<String>,
    Json(body): Json<CommentBody>,
) -> Response {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_comment",
            "a comment has 1 to 2000 characters",
        );
    }
    if let Err(response) = own_breach(&state, claims.account_id, &id).await {
        return response;
    }
    match touch_note(
        &state,
        claims.account_id,
        &id,
        claims.user_id,
        false,
        Some(text),
    )
    .await
    {
        Ok(note) => Json(note).into_response(),
        Err(error) => internal(error),
    }
}

/// Body of `POST /api/qc/{id}/reassign`.
#[derive(Debug, Deserialize)]
pub struct ReassignBody {
    pub user_id: u64,
}

/// `POST /api/qc/{id}/reassign`: makes `user_id` the deal's responsible user in amoCRM.
pub async fn qc_reassign(
    State(state): State<AppState>,
    Widget(claims): Widget,
    Path(id): Path<String>,
    Json(body): Json<ReassignBody>,
) -> Response {
    let account_id = claims.account_id;
    let deal = match own_breach(&state, account_id, &id).await {
        Ok(deal) => deal,
        Err(response) => return response,
    };
    if body.user_id == 0 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_user",
            "user_id is required",
        );
    }
    // Not yet: amo-api's `LeadPatch` has no `responsible_user_id`, so this one field is sent as JSON here.
    let patch = json!({ "responsible_user_id": body.user_id });
    let path = format!("/api/v4/leads/{deal}");
    if let Err(failure) = state
        .amo
        .send(account_id, Method::PATCH, &path, Some(&patch))
        .await
    {
        return error(StatusCode::BAD_GATEWAY, "amocrm", failure);
    }
    if let Err(failure) =
        copy::set_responsible(&state.db, account_id, deal, body.user_id as i64).await
    {
        return internal(failure);
    }
    let comment = format!("reassigned to user {}", body.user_id);
    match touch_note(
        &state,
        account_id,
        &id,
        claims.user_id,
        false,
        Some(&comment),
    )
    .await
    {
        Ok(note) => Json(
            json!({ "reassigned": true, "deal_id": deal, "user_id": body.user_id, "note": note }),
        )
        .into_response(),
        Err(error) => internal(error),
    }
}

/// `GET /api/settings`.
pub async fn settings_get(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match account_settings::stored(&state.db, claims.account_id).await {
        Ok(Some((settings, updated_at))) => {
            Json(json!({ "settings": settings, "updated_at": updated_at, "defaults": false }))
                .into_response()
        }
        Ok(None) => {
            Json(json!({ "settings": Settings::default(), "updated_at": null, "defaults": true }))
                .into_response()
        }
        Err(error) => internal(error),
    }
}

/// `PUT /api/settings` with the `Settings` JSON: 200 with the stored settings, or 422 with every problem.
pub async fn settings_put(
    State(state): State<AppState>,
    Widget(claims): Widget,
    body: axum::body::Bytes,
) -> Response {
    let settings: Settings = match serde_json::from_slice(&body) {
        Ok(settings) => settings,
        Err(failure) => return error(StatusCode::BAD_REQUEST, "bad_json", failure),
    };
    match account_settings::save(&state.db, claims.account_id, &settings, claims.user_id).await {
        Ok(Ok(())) => {
            if let Err(error) =
                enqueue_soon(&state.db, &state.wake, claims.account_id, AUTOMATION_PASS, 1).await
            {
                tracing::warn!(%error, "scheduling an automation pass failed");
            }
            Json(json!({ "settings": settings, "saved": true })).into_response()
        }
        Ok(Err(problems)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "invalid_settings",
                "problems": problems.iter().map(|p| json!({ "path": p.path, "key": p.key })).collect::<Vec<_>>(),
            })),
        )
            .into_response(),
        Err(error) => internal(error),
    }
}

/// Query of `GET /api/metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MetricsQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub pipeline: Option<u32>,
    pub manager: Option<u64>,
    pub group: Option<u64>,
}

fn bucket(bucket: &Bucket) -> Value {
    json!({ "count": bucket.count, "value": bucket.value, "deal_ids": bucket.deal_ids })
}

fn breakdown(breakdown: &Breakdown) -> Value {
    json!({
        "total": bucket(&breakdown.total),
        "by_stage": breakdown.by_stage.iter().map(|(stage, b)| json!({
            "pipeline_id": stage.pipeline_id, "status_id": stage.status_id, "bucket": bucket(b),
        })).collect::<Vec<_>>(),
        "by_manager": breakdown.by_manager.iter().map(|(user, b)| json!({
            "user_id": user, "bucket": bucket(b),
        })).collect::<Vec<_>>(),
    })
}

fn lost(lost: &LostDeals) -> Value {
    json!({
        "total": bucket(&lost.total),
        "by_reason": lost.by_reason.iter().map(|row| json!({
            "reason_id": row.reason_id,
            "bucket": bucket(&row.bucket),
            "count_share_bp": row.count_share_bp,
            "value_share_bp": row.value_share_bp,
        })).collect::<Vec<_>>(),
        "by_manager": lost.by_manager.iter().map(|(user, b)| json!({
            "user_id": user, "bucket": bucket(b),
        })).collect::<Vec<_>>(),
    })
}

/// The core's key metrics as JSON.
pub fn metrics_json(metrics: &KeyMetrics) -> Value {
    json!({
        "lost": lost(&metrics.lost),
        "lost_previous": lost(&metrics.lost_previous),
        "overdue_tasks": breakdown(&metrics.overdue_tasks),
        "without_task": breakdown(&metrics.without_task),
        "overdue_payments": {
            "total": bucket(&metrics.overdue_payments.total),
            "by_manager": metrics.overdue_payments.by_manager.iter().map(|(user, b)| json!({
                "user_id": user, "bucket": bucket(b),
            })).collect::<Vec<_>>(),
        },
        "stuck": {
            "stuck": breakdown(&metrics.stuck.stuck),
            "escalated": bucket(&metrics.stuck.escalated),
        },
    })
}

/// `GET /api/metrics`: the key metrics over the synced copy (the last 30 days by default).
pub async fn metrics(
    State(state): State<AppState>,
    Widget(claims): Widget,
    Query(query): Query<MetricsQuery>,
) -> Response {
    let snap = match snapshot(&state, claims.account_id).await {
        Ok(Some(snap)) => snap,
        Ok(None) => return not_installed(),
        Err(error) => return internal(error),
    };
    let now = state.clock.now();
    let to = query.to.unwrap_or(now);
    let from = query.from.unwrap_or(to - 30 * 86_400);
    if from >= to {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_period",
            "from must be before to",
        );
    }
    let deals: Vec<_> = snap.leads.iter().map(LeadRow::deal).collect();
    let tasks: Vec<_> = snap.tasks.iter().map(copy::TaskRow::task_ref).collect();
    let filter = Filter {
        period: Period { from, to },
        pipeline_id: query.pipeline,
        manager_id: query.manager,
        group_id: query.group,
    };
    let payments = match payments_report(&state, &snap, &query, now, (from, to)).await {
        Ok(report) => report,
        Err(error) => return internal(error),
    };
    let input = MetricsInput {
        deals: &deals,
        tasks: &tasks,
        overdue_payments: &payments.overdue,
    };
    let metrics = key_metrics(
        &input,
        &filter,
        &snap.env.settings.stuck,
        now,
        &snap.env.rules(),
    );
    let account = &snap.env.account;
    Json(json!({
        "now": now,
        "period": { "from": from, "to": to },
        "synced_at": account.delta_synced_at.max(account.full_synced_at),
        "metrics": metrics_json(&metrics),
        "payments": payments.json,
    }))
    .into_response()
}

/// What `/api/metrics` says about payments: the overdue list (all of it, for the key metric) and
/// the `payments` JSON of the page's filters.
struct PaymentsReport {
    overdue: Vec<OverduePayment>,
    json: Value,
}

/// Whether a deal passes the metrics page's pipeline, manager and group filters.
fn in_filter(lead: &LeadRow, query: &MetricsQuery) -> bool {
    !lead.is_deleted
        && query
            .pipeline
            .is_none_or(|id| lead.pipeline_id == i64::from(id))
        && query
            .manager
            .is_none_or(|id| lead.responsible_user_id == id as i64)
        && query.group.is_none_or(|id| lead.group_id == id as i64)
}

/// The overdue payments (deal, manager, due date, outstanding money, days, reminder task) and
/// money at risk from the synced copy of the payments, plus the margin plan of every month of
/// the period (at most 24, the latest kept).
async fn payments_report(
    state: &AppState,
    snap: &Snapshot,
    query: &MetricsQuery,
    now: i64,
    (from, to): (i64, i64),
) -> anyhow::Result<PaymentsReport> {
    let env = &snap.env;
    let account_id = env.account.account_id;
    let ledgers = Ledgers::load(&state.db, env).await?;
    let overdue = ledgers.overdue(&snap.leads, env, now);
    let (users, reminders) = tokio::try_join!(
        copy::users(&state.db, account_id),
        automation::payments::reminders(&state.db, account_id),
    )?;
    let leads: HashMap<u64, &LeadRow> = snap
        .leads
        .iter()
        .map(|lead| (lead.id as u64, lead))
        .collect();
    let base = &env.account.base_url;
    let user = |id: u64| json!({ "id": id, "name": users.get(&(id as i64)).map(|user| user.name.as_str()) });
    let shown: Vec<&OverduePayment> = overdue
        .iter()
        .filter(|payment| {
            leads
                .get(&payment.deal_id)
                .is_some_and(|lead| in_filter(lead, query))
        })
        .collect();
    let at_risk = shown
        .iter()
        .fold(0i64, |sum, payment| sum.saturating_add(payment.amount));
    let list: Vec<Value> = shown
        .iter()
        .map(|payment| {
            let reminder = reminders.get(&(payment.planned_id, payment.due.days_since_epoch()));
            json!({
                "deal": {
                    "id": payment.deal_id,
                    "name": leads.get(&payment.deal_id).map(|lead| lead.name.as_str()),
                    "url": format!("{base}/leads/detail/{}", payment.deal_id),
                },
                "manager": user(payment.responsible_user_id),
                "planned_id": payment.planned_id,
                "due": payment.due.to_string(),
                "outstanding": payment.amount,
                "days_overdue": payment.days_overdue,
                "reminder_task_id": reminder.map(|(task, _)| task),
            })
        })
        .collect();
    let ledgers_in_filter: Vec<DealLedger<'_>> = ledgers
        .payments
        .iter()
        .filter_map(|(id, payments)| {
            let lead = leads.get(id).filter(|lead| in_filter(lead, query))?;
            Some(DealLedger {
                deal_id: *id,
                responsible_user_id: lead.responsible_user_id as u64,
                payments,
            })
        })
        .collect();
    let first = YearMonth::of(local_date_of(from, &env.zone));
    let last = YearMonth::of(local_date_of(to.saturating_sub(1).max(from), &env.zone));
    let mut months = Vec::new();
    let mut month = first;
    while month <= last {
        months.push(month);
        month = month.add_months(1);
    }
    let skip = months.len().saturating_sub(24);
    let margin: Vec<Value> = months[skip..]
        .iter()
        .map(|&month| {
            let rows = margin_report(
                month,
                &ledgers_in_filter,
                &env.settings.payments.margin_plan,
            );
            json!({
                "month": month.to_string(),
                "rows": rows.iter().map(|row| json!({
                    "scope": row.scope,
                    "manager": match row.scope {
                        PlanScope::Company => Value::Null,
                        PlanScope::Manager { user_id } => user(user_id),
                    },
                    "target": row.target,
                    "fact": row.fact,
                    "completion_bp": row.completion_bp,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let json = json!({
        "enabled": crate::payments::store_of(&env.settings).is_some(),
        "currency": ledgers.currency.code(),
        "at_risk": at_risk,
        "overdue": list,
        "margin": margin,
    });
    Ok(PaymentsReport { overdue, json })
}

/// `GET /api/audit`: the latest 200 automation actions.
pub async fn audit_log(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match audit::recent(&state.db, claims.account_id, 200).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(error) => internal(error),
    }
}

/// `GET /api/sync`: the copy's freshness and the latest scans with their request counts.
pub async fn sync_state(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match sync::describe(&state.db, claims.account_id).await {
        Ok(value) => Json(value).into_response(),
        Err(error) => internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::deal::StageRef;

    #[test]
    fn breach_ids_name_their_deal() {
        let breach = Breach {
            kind: BreachKind::OverdueTask,
            deal_id: 42,
            manager_id: 1,
            stage: StageRef::new(1, 2),
            value: 0,
            since: 1_700_000_000,
            age: 5,
            task_id: Some(9),
        };
        let id = breach_id(&breach);
        assert_eq!(id, "overdue_task-42-1700000000-9");
        assert_eq!(deal_of(&id), Some(42));
        assert_eq!(deal_of("stuck-7-1"), Some(7));
        assert_eq!(deal_of("garbage"), None);
    }
}
