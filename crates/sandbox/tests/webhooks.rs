//! Contract tests of webhooks (amocrm-api-v4.md §11, §14 item 16): the subscription API, the form-encoded wire format
//! sent to a local receiver, the clock-driven retry schedule, the auto-disable rule and the delivery fault knob.

mod common;

use common::{send, Hit, Receiver, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Subscribes `destination` to `events` as the admin and returns the webhook.
async fn subscribe(sb: &Sandbox, destination: &str, events: &[&str]) -> Value {
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!({"destination": destination, "settings": events, "sort": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Sends everything queued and due, then returns the whole delivery log.
async fn flush(sb: &Sandbox) -> Vec<Value> {
    let (status, _) = sb.control("/__sandbox/webhooks/tick", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = send(
        sb.client
            .get(format!("{}/__sandbox/webhooks/deliveries", sb.app)),
    )
    .await;
    log.as_array().unwrap().clone()
}

/// The main pipeline and its first two ordinary stages.
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

async fn new_task(sb: &Sandbox, lead: u64, text: &str) -> u64 {
    let (status, created) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([{"text": text, "complete_till": 1_900_000_000, "entity_type": "leads", "entity_id": lead}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["_embedded"]["tasks"][0]["id"].as_u64().unwrap()
}

fn hooks_with_key<'a>(hits: &'a [Hit], key: &str) -> Vec<&'a Hit> {
    hits.iter().filter(|h| h.field(key).is_some()).collect()
}

/// amocrm-api-v4.md §11.1: POST takes an object and answers 201 with the webhook; the same destination is updated,
/// GET filters by exact destination, DELETE answers 204 then 404; 204 for an empty list.
#[tokio::test]
async fn subscription_api_upserts_by_destination() {
    let sb = Sandbox::start().await;
    let (status, _) = sb.get("/api/v4/webhooks").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let first = subscribe(&sb, "https://hooks.test/a", &["add_lead"]).await;
    assert_eq!(first["destination"], "https://hooks.test/a");
    assert_eq!(first["settings"], json!(["add_lead"]));
    assert_eq!(first["disabled"], false);
    assert_eq!(first["sort"], 10);
    assert!(first["id"].as_u64().is_some() && first["account_id"].as_u64().is_some());
    let again = subscribe(&sb, "https://hooks.test/a", &["status_lead", "update_lead"]).await;
    assert_eq!(
        again["id"], first["id"],
        "the same destination is updated, not added"
    );
    assert_eq!(again["settings"], json!(["status_lead", "update_lead"]));
    subscribe(&sb, "https://hooks.test/b", &["add_task"]).await;
    let (status, all) = sb.get("/api/v4/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["_total_items"], 2);
    let (_, one) = sb
        .get("/api/v4/webhooks?filter[destination]=https://hooks.test/b")
        .await;
    assert_eq!(one["_embedded"]["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["_embedded"]["webhooks"][0]["settings"],
        json!(["add_task"])
    );
    let (status, _) = sb
        .send(
            Method::DELETE,
            "/api/v4/webhooks",
            json!({"destination": "https://hooks.test/b"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, missing) = sb
        .send(
            Method::DELETE,
            "/api/v4/webhooks",
            json!({"destination": "https://hooks.test/b"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["status"], 404);
}

/// amocrm-api-v4.md §11.1: the body must be an object with a valid URL and known events; admins only; at most 100.
#[tokio::test]
async fn subscription_api_validates_and_is_admin_only() {
    let sb = Sandbox::start().await;
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!([{"destination": "https://hooks.test", "settings": ["add_lead"]}]),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an array is not the documented object"
    );
    let (status, body) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!({"destination": "not a url", "settings": ["add_lead", "add_unicorn"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paths: Vec<&str> = body["validation-errors"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["destination", "settings.1"]);
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!({"destination": "https://пример.рф/hook", "settings": ["add_lead"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "Cyrillic domains are unsupported"
    );
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!({"destination": "https://hooks.test", "settings": []}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let manager = sb.demo().await["manager_user_id"].as_u64().unwrap();
    let token = sb.token_for(manager);
    let (status, _) = send(
        sb.client
            .post(format!("{}/api/v4/webhooks", sb.app))
            .bearer_auth(&token)
            .json(&json!({"destination": "https://hooks.test", "settings": ["add_lead"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        sb.client
            .get(format!("{}/api/v4/webhooks", sb.app))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for i in 0..100 {
        subscribe(&sb, &format!("https://hooks.test/{i}"), &["add_lead"]).await;
    }
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/webhooks",
            json!({"destination": "https://hooks.test/100", "settings": ["add_lead"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    subscribe(&sb, "https://hooks.test/7", &["update_lead"]).await;
}

/// amocrm-api-v4.md §11.2: a stage change POSTs form-encoded `leads[status][0][…]` strings with `old_status_id`,
/// `old_pipeline_id`, tags and legacy custom fields, the account block and amoCRM's headers; `update_lead` also fires.
#[tokio::test]
async fn lead_hooks_follow_the_wire_format() {
    let receiver = Receiver::start().await;
    let sb = Sandbox::start().await;
    subscribe(
        &sb,
        &format!("{}/amo", receiver.url),
        &["add_lead", "update_lead", "status_lead"],
    )
    .await;
    let (pipeline, first, second) = stages(&sb).await;
    let (_, fields) = sb.get("/api/v4/leads/custom_fields").await;
    let select = fields["_embedded"]["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == "select")
        .unwrap()
        .clone();
    let lead = new_lead(
        &sb,
        json!({"name": "Hooked", "price": 1500, "pipeline_id": pipeline, "status_id": first,
               "_embedded": {"tags": [{"name": "VIP"}]},
               "custom_fields_values": [{"field_id": select["id"], "values": [{"enum_id": select["enums"][0]["id"]}]}]}),
    )
    .await;
    let (status, _) = sb
        .send(
            Method::PATCH,
            &format!("/api/v4/leads/{lead}"),
            json!({"pipeline_id": pipeline, "status_id": second}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    flush(&sb).await;
    let hits = receiver.wait_for(3).await;
    let added = hooks_with_key(&hits, "leads[add][0][id]");
    assert_eq!(added.len(), 1);
    let hook = hooks_with_key(&hits, "leads[status][0][id]")[0];
    assert_eq!(hook.method, "POST");
    assert_eq!(
        hook.header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        hook.header("user-agent").as_deref(),
        Some("amoCRM-Webhooks/3.0")
    );
    assert_eq!(hook.header("x-amocrm-requestid").map(|v| v.len()), Some(36));
    assert!(
        hook.body.contains("leads%5Bstatus%5D%5B0%5D%5Bid%5D="),
        "brackets are percent-encoded"
    );
    let field = |key: &str| hook.field(&format!("leads[status][0][{key}]"));
    assert_eq!(field("id"), Some(lead.to_string()));
    assert_eq!(field("name").as_deref(), Some("Hooked"));
    assert_eq!(field("price").as_deref(), Some("1500"));
    assert_eq!(field("status_id"), Some(second.to_string()));
    assert_eq!(field("old_status_id"), Some(first.to_string()));
    assert_eq!(field("pipeline_id"), Some(pipeline.to_string()));
    assert_eq!(field("old_pipeline_id"), Some(pipeline.to_string()));
    assert!(field("last_modified").unwrap().parse::<i64>().is_ok());
    assert!(field("date_create").unwrap().parse::<i64>().is_ok());
    assert_eq!(field("tags][0][name").as_deref(), Some("VIP"));
    assert_eq!(
        field("custom_fields][0][id"),
        Some(select["id"].to_string())
    );
    assert_eq!(
        field("custom_fields][0][values][0][enum"),
        Some(select["enums"][0]["id"].to_string())
    );
    assert_eq!(
        field("custom_fields][0][values][0][value").as_deref(),
        select["enums"][0]["value"].as_str()
    );
    let (_, account) = sb.get("/api/v4/account").await;
    assert_eq!(hook.field("account[id]"), Some(account["id"].to_string()));
    assert_eq!(
        hook.field("account[subdomain]").as_deref(),
        account["subdomain"].as_str()
    );
    assert_eq!(hook.field("account[_links][self]"), Some(sb.app.clone()));
    let update = hooks_with_key(&hits, "leads[update][0][id]");
    assert_eq!(update.len(), 1, "a stage change is also an update");
    assert_eq!(
        update[0].field("leads[update][0][old_status_id]"),
        Some(first.to_string())
    );
}

/// amocrm-api-v4.md §11.2: responsible changes carry `old_responsible_user_id`; notes come as `leads[note][0][note]`.
#[tokio::test]
async fn responsible_and_note_hooks() {
    let receiver = Receiver::start().await;
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["responsible_lead", "note_lead"]).await;
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
    sb.send(
        Method::POST,
        &format!("/api/v4/leads/{lead}/notes"),
        json!([{"note_type": "common", "params": {"text": "Called back"}}]),
    )
    .await;
    flush(&sb).await;
    let hits = receiver.wait_for(2).await;
    assert_eq!(
        hits.len(),
        2,
        "creating the lead fires nothing these events subscribe to"
    );
    let responsible = &hits[0];
    assert_eq!(
        responsible.field("leads[responsible][0][old_responsible_user_id]"),
        Some(admin.to_string())
    );
    assert_eq!(
        responsible.field("leads[responsible][0][responsible_user_id]"),
        Some(manager.to_string())
    );
    let note = &hits[1];
    assert_eq!(
        note.field("leads[note][0][note][text]").as_deref(),
        Some("Called back")
    );
    assert_eq!(
        note.field("leads[note][0][note][note_type]").as_deref(),
        Some("4")
    );
    assert_eq!(
        note.field("leads[note][0][note][element_id]"),
        Some(lead.to_string())
    );
    assert_eq!(
        note.field("leads[note][0][note][element_type]").as_deref(),
        Some("2")
    );
}

/// amocrm-api-v4.md §11.2: task hooks use the singular `task` key, `YYYY-MM-DD HH:MM:SS` UTC dates plus Unix
/// `created_at`/`updated_at`/`complete_before`; completion is an update with `action_close=1`.
#[tokio::test]
async fn task_hooks_and_completion() {
    let receiver = Receiver::start().await;
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["add_task", "update_task"]).await;
    let lead = new_lead(&sb, json!({"name": "Tasks"})).await;
    let task = new_task(&sb, lead, "Call back").await;
    sb.send(
        Method::PATCH,
        &format!("/api/v4/tasks/{task}"),
        json!({"is_completed": true, "result": {"text": "Done"}}),
    )
    .await;
    flush(&sb).await;
    let hits = receiver.wait_for(2).await;
    let add = &hits[0];
    let field = |hit: &Hit, key: &str| hit.field(&format!("task[{key}]"));
    assert_eq!(field(add, "add][0][id"), Some(task.to_string()));
    assert_eq!(field(add, "add][0][element_id"), Some(lead.to_string()));
    assert_eq!(field(add, "add][0][element_type").as_deref(), Some("2"));
    assert_eq!(field(add, "add][0][status").as_deref(), Some("0"));
    assert_eq!(
        field(add, "add][0][complete_till").as_deref(),
        Some("2030-03-17 17:46:40")
    );
    assert_eq!(
        field(add, "add][0][complete_before").as_deref(),
        Some("1900000000")
    );
    let created = field(add, "add][0][date_create").unwrap();
    assert_eq!(created.len(), 19, "{created}");
    assert!(field(add, "add][0][created_at")
        .unwrap()
        .parse::<i64>()
        .is_ok());
    assert!(
        field(add, "add][0][action_close").is_none(),
        "only updates carry action_close"
    );
    let update = &hits[1];
    assert_eq!(
        field(update, "update][0][action_close").as_deref(),
        Some("1")
    );
    assert_eq!(field(update, "update][0][status").as_deref(), Some("1"));
    assert_eq!(
        field(update, "update][0][result][text").as_deref(),
        Some("Done")
    );
    assert!(field(update, "update][0][updated_at")
        .unwrap()
        .parse::<i64>()
        .is_ok());
}

/// amocrm-api-v4.md §11.3: 5xx answers are retried after 5 min, 15 min, 15 min and 1 h of the sandbox clock, then
/// given up; nothing is retried before it is due.
#[tokio::test]
async fn server_errors_get_five_attempts_on_the_sandbox_clock() {
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["add_lead"]).await;
    new_lead(&sb, json!({"name": "Retry me"})).await;
    let log = flush(&sb).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], 503);
    assert_eq!(log[0]["attempt"], 1);
    let first_at = log[0]["at"].as_i64().unwrap();
    assert_eq!(log[0]["next_attempt_at"], first_at + 300);
    sb.shift_clock(250).await;
    assert_eq!(flush(&sb).await.len(), 1, "not due yet");
    let mut offset = 0;
    for (attempt, delay) in [(2, 300), (3, 900), (4, 900), (5, 3600)] {
        offset += delay + 5;
        sb.shift_clock(offset).await;
        let log = flush(&sb).await;
        assert_eq!(log.len(), attempt, "after {offset} s");
        assert_eq!(log[attempt - 1]["attempt"], attempt);
        assert_eq!(log[attempt - 1]["job"], log[0]["job"]);
    }
    assert!(flush(&sb).await[4]["next_attempt_at"].is_null());
    sb.shift_clock(offset + 86_400).await;
    assert_eq!(flush(&sb).await.len(), 5, "five attempts at most");
    assert_eq!(receiver.hits().len(), 5);
}

/// amocrm-api-v4.md §11.3: a 4xx other than 499 gets three attempts; a 2xx after a failure ends the retries.
#[tokio::test]
async fn client_errors_get_three_attempts() {
    let receiver = Receiver::start().await;
    receiver.answer(404);
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["add_lead"]).await;
    new_lead(&sb, json!({"name": "Missing"})).await;
    flush(&sb).await;
    sb.shift_clock(301).await;
    flush(&sb).await;
    sb.shift_clock(301 + 901).await;
    let log = flush(&sb).await;
    assert_eq!(log.len(), 3);
    assert!(log[2]["next_attempt_at"].is_null());
    sb.shift_clock(10 * 3600).await;
    assert_eq!(flush(&sb).await.len(), 3);

    receiver.answer(500);
    new_lead(&sb, json!({"name": "Recovers"})).await;
    assert_eq!(flush(&sb).await.len(), 4);
    receiver.answer(200);
    sb.shift_clock(10 * 3600 + 301).await;
    let log = flush(&sb).await;
    assert_eq!((log.len(), log[4]["valid"].as_bool()), (5, Some(true)));
    sb.shift_clock(20 * 3600).await;
    assert_eq!(flush(&sb).await.len(), 5, "a delivered hook is not retried");
}

/// amocrm-api-v4.md §11.3: a receiver that does not answer within 2 s is an invalid attempt (recorded as 499, which
/// earns the long retry schedule).
#[tokio::test]
async fn slow_receivers_time_out_after_two_seconds() {
    let receiver = Receiver::start().await;
    receiver.delay(2_600);
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["add_lead"]).await;
    new_lead(&sb, json!({"name": "Slow"})).await;
    let started = std::time::Instant::now();
    let log = flush(&sb).await;
    assert!(started.elapsed() < std::time::Duration::from_millis(2_500));
    assert_eq!(log[0]["status"], 499);
    assert_eq!(log[0]["valid"], false);
    assert!(log[0]["next_attempt_at"].is_i64());
}

/// amocrm-api-v4.md §11.3: more than 100 invalid answers within 2 h, the latest invalid, disables the webhook; no
/// more hooks go to it until it is subscribed again.
#[tokio::test]
async fn more_than_100_invalid_answers_disable_the_webhook() {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let sb = Sandbox::start().await;
    let destination = receiver.url.clone();
    subscribe(&sb, &destination, &["add_lead"]).await;
    let batch = |n: usize| {
        json!((0..n)
            .map(|i| json!({"name": format!("Lead {i}")}))
            .collect::<Vec<_>>())
    };
    sb.send(Method::POST, "/api/v4/leads", batch(100)).await;
    assert_eq!(flush(&sb).await.len(), 100);
    let (_, list) = sb.get("/api/v4/webhooks").await;
    assert_eq!(
        list["_embedded"]["webhooks"][0]["disabled"], false,
        "100 is not more than 100"
    );
    sb.send(Method::POST, "/api/v4/leads", batch(1)).await;
    assert_eq!(flush(&sb).await.len(), 101);
    let (_, list) = sb.get("/api/v4/webhooks").await;
    assert_eq!(list["_embedded"]["webhooks"][0]["disabled"], true);
    sb.send(Method::POST, "/api/v4/leads", batch(1)).await;
    sb.shift_clock(3600).await;
    assert_eq!(
        flush(&sb).await.len(),
        101,
        "no new hooks and no retries for a disabled webhook"
    );
    let again = subscribe(&sb, &destination, &["add_lead"]).await;
    assert_eq!(again["disabled"], false, "subscribing again enables it");
}

/// Sandbox fault knob: `duplicate` sends a hook twice, `drop` loses it, `reorder` sends it after the next one.
#[tokio::test]
async fn delivery_faults_duplicate_drop_and_reorder() {
    let receiver = Receiver::start().await;
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["add_lead"]).await;
    let fault = |kind: &str| json!({"kind": kind, "count": 1});
    sb.control("/__sandbox/webhooks/faults", fault("duplicate"))
        .await;
    let twice = new_lead(&sb, json!({"name": "Twice"})).await;
    flush(&sb).await;
    let ids: Vec<String> = receiver
        .hits()
        .iter()
        .filter_map(|h| h.field("leads[add][0][id]"))
        .collect();
    assert_eq!(ids, vec![twice.to_string(), twice.to_string()]);

    sb.control("/__sandbox/webhooks/faults", fault("drop"))
        .await;
    new_lead(&sb, json!({"name": "Lost"})).await;
    let log = flush(&sb).await;
    assert_eq!(receiver.hits().len(), 2, "a dropped hook never arrives");
    assert_eq!(log.last().unwrap()["fault"], "drop");

    sb.control("/__sandbox/webhooks/faults", fault("reorder"))
        .await;
    let a = new_lead(&sb, json!({"name": "A"})).await;
    let b = new_lead(&sb, json!({"name": "B"})).await;
    flush(&sb).await;
    let order: Vec<String> = receiver.hits()[2..]
        .iter()
        .filter_map(|h| h.field("leads[add][0][id]"))
        .collect();
    assert_eq!(order, vec![b.to_string(), a.to_string()]);
    let (status, _) = sb
        .control("/__sandbox/webhooks/faults", json!({"kind": "explode"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// amocrm-api-v4.md §11.2: changes made in the fake UI (session calls) fire hooks like API calls do.
#[tokio::test]
async fn ui_changes_fire_hooks_too() {
    let receiver = Receiver::start().await;
    let sb = Sandbox::start().await;
    subscribe(&sb, &receiver.url, &["update_lead"]).await;
    let demo = sb.demo().await;
    let lead = demo["deal_with_task"].as_u64().unwrap();
    let cookie = sb
        .session_for(demo["admin_user_id"].as_u64().unwrap())
        .await;
    let (status, _) = send(
        sb.client
            .patch(format!("{}/api/v4/leads/{lead}", sb.app))
            .header("cookie", cookie)
            .header("x-sandbox-client", "host")
            .json(&json!({"price": 123})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    flush(&sb).await;
    let hits = receiver.wait_for(1).await;
    assert_eq!(
        hits[0].field("leads[update][0][price]").as_deref(),
        Some("123")
    );
}
