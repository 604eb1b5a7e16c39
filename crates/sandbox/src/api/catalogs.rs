//! Catalogs (lists) and their elements, including the invoices catalog with BILL_* fields (amocrm-api-v4.md §10.1–§10.3).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::custom_fields::{apply_values, parse_values, render_values};
use super::validate::{self, not_a_choice, Field};
use super::{parse_id, read_batch, read_object, request_id, validate_batch};
use crate::auth::Caller;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::{Catalog, CatalogElement};
use crate::state::store::Store;

/// Catalog routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalogs", get(list).post(create))
        .route("/catalogs/{id}", get(get_one))
        .route(
            "/catalogs/{id}/elements",
            get(list_elements)
                .post(create_elements)
                .patch(update_elements),
        )
        .route(
            "/catalogs/{id}/elements/{element_id}",
            get(get_element).patch(update_element),
        )
}

/// The JSON of a catalog.
pub fn render_catalog(base: &str, account_id: u64, catalog: &Catalog) -> Value {
    json!({
        "id": catalog.id, "name": catalog.name, "created_by": catalog.created_by, "updated_by": catalog.created_by,
        "created_at": catalog.created_at, "updated_at": catalog.updated_at, "sort": catalog.sort, "type": catalog.kind,
        "can_add_elements": catalog.can_add_elements, "can_show_in_cards": catalog.can_show_in_cards,
        "can_link_multiple": catalog.can_link_multiple, "can_be_deleted": catalog.can_be_deleted,
        "sdk_widget_code": null, "account_id": account_id,
        "_links": self_link(format!("{base}/api/v4/catalogs/{}", catalog.id)),
    })
}

/// The JSON of an element; `invoice_link` is added for invoices when asked for.
pub fn render_element(
    store: &Store,
    base: &str,
    element: &CatalogElement,
    invoice_link: bool,
) -> Value {
    let fields = store
        .catalog_fields
        .get(&element.catalog_id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut value = json!({
        "id": element.id, "catalog_id": element.catalog_id, "name": element.name,
        "created_by": element.created_by, "updated_by": element.updated_by,
        "created_at": element.created_at, "updated_at": element.updated_at, "is_deleted": element.is_deleted,
        "custom_fields_values": render_values(fields, &element.custom_fields_values),
        "account_id": store.account.id,
        "_links": self_link(format!("{base}/api/v4/catalogs/{}/elements/{}", element.catalog_id, element.id)),
    });
    if invoice_link
        && store
            .catalog(element.catalog_id)
            .is_some_and(|c| c.kind == "invoices")
    {
        value["invoice_link"] = json!(format!("{base}/invoices/{}/print", element.id));
    }
    value
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = Page::from_query(&query, &state.options())?;
    let store = state.store();
    let kind = query.str("type");
    let catalogs: Vec<&Catalog> = store
        .catalogs
        .iter()
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .collect();
    let base = state.app_url();
    Ok(paged(
        List {
            base,
            path: "/api/v4/catalogs",
            query: &query,
            page,
        },
        "catalogs",
        &catalogs,
        Totals::None,
        |c| render_catalog(base, store.account.id, c),
    ))
}

fn catalog_not_found() -> ApiError {
    ApiError::not_found("Catalog not found")
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    let catalog = store.catalog(id).ok_or_else(catalog_not_found)?;
    Ok(hal(render_catalog(
        state.app_url(),
        store.account.id,
        catalog,
    )))
}

/// `POST /catalogs`: at most one invoices and one products catalog, at most 10 in all (§10).
async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let items = read_batch(&body)?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let mut planned_kinds: Vec<String> = store.catalogs.iter().map(|c| c.kind.clone()).collect();
    let drafts = validate_batch(&items, |_, object, errors| {
        let name = validate::string(object, "name", "", errors)
            .set()
            .filter(|n| !n.trim().is_empty());
        if name.is_none() {
            errors.push(FieldError::new(
                "NotBlank",
                "name",
                "This value should not be blank.",
            ));
        }
        let kind = validate::string(object, "type", "", errors)
            .set()
            .unwrap_or_else(|| "regular".into());
        let single = kind == "invoices" || kind == "products";
        if !["regular", "invoices", "products"].contains(&kind.as_str())
            || (single && planned_kinds.contains(&kind))
        {
            errors.push(not_a_choice("type"));
        }
        if planned_kinds.len() >= 10 {
            errors.push(FieldError::new(
                "LimitExceeded",
                "",
                "An account holds at most 10 catalogs.",
            ));
        }
        planned_kinds.push(kind.clone());
        let flag = |key: &str, default: bool, errors: &mut Vec<FieldError>| {
            validate::boolean(object, key, "", errors)
                .set()
                .unwrap_or(default)
        };
        let catalog = Catalog {
            id: 0,
            name: name?,
            kind,
            sort: validate::int(object, "sort", "", errors)
                .set()
                .unwrap_or(10),
            can_add_elements: flag("can_add_elements", true, errors),
            can_show_in_cards: flag("can_show_in_cards", true, errors),
            can_link_multiple: flag("can_link_multiple", false, errors),
            can_be_deleted: true,
            created_by: caller.user_id,
            created_at: now,
            updated_at: now,
        };
        Some(catalog)
    })?;
    let mut rows = Vec::new();
    for (index, mut catalog) in drafts.into_iter().enumerate() {
        catalog.id = store.next_id("catalog");
        let mut row = render_catalog(&base, store.account.id, &catalog);
        row["request_id"] = json!(request_id(&items[index], index));
        rows.push(row);
        store.catalog_fields.insert(catalog.id, Vec::new());
        store.catalogs.push(catalog);
    }
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/catalogs")), "_embedded": {"catalogs": rows}}),
    ))
}

