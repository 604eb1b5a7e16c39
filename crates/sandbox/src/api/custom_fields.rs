//! Custom fields: definitions (`GET …/custom_fields`) and the validation and rendering of `custom_fields_values` (amocrm-api-v4.md §9).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::parse_id;
use super::validate::{join, not_a_choice};
use crate::hal::{hal, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::{FieldDef, FieldValueItem, FieldValues};

/// Field-definition routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/catalogs/{id}/custom_fields", get(list_catalog));
    for entity in ["leads", "contacts", "companies"] {
        router = router
            .route(
                &format!("/{entity}/custom_fields"),
                get(move |s, q| list_entity(s, q, entity)),
            )
            .route(
                &format!("/{entity}/custom_fields/{{id}}"),
                get(move |s, p| get_entity(s, p, entity)),
            );
    }
    router
}

/// The JSON of a field definition.
pub fn render_field(base: &str, path: &str, account_id: u64, field: &FieldDef) -> Value {
    let enums = (!field.enums.is_empty()).then(|| {
        field
            .enums
            .iter()
            .map(|e| {
                let mut item = json!({"id": e.id, "value": e.value, "sort": e.sort});
                if let Some(code) = &e.code {
                    item["code"] = json!(code);
                }
                item
            })
            .collect::<Vec<_>>()
    });
    let mut value = json!({
        "id": field.id,
        "name": field.name,
        "type": field.kind,
        "account_id": account_id,
        "code": field.code,
        "sort": field.sort,
        "is_api_only": field.is_api_only,
        "enums": enums,
        "group_id": null,
        "required_statuses": [],
        "is_deletable": field.code.is_none(),
        "is_predefined": field.code.is_some(),
        "entity_type": field.entity_type,
        "remind": null,
        "_links": self_link(format!("{base}{path}/{}", field.id)),
    });
    if field.entity_type == "leads" {
        value["is_computed"] = json!(false);
    }
    if let Some(currency) = &field.currency {
        value["currency"] = json!(currency);
    }
    value
}

fn list(
    state: &AppState,
    raw: Option<String>,
    path: &str,
    fields: Vec<FieldDef>,
    account_id: u64,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = Page::from_query(&query, &state.options())?;
    let mut fields = fields;
    if state.options().filters_enabled {
        if let Some(types) = query.get(&["filter", "type"]) {
            let types = types.values();
            fields.retain(|f| types.contains(&f.kind.as_str()));
        }
    }
    match query.order(&["sort", "id"]) {
        Some((key, desc)) => {
            fields.sort_by_key(|f| {
                if key == "sort" {
                    (f.sort, f.id)
                } else {
                    (f.id as i64, 0)
                }
            });
            if desc {
                fields.reverse();
            }
        }
        None => fields.sort_by_key(|f| (f.sort, f.id)),
    }
    let base = state.app_url().to_owned();
    let full = format!("/api/v4{path}");
    Ok(paged(
        List {
            base: &base,
            path: &full,
            query: &query,
            page,
        },
        "custom_fields",
        &fields,
        Totals::Counted,
        |f| render_field(&base, &full, account_id, f),
    ))
}

async fn list_entity(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    entity: &'static str,
) -> ApiResult {
    let (fields, account) = {
        let store = state.store();
        (store.fields_of(entity).to_vec(), store.account.id)
    };
    list(
        &state,
        raw,
        &format!("/{entity}/custom_fields"),
        fields,
        account,
    )
}

async fn get_entity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    entity: &'static str,
) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    let field = store
        .fields_of(entity)
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ApiError::not_found("Field not found"))?;
    Ok(hal(render_field(
        state.app_url(),
        &format!("/api/v4/{entity}/custom_fields"),
        store.account.id,
        field,
    )))
}

async fn list_catalog(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let (fields, account) = {
        let store = state.store();
        let fields = store
            .catalog_fields
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Catalog not found"))?;
        (fields, store.account.id)
    };
    list(
        &state,
        raw,
        &format!("/catalogs/{id}/custom_fields"),
        fields,
        account,
    )
}

