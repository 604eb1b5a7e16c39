//! Custom fields: definitions (`GET …/custom_fields`) and the validation and rendering of `custom_fields_values` (amocrm-api-v4.md §9).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::validate::{self, join, not_a_choice};
use super::{parse_id, read_batch, request_id, validate_batch};
use crate::hal::{hal, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::{FieldDef, FieldEnum, FieldValueItem, FieldValues};

/// Field-definition routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route(
        "/catalogs/{id}/custom_fields",
        get(list_catalog).post(create_catalog_fields),
    );
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
        "is_deletable": !field.is_predefined,
        "is_predefined": field.is_predefined,
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

/// The field types a catalog can hold: every type of §9.2 except the contacts' `multitext`.
const CATALOG_TYPES: [&str; 24] = [
    "text",
    "numeric",
    "checkbox",
    "select",
    "multiselect",
    "date",
    "url",
    "textarea",
    "radiobutton",
    "streetaddress",
    "smart_address",
    "birthday",
    "legal_entity",
    "date_time",
    "price",
    "category",
    "items",
    "tracking_data",
    "linked_entity",
    "chained_list",
    "monetary",
    "file",
    "payer",
    "supplier",
];

/// Types whose values are options: they need at least one `enums` item.
const OPTION_TYPES: [&str; 4] = ["select", "multiselect", "radiobutton", "category"];

/// `POST /catalogs/{id}/custom_fields`: a batch of `{name, type, code?, sort?, enums?, currency?, request_id?}` (§9).
/// Answers 200 with the created fields in the shape `GET` lists them, each with its `request_id`.
async fn create_catalog_fields(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let items = read_batch(&body)?;
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let existing = store
        .catalog_fields
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Catalog not found"))?;
    let mut codes: Vec<String> = existing.iter().filter_map(|f| f.code.clone()).collect();
    let drafts = validate_batch(&items, |_, object, errors| {
        check_field(object, &mut codes, errors)
    })?;
    let path = format!("/api/v4/catalogs/{id}/custom_fields");
    let mut rows = Vec::new();
    for (index, mut field) in drafts.into_iter().enumerate() {
        field.id = store.next_id("field");
        for option in &mut field.enums {
            option.id = store.next_id("enum");
        }
        if field.sort == 0 {
            field.sort = 500 + field.id as i64 % 1000;
        }
        let mut row = render_field(&base, &path, store.account.id, &field);
        row["request_id"] = json!(request_id(&items[index], index));
        rows.push(row);
        store.catalog_fields.entry(id).or_default().push(field);
    }
    Ok(hal(json!({
        "_total_items": rows.len(),
        "_links": self_link(format!("{base}{path}")),
        "_embedded": {"custom_fields": rows},
    })))
}

/// Validates one new catalog field; `codes` holds the catalog's codes, including earlier items of the batch.
pub(crate) fn check_field(
    object: &Map<String, Value>,
    codes: &mut Vec<String>,
    errors: &mut Vec<FieldError>,
) -> Option<FieldDef> {
    let blank = |errors: &mut Vec<FieldError>, path: &str| {
        errors.push(FieldError::new(
            "NotBlank",
            path,
            "This value should not be blank.",
        ));
    };
    let name = validate::string(object, "name", "", errors)
        .set()
        .filter(|n| !n.trim().is_empty());
    if name.is_none() {
        blank(errors, "name");
    }
    let kind = validate::string(object, "type", "", errors).set();
    match kind.as_deref() {
        None => blank(errors, "type"),
        Some(kind) if !CATALOG_TYPES.contains(&kind) => errors.push(not_a_choice("type")),
        Some(_) => {}
    }
    let code = validate::string(object, "code", "", errors)
        .set()
        .filter(|c| !c.is_empty());
    if let Some(code) = &code {
        let well_formed = code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            errors.push(FieldError::new(
                "InvalidCode",
                "code",
                "The code may hold only capital Latin letters, digits and underscores.",
            ));
        } else if codes.contains(code) {
            errors.push(FieldError::new(
                "NotUnique",
                "code",
                "A field with this code already exists.",
            ));
        } else {
            codes.push(code.clone());
        }
    }
    let sort = validate::int(object, "sort", "", errors).set().unwrap_or(0);
    let mut enums = Vec::new();
    match object.get("enums") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("enums.{index}");
                let value = item
                    .as_object()
                    .map(|o| validate::string(o, "value", &path, errors))
                    .and_then(validate::Field::set)
                    .filter(|v| !v.trim().is_empty());
                let Some(value) = value else {
                    blank(errors, &join(&path, "value"));
                    continue;
                };
                enums.push(FieldEnum {
                    id: 0,
                    value,
                    sort: item["sort"].as_i64().unwrap_or(500 + 10 * index as i64),
                    code: item["code"].as_str().map(str::to_owned),
                });
            }
        }
        Some(_) => errors.push(FieldError::new(
            "InvalidType",
            "enums",
            "This value should be of type array.",
        )),
    }
    let kind = kind?;
    if OPTION_TYPES.contains(&kind.as_str()) && enums.is_empty() {
        blank(errors, "enums");
    }
    let currency = validate::string(object, "currency", "", errors).set();
    if kind == "monetary" && currency.is_none() {
        blank(errors, "currency");
    }
    Some(FieldDef {
        id: 0,
        name: name?,
        code,
        sort,
        kind,
        entity_type: "catalogs".into(),
        is_api_only: false,
        is_predefined: false,
        enums,
        currency,
    })
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
            Some(Value::String(s)) if is_decimal(s.trim()) => plain(json!(s.trim())),
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

/// Whether `text` is a plain decimal number: an optional minus, digits, and an optional `.` or `,` fraction.
/// Exponents, `inf`, `NaN` and thousands separators are refused.
fn is_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match unsigned.split_once(['.', ',']) {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
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
