//! Contract tests of the API v4 mock: one test per documented behaviour of amocrm-api-v4.md, over real HTTP.

mod common;

use common::{send, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The main pipeline's id and its first two ordinary stages.
async fn main_pipeline(sb: &Sandbox) -> (u64, u64, u64) {
    let (_, body) = sb.get("/api/v4/leads/pipelines").await;
    let pipeline = body["_embedded"]["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_main"] == true)
        .unwrap()
        .clone();
    let stages: Vec<u64> = pipeline["_embedded"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == 0 && s["id"] != 142 && s["id"] != 143)
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    (pipeline["id"].as_u64().unwrap(), stages[0], stages[1])
}

/// Creates a lead and returns its id.
async fn new_lead(sb: &Sandbox, body: Value) -> u64 {
    let (status, created) = sb.send(Method::POST, "/api/v4/leads", json!([body])).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["_embedded"]["leads"][0]["id"].as_u64().unwrap()
}

async fn lead(sb: &Sandbox, id: u64, with: &str) -> Value {
    let (status, body) = sb.get(&format!("/api/v4/leads/{id}?with={with}")).await;
    assert_eq!(status, StatusCode::OK);
    body
}

fn tag_names(lead: &Value) -> Vec<String> {
    let mut names: Vec<String> = lead["_embedded"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// amocrm-api-v4.md §1.1 / §14 item 1: a call without a session or bearer token gets 401 problem+json.
#[tokio::test]
async fn unauthenticated_call_is_401_problem_json() {
    let sb = Sandbox::start().await;
    let response = sb
        .client
        .get(format!("{}/api/v4/leads", sb.app))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert_eq!(body["type"], "https://httpstatus.es/401");
    let wrong = sb
        .client
        .get(format!("{}/api/v4/leads", sb.app))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

/// amocrm-api-v4.md §1.1 / §14 item 2: success is application/hal+json and every answer carries X-Request-Id.
#[tokio::test]
async fn success_is_hal_json_with_request_id() {
    let sb = Sandbox::start().await;
    let response = sb
        .api(Method::GET, "/api/v4/leads?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/hal+json");
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36);
    let other = sb
        .api(Method::GET, "/api/v4/leads?limit=1")
        .send()
        .await
        .unwrap();
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
}

/// amocrm-api-v4.md §1.2–§1.3: `_page`, `_links.self/first/next/prev`; `next` exists iff there is a further page.
#[tokio::test]
async fn pagination_links_follow_pages() {
    let sb = Sandbox::start().await;
    let (_, first) = sb.get("/api/v4/leads?limit=100").await;
    assert_eq!(first["_page"], 1);
    assert_eq!(first["_embedded"]["leads"].as_array().unwrap().len(), 100);
    assert!(first["_links"]["prev"].is_null());
    let next = first["_links"]["next"]["href"].as_str().unwrap();
    assert!(
        next.contains("page=2") && next.contains("limit=100"),
        "{next}"
    );
    let (_, second) = send(sb.client.get(next).bearer_auth(&sb.token)).await;
    assert_eq!(second["_page"], 2);
    assert!(second["_links"]["prev"]["href"]
        .as_str()
        .unwrap()
        .contains("page=1"));
    let (_, default) = sb.get("/api/v4/leads").await;
    assert_eq!(
        default["_embedded"]["leads"].as_array().unwrap().len(),
        50,
        "default limit is 50"
    );
    let (_, last) = sb.get("/api/v4/leads?limit=250&page=2").await;
    assert!(
        last["_links"]["next"].is_null(),
        "300 leads: page 2 of 250 is the last"
    );
}

/// amocrm-api-v4.md §1.3: past the last page → 204 with an empty body.
#[tokio::test]
async fn past_the_last_page_is_204_with_empty_body() {
    let sb = Sandbox::start().await;
    let response = sb
        .api(Method::GET, "/api/v4/leads?limit=250&page=9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
}

/// amocrm-api-v4.md §1.3: nothing matches → 204 with an empty body.
#[tokio::test]
async fn no_match_is_204_with_empty_body() {
    let sb = Sandbox::start().await;
    let response = sb
        .api(Method::GET, "/api/v4/leads?filter[id]=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
}

/// amocrm-api-v4.md §1.3 / §13.3: `limit` above 250 → 422 "Limit 250 per page".
#[tokio::test]
async fn limit_above_250_is_422() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/leads?limit=251").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"], "Limit 250 per page");
}

/// amocrm-api-v4.md §1.4: `filter[id][]=…` and `filter[id][0]=…` select the same leads.
#[tokio::test]
async fn both_bracket_forms_filter_alike() {
    let sb = Sandbox::start().await;
    let (_, page) = sb.get("/api/v4/leads?limit=3").await;
    let ids: Vec<u64> = page["_embedded"]["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_u64().unwrap())
        .collect();
    let empty = ids
        .iter()
        .map(|id| format!("filter[id][]={id}"))
        .collect::<Vec<_>>()
        .join("&");
    let indexed = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("filter[id][{i}]={id}"))
        .collect::<Vec<_>>()
        .join("&");
    let (_, a) = sb.get(&format!("/api/v4/leads?{empty}")).await;
    let (_, b) = sb.get(&format!("/api/v4/leads?{indexed}")).await;
    assert_eq!(a["_embedded"]["leads"].as_array().unwrap().len(), 3);
    assert_eq!(a["_embedded"], b["_embedded"]);
}

/// amocrm-api-v4.md §1.4: percent-encoded brackets (`filter%5Bid%5D%5B0%5D`) work like plain ones.
#[tokio::test]
async fn percent_encoded_brackets_filter() {
    let sb = Sandbox::start().await;
    let id = sb.demo().await["deal_with_task"].as_u64().unwrap();
    let (status, body) = sb
        .get(&format!("/api/v4/leads?filter%5Bid%5D%5B0%5D={id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let leads = body["_embedded"]["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["id"], id);
}

/// amocrm-api-v4.md §1.4: an unknown filter such as the flat `filter[status_id]` is silently ignored.
#[tokio::test]
async fn unknown_filter_is_ignored() {
    let sb = Sandbox::start().await;
    let (_, plain) = sb.get("/api/v4/leads?limit=250").await;
    let (status, filtered) = sb
        .get("/api/v4/leads?limit=250&filter[status_id]=142&filter[tasks]=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plain["_embedded"], filtered["_embedded"]);
}

/// amocrm-api-v4.md §2.2 / §14 item 4: with the ignore-all-filters switch every filter is ignored.
#[tokio::test]
async fn ignore_all_filters_switch() {
    let sb = Sandbox::start().await;
    let id = sb.demo().await["deal_won"].as_u64().unwrap();
    let path = format!("/api/v4/leads?limit=250&filter[id]={id}");
    let (_, on) = sb.get(&path).await;
    assert_eq!(on["_embedded"]["leads"].as_array().unwrap().len(), 1);
    let options = json!({"filters_enabled": false});
    let response = sb
        .client
        .post(format!("{}/__sandbox/options", sb.app))
        .json(&options)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, off) = sb.get(&path).await;
    assert_eq!(off["_embedded"]["leads"].as_array().unwrap().len(), 250);
}

/// amocrm-api-v4.md §2.2: `filter[statuses][N][pipeline_id|status_id]` pairs, combined with a `closed_at` range.
#[tokio::test]
async fn status_pairs_and_ranges_filter_leads() {
    let sb = Sandbox::start().await;
    let (pipeline, _, _) = main_pipeline(&sb).await;
    let (_, won) = sb.get(&format!("/api/v4/leads?limit=250&filter[statuses][0][pipeline_id]={pipeline}&filter[statuses][0][status_id]=142")).await;
    let won = won["_embedded"]["leads"].as_array().unwrap();
    assert!(!won.is_empty());
    assert!(won
        .iter()
        .all(|l| l["status_id"] == 142 && l["pipeline_id"] == pipeline));
    let (_, both) = sb
        .get(&format!(
            "/api/v4/leads?limit=250&filter[statuses][0][pipeline_id]={pipeline}&filter[statuses][0][status_id]=142&filter[statuses][1][pipeline_id]={pipeline}&filter[statuses][1][status_id]=143"
        ))
        .await;
    let both = both["_embedded"]["leads"].as_array().unwrap();
    assert!(both.len() > won.len());
    let cut = won[0]["closed_at"].as_i64().unwrap();
    let (_, recent) = sb
        .get(&format!(
            "/api/v4/leads?limit=250&filter[closed_at][from]={cut}&order[closed_at]=asc"
        ))
        .await;
    assert!(recent["_embedded"]["leads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["closed_at"].as_i64().unwrap() >= cut));
}

/// amocrm-api-v4.md §2.2: `order[updated_at]=desc` sorts newest first.
#[tokio::test]
async fn order_sorts_leads() {
    let sb = Sandbox::start().await;
    let (_, body) = sb
        .get("/api/v4/leads?limit=250&order[updated_at]=desc")
        .await;
    let times: Vec<i64> = body["_embedded"]["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["updated_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
}

/// amocrm-api-v4.md §2.1: `with=contacts,loss_reason,catalog_elements` adds those embeds; loss_reason is an array.
#[tokio::test]
async fn with_adds_embeds() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let lost = lead(
        &sb,
        demo["deal_lost"].as_u64().unwrap(),
        "contacts,loss_reason",
    )
    .await;
    assert_eq!(
        lost["_embedded"]["loss_reason"][0]["id"],
        lost["loss_reason_id"]
    );
    assert_eq!(lost["_embedded"]["contacts"][0]["is_main"], true);
    assert!(lost["_embedded"]["tags"].is_array() && lost["_embedded"]["companies"].is_array());
    let won = lead(&sb, demo["deal_won"].as_u64().unwrap(), "catalog_elements").await;
    assert!(won["_embedded"]["catalog_elements"][0]["metadata"]["catalog_id"].is_u64());
    let bare = lead(&sb, demo["deal_won"].as_u64().unwrap(), "").await;
    assert!(bare["_embedded"].get("contacts").is_none());
}

/// amocrm-api-v4.md §2.7: `with=only_deleted` lists deleted leads only.
#[tokio::test]
async fn only_deleted_lists_deleted_leads() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/leads?with=only_deleted").await;
    assert_eq!(status, StatusCode::OK);
    let leads = body["_embedded"]["leads"].as_array().unwrap();
    assert!(!leads.is_empty());
    assert!(leads.iter().all(|l| l["is_deleted"] == true));
}

/// amocrm-api-v4.md §2.3: a missing lead id answers 204.
#[tokio::test]
async fn missing_lead_is_204() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/leads/1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_null());
}

/// amocrm-api-v4.md §2.4: POST returns only `{id, request_id, _links}`; `request_id` defaults to the ordinal.
#[tokio::test]
async fn create_returns_only_id_request_id_links() {
    let sb = Sandbox::start().await;
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/leads",
            json!([{"name": "A", "request_id": "x"}, {"name": "B"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let leads = body["_embedded"]["leads"].as_array().unwrap();
    assert_eq!(leads[0]["request_id"], "x");
    assert_eq!(leads[1]["request_id"], "1");
    for lead in leads {
        let mut keys: Vec<&str> = lead
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["_links", "id", "request_id"]);
    }
    let created = self::lead(&sb, leads[1]["id"].as_u64().unwrap(), "").await;
    let (pipeline, first, _) = main_pipeline(&sb).await;
    assert_eq!(
        (
            created["pipeline_id"].as_u64(),
            created["status_id"].as_u64()
        ),
        (Some(pipeline), Some(first))
    );
}

/// amocrm-api-v4.md §2.5: batch PATCH answers `{id, updated_at, _links}` per lead.
#[tokio::test]
async fn batch_patch_returns_id_and_updated_at() {
    let sb = Sandbox::start().await;
    let id = new_lead(&sb, json!({"name": "A"})).await;
    let (status, body) = sb
        .send(
            Method::PATCH,
            "/api/v4/leads",
            json!([{"id": id, "price": 500}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let row = &body["_embedded"]["leads"][0];
    assert_eq!(row["id"], id);
    assert!(row["updated_at"].is_i64() && row["_links"]["self"]["href"].is_string());
    assert_eq!(lead(&sb, id, "").await["price"], 500);
}

/// amocrm-api-v4.md §2.5: PATCH /leads/{id} takes a bare object and answers the bare `{id, updated_at, _links}`.
#[tokio::test]
async fn single_patch_takes_and_returns_a_bare_object() {
    let sb = Sandbox::start().await;
    let id = new_lead(&sb, json!({"name": "A"})).await;
    let (status, body) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/leads/{id}"),
            json!({"name": "B"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id);
    assert!(body.get("_embedded").is_none());
    assert_eq!(lead(&sb, id, "").await["name"], "B");
    let (status, _) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/leads/{id}"),
            json!([{"name": "C"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// amocrm-api-v4.md §1.5: a batch body that is not an array → 400; an empty array → 400.
#[tokio::test]
async fn batch_body_must_be_an_array() {
    let sb = Sandbox::start().await;
    let (status, body) = sb
        .send(Method::POST, "/api/v4/leads", json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["code"],
        "InvalidType"
    );
    let (status, body) = sb.send(Method::POST, "/api/v4/leads", json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Request data can not be empty");
}

/// amocrm-api-v4.md §1.5: more than 250 entities in one write → 422 "Limit 250 per page".
#[tokio::test]
async fn batch_over_250_is_422() {
    let sb = Sandbox::start().await;
    let items: Vec<Value> = (0..251).map(|i| json!({"name": format!("L{i}")})).collect();
    let (status, body) = sb
        .send(Method::POST, "/api/v4/leads", Value::Array(items))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"], "Limit 250 per page");
}

/// amocrm-api-v4.md §13.3: an unknown status id → 400 `validation-errors` with the item's `request_id` and `path`; nothing is written.
#[tokio::test]
async fn unknown_status_is_a_validation_error() {
    let sb = Sandbox::start().await;
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/leads",
            json!([{"name": "ok"}, {"name": "bad", "status_id": 999, "request_id": "r2"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["title"], "Bad Request");
    let group = &body["validation-errors"][0];
    assert_eq!(group["request_id"], "r2");
    assert_eq!(group["errors"][0]["path"], "status_id");
    assert_eq!(group["errors"][0]["code"], "NotSupportedChoice");
    let (_, found) = sb.get("/api/v4/leads?query=ok&limit=250").await;
    assert!(
        found.is_null()
            || found["_embedded"]["leads"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["name"] != "ok")
    );
}

/// amocrm-api-v4.md §14 item 5: `updated_at` and `updated_by` change on every write.
#[tokio::test]
async fn updated_at_bumps_on_change() {
    let sb = Sandbox::start().await;
    let id = sb.demo().await["deal_with_task"].as_u64().unwrap();
    let before = lead(&sb, id, "").await;
    sb.client
        .post(format!("{}/__sandbox/clock", sb.app))
        .json(&json!({"offset_seconds": 3600}))
        .send()
        .await
        .unwrap();
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"price": 1}),
    )
    .await;
    let after = lead(&sb, id, "").await;
    assert!(after["updated_at"].as_i64() > before["updated_at"].as_i64());
    assert_eq!(after["updated_by"], sb.demo().await["admin_user_id"]);
}

/// amocrm-api-v4.md §2.5 (closed_at auto-fill): entering 142/143 sets `closed_at`; reopening clears it.
#[tokio::test]
async fn closed_at_follows_won_and_lost() {
    let sb = Sandbox::start().await;
    let (pipeline, first, _) = main_pipeline(&sb).await;
    let id = new_lead(&sb, json!({"name": "A"})).await;
    assert!(lead(&sb, id, "").await["closed_at"].is_null());
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"status_id": 142, "pipeline_id": pipeline}),
    )
    .await;
    let won = lead(&sb, id, "").await;
    assert!(won["closed_at"].is_i64());
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"status_id": first, "pipeline_id": pipeline}),
    )
    .await;
    assert!(lead(&sb, id, "").await["closed_at"].is_null());
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"status_id": 143, "pipeline_id": pipeline}),
    )
    .await;
    assert!(lead(&sb, id, "").await["closed_at"].is_i64());
}

/// amocrm-api-v4.md §2.5 / §4: `loss_reason_id` is accepted only with status 143; otherwise 400 at path `loss_reason_id`.
#[tokio::test]
async fn loss_reason_needs_status_143() {
    let sb = Sandbox::start().await;
    let (pipeline, _, second) = main_pipeline(&sb).await;
    let (_, reasons) = sb.get("/api/v4/leads/loss_reasons").await;
    let reason = reasons["_embedded"]["loss_reasons"][0]["id"]
        .as_u64()
        .unwrap();
    let id = new_lead(&sb, json!({"name": "A"})).await;
    let (status, body) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/leads/{id}"),
            json!({"loss_reason_id": reason}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["path"],
        "loss_reason_id"
    );
    let lost = json!({"status_id": 143, "pipeline_id": pipeline, "loss_reason_id": reason});
    let (status, _) = sb
        .send(Method::PATCH, &format!("/api/v4/leads/{id}"), lost)
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = lead(&sb, id, "loss_reason").await;
    assert_eq!(read["loss_reason_id"], reason);
    assert_eq!(read["_embedded"]["loss_reason"][0]["id"], reason);
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"status_id": second, "pipeline_id": pipeline}),
    )
    .await;
    assert!(
        lead(&sb, id, "").await["loss_reason_id"].is_null(),
        "reopening drops the reason"
    );
}