/// Whether `element` matches a lower-cased `query`: a case-insensitive substring of its name or of one of its
/// text values (numbers included, as amoCRM stores them as text).
fn matches_query(element: &CatalogElement, query: &str) -> bool {
    let found = |text: &str| text.to_lowercase().contains(query);
    found(&element.name)
        || element
            .custom_fields_values
            .iter()
            .flat_map(|field| &field.values)
            .any(|item| item.value.as_str().is_some_and(found))
}

/// Elements accept `filter[id]` and the SDK's top-level `id`, plus `query` on the name and text values.
async fn list_elements(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let query = Query::parse(raw.as_deref());
    let options = state.options();
    let page = Page::from_query(&query, &options)?;
    let store = state.store();
    store.catalog(id).ok_or_else(catalog_not_found)?;
    let mut ids: Vec<i64> = query.get(&["id"]).map(|n| n.ints()).unwrap_or_default();
    if options.filters_enabled {
        ids.extend(
            query
                .get(&["filter", "id"])
                .map(|n| n.ints())
                .unwrap_or_default(),
        );
    }
    let text = query
        .str("query")
        .map(str::to_lowercase)
        .filter(|q| !q.is_empty());
    let elements: Vec<&CatalogElement> = store
        .elements
        .values()
        .filter(|e| e.catalog_id == id && !e.is_deleted)
        .filter(|e| ids.is_empty() || ids.contains(&(e.id as i64)))
        .filter(|e| text.as_deref().is_none_or(|t| matches_query(e, t)))
        .collect();
    let link = query.has_with("invoice_link");
    let base = state.app_url();
    let path = format!("/api/v4/catalogs/{id}/elements");
    Ok(paged(
        List {
            base,
            path: &path,
            query: &query,
            page,
        },
        "elements",
        &elements,
        Totals::None,
        |e| render_element(&store, base, e, link),
    ))
}

