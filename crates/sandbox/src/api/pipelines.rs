//! Pipelines and their stages, with 142/143 in every pipeline (amocrm-api-v4.md §3).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::parse_id;
use crate::hal::{collection, hal, self_link};
use crate::problem::{ApiError, ApiResult};
use crate::routes::AppState;
use crate::state::model::{Pipeline, Status};

/// Pipeline routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/pipelines", get(list))
        .route("/leads/pipelines/{id}", get(get_one))
        .route("/leads/pipelines/{id}/statuses", get(statuses))
        .route("/leads/pipelines/{id}/statuses/{status_id}", get(status))
}

/// The JSON of a stage.
pub fn render_status(base: &str, account_id: u64, pipeline_id: u64, status: &Status) -> Value {
    json!({
        "id": status.id, "name": status.name, "sort": status.sort, "is_editable": status.is_editable,
        "pipeline_id": pipeline_id, "color": status.color, "type": status.kind, "account_id": account_id,
        "_links": self_link(format!("{base}/api/v4/leads/pipelines/{pipeline_id}/statuses/{}", status.id)),
    })
}

/// The JSON of a pipeline with its stages.
pub fn render_pipeline(base: &str, account_id: u64, pipeline: &Pipeline) -> Value {
    let statuses: Vec<Value> = pipeline
        .statuses
        .iter()
        .map(|s| render_status(base, account_id, pipeline.id, s))
        .collect();
    json!({
        "id": pipeline.id, "name": pipeline.name, "sort": pipeline.sort, "is_main": pipeline.is_main,
        "is_unsorted_on": pipeline.is_unsorted_on, "is_archive": pipeline.is_archive, "account_id": account_id,
        "_links": self_link(format!("{base}/api/v4/leads/pipelines/{}", pipeline.id)),
        "_embedded": {"statuses": statuses},
    })
}

async fn list(State(state): State<AppState>) -> ApiResult {
    let store = state.store();
    let base = state.app_url();
    let rows = store
        .pipelines
        .iter()
        .map(|p| render_pipeline(base, store.account.id, p))
        .collect();
    Ok(collection(
        format!("{base}/api/v4/leads/pipelines"),
        "pipelines",
        rows,
    ))
}

fn pipeline_not_found() -> ApiError {
    ApiError::not_found("Pipeline not found")
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    let pipeline = store.pipeline(id).ok_or_else(pipeline_not_found)?;
    Ok(hal(render_pipeline(
        state.app_url(),
        store.account.id,
        pipeline,
    )))
}

async fn statuses(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    let pipeline = store.pipeline(id).ok_or_else(pipeline_not_found)?;
    let base = state.app_url();
    let rows = pipeline
        .statuses
        .iter()
        .map(|s| render_status(base, store.account.id, id, s))
        .collect();
    Ok(collection(
        format!("{base}/api/v4/leads/pipelines/{id}/statuses"),
        "statuses",
        rows,
    ))
}

async fn status(
    State(state): State<AppState>,
    Path((id, status_id)): Path<(String, String)>,
) -> ApiResult {
    let (id, status_id) = (parse_id(&id)?, parse_id(&status_id)?);
    let store = state.store();
    let pipeline = store.pipeline(id).ok_or_else(pipeline_not_found)?;
    let status = pipeline
        .status(status_id)
        .ok_or_else(|| ApiError::not_found("Status not found"))?;
    Ok(hal(render_status(
        state.app_url(),
        store.account.id,
        id,
        status,
    )))
}
