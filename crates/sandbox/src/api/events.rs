//! The event feed: `GET /api/v4/events` with its filters and `GET /api/v4/events/{id}` (the RU "События и примечания"
//! page: newest first, at most 100 per page, 204 when empty).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::ApiResult;
use crate::query::{Node, Query};
use crate::routes::AppState;
use crate::state::model::Event;
use crate::state::store::Store;

/// The largest page of events (the docs say "Максимум – 100").
pub const MAX_EVENTS_LIMIT: usize = 100;

/// Event routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{id}", get(get_one))
}

/// The path of an event's entity.
fn entity_path(entity_type: &str) -> &'static str {
    match entity_type {
        "lead" => "leads",
        "task" => "tasks",
        "contact" => "contacts",
        "company" => "companies",
        _ => "customers",
    }
}

/// The event model; `with=lead_name` adds the lead's name to `_embedded.entity`.
fn render(store: &Store, base: &str, event: &Event, with: &[&str]) -> Value {
    let path = entity_path(event.entity_type);
    let mut entity = json!({
        "id": event.entity_id,
        "_links": self_link(format!("{base}/api/v4/{path}/{}", event.entity_id)),
    });
    if event.entity_type == "lead" && with.contains(&"lead_name") {
        if let Some(lead) = store.leads.get(&event.entity_id) {
            entity["name"] = json!(lead.name);
        }
    }
    json!({
        "id": event.id,
        "type": event.kind,
        "entity_id": event.entity_id,
        "entity_type": event.entity_type,
        "created_by": event.created_by,
        "created_at": event.created_at,
        "value_after": event.value_after,
        "value_before": event.value_before,
        "account_id": store.account.id,
        "_links": self_link(format!("{base}/api/v4/events/{}", event.id)),
        "_embedded": {"entity": entity},
    })
}

/// A filter's values: `x[]=a&x[]=b`, `x[0]=a`, or the SDK's comma-joined `x=a,b`.
fn list_values(node: &Node) -> Vec<String> {
    node.values()
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn ints(node: &Node) -> Vec<i64> {
    list_values(node)
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// `filter[created_at]`: `[from]`/`[to]`, a bare timestamp meaning "created since", or the SDK's `from,to`.
fn created_at_matches(node: &Node, at: i64) -> bool {
    if let Some(range) = node.range() {
        return range.contains(Some(at));
    }
    let bounds = ints(node);
    match bounds.as_slice() {
        [] => true,
        [from] => at >= *from,
        [from, to, ..] => at >= *from && at <= *to,
    }
}

/// The first change object of a value array, e.g. `value_after[0].lead_status`.
fn first<'a>(values: &'a Value, key: &str) -> Option<&'a Value> {
    values.get(0).and_then(|v| v.get(key))
}

/// `filter[value_after|value_before]`: `leads_statuses[N][pipeline_id|status_id]` and `responsible_user_id` lists.
fn value_matches(node: &Node, values: &Value) -> bool {
    if let Some(statuses) = node.child("leads_statuses") {
        let Some(status) = first(values, "lead_status") else {
            return false;
        };
        let hit = statuses.children().iter().any(|(_, pair)| {
            let want = |key: &str, field: &str| {
                pair.child(key)
                    .and_then(Node::as_str)
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .is_none_or(|id| status.get(field).and_then(Value::as_i64) == Some(id))
            };
            want("pipeline_id", "pipeline_id") && want("status_id", "id")
        });
        if !hit {
            return false;
        }
    }
    if let Some(users) = node.child("responsible_user_id") {
        let wanted = ints(users);
        let user = first(values, "responsible_user").and_then(|u| u.get("id")?.as_i64());
        if !user.is_some_and(|u| wanted.contains(&u)) {
            return false;
        }
    }
    true
}

/// Whether an event passes the filters; `entity_id` counts only with exactly one `entity`, and unknown keys are ignored.
fn matches(event: &Event, filter: &Node) -> bool {
    if let Some(ids) = filter.child("id").map(list_values) {
        if !ids.contains(&event.id) {
            return false;
        }
    }
    if let Some(types) = filter.child("type").map(list_values) {
        if !types.contains(&event.kind) {
            return false;
        }
    }
    if let Some(entities) = filter.child("entity").map(list_values) {
        if !entities.iter().any(|e| e == event.entity_type) {
            return false;
        }
        if let (1, Some(ids)) = (entities.len(), filter.child("entity_id").map(ints)) {
            if !ids.contains(&(event.entity_id as i64)) {
                return false;
            }
        }
    }
    if let Some(users) = filter.child("created_by").map(ints) {
        if !users.contains(&(event.created_by as i64)) {
            return false;
        }
    }
    if let Some(created) = filter.child("created_at") {
        if !created_at_matches(created, event.created_at) {
            return false;
        }
    }
    if let Some(after) = filter.child("value_after") {
        if !value_matches(after, &event.value_after) {
            return false;
        }
    }
    if let Some(before) = filter.child("value_before") {
        if !value_matches(before, &event.value_before) {
            return false;
        }
    }
    true
}

/// `GET /events`: newest first, `limit` at most 100.
async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let options = state.options();
    let page = Page::from_query_max(&query, &options, MAX_EVENTS_LIMIT)?;
    let filter = query.get(&["filter"]).filter(|_| options.filters_enabled);
    let with = query.with();
    let store = state.store();
    let mut events: Vec<&Event> = store
        .events
        .iter()
        .filter(|e| filter.is_none_or(|f| matches(e, f)))
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.seq)));
    let base = state.app_url();
    Ok(paged(
        List {
            base,
            path: "/api/v4/events",
            query: &query,
            page,
        },
        "events",
        &events,
        Totals::None,
        |e| render(&store, base, e, &with),
    ))
}

/// `GET /events/{id}`: the bare event, or 204 when there is none.
async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    match store.events.iter().find(|e| e.id == id) {
        Some(event) => Ok(hal(render(&store, state.app_url(), event, &query.with()))),
        None => Ok(no_content()),
    }
}
