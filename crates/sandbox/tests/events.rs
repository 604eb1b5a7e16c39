//! Contract tests of the event feed, `GET /api/v4/events` (the RU "События и примечания" page the API reference cites
//! as RU-notes): value shapes, filters, paging, and the demo account's stage history.

mod common;

use std::collections::HashMap;

use common::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn events(sb: &Sandbox, query: &str) -> Vec<Value> {
    let (status, body) = sb.get(&format!("/api/v4/events?{query}")).await;
    match status {
        StatusCode::NO_CONTENT => Vec::new(),
        StatusCode::OK => body["_embedded"]["events"].as_array().unwrap().clone(),
        other => panic!("{other}: {body}"),
    }
}

async fn stages(sb: &Sandbox) -> (u64, u64, u64) {
    let (_, body) = sb.get("/api/v4/leads/pipelines").await;
    let pipeline = body["_embedded"]["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_main"] == true)
        .unwrap()
        .clone();
    let ids: Vec<u64> = pipeline["_embedded"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == 0 && s["id"] != 142 && s["id"] != 143)
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    (pipeline["id"].as_u64().unwrap(), ids[0], ids[1])
}

async fn new_lead(sb: &Sandbox, body: Value) -> u64 {
    let (status, created) = sb.send(Method::POST, "/api/v4/leads", json!([body])).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["_embedded"]["leads"][0]["id"].as_u64().unwrap()
}

/// RU-notes "Список событий": a stage change is a `lead_status_changed` event with `lead_status` before and after,
/// found with `filter[type]`, `filter[entity]=lead` and `filter[entity_id][]`; the model has the documented fields.
#[tokio::test]
async fn stage_changes_are_lead_status_changed_events() {
    let sb = Sandbox::start().await;
    let (pipeline, first, second) = stages(&sb).await;
    let lead = new_lead(
        &sb,
        json!({"name": "Moves", "pipeline_id": pipeline, "status_id": first}),
    )
    .await;
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{lead}"),
        json!({"pipeline_id": pipeline, "status_id": second}),
    )
    .await;
    let found = events(
        &sb,
        &format!("filter[type]=lead_status_changed&filter[entity]=lead&filter[entity_id][]={lead}"),
    )
    .await;
    assert_eq!(found.len(), 1);
    let event = &found[0];
    assert!(event["id"].as_str().is_some_and(|id| id.len() == 26));
    assert_eq!(event["type"], "lead_status_changed");
    assert_eq!(event["entity_id"], lead);
    assert_eq!(event["entity_type"], "lead");
    assert!(event["created_at"].as_i64().is_some() && event["account_id"].as_u64().is_some());
    assert_eq!(
        event["value_before"],
        json!([{"lead_status": {"id": first, "pipeline_id": pipeline}}])
    );
    assert_eq!(
        event["value_after"],
        json!([{"lead_status": {"id": second, "pipeline_id": pipeline}}])
    );
    assert_eq!(event["_embedded"]["entity"]["id"], lead);
    let href = event["_links"]["self"]["href"].as_str().unwrap();
    assert!(href.ends_with(&format!("/api/v4/events/{}", event["id"].as_str().unwrap())));
    let (status, one) = sb
        .get(&format!("/api/v4/events/{}", event["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], event["id"]);
    let added = events(
        &sb,
        &format!("filter[type]=lead_added&filter[entity]=lead&filter[entity_id]={lead}"),
    )
    .await;
    assert_eq!((added.len(), &added[0]["value_after"]), (1, &json!([])));
}

/// RU-notes "Структуры данных": responsible changes and task completion are recorded with their documented values;
/// task events belong to the task entity.
#[tokio::test]
async fn responsible_and_task_events() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let (admin, manager) = (
        demo["admin_user_id"].as_u64().unwrap(),
        demo["manager_user_id"].as_u64().unwrap(),
    );
    let lead = new_lead(&sb, json!({"name": "Owner", "responsible_user_id": admin})).await;
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{lead}"),
        json!({"responsible_user_id": manager}),
    )
    .await;
    let changed = events(
        &sb,
        &format!(
            "filter[type]=entity_responsible_changed&filter[entity]=lead&filter[entity_id]={lead}"
        ),
    )
    .await;
    assert_eq!(
        changed[0]["value_before"],
        json!([{"responsible_user": {"id": admin}}])
    );
    assert_eq!(
        changed[0]["value_after"],
        json!([{"responsible_user": {"id": manager}}])
    );
    let (_, created) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([{"text": "Call", "complete_till": 1_900_000_000, "entity_type": "leads", "entity_id": lead}]),
        )
        .await;
    let task = created["_embedded"]["tasks"][0]["id"].as_u64().unwrap();
    sb.send(
        Method::PATCH,
        &format!("/api/v4/tasks/{task}"),
        json!({"is_completed": true}),
    )
    .await;
    let done = events(
        &sb,
        &format!("filter[type]=task_completed&filter[entity]=task&filter[entity_id][]={task}"),
    )
    .await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        (
            done[0]["value_after"].clone(),
            done[0]["value_before"].clone()
        ),
        (json!([]), json!([]))
    );
    let added = events(&sb, &format!("filter[type][]=task_added&filter[type][]=task_completed&filter[entity][]=task&filter[entity_id][]={task}")).await;
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["type"], "task_completed", "newest first");
}

