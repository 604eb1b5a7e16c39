//! Contract tests of the catalogs (lists) a widget creates itself: catalogs, their fields, elements and links to leads.
//!
//! Each test cites the section of amocrm-api-v4.md it checks.

mod common;

use common::{send, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Creates a regular catalog and returns its id.
async fn new_catalog(sb: &Sandbox, name: &str) -> u64 {
    let body = json!([{"name": name, "type": "regular", "can_add_elements": true, "can_link_multiple": false, "request_id": "1"}]);
    let (status, created) = sb.send(Method::POST, "/api/v4/catalogs", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["_embedded"]["catalogs"][0]["request_id"], "1");
    created["_embedded"]["catalogs"][0]["id"].as_u64().unwrap()
}

/// Creates LeakGuard-like fields (text, numeric, date) and returns their ids in that order.
async fn new_fields(sb: &Sandbox, catalog: u64) -> [u64; 3] {
    let body = json!([
        {"name": "Kind", "type": "text", "code": "LG_KIND", "sort": 10},
        {"name": "Amount", "type": "numeric", "code": "LG_AMOUNT", "sort": 20},
        {"name": "Date", "type": "date", "code": "LG_DATE", "sort": 30},
    ]);
    let (status, created) = sb
        .send(
            Method::POST,
            &format!("/api/v4/catalogs/{catalog}/custom_fields"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let fields = created["_embedded"]["custom_fields"].as_array().unwrap();
    [0, 1, 2].map(|i| fields[i]["id"].as_u64().unwrap())
}

/// Creates one element and returns it.
async fn new_element(sb: &Sandbox, catalog: u64, element: Value) -> Value {
    let (status, created) = sb
        .send(
            Method::POST,
            &format!("/api/v4/catalogs/{catalog}/elements"),
            json!([element]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["_embedded"]["elements"][0].clone()
}

fn error_paths(body: &Value) -> Vec<String> {
    body["validation-errors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["errors"].as_array().unwrap())
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(body: &Value) -> Vec<u64> {
    body["_embedded"]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect()
}

/// amocrm-api-v4.md §9.1 / §9.2 / §1.5: `POST /catalogs/{id}/custom_fields` takes a batch, answers the full field
/// objects that `GET` lists, with `request_id`; codes are unique per catalog, types are those of §9.2.
#[tokio::test]
async fn catalog_fields_are_created_in_a_batch() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "LeakGuard: payments").await;
    let path = format!("/api/v4/catalogs/{catalog}/custom_fields");
    let body = json!([
        {"name": "Kind", "type": "text", "code": "LG_KIND", "sort": 10, "request_id": "kind"},
        {"name": "Status", "type": "select", "enums": [{"value": "Open", "sort": 1}, {"value": "Done", "sort": 2}]},
    ]);
    let (status, created) = sb.send(Method::POST, &path, body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let fields = created["_embedded"]["custom_fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["request_id"], "kind");
    assert_eq!(fields[1]["request_id"], "1");
    assert_eq!(fields[0]["code"], "LG_KIND");
    assert_eq!(fields[0]["type"], "text");
    assert_eq!(fields[0]["entity_type"], "catalogs");
    assert_eq!(fields[0]["sort"], 10);
    assert_eq!(
        fields[0]["is_deletable"], true,
        "API-created fields are the account's own"
    );
    assert!(fields[1]["enums"][1]["id"].as_u64().unwrap() > 0);
    let (status, listed) = sb.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let listed = listed["_embedded"]["custom_fields"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], fields[0]["id"]);
    assert_eq!(listed[1]["enums"], fields[1]["enums"]);
}

/// amocrm-api-v4.md §9.2 / §13.3: a bad item fails the whole batch with `validation-errors` per `request_id`,
/// and nothing is created.
#[tokio::test]
async fn catalog_field_problems_are_validation_errors() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "List").await;
    let path = format!("/api/v4/catalogs/{catalog}/custom_fields");
    let (status, _) = sb
        .send(
            Method::POST,
            &path,
            json!([{"name": "Kind", "type": "text", "code": "LG_KIND"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bad = json!([
        {"name": "Fine", "type": "numeric", "code": "LG_FINE"},
        {"name": "Again", "type": "text", "code": "LG_KIND"},
        {"name": "Lower", "type": "text", "code": "lg_lower"},
        {"name": "Phone", "type": "multitext"},
        {"name": "Choice", "type": "select"},
        {"type": "text"},
        {"name": "Twice", "type": "text", "code": "LG_FINE"},
    ]);
    let (status, body) = sb.send(Method::POST, &path, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["detail"], "Request validation failed");
    let groups: Vec<&str> = body["validation-errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(
        error_paths(&body),
        ["code", "code", "type", "enums", "name", "code"]
    );
    let (_, listed) = sb.get(&path).await;
    assert_eq!(
        listed["_embedded"]["custom_fields"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a failed batch creates nothing"
    );
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/catalogs/999999999/custom_fields",
            json!([{"name": "x", "type": "text"}]),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// amocrm-api-v4.md §10 / §13.2: an account holds at most 10 catalogs; the 11th is refused.
#[tokio::test]
async fn at_most_ten_catalogs() {
    let sb = Sandbox::start().await;
    let (_, listed) = sb.get("/api/v4/catalogs").await;
    let existing = listed["_embedded"]["catalogs"].as_array().unwrap().len();
    for n in existing..10 {
        new_catalog(&sb, &format!("List {n}")).await;
    }
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/catalogs",
            json!([{"name": "One too many", "type": "regular"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, listed) = sb.get("/api/v4/catalogs?limit=250").await;
    assert_eq!(
        listed["_embedded"]["catalogs"].as_array().unwrap().len(),
        10
    );
}

/// amocrm-api-v4.md §9.3 / §13.3: numeric values take decimal text or numbers, date values Unix seconds or RFC 3339;
/// anything else is a validation error at the value's path and nothing is written.
#[tokio::test]
async fn element_values_are_validated_per_field_type() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "List").await;
    let [kind, amount, date] = new_fields(&sb, catalog).await;
    let good = new_element(
        &sb,
        catalog,
        json!({"name": "Plan #lg-e1-1", "custom_fields_values": [
            {"field_id": kind, "values": [{"value": "plan"}]},
            {"field_id": amount, "values": [{"value": "15000.50"}]},
            {"field_id": date, "values": [{"value": 1_798_318_800}]},
        ]}),
    )
    .await;
    let values = good["custom_fields_values"].as_array().unwrap();
    assert_eq!(values[1]["values"][0]["value"], "15000.50");
    assert_eq!(values[1]["field_code"], "LG_AMOUNT");
    assert_eq!(values[1]["field_type"], "numeric");
    assert_eq!(values[2]["values"][0]["value"], 1_798_318_800);
    let number = new_element(
        &sb,
        catalog,
        json!({"name": "n", "custom_fields_values": [
            {"field_id": amount, "values": [{"value": 15000.5}]},
            {"field_code": "LG_DATE", "values": [{"value": "2026-12-27T00:00:00+03:00"}]},
        ]}),
    )
    .await;
    assert_eq!(
        number["custom_fields_values"][0]["values"][0]["value"],
        "15000.5"
    );
    assert_eq!(
        number["custom_fields_values"][1]["values"][0]["value"],
        1_798_318_800
    );
    let mut bad_items = Vec::new();
    for garbage in ["abc", "1e3", "NaN", "15 000", "1.2.3", ""] {
        bad_items.push(json!({"name": "bad", "custom_fields_values": [{"field_id": amount, "values": [{"value": garbage}]}]}));
    }
    bad_items.push(json!({"name": "bad", "custom_fields_values": [{"field_id": date, "values": [{"value": "27.12.2026"}]}]}));
    bad_items.push(json!({"name": "bad", "custom_fields_values": [{"field_id": date, "values": [{"value": true}]}]}));
    let count = bad_items.len();
    let path = format!("/api/v4/catalogs/{catalog}/elements");
    let (status, body) = sb.send(Method::POST, &path, Value::Array(bad_items)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let paths = error_paths(&body);
    assert_eq!(paths.len(), count, "{body}");
    assert!(paths
        .iter()
        .all(|p| p == "custom_fields_values.0.values.0.value"));
    let (_, listed) = sb.get(&path).await;
    assert_eq!(ids(&listed).len(), 2, "a failed batch creates nothing");
}

/// amocrm-api-v4.md §10.2 / §1.3 / §1.4: elements filter by `filter[id]` (both bracket forms) and the SDK's
/// top-level `id`, search with `query` in names and text values, page with `limit` ≤ 250 and end with 204.
#[tokio::test]
async fn elements_filter_search_and_page() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "List").await;
    let [kind, _, _] = new_fields(&sb, catalog).await;
    let mut created = Vec::new();
    for (name, text) in [
        ("Payment #lg-e7-100", "payment"),
        ("Plan A", "plan"),
        ("Plan B", "Expense"),
        ("Other", "void"),
    ] {
        let element = new_element(
            &sb,
            catalog,
            json!({"name": name, "custom_fields_values": [{"field_id": kind, "values": [{"value": text}]}]}),
        )
        .await;
        created.push(element["id"].as_u64().unwrap());
    }
    let path = format!("/api/v4/catalogs/{catalog}/elements");
    let (_, body) = sb
        .get(&format!(
            "{path}?filter[id][]={}&filter[id][]={}",
            created[0], created[2]
        ))
        .await;
    assert_eq!(ids(&body), [created[0], created[2]]);
    let (_, body) = sb
        .get(&format!(
            "{path}?filter%5Bid%5D%5B0%5D={}&filter%5Bid%5D%5B1%5D={}",
            created[1], created[3]
        ))
        .await;
    assert_eq!(ids(&body), [created[1], created[3]]);
    let (_, body) = sb.get(&format!("{path}?id={}", created[1])).await;
    assert_eq!(ids(&body), [created[1]]);
    let (_, body) = sb.get(&format!("{path}?query=%23lg-e7-100")).await;
    assert_eq!(ids(&body), [created[0]], "the marker in the name is found");
    let (_, body) = sb.get(&format!("{path}?query=EXPENSE")).await;
    assert_eq!(ids(&body), [created[2]], "text values are searched too");
    let (_, body) = sb.get(&format!("{path}?query=plan")).await;
    assert_eq!(
        ids(&body),
        [created[1], created[2]],
        "case-insensitive substring"
    );
    let (status, _) = sb.get(&format!("{path}?query=%23lg-e7-999")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, first) = sb.get(&format!("{path}?limit=3")).await;
    assert_eq!(ids(&first).len(), 3);
    assert!(first["_links"]["next"]["href"].is_string());
    let (_, second) = sb.get(&format!("{path}?limit=3&page=2")).await;
    assert_eq!(ids(&second), [created[3]]);
    assert!(second["_links"].get("next").is_none());
    let response = sb
        .api(Method::GET, &format!("{path}?limit=3&page=3"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, _) = sb.get(&format!("{path}?limit=251")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// amocrm-api-v4.md §10.2 / §9.3 / §14 item 5: PATCH (batch and single) returns full elements, touches only the listed
/// fields, clears with `values: null`, and bumps `updated_at` and `updated_by`.
#[tokio::test]
async fn element_patches_return_full_elements() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "List").await;
    let [kind, amount, date] = new_fields(&sb, catalog).await;
    let element = new_element(
        &sb,
        catalog,
        json!({"name": "Plan", "custom_fields_values": [
            {"field_id": kind, "values": [{"value": "plan"}]},
            {"field_id": amount, "values": [{"value": "100"}]},
            {"field_id": date, "values": [{"value": 1_798_318_800}]},
        ]}),
    )
    .await;
    let id = element["id"].as_u64().unwrap();
    sb.client
        .post(format!("{}/__sandbox/clock", sb.app))
        .json(&json!({"offset_seconds": 3600}))
        .send()
        .await
        .unwrap();
    let manager = sb.demo().await["manager_user_id"].as_u64().unwrap();
    let session = sb.session_for(manager).await;
    let path = format!("/api/v4/catalogs/{catalog}/elements");
    let patch = json!([{"id": id, "custom_fields_values": [{"field_id": kind, "values": [{"value": "void"}]}], "request_id": "v"}]);
    let (status, body) = send(
        sb.client
            .patch(format!("{}{path}", sb.app))
            .header("cookie", session)
            .header("x-requested-with", "XMLHttpRequest")
            .json(&patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let patched = &body["_embedded"]["elements"][0];
    assert_eq!(patched["request_id"], "v");
    assert_eq!(patched["name"], "Plan");
    assert!(patched["updated_at"].as_i64() > element["updated_at"].as_i64());
    assert_eq!(patched["updated_by"], manager);
    let values = patched["custom_fields_values"].as_array().unwrap();
    assert_eq!(values.len(), 3, "unlisted fields keep their values");
    let value_of = |values: &[Value], field: u64| {
        values
            .iter()
            .find(|v| v["field_id"] == field)
            .map(|v| v["values"][0]["value"].clone())
    };
    assert_eq!(value_of(values, kind), Some(json!("void")));
    assert_eq!(value_of(values, amount), Some(json!("100")));
    let single = json!({"name": "Plan, renamed", "custom_fields_values": [{"field_id": amount, "values": null}]});
    let (status, bare) = sb
        .send(Method::PATCH, &format!("{path}/{id}"), single)
        .await;
    assert_eq!(status, StatusCode::OK, "{bare}");
    assert_eq!(bare["id"], id);
    assert_eq!(bare["name"], "Plan, renamed");
    assert_eq!(
        value_of(bare["custom_fields_values"].as_array().unwrap(), amount),
        None
    );
    let (_, read) = sb.get(&format!("{path}/{id}")).await;
    assert_eq!(read["name"], "Plan, renamed");
    let (status, body) = sb
        .send(Method::PATCH, &path, json!([{"id": 1, "name": "x"}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_paths(&body), ["id"]);
}

/// amocrm-api-v4.md §10.2 / §10.4: linked elements show in `GET /leads/{id}?with=catalog_elements` with
/// `metadata.catalog_id` and `quantity`; unlinking removes them. The catalog's `can_link_multiple` is kept as sent:
/// the reference documents no refusal for it, so an element may still be linked to a second lead.
#[tokio::test]
async fn links_show_in_the_lead_with_catalog_elements() {
    let sb = Sandbox::start().await;
    let catalog = new_catalog(&sb, "List").await;
    let (_, read) = sb.get(&format!("/api/v4/catalogs/{catalog}")).await;
    assert_eq!(read["can_link_multiple"], false);
    assert_eq!(read["type"], "regular");
    let element = new_element(&sb, catalog, json!({"name": "A"})).await["id"]
        .as_u64()
        .unwrap();
    let demo = sb.demo().await;
    let lead = demo["deal_with_task"].as_u64().unwrap();
    let other = demo["deal_won"].as_u64().unwrap();
    let link = json!([{"to_entity_id": element, "to_entity_type": "catalog_elements", "metadata": {"catalog_id": catalog}}]);
    for id in [lead, other] {
        let (status, body) = sb
            .send(
                Method::POST,
                &format!("/api/v4/leads/{id}/link"),
                link.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, read) = sb
        .get(&format!("/api/v4/leads/{lead}?with=catalog_elements"))
        .await;
    let linked: Vec<&Value> = read["_embedded"]["catalog_elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["metadata"]["catalog_id"] == catalog)
        .collect();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0]["id"], element);
    assert_eq!(linked[0]["metadata"]["quantity"], 1.0);
    let (status, _) = sb
        .send(
            Method::POST,
            &format!("/api/v4/leads/{lead}/unlink"),
            link.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, read) = sb
        .get(&format!("/api/v4/leads/{lead}?with=catalog_elements"))
        .await;
    assert!(read["_embedded"]["catalog_elements"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != element));
    let wrong = json!([{"to_entity_id": element, "to_entity_type": "catalog_elements", "metadata": {"catalog_id": catalog + 1}}]);
    let (status, body) = sb
        .send(Method::POST, &format!("/api/v4/leads/{lead}/link"), wrong)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_paths(&body), ["metadata.catalog_id"]);
}