/// A requested change of one field: new values, or `None` to clear it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldUpdate {
    /// The field changed.
    pub field_id: u64,
    /// The new values; `None` clears the field.
    pub values: Option<Vec<FieldValueItem>>,
}

/// Validates `custom_fields_values` of a request against `fields`; errors carry paths like `custom_fields_values.0.field_id`.
pub fn parse_values(
    fields: &[FieldDef],
    raw: &Value,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<FieldUpdate> {
    let Some(items) = raw.as_array() else {
        if !raw.is_null() {
            errors.push(FieldError::new(
                "InvalidType",
                prefix,
                "This value should be of type array.",
            ));
        }
        return Vec::new();
    };
    let mut updates = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("{prefix}.{index}");
        let Some(object) = item.as_object() else {
            errors.push(FieldError::new(
                "InvalidType",
                path,
                "This value should be of type object.",
            ));
            continue;
        };
        let field = match (object.get("field_id"), object.get("field_code")) {
            (Some(id), _) => match id
                .as_u64()
                .and_then(|id| fields.iter().find(|f| f.id == id))
            {
                Some(field) => field,
                None => {
                    errors.push(not_a_choice(join(&path, "field_id")));
                    continue;
                }
            },
            (None, Some(code)) => match code
                .as_str()
                .and_then(|c| fields.iter().find(|f| f.code.as_deref() == Some(c)))
            {
                Some(field) => field,
                None => {
                    errors.push(not_a_choice(join(&path, "field_code")));
                    continue;
                }
            },
            (None, None) => {
                errors.push(FieldError::new(
                    "NotBlank",
                    join(&path, "field_id"),
                    "This value should not be blank.",
                ));
                continue;
            }
        };
        match object.get("values") {
            None | Some(Value::Null) => updates.push(FieldUpdate {
                field_id: field.id,
                values: None,
            }),
            Some(Value::Array(values)) => {
                let single = matches!(
                    field.kind.as_str(),
                    "select"
                        | "radiobutton"
                        | "checkbox"
                        | "date"
                        | "date_time"
                        | "birthday"
                        | "numeric"
                        | "url"
                );
                if single && values.len() > 1 {
                    errors.push(FieldError::new(
                        "InvalidCount",
                        join(&path, "values"),
                        "This field takes a single value.",
                    ));
                    continue;
                }
                let parsed: Vec<FieldValueItem> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        parse_item(field, v, &format!("{path}.values.{i}"), errors)
                    })
                    .collect();
                updates.push(FieldUpdate {
                    field_id: field.id,
                    values: Some(parsed),
                });
            }
            Some(_) => errors.push(FieldError::new(
                "InvalidType",
                join(&path, "values"),
                "This value should be of type array.",
            )),
        }
    }
    updates
}

