//! Webhook bodies in amoCRM's wire format (amocrm-api-v4.md §11.2): `application/x-www-form-urlencoded` with PHP
//! bracket keys, every value a string, legacy custom fields, task dates as `YYYY-MM-DD HH:MM:SS` UTC.

use serde_json::{json, Map, Value};

use crate::state::model::{FieldValues, Lead, Note, Task};
use crate::state::store::Store;

/// A JSON tree whose leaves are all strings, flattened the way PHP's `http_build_query` does.
pub fn form(entity: &str, action: &str, item: Value, account: Value) -> String {
    let mut pairs = Vec::new();
    flatten(&format!("{entity}[{action}]"), &json!([item]), &mut pairs);
    flatten("account", &account, &mut pairs);
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer.finish()
}

/// `a[b][0][c]=…` pairs of `value` under `prefix`; nulls and empty arrays produce nothing, as in PHP.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                flatten(&format!("{prefix}[{key}]"), child, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), child, out);
            }
        }
        Value::Null => {}
        Value::String(text) => out.push((prefix.to_owned(), text.clone())),
        Value::Bool(flag) => out.push((prefix.to_owned(), if *flag { "1" } else { "0" }.into())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
    }
}

/// The `account` block: `subdomain`, `id`, `_links[self]`.
pub fn account(store: &Store, base: &str) -> Value {
    json!({
        "subdomain": store.account.subdomain,
        "id": store.account.id.to_string(),
        "_links": {"self": base},
    })
}

/// A stored value as the string a hook carries.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "1".into(),
        Value::Bool(false) => "0".into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Custom field values in the legacy hook shape: `{id, name, code?, values[{value, enum?}]}`, dates as bare values.
fn custom_fields(store: &Store, entity: &str, values: &[FieldValues]) -> Value {
    let defs = store.fields_of(entity);
    let fields: Vec<Value> = values
        .iter()
        .filter_map(|field| {
            let def = defs.iter().find(|d| d.id == field.field_id)?;
            let bare = matches!(def.kind.as_str(), "date" | "date_time" | "birthday");
            let items: Vec<Value> = field
                .values
                .iter()
                .map(|item| {
                    if bare {
                        return json!(text(&item.value));
                    }
                    let mut value = json!({"value": text(&item.value)});
                    if let Some(id) = item.enum_id {
                        value["enum"] = json!(id.to_string());
                    }
                    value
                })
                .collect();
            let mut out = json!({"id": def.id.to_string(), "name": def.name, "values": items});
            if let Some(code) = &def.code {
                out["code"] = json!(code);
            }
            Some(out)
        })
        .collect();
    Value::Array(fields)
}