/// amocrm-api-v4.md §6.3: `tags_to_add` / `tags_to_delete` change only the named tags.
#[tokio::test]
async fn tag_deltas_leave_other_tags_alone() {
    let sb = Sandbox::start().await;
    let id = new_lead(
        &sb,
        json!({"name": "A", "_embedded": {"tags": [{"name": "keep"}, {"name": "drop"}]}}),
    )
    .await;
    let (status, _) = sb
        .send(Method::PATCH, "/api/v4/leads", json!([{"id": id, "tags_to_add": [{"name": "new"}], "tags_to_delete": [{"name": "drop"}]}]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tag_names(&lead(&sb, id, "").await), ["keep", "new"]);
}

/// amocrm-api-v4.md §6.3: `_embedded.tags` replaces the whole set and `_embedded.tags: null` clears it.
#[tokio::test]
async fn embedded_tags_replace_and_null_clears() {
    let sb = Sandbox::start().await;
    let id = new_lead(
        &sb,
        json!({"name": "A", "_embedded": {"tags": [{"name": "one"}, {"name": "two"}]}}),
    )
    .await;
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"_embedded": {"tags": [{"name": "three"}]}}),
    )
    .await;
    assert_eq!(tag_names(&lead(&sb, id, "").await), ["three"]);
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"_embedded": {"tags": null}}),
    )
    .await;
    assert!(tag_names(&lead(&sb, id, "").await).is_empty());
}