/// RU-notes: `limit` is at most 100; pages follow `_links.next`; nothing found is 204; `filter[created_at]` takes
/// `[from]`/`[to]`, a bare timestamp or the SDK's `from,to`; `filter[value_after][leads_statuses]` narrows stage changes.
#[tokio::test]
async fn paging_and_filters() {
    let sb = Sandbox::start().await;
    let (status, body) = sb.get("/api/v4/events?limit=101").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"], "Limit 100 per page");
    let (status, page) = sb.get("/api/v4/events?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    let rows = page["_embedded"]["events"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    assert!(rows
        .windows(2)
        .all(|w| w[0]["created_at"].as_i64() >= w[1]["created_at"].as_i64()));
    assert!(page["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .contains("page=2"));
    assert!(events(&sb, "filter[type]=no_such_event").await.is_empty());

    let (pipeline, first, second) = stages(&sb).await;
    let lead = new_lead(&sb, json!({"pipeline_id": pipeline, "status_id": first})).await;
    sb.shift_clock(1000).await;
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{lead}"),
        json!({"pipeline_id": pipeline, "status_id": second}),
    )
    .await;
    let moved_at = events(
        &sb,
        &format!("filter[type]=lead_status_changed&filter[entity]=lead&filter[entity_id]={lead}"),
    )
    .await[0]["created_at"]
        .as_i64()
        .unwrap();
    let scoped = |q: &str| format!("filter[entity]=lead&filter[entity_id]={lead}&{q}");
    assert_eq!(
        events(
            &sb,
            &scoped(&format!("filter[created_at][from]={moved_at}"))
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        events(
            &sb,
            &scoped(&format!("filter[created_at][to]={}", moved_at - 1))
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        events(&sb, &scoped(&format!("filter[created_at]={moved_at}")))
            .await
            .len(),
        1
    );
    assert_eq!(
        events(
            &sb,
            &scoped(&format!(
                "filter[created_at]={},{}",
                moved_at - 5000,
                moved_at - 1
            ))
        )
        .await
        .len(),
        1
    );
    let to_second = format!(
        "filter[type]=lead_status_changed&filter[value_after][leads_statuses][0][pipeline_id]={pipeline}&filter[value_after][leads_statuses][0][status_id]={second}"
    );
    let hits = events(&sb, &format!("{to_second}&limit=100")).await;
    assert!(hits.iter().any(|e| e["entity_id"] == lead));
    assert!(hits
        .iter()
        .all(|e| e["value_after"][0]["lead_status"]["id"] == second));
}

/// Demo data: every lead outside "Неразобранное" has a `lead_status_changed` event entering its current stage, and
/// some active deals have sat in their stage for weeks (the stuck showcase deal among them).
#[tokio::test]
async fn demo_leads_have_a_stage_history() {
    let sb = Sandbox::start().await;
    let (_, pipelines) = sb.get("/api/v4/leads/pipelines").await;
    let unsorted: Vec<u64> = pipelines["_embedded"]["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["_embedded"]["statuses"].as_array().unwrap().clone())
        .filter(|s| s["type"] == 1)
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    let mut entered: HashMap<u64, (i64, u64)> = HashMap::new();
    for page in 1.. {
        let found = events(
            &sb,
            &format!("filter[type]=lead_status_changed&limit=100&page={page}"),
        )
        .await;
        if found.is_empty() {
            break;
        }
        for event in found {
            let lead = event["entity_id"].as_u64().unwrap();
            let at = event["created_at"].as_i64().unwrap();
            let status = event["value_after"][0]["lead_status"]["id"]
                .as_u64()
                .unwrap();
            let latest = entered.entry(lead).or_insert((at, status));
            if at > latest.0 {
                *latest = (at, status);
            }
        }
    }
    let (_, clock) = common::send(sb.client.get(format!("{}/__sandbox/clock", sb.app))).await;
    let now = clock["now"].as_i64().unwrap();
    let mut stuck = 0;
    for page in 1.. {
        let (status, body) = sb
            .get(&format!("/api/v4/leads?limit=250&page={page}"))
            .await;
        if status == StatusCode::NO_CONTENT {
            break;
        }
        for lead in body["_embedded"]["leads"].as_array().unwrap() {
            let id = lead["id"].as_u64().unwrap();
            let status = lead["status_id"].as_u64().unwrap();
            if unsorted.contains(&status) {
                assert!(
                    !entered.contains_key(&id),
                    "nothing moves a lead into Неразобранное"
                );
                continue;
            }
            let (at, last) = entered[&id];
            assert_eq!(
                last, status,
                "lead {id}: its latest stage change enters its current stage"
            );
            assert!(at <= lead["updated_at"].as_i64().unwrap());
            if status != 142 && status != 143 && now - at > 21 * 86_400 {
                stuck += 1;
            }
        }
    }
    assert!(
        stuck >= 10,
        "only {stuck} deals sat in their stage for three weeks"
    );
    let showcase = sb.demo().await["deal_stuck"].as_u64().unwrap();
    assert!(now - entered[&showcase].0 > 14 * 86_400);
}