/// The fields of a lead in `leads[add|update|status|responsible][0]`.
pub fn lead(store: &Store, lead: &Lead) -> Map<String, Value> {
    let tags: Vec<Value> = lead
        .tags
        .iter()
        .filter_map(|id| store.tag("leads", *id))
        .map(|t| json!({"id": t.id.to_string(), "name": t.name}))
        .collect();
    let mut item = json!({
        "id": lead.id.to_string(),
        "name": lead.name,
        "status_id": lead.status_id.to_string(),
        "pipeline_id": lead.pipeline_id.to_string(),
        "price": lead.price.to_string(),
        "responsible_user_id": lead.responsible_user_id.to_string(),
        "last_modified": lead.updated_at.to_string(),
        "modified_user_id": lead.updated_by.to_string(),
        "created_user_id": lead.created_by.to_string(),
        "date_create": lead.created_at.to_string(),
        "account_id": store.account.id.to_string(),
        "created_at": lead.created_at.to_string(),
        "updated_at": lead.updated_at.to_string(),
        "tags": tags,
        "custom_fields": custom_fields(store, "leads", &lead.custom_fields_values),
    });
    if let Some(reason) = lead.loss_reason_id {
        item["loss_reason_id"] = json!(reason.to_string());
    }
    match item {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the format of task dates in hooks.
pub fn utc(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `element_type` of a task's entity: 1 contact, 2 lead, 3 company, 12 customer.
fn element_type(entity_type: &str) -> Option<&'static str> {
    match entity_type {
        "contacts" => Some("1"),
        "leads" => Some("2"),
        "companies" => Some("3"),
        "customers" => Some("12"),
        _ => None,
    }
}

/// The fields of a task in `task[add|update|responsible][0]`; `before` is the task before an update.
pub fn task(store: &Store, task: &Task, before: Option<&Task>) -> Map<String, Value> {
    let mut item = Map::new();
    let mut put = |key: &str, value: Value| {
        item.insert(key.to_owned(), value);
    };
    put("id", json!(task.id.to_string()));
    if let (Some(id), Some(kind)) = (
        task.entity_id,
        task.entity_type.as_deref().and_then(element_type),
    ) {
        put("element_id", json!(id.to_string()));
        put("element_type", json!(kind));
    }
    put("task_type", json!(task.task_type_id.to_string()));
    put("date_create", json!(utc(task.created_at)));
    put("text", json!(task.text));
    put("status", json!(if task.is_completed { "1" } else { "0" }));
    put("account_id", json!(store.account.id.to_string()));
    put("created_user_id", json!(task.created_by.to_string()));
    put("last_modified", json!(utc(task.updated_at)));
    put(
        "responsible_user_id",
        json!(task.responsible_user_id.to_string()),
    );
    put("complete_till", json!(utc(task.complete_till)));
    if let Some(before) = before {
        let closed = task.is_completed && !before.is_completed;
        put("action_close", json!(if closed { "1" } else { "0" }));
        if before.text != task.text {
            put("old_text", json!(before.text));
        }
        if before.responsible_user_id != task.responsible_user_id {
            put(
                "old_responsible_user_id",
                json!(before.responsible_user_id.to_string()),
            );
        }
    }
    if let Some(result) = &task.result {
        put("result", json!({"text": result}));
    }
    put("created_at", json!(task.created_at.to_string()));
    put("updated_at", json!(task.updated_at.to_string()));
    put("complete_before", json!(task.complete_till.to_string()));
    item
}

/// The legacy numeric note type of a hook (4 common text, 5 file, …); unknown mappings keep the v4 name.
fn note_type(kind: &str) -> String {
    match kind {
        "common" => "4",
        "attachment" => "5",
        "call_in" => "10",
        "call_out" => "11",
        "service_message" | "extended_service_message" => "25",
        "sms_in" => "102",
        "sms_out" => "103",
        other => other,
    }
    .to_owned()
}

/// The `leads[note][0]` item: `{note: {…}}` with the note's fields.
pub fn note(store: &Store, note: &Note) -> Value {
    let mut fields = json!({
        "id": note.id.to_string(),
        "note_type": note_type(&note.note_type),
        "element_id": note.entity_id.to_string(),
        "element_type": "2",
        "text": note.params.get("text").map(text).unwrap_or_default(),
        "date_create": note.created_at.to_string(),
        "last_modified": note.updated_at.to_string(),
        "created_by": note.created_by.to_string(),
        "main_user_id": note.responsible_user_id.to_string(),
        "account_id": store.account.id.to_string(),
    });
    if note.note_type != "common" {
        fields["metadata"] = json!(note.params.to_string());
    }
    json!({ "note": fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_use_php_bracket_keys_and_drop_empties() {
        let body = form(
            "leads",
            "status",
            json!({"id": "1", "tags": [], "custom_fields": [{"id": "5", "values": ["1542067200"]}]}),
            json!({"subdomain": "x", "_links": {"self": "http://h"}}),
        );
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            vec![
                (
                    "leads[status][0][custom_fields][0][id]".to_owned(),
                    "5".to_owned()
                ),
                (
                    "leads[status][0][custom_fields][0][values][0]".to_owned(),
                    "1542067200".to_owned()
                ),
                ("leads[status][0][id]".to_owned(), "1".to_owned()),
                ("account[_links][self]".to_owned(), "http://h".to_owned()),
                ("account[subdomain]".to_owned(), "x".to_owned()),
            ]
        );
        assert!(
            body.contains("leads%5Bstatus%5D%5B0%5D%5Bid%5D=1"),
            "{body}"
        );
    }

    #[test]
    fn task_dates_are_utc_datetimes() {
        assert_eq!(utc(1_759_438_740), "2025-10-02 20:59:00");
    }
}
