//! Tasks: filtered list, create, update and completion, keeping each lead's `closest_task_at` (amocrm-api-v4.md §5).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};

use super::validate::{self, join, not_a_choice, Field};
use super::{parse_id, read_batch, read_object, request_id, validate_batch};
use crate::auth::Caller;
use crate::changes::Change;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::{Node, Query};
use crate::routes::AppState;
use crate::state::model::Task;
use crate::state::store::Store;

/// Task routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list).post(create).patch(update_batch))
        .route("/tasks/{id}", get(get_one).patch(update_one))
}

/// The JSON of a task; `result` is `[]` when empty (a PHP artefact the docs show).
pub fn render_task(base: &str, account_id: u64, task: &Task) -> Value {
    json!({
        "id": task.id,
        "created_by": task.created_by,
        "updated_by": task.updated_by,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "responsible_user_id": task.responsible_user_id,
        "group_id": task.group_id,
        "entity_id": task.entity_id,
        "entity_type": task.entity_type,
        "duration": task.duration,
        "is_completed": task.is_completed,
        "task_type_id": task.task_type_id,
        "text": task.text,
        "result": match &task.result { Some(text) => json!({"text": text}), None => json!([]) },
        "complete_till": task.complete_till,
        "account_id": account_id,
        "_links": self_link(format!("{base}/api/v4/tasks/{}", task.id)),
    })
}