/// amocrm-api-v4.md §6.2: POST /leads/tags is idempotent by name; colours are limited to the documented palette.
#[tokio::test]
async fn tag_create_is_idempotent_by_name() {
    let sb = Sandbox::start().await;
    let (status, first) = sb
        .send(
            Method::POST,
            "/api/v4/leads/tags",
            json!([{"name": "Hot", "color": "FF8F92"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = sb
        .send(Method::POST, "/api/v4/leads/tags", json!([{"name": "Hot"}]))
        .await;
    assert_eq!(
        first["_embedded"]["tags"][0]["id"],
        again["_embedded"]["tags"][0]["id"]
    );
    assert_eq!(again["_embedded"]["tags"][0]["color"], "FF8F92");
    let (_, contact) = sb
        .send(
            Method::POST,
            "/api/v4/contacts/tags",
            json!([{"name": "Hot"}]),
        )
        .await;
    assert_ne!(
        contact["_embedded"]["tags"][0]["id"], first["_embedded"]["tags"][0]["id"],
        "dictionaries are per entity"
    );
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/leads/tags",
            json!([{"name": "Odd", "color": "123456"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, listed) = sb.get("/api/v4/leads/tags?filter[name]=Hot").await;
    assert_eq!(listed["_embedded"]["tags"].as_array().unwrap().len(), 1);
}

/// amocrm-api-v4.md §5.6: `closest_task_at` = earliest `complete_till` of the lead's open tasks, null when none.
#[tokio::test]
async fn closest_task_at_tracks_open_tasks() {
    let sb = Sandbox::start().await;
    let id = new_lead(&sb, json!({"name": "A"})).await;
    assert!(lead(&sb, id, "").await["closest_task_at"].is_null());
    let task = |till: i64| json!({"text": "Call", "complete_till": till, "entity_type": "leads", "entity_id": id});
    let (status, created) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([task(2_000_000_000), task(1_900_000_000)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead(&sb, id, "").await["closest_task_at"], 1_900_000_000);
    let early = created["_embedded"]["tasks"][1]["id"].as_u64().unwrap();
    sb.send(
        Method::PATCH,
        &format!("/api/v4/tasks/{early}"),
        json!({"complete_till": 2_100_000_000}),
    )
    .await;
    assert_eq!(lead(&sb, id, "").await["closest_task_at"], 2_000_000_000);
    let late = created["_embedded"]["tasks"][0]["id"].as_u64().unwrap();
    let done = json!([{"id": late, "is_completed": true}, {"id": early, "is_completed": true, "result": {"text": "ok"}}]);
    sb.send(Method::PATCH, "/api/v4/tasks", done).await;
    assert!(lead(&sb, id, "").await["closest_task_at"].is_null());
}

/// amocrm-api-v4.md §5.3: a task needs `text` and `complete_till`.
#[tokio::test]
async fn task_create_requires_text_and_deadline() {
    let sb = Sandbox::start().await;
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([{"entity_type": "leads"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paths: Vec<&str> = body["validation-errors"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"text") && paths.contains(&"complete_till"),
        "{paths:?}"
    );
}

/// amocrm-api-v4.md §5.1 / §5.4: `result` is `[]` while empty and `{text}` once completed through PATCH.
#[tokio::test]
async fn task_result_and_completion() {
    let sb = Sandbox::start().await;
    let (_, created) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([{"text": "Call", "complete_till": 1_900_000_000, "request_id": "t"}]),
        )
        .await;
    assert_eq!(created["_embedded"]["tasks"][0]["request_id"], "t");
    let id = created["_embedded"]["tasks"][0]["id"].as_u64().unwrap();
    let (_, task) = sb.get(&format!("/api/v4/tasks/{id}")).await;
    assert_eq!(task["result"], json!([]));
    assert_eq!(task["is_completed"], false);
    let (status, single) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/tasks/{id}"),
            json!({"is_completed": true, "result": {"text": "Done"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["id"], id);
    assert!(single["updated_at"].is_i64());
    let (_, task) = sb.get(&format!("/api/v4/tasks/{id}")).await;
    assert_eq!(task["result"], json!({"text": "Done"}));
    assert_eq!(task["is_completed"], true);
}

/// amocrm-api-v4.md §5.2: `filter[entity_id]` is honoured only together with `filter[entity_type]`.
#[tokio::test]
async fn task_entity_id_needs_entity_type() {
    let sb = Sandbox::start().await;
    let lead = sb.demo().await["deal_with_task"].as_u64().unwrap();
    let (_, scoped) = sb.get(&format!("/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]={lead}&filter[is_completed]=0")).await;
    let scoped = scoped["_embedded"]["tasks"].as_array().unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0]["entity_id"], lead);
    let (_, ignored) = sb
        .get(&format!(
            "/api/v4/tasks?filter[entity_id][]={lead}&limit=250"
        ))
        .await;
    assert_eq!(ignored["_embedded"]["tasks"].as_array().unwrap().len(), 250);
}

/// amocrm-api-v4.md §5.2: `filter[task_type]` and `filter[task_type_id]` both filter; `order[complete_till]` sorts.
#[tokio::test]
async fn task_type_filters_and_order() {
    let sb = Sandbox::start().await;
    for key in ["task_type", "task_type_id"] {
        let (_, body) = sb
            .get(&format!(
                "/api/v4/tasks?filter[{key}][]=2&limit=250&order[complete_till]=asc"
            ))
            .await;
        let tasks = body["_embedded"]["tasks"].as_array().unwrap();
        assert!(!tasks.is_empty());
        assert!(tasks.iter().all(|t| t["task_type_id"] == 2));
        let tills: Vec<i64> = tasks
            .iter()
            .map(|t| t["complete_till"].as_i64().unwrap())
            .collect();
        assert!(tills.windows(2).all(|w| w[0] <= w[1]));
    }
    let (_, open) = sb
        .get("/api/v4/tasks?filter[is_completed]=0&filter[responsible_user_id]=8100002&limit=250")
        .await;
    assert!(open["_embedded"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["is_completed"] == false && t["responsible_user_id"] == 8100002));
}

/// amocrm-api-v4.md §5.2: `filter[updated_at]` takes an int ("changed since") or a `from`/`to` range.
#[tokio::test]
async fn task_updated_at_int_or_range() {
    let sb = Sandbox::start().await;
    let (_, all) = sb.get("/api/v4/tasks?limit=250&order[id]=asc").await;
    let cut = all["_embedded"]["tasks"][100]["updated_at"]
        .as_i64()
        .unwrap();
    let (_, since) = sb
        .get(&format!("/api/v4/tasks?limit=250&filter[updated_at]={cut}"))
        .await;
    assert!(since["_embedded"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["updated_at"].as_i64().unwrap() >= cut));
    let (_, range) = sb
        .get(&format!(
            "/api/v4/tasks?limit=250&filter[updated_at][to]={cut}"
        ))
        .await;
    assert!(range["_embedded"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["updated_at"].as_i64().unwrap() <= cut));
}

/// amocrm-api-v4.md §8.1: /users answers 403 to a non-admin (session or token), 200 with totals to the admin.
#[tokio::test]
async fn users_are_admin_only() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/users?with=role,group").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["_total_items"], 6);
    assert!(body["_links"]["last"].is_object());
    let manager = sb.demo().await["manager_user_id"].as_u64().unwrap();
    let cookie = sb.session_for(manager).await;
    let (status, _) = send(
        sb.client
            .get(format!("{}/api/v4/users", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = sb.running.state().issue_token(manager);
    let (status, _) = send(
        sb.client
            .get(format!("{}/api/v4/users", sb.app))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// amocrm-api-v4.md §8.2: `with=` gates task types, groups, datetime settings (timezone) and invoices settings.
#[tokio::test]
async fn account_with_gating() {
    let sb = Sandbox::start().await;
    let (_, plain) = sb.get("/api/v4/account").await;
    assert_eq!(plain["subdomain"], "leakguard-demo");
    assert_eq!(plain["currency"], "RUB");
    assert!(plain.get("_embedded").is_none() && plain.get("invoices_settings").is_none());
    let (_, full) = sb
        .get("/api/v4/account?with=datetime_settings,task_types,users_groups,invoices_settings")
        .await;
    assert_eq!(
        full["_embedded"]["datetime_settings"]["timezone"],
        "Europe/Moscow"
    );
    assert_eq!(
        full["_embedded"]["datetime_settings"]["timezone_offset"],
        "+03:00"
    );
    assert_eq!(full["_embedded"]["task_types"][0]["code"], "FOLLOW_UP");
    assert!(full["_embedded"]["users_groups"].as_array().unwrap().len() >= 2);
    assert!(full["invoices_settings"]["invoices_catalog_id"].is_u64());
    assert!(full["_embedded"].get("amojo_rights").is_none());
}

/// amocrm-api-v4.md §9 / §13.3: custom field ids, enum ids and value types are validated with dot paths; good values read back with field_name/type.
#[tokio::test]
async fn custom_field_values_are_validated() {
    let sb = Sandbox::start().await;
    let (_, fields) = sb.get("/api/v4/leads/custom_fields").await;
    let fields = fields["_embedded"]["custom_fields"]
        .as_array()
        .unwrap()
        .clone();
    let select = fields.iter().find(|f| f["type"] == "select").unwrap();
    let numeric = fields.iter().find(|f| f["type"] == "numeric").unwrap();
    let bad = json!([{"name": "x", "custom_fields_values": [
        {"field_id": 1, "values": [{"value": "a"}]},
        {"field_id": select["id"], "values": [{"enum_id": 1}]},
        {"field_id": numeric["id"], "values": [{"value": "abc"}]},
    ]}]);
    let (status, body) = sb.send(Method::POST, "/api/v4/leads", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paths: Vec<&str> = body["validation-errors"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "custom_fields_values.0.field_id",
            "custom_fields_values.1.values.0.enum_id",
            "custom_fields_values.2.values.0.value"
        ]
    );
    let option = &select["enums"][1];
    let good = json!({"name": "y", "custom_fields_values": [
        {"field_id": select["id"], "values": [{"enum_id": option["id"]}]},
        {"field_id": numeric["id"], "values": [{"value": 12}]},
    ]});
    let id = new_lead(&sb, good).await;
    let read = lead(&sb, id, "").await;
    let values = read["custom_fields_values"].as_array().unwrap();
    let chosen = values
        .iter()
        .find(|v| v["field_id"] == select["id"])
        .unwrap();
    assert_eq!(chosen["field_type"], "select");
    assert_eq!(chosen["values"][0]["value"], option["value"]);
    assert_eq!(
        values
            .iter()
            .find(|v| v["field_id"] == numeric["id"])
            .unwrap()["values"][0]["value"],
        "12"
    );
    let clear = json!({"custom_fields_values": [{"field_id": numeric["id"], "values": null}]});
    sb.send(Method::PATCH, &format!("/api/v4/leads/{id}"), clear)
        .await;
    let read = lead(&sb, id, "").await;
    assert_eq!(
        read["custom_fields_values"].as_array().unwrap().len(),
        1,
        "only the cleared field goes"
    );
}

/// amocrm-api-v4.md §10.4: `/leads/{id}/link` → 200 with links, `/unlink` → 204 with no body; the mass forms work alike.
#[tokio::test]
async fn link_and_unlink_catalog_elements() {
    let sb = Sandbox::start().await;
    let (_, account) = sb.get("/api/v4/account?with=invoices_settings").await;
    let catalog = account["invoices_settings"]["invoices_catalog_id"]
        .as_u64()
        .unwrap();
    let (_, fields) = sb
        .get(&format!("/api/v4/catalogs/{catalog}/custom_fields"))
        .await;
    let codes: Vec<&str> = fields["_embedded"]["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    for code in [
        "BILL_STATUS",
        "BILL_PRICE",
        "BILL_PAYMENT_DATE",
        "BILL_VAT_TYPE",
        "PAYER",
        "ITEMS",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
    let (status, _) = sb
        .send(
            Method::POST,
            &format!("/api/v4/catalogs/{catalog}/elements"),
            json!([{"name": "No status"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "invoices need BILL_STATUS");
    let invoice = json!([{"name": "Счёт 1", "custom_fields_values": [{"field_code": "BILL_STATUS", "values": [{"enum_code": "created"}]}]}]);
    let (status, created) = sb
        .send(
            Method::POST,
            &format!("/api/v4/catalogs/{catalog}/elements"),
            invoice,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let element = created["_embedded"]["elements"][0]["id"].as_u64().unwrap();
    let lead_id = new_lead(&sb, json!({"name": "A"})).await;
    let link = json!([{"to_entity_id": element, "to_entity_type": "catalog_elements", "metadata": {"quantity": 1, "catalog_id": catalog}}]);
    let (status, linked) = sb
        .send(
            Method::POST,
            &format!("/api/v4/leads/{lead_id}/link"),
            link.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked["_embedded"]["links"][0]["to_entity_id"], element);
    assert_eq!(
        lead(&sb, lead_id, "catalog_elements").await["_embedded"]["catalog_elements"][0]["id"],
        element
    );
    let response = sb
        .api(Method::POST, &format!("/api/v4/leads/{lead_id}/unlink"))
        .json(&link)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let mass = json!([{"entity_id": lead_id, "to_entity_id": element, "to_entity_type": "catalog_elements", "metadata": {"catalog_id": catalog}}]);
    let (status, _) = sb
        .send(Method::POST, "/api/v4/leads/link", mass.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, links) = sb
        .get(&format!(
            "/api/v4/leads/links?filter[entity_id][]={lead_id}"
        ))
        .await;
    assert!(links["_embedded"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["to_entity_id"] == element));
    let (status, _) = sb.send(Method::POST, "/api/v4/leads/unlink", mass).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// amocrm-api-v4.md §7: notes are created on `/leads/{id}/notes` and `/leads/notes` (with `entity_id`) and listed.
#[tokio::test]
async fn notes_create_and_list() {
    let sb = Sandbox::start().await;
    let id = new_lead(&sb, json!({"name": "A"})).await;
    let note = json!([{"note_type": "common", "params": {"text": "Hello"}, "request_id": "n1"}]);
    let (status, body) = sb
        .send(Method::POST, &format!("/api/v4/leads/{id}/notes"), note)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["_embedded"]["notes"][0]["entity_id"], id);
    assert_eq!(body["_embedded"]["notes"][0]["request_id"], "n1");
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/leads/notes",
            json!([{"note_type": "common", "params": {"text": "No entity"}}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    sb.send(
        Method::POST,
        "/api/v4/leads/notes",
        json!([{"entity_id": id, "note_type": "common", "params": {"text": "Second"}}]),
    )
    .await;
    let (_, listed) = sb.get(&format!("/api/v4/leads/{id}/notes")).await;
    let texts: Vec<&str> = listed["_embedded"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["params"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hello", "Second"]);
}

/// amocrm-api-v4.md §3: every pipeline has 142 and 143 with `type: 0`; stages come in `sort` order.
#[tokio::test]
async fn every_pipeline_has_won_and_lost() {
    let sb = Sandbox::start().await;
    let (_, body) = sb.get("/api/v4/leads/pipelines").await;
    let pipelines = body["_embedded"]["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 3);
    assert_eq!(body["_total_items"], 3);
    for pipeline in pipelines {
        let statuses = pipeline["_embedded"]["statuses"].as_array().unwrap();
        for id in [142, 143] {
            assert_eq!(statuses.iter().find(|s| s["id"] == id).unwrap()["type"], 0);
        }
        let sorts: Vec<i64> = statuses
            .iter()
            .map(|s| s["sort"].as_i64().unwrap())
            .collect();
        assert!(sorts.windows(2).all(|w| w[0] < w[1]));
    }
}

/// amocrm-api-v4.md §4: loss reasons list/get, the SDK's create/patch/delete, and 404 "Loss reason not found".
#[tokio::test]
async fn loss_reasons_crud() {
    let sb = Sandbox::start().await;
    let (_, list) = sb.get("/api/v4/leads/loss_reasons").await;
    let names: Vec<&str> = list["_embedded"]["loss_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Дорого",
            "Неактуально",
            "Выбрали конкурента",
            "Не дозвонились",
            "Нет бюджета"
        ]
    );
    let (status, created) = sb
        .send(
            Method::POST,
            "/api/v4/leads/loss_reasons",
            json!([{"name": "Сроки", "sort": 3}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = created["_embedded"]["loss_reasons"][0]["id"]
        .as_u64()
        .unwrap();
    let (_, patched) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/leads/loss_reasons/{id}"),
            json!({"name": "Долго"}),
        )
        .await;
    assert_eq!(patched["name"], "Долго");
    let (status, _) = sb
        .send(
            Method::DELETE,
            &format!("/api/v4/leads/loss_reasons/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = sb.get(&format!("/api/v4/leads/loss_reasons/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Loss reason not found");
}

/// amocrm-api-v4.md §13.3: an unknown API path is 404 problem+json and a wrong method is 405.
#[tokio::test]
async fn unknown_path_and_method() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["detail"].as_str().unwrap().starts_with("Cannot GET"));
    let (status, body) = sb.send(Method::DELETE, "/api/v4/leads", Value::Null).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["status"], 405);
}