/// Validates one value object for the field's type.
fn parse_item(
    field: &FieldDef,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<FieldValueItem> {
    let Some(object) = raw.as_object() else {
        errors.push(FieldError::new(
            "InvalidType",
            path,
            "This value should be of type object.",
        ));
        return None;
    };
    let value = object.get("value");
    let invalid = |errors: &mut Vec<FieldError>, expected: &str| {
        errors.push(FieldError::new(
            "InvalidType",
            join(path, "value"),
            format!("This value should be of type {expected}."),
        ));
        None
    };
    let plain = |value: Value| {
        Some(FieldValueItem {
            value,
            enum_id: None,
            enum_code: None,
        })
    };
    match field.kind.as_str() {
        "select" | "radiobutton" | "category" | "multiselect" => {
            let option = if let Some(id) = object.get("enum_id") {
                let found = id
                    .as_u64()
                    .and_then(|id| field.enums.iter().find(|e| e.id == id));
                if found.is_none() {
                    errors.push(not_a_choice(join(path, "enum_id")));
                }
                found
            } else if let Some(code) = object.get("enum_code") {
                let found = code
                    .as_str()
                    .and_then(|c| field.enums.iter().find(|e| e.code.as_deref() == Some(c)));
                if found.is_none() {
                    errors.push(not_a_choice(join(path, "enum_code")));
                }
                found
            } else {
                let found = value
                    .and_then(Value::as_str)
                    .and_then(|v| field.enums.iter().find(|e| e.value == v));
                if found.is_none() {
                    errors.push(not_a_choice(join(path, "value")));
                }
                found
            }?;
            Some(FieldValueItem {
                value: json!(option.value),
                enum_id: Some(option.id),
                enum_code: option.code.clone(),
            })
        }
        "numeric" | "price" | "monetary" => match value {
            Some(Value::Number(n)) => plain(json!(n.to_string())),
            Some(Value::String(s)) if s.trim().replace(',', ".").parse::<f64>().is_ok() => {
                plain(json!(s.trim()))
            }
            _ => invalid(errors, "numeric"),
        },
        "checkbox" => match value {
            Some(Value::Bool(b)) => plain(json!(b)),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {
                plain(json!(n.as_u64() == Some(1)))
            }
            _ => invalid(errors, "bool"),
        },
        "date" | "date_time" | "birthday" => match value {
            Some(Value::Number(n)) if n.as_i64().is_some() => plain(json!(n.as_i64())),
            Some(Value::String(s)) => match s.parse::<jiff::Timestamp>() {
                Ok(ts) => plain(json!(ts.as_second())),
                Err(_) => invalid(errors, "date"),
            },
            _ => invalid(errors, "date"),
        },
        "url" => match value {
            Some(Value::String(s))
                if s.starts_with("http://") || s.starts_with("https://") || s.is_empty() =>
            {
                plain(json!(s))
            }
            _ => invalid(errors, "url"),
        },
        "multitext" | "smart_address" => {
            let Some(text) = value.and_then(Value::as_str) else {
                return invalid(errors, "string");
            };
            let option = match (object.get("enum_id"), object.get("enum_code")) {
                (Some(id), _) => id
                    .as_u64()
                    .and_then(|id| field.enums.iter().find(|e| e.id == id)),
                (None, Some(code)) => code
                    .as_str()
                    .and_then(|c| field.enums.iter().find(|e| e.code.as_deref() == Some(c))),
                (None, None) => field.enums.first(),
            };
            let Some(option) = option else {
                errors.push(not_a_choice(join(path, "enum_id")));
                return None;
            };
            Some(FieldValueItem {
                value: json!(text),
                enum_id: Some(option.id),
                enum_code: option.code.clone(),
            })
        }
        "legal_entity" | "payer" | "supplier" | "items" | "linked_entity" | "file" => match value {
            Some(Value::Object(_)) => plain(value.cloned().unwrap_or_default()),
            _ => invalid(errors, "object"),
        },
        _ => match value {
            Some(Value::String(s)) => plain(json!(s)),
            Some(Value::Number(n)) => plain(json!(n.to_string())),
            _ => invalid(errors, "string"),
        },
    }
}

/// Applies updates: listed fields are replaced or cleared, others keep their values (partial update, §9.3).
pub fn apply_values(current: &mut Vec<FieldValues>, updates: Vec<FieldUpdate>) {
    for update in updates {
        current.retain(|v| v.field_id != update.field_id);
        if let Some(values) = update.values.filter(|v| !v.is_empty()) {
            current.push(FieldValues {
                field_id: update.field_id,
                values,
            });
        }
    }
}

/// The response form: `null` when empty, else values with `field_name`, `field_code`, `field_type` (§9.3).
pub fn render_values(fields: &[FieldDef], values: &[FieldValues]) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    let rendered: Vec<Value> = values
        .iter()
        .map(|v| {
            let field = fields.iter().find(|f| f.id == v.field_id);
            let items: Vec<Value> = v
                .values
                .iter()
                .map(|item| {
                    let mut out = Map::new();
                    out.insert("value".into(), item.value.clone());
                    if let Some(id) = item.enum_id {
                        out.insert("enum_id".into(), json!(id));
                        out.insert("enum_code".into(), json!(item.enum_code));
                    }
                    Value::Object(out)
                })
                .collect();
            json!({
                "field_id": v.field_id,
                "field_name": field.map(|f| f.name.clone()),
                "field_code": field.and_then(|f| f.code.clone()),
                "field_type": field.map(|f| f.kind.clone()),
                "values": items,
            })
        })
        .collect();
    Value::Array(rendered)
}