/// Whether a task passes the filters of §5.2; `entity_id` counts only together with `entity_type`.
fn matches(task: &Task, filter: &Node) -> bool {
    let ints = |key: &str| filter.child(key).map(Node::ints);
    if let Some(users) = ints("responsible_user_id") {
        if !users.contains(&(task.responsible_user_id as i64)) {
            return false;
        }
    }
    if let Some(done) = filter.child("is_completed").and_then(Node::as_str) {
        let wanted = matches!(done, "1" | "true");
        if task.is_completed != wanted {
            return false;
        }
    }
    let mut types = ints("task_type").unwrap_or_default();
    types.extend(ints("task_type_id").unwrap_or_default());
    if (filter.child("task_type").is_some() || filter.child("task_type_id").is_some())
        && !types.contains(&(task.task_type_id as i64))
    {
        return false;
    }
    if let Some(entity_types) = filter.child("entity_type").map(Node::values) {
        if !task
            .entity_type
            .as_deref()
            .is_some_and(|t| entity_types.contains(&t))
        {
            return false;
        }
        if let Some(ids) = ints("entity_id") {
            if !task.entity_id.is_some_and(|id| ids.contains(&(id as i64))) {
                return false;
            }
        }
    }
    if let Some(ids) = ints("id") {
        if !ids.contains(&(task.id as i64)) {
            return false;
        }
    }
    if let Some(users) = ints("created_by") {
        if !users.contains(&(task.created_by as i64)) {
            return false;
        }
    }
    if let Some(updated) = filter.child("updated_at") {
        let ok = match (updated.as_str(), updated.range()) {
            (Some(since), _) => since
                .trim()
                .parse::<i64>()
                .is_ok_and(|s| task.updated_at >= s),
            (None, Some(range)) => range.contains(Some(task.updated_at)),
            (None, None) => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let options = state.options();
    let page = Page::from_query(&query, &options)?;
    let filter = query.get(&["filter"]).filter(|_| options.filters_enabled);
    let store = state.store();
    let lead_statuses = filter.and_then(|f| f.child("lead_statuses"));
    let mut tasks: Vec<&Task> = store
        .tasks
        .values()
        .filter(|t| filter.is_none_or(|f| matches(t, f)))
        .filter(|t| lead_statuses.is_none_or(|s| in_lead_statuses(&store, t, s)))
        .collect();
    if let Some((key, desc)) = query.order(&["complete_till", "created_at", "id"]) {
        match key.as_str() {
            "complete_till" => tasks.sort_by_key(|t| (t.complete_till, t.id)),
            "created_at" => tasks.sort_by_key(|t| (t.created_at, t.id)),
            _ => {}
        }
        if desc {
            tasks.reverse();
        }
    }
    let base = state.app_url();
    let account = store.account.id;
    Ok(paged(
        List {
            base,
            path: "/api/v4/tasks",
            query: &query,
            page,
        },
        "tasks",
        &tasks,
        Totals::None,
        |t| render_task(base, account, t),
    ))
}

/// The SDK-only `filter[lead_statuses][N][pipeline_id|status_id]`: tasks of leads in those stages.
fn in_lead_statuses(store: &Store, task: &Task, statuses: &Node) -> bool {
    let Some(lead) = task
        .entity_id
        .filter(|_| task.entity_type.as_deref() == Some("leads"))
        .and_then(|id| store.leads.get(&id))
    else {
        return false;
    };
    statuses.children().iter().any(|(_, pair)| {
        pair.child("pipeline_id")
            .is_some_and(|p| p.ints().contains(&(lead.pipeline_id as i64)))
            && pair
                .child("status_id")
                .is_some_and(|s| s.ints().contains(&(lead.status_id as i64)))
    })
}

/// `GET /tasks/{id}`: the bare task, or 204 when there is none.
async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    match store.tasks.get(&id) {
        Some(task) => Ok(hal(render_task(state.app_url(), store.account.id, task))),
        None => Ok(no_content()),
    }
}

/// Validates a task object and applies it onto `task` (a fresh default for creates).
fn check(
    store: &Store,
    object: &Map<String, Value>,
    mut task: Task,
    creating: bool,
    errors: &mut Vec<FieldError>,
) -> Task {
    match validate::string(object, "text", "", errors) {
        Field::Set(text) if !text.trim().is_empty() => task.text = text,
        Field::Absent if !creating => {}
        _ => errors.push(FieldError::new(
            "NotBlank",
            "text",
            "This value should not be blank.",
        )),
    }
    match validate::int(object, "complete_till", "", errors) {
        Field::Set(till) => task.complete_till = till,
        Field::Absent if !creating => {}
        _ => errors.push(FieldError::new(
            "NotBlank",
            "complete_till",
            "This value should not be blank.",
        )),
    }
    let entity_type = validate::string(object, "entity_type", "", errors);
    let entity_id = validate::id(object, "entity_id", "", errors);
    match (entity_type, entity_id) {
        (Field::Set(kind), Field::Set(id)) => {
            let exists = match kind.as_str() {
                "leads" => store.leads.get(&id).is_some_and(|l| !l.is_deleted),
                "contacts" => store.contacts.contains_key(&id),
                "companies" => store.companies.contains_key(&id),
                "customers" => false,
                _ => {
                    errors.push(not_a_choice("entity_type"));
                    true
                }
            };
            if !exists {
                errors.push(not_a_choice("entity_id"));
            }
            task.entity_type = Some(kind);
            task.entity_id = Some(id);
        }
        (Field::Set(_), _) => errors.push(FieldError::new(
            "NotBlank",
            "entity_id",
            "This value should not be blank.",
        )),
        (_, Field::Set(_)) => errors.push(FieldError::new(
            "NotBlank",
            "entity_type",
            "This value should not be blank.",
        )),
        _ => {}
    }
    if let Field::Set(kind) = validate::id(object, "task_type_id", "", errors) {
        if store.task_types.iter().any(|t| t.id == kind) {
            task.task_type_id = kind;
        } else {
            errors.push(not_a_choice("task_type_id"));
        }
    }
    if let Field::Set(user) = validate::id(object, "responsible_user_id", "", errors) {
        if store.user(user).is_some() {
            task.responsible_user_id = user;
            task.group_id = store.group_of(user);
        } else {
            errors.push(not_a_choice("responsible_user_id"));
        }
    }
    if let Field::Set(done) = validate::boolean(object, "is_completed", "", errors) {
        task.is_completed = done;
    }
    if let Field::Set(duration) = validate::int(object, "duration", "", errors) {
        task.duration = duration.max(0);
    }
    match object.get("result") {
        Some(Value::Object(result)) => match validate::string(result, "text", "result", errors) {
            Field::Set(text) => task.result = Some(text),
            Field::Null => task.result = None,
            Field::Absent => errors.push(FieldError::new(
                "NotBlank",
                join("result", "text"),
                "This value should not be blank.",
            )),
        },
        Some(Value::Null) => task.result = None,
        Some(Value::Array(a)) if a.is_empty() => task.result = None,
        Some(_) => errors.push(FieldError::new(
            "InvalidType",
            "result",
            "This value should be of type object.",
        )),
        None => {}
    }
    for (key, slot) in [
        ("created_by", &mut task.created_by),
        ("updated_by", &mut task.updated_by),
    ] {
        if let Field::Set(v) = validate::id(object, key, "", errors) {
            *slot = v;
        }
    }
    for (key, slot) in [
        ("created_at", &mut task.created_at),
        ("updated_at", &mut task.updated_at),
    ] {
        if let Field::Set(v) = validate::int(object, key, "", errors) {
            *slot = v;
        }
    }
    task
}

/// `POST /tasks`: `text` and `complete_till` are required (§5.3); answers `{id, request_id, _links}`.
async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let items = read_batch(&body)?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let group = store.group_of(caller.user_id);
    let fresh = Task {
        id: 0,
        created_by: caller.user_id,
        updated_by: caller.user_id,
        created_at: now,
        updated_at: now,
        responsible_user_id: caller.user_id,
        group_id: group,
        entity_id: None,
        entity_type: None,
        is_completed: false,
        task_type_id: 1,
        text: String::new(),
        duration: 0,
        complete_till: 0,
        result: None,
    };
    let drafts = validate_batch(&items, |_, object, errors| {
        Some(check(&store, object, fresh.clone(), true, errors))
    })?;
    let mut rows = Vec::new();
    let mut published = Vec::new();
    for (index, mut task) in drafts.into_iter().enumerate() {
        task.id = store.next_id("task");
        let id = task.id;
        published.push(Change::TaskAdded(task.clone()));
        store.put_task(task);
        rows.push(json!({"id": id, "request_id": request_id(&items[index], index), "_links": self_link(format!("{base}/api/v4/tasks/{id}"))}));
    }
    state.publish(store, now, &published);
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/tasks")), "_embedded": {"tasks": rows}}),
    ))
}

