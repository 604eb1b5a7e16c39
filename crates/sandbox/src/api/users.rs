//! Users: admin-only list and get (amocrm-api-v4.md §8.1).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::parse_id;
use crate::auth::Caller;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::User;
use crate::state::store::Store;

/// User routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/{id}", get(get_one))
}

/// Rights of an admin or a manager, in the letters of §8.1.
fn rights(store: &Store, user: &User) -> Value {
    let entity = |level: &str| json!({"view": level, "edit": level, "add": "A", "delete": level, "export": level});
    let level = if user.is_admin { "A" } else { "M" };
    let status_rights: Vec<Value> = store
        .pipelines
        .iter()
        .flat_map(|p| p.statuses.iter().map(move |s| (p.id, s.id)))
        .map(|(pipeline_id, status_id)| {
            json!({"entity_type": "leads", "pipeline_id": pipeline_id, "status_id": status_id,
                   "rights": {"view": level, "edit": level, "delete": level}})
        })
        .collect();
    json!({
        "leads": entity(level), "contacts": entity(level), "companies": entity(level),
        "tasks": {"edit": level, "delete": level},
        "mail_access": true, "catalog_access": true,
        "status_rights": status_rights,
        "is_admin": user.is_admin, "is_free": user.is_free, "is_active": user.is_active,
        "group_id": (user.group_id != 0).then_some(user.group_id),
        "role_id": user.role_id,
    })
}

/// The JSON of a user; `with` adds `uuid`, `amojo_id`, `_embedded.roles` and `_embedded.groups`.
pub fn render_user(store: &Store, base: &str, user: &User, with: &[&str]) -> Value {
    let mut value = json!({
        "id": user.id, "name": user.name, "email": user.email, "lang": user.lang,
        "rights": rights(store, user),
        "_links": self_link(format!("{base}/api/v4/users/{}", user.id)),
    });
    if with.contains(&"uuid") {
        value["uuid"] = json!(user.uuid);
    }
    if with.contains(&"amojo_id") {
        value["amojo_id"] = json!(user.amojo_id);
    }
    if with.contains(&"user_rank") {
        value["user_rank"] = json!(if user.is_admin { "head" } else { "employee" });
    }
    let mut embedded = serde_json::Map::new();
    if with.contains(&"role") {
        let roles = user.role_id.map(|id| vec![json!({"id": id, "name": "Менеджер", "_links": self_link(format!("{base}/api/v4/roles/{id}"))})]);
        embedded.insert("roles".into(), json!(roles.unwrap_or_default()));
    }
    if with.contains(&"group") {
        let groups: Vec<Value> = store
            .groups
            .iter()
            .filter(|g| g.id == user.group_id)
            .map(|g| json!({"id": g.id, "name": g.name}))
            .collect();
        embedded.insert("groups".into(), json!(groups));
    }
    if !embedded.is_empty() {
        value["_embedded"] = Value::Object(embedded);
    }
    value
}

fn require_admin(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if state.options().users_require_admin && !caller.is_admin {
        return Err(ApiError::forbidden(
            "Access denied: the users list needs account admin rights",
        ));
    }
    Ok(())
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    require_admin(&state, &caller)?;
    let query = Query::parse(raw.as_deref());
    let page = Page::from_query(&query, &state.options())?;
    let with = query.with();
    let store = state.store();
    let base = state.app_url();
    Ok(paged(
        List {
            base,
            path: "/api/v4/users",
            query: &query,
            page,
        },
        "users",
        &store.users,
        Totals::Counted,
        |u| render_user(&store, base, u, &with),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    require_admin(&state, &caller)?;
    let id = parse_id(&id)?;
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    match store.user(id) {
        Some(user) => Ok(hal(render_user(
            &store,
            state.app_url(),
            user,
            &query.with(),
        ))),
        None => Ok(no_content()),
    }
}