async fn get_element(
    State(state): State<AppState>,
    Path((id, element_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let (id, element_id) = (parse_id(&id)?, parse_id(&element_id)?);
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    match store
        .elements
        .get(&element_id)
        .filter(|e| e.catalog_id == id)
    {
        Some(element) => Ok(hal(render_element(
            &store,
            state.app_url(),
            element,
            query.has_with("invoice_link"),
        ))),
        None => Ok(no_content()),
    }
}

/// Validates an element write; invoices need `BILL_STATUS` on create (§10.3).
fn check_element(
    store: &Store,
    catalog: &Catalog,
    object: &serde_json::Map<String, Value>,
    mut element: CatalogElement,
    creating: bool,
    errors: &mut Vec<FieldError>,
) -> CatalogElement {
    match validate::string(object, "name", "", errors) {
        Field::Set(name) if !name.trim().is_empty() => element.name = name,
        Field::Absent if !creating => {}
        _ => errors.push(FieldError::new(
            "NotBlank",
            "name",
            "This value should not be blank.",
        )),
    }
    let fields = store
        .catalog_fields
        .get(&catalog.id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if let Some(raw) = object.get("custom_fields_values") {
        let updates = parse_values(fields, raw, "custom_fields_values", errors);
        apply_values(&mut element.custom_fields_values, updates);
    }
    if creating && catalog.kind == "invoices" {
        let status = fields
            .iter()
            .find(|f| f.code.as_deref() == Some("BILL_STATUS"))
            .map(|f| f.id);
        if !element
            .custom_fields_values
            .iter()
            .any(|v| Some(v.field_id) == status)
        {
            errors.push(FieldError::new(
                "NotBlank",
                "custom_fields_values",
                "An invoice needs the BILL_STATUS field.",
            ));
        }
    }
    element
}

async fn create_elements(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let items = read_batch(&body)?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let catalog = store.catalog(id).cloned().ok_or_else(catalog_not_found)?;
    let fresh = CatalogElement {
        id: 0,
        catalog_id: id,
        name: String::new(),
        created_by: caller.user_id,
        updated_by: caller.user_id,
        created_at: now,
        updated_at: now,
        is_deleted: false,
        custom_fields_values: Vec::new(),
    };
    let drafts = validate_batch(&items, |_, object, errors| {
        Some(check_element(
            &store,
            &catalog,
            object,
            fresh.clone(),
            true,
            errors,
        ))
    })?;
    let mut rows = Vec::new();
    for (index, mut element) in drafts.into_iter().enumerate() {
        element.id = store.next_id("element");
        let mut row = render_element(&store, &base, &element, true);
        row["request_id"] = json!(request_id(&items[index], index));
        rows.push(row);
        store.elements.insert(element.id, element);
    }
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/catalogs/{id}/elements")), "_embedded": {"elements": rows}}),
    ))
}

fn update(
    state: &AppState,
    caller: &Caller,
    catalog_id: u64,
    items: &[Value],
    path_id: Option<u64>,
) -> Result<Vec<Value>, ApiError> {
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let catalog = store
        .catalog(catalog_id)
        .cloned()
        .ok_or_else(catalog_not_found)?;
    let drafts = validate_batch(items, |_, object, errors| {
        let id = path_id.or_else(|| validate::id(object, "id", "", errors).set());
        let Some(existing) = id
            .and_then(|id| store.elements.get(&id))
            .filter(|e| e.catalog_id == catalog_id)
        else {
            errors.push(FieldError::new("NotFound", "id", "Element not found."));
            return None;
        };
        let mut element = check_element(&store, &catalog, object, existing.clone(), false, errors);
        element.updated_at = now;
        element.updated_by = caller.user_id;
        Some(element)
    })?;
    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(index, element)| {
            let mut row = render_element(&store, &base, &element, true);
            row["request_id"] = json!(request_id(&items[index], index));
            store.elements.insert(element.id, element);
            row
        })
        .collect())
}

async fn update_elements(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let items = read_batch(&body)?;
    let rows = update(&state, &caller, id, &items, None)?;
    Ok(hal(
        json!({"_links": self_link(format!("{}/api/v4/catalogs/{id}/elements", state.app_url())), "_embedded": {"elements": rows}}),
    ))
}

async fn update_element(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, element_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let (id, element_id) = (parse_id(&id)?, parse_id(&element_id)?);
    let object = read_object(&body)?;
    let mut rows = update(
        &state,
        &caller,
        id,
        &[Value::Object(object)],
        Some(element_id),
    )?;
    Ok(hal(rows.remove(0)))
}