fn update(
    state: &AppState,
    caller: &Caller,
    items: &[Value],
    path_id: Option<u64>,
) -> Result<Vec<(u64, i64, String)>, ApiError> {
    let now = state.clock.now();
    let mut store = state.store_mut();
    let drafts = validate_batch(items, |index, object, errors| {
        let id = match path_id {
            Some(id) => id,
            None => match validate::id(object, "id", "", errors) {
                Field::Set(id) => id,
                _ => {
                    errors.push(FieldError::new(
                        "NotBlank",
                        "id",
                        "This value should not be blank.",
                    ));
                    return None;
                }
            },
        };
        let Some(existing) = store.tasks.get(&id) else {
            errors.push(FieldError::new("NotFound", "id", "Task not found."));
            return None;
        };
        let mut task = check(&store, object, existing.clone(), false, errors);
        if !object.contains_key("updated_by") {
            task.updated_by = caller.user_id;
        }
        if !object.contains_key("updated_at") {
            task.updated_at = now;
        }
        Some((task, request_id(&items[index], index)))
    })?;
    let mut out = Vec::with_capacity(drafts.len());
    let mut published = Vec::with_capacity(drafts.len());
    for (task, request) in drafts {
        out.push((task.id, task.updated_at, request));
        if let Some(before) = store.tasks.get(&task.id).cloned() {
            published.push(Change::TaskUpdated {
                before: Box::new(before),
                after: Box::new(task.clone()),
            });
        }
        store.put_task(task);
    }
    state.publish(store, now, &published);
    Ok(out)
}

/// `PATCH /tasks`: `{id, updated_at, request_id, _links}` per task (§5.4).
async fn update_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let items = read_batch(&body)?;
    let base = state.app_url();
    let rows: Vec<Value> = update(&state, &caller, &items, None)?
        .into_iter()
        .map(|(id, at, request)| json!({"id": id, "updated_at": at, "request_id": request, "_links": self_link(format!("{base}/api/v4/tasks/{id}"))}))
        .collect();
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/tasks")), "_embedded": {"tasks": rows}}),
    ))
}

/// `PATCH /tasks/{id}`: the bare `{id, updated_at, request_id, _links}` (§5.4).
async fn update_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let object = read_object(&body)?;
    let (id, at, request) = update(&state, &caller, &[Value::Object(object)], Some(id))?.remove(0);
    Ok(hal(
        json!({"id": id, "updated_at": at, "request_id": request, "_links": self_link(format!("{}/api/v4/tasks/{id}", state.app_url()))}),
    ))
}
