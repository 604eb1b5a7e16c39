//! The overdue-payment automation (issue 6) end to end against the sandbox, with both clocks frozen
//! around Friday 12 June 2026 (Russia Day) and the weekend after it: LeakGuard's payments catalog is
//! read into the copy, an overdue planned payment gets exactly one reminder (across a lost answer,
//! a 500 after the write, a restart and duplicate webhooks) due the next working day at the default
//! hour, paying it completes the task and adds one note, a moved due date closes the old reminder
//! and a later overdue gets a new one, nothing is created for rows not yet due or already paid,
//! `/api/metrics` lists the overdue payments, and the server stays within 7 requests per second.

mod common;

use std::time::Duration;

use amo_api::payments::{catalog_write, element_write, field_writes, link_write};
use common::*;
use leakguard_core::dates::{Date, FixedOffset};
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{change_note, Change, Record, RecordKind, StoreField};
use leakguard_core::payments::Currency;
use leakguard_core::settings::{PaymentStore, Settings, StoreFieldIds};
use reqwest::Method;
use serde_json::{json, Value};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Thursday 11 June 2026, 00:00 Moscow time.
const THURSDAY: i64 = 1_781_125_200;
/// The user who owns the sandbox's admin token.
const ADMIN: u64 = 8_100_001;
const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

fn msk(days: i64, hour: i64, minute: i64) -> i64 {
    THURSDAY + days * DAY + hour * HOUR + minute * 60
}

fn june(day: u8) -> Date {
    Date::from_ymd(2026, 6, day).unwrap()
}

fn rub() -> Currency {
    Currency::from_code("RUB").unwrap()
}

/// Creates LeakGuard's catalog and its six fields in the sandbox, as the settings module does.
async fn prepare_catalog(sandbox: &leakguard_sandbox::Running) -> PaymentStore {
    let (code, body) = amo(
        sandbox,
        Method::POST,
        "/api/v4/catalogs",
        Some(json!([catalog_write(Lang::Ru)])),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let catalog_id = body["_embedded"]["catalogs"][0]["id"].as_u64().unwrap();
    let (code, body) = amo(
        sandbox,
        Method::POST,
        &format!("/api/v4/catalogs/{catalog_id}/custom_fields"),
        Some(json!(field_writes(Lang::Ru))),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let mut fields = StoreFieldIds::default();
    for field in body["_embedded"]["custom_fields"].as_array().unwrap() {
        let code = field["code"].as_str().unwrap();
        let which = StoreField::ALL
            .into_iter()
            .find(|f| f.code() == code)
            .unwrap();
        fields.set(which, field["id"].as_u64().unwrap());
    }
    PaymentStore { catalog_id, fields }
}

fn record(lead_id: u64, kind: RecordKind, date: Date, rubles: i64, plan: Option<u64>) -> Record {
    Record {
        id: 0,
        lead_id,
        kind,
        date,
        amount: rubles * 100,
        planned_id: plan,
        comment: String::new(),
    }
}

/// Saves a record as the card does: the element, then its link to the deal. Returns its id.
async fn add_record(
    sandbox: &leakguard_sandbox::Running,
    store: &PaymentStore,
    record: &Record,
) -> u64 {
    let body = element_write(record, store, rub(), Lang::Ru, &MOSCOW, None);
    let (code, answer) = amo(
        sandbox,
        Method::POST,
        &format!("/api/v4/catalogs/{}/elements", store.catalog_id),
        Some(json!([body])),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let id = answer["_embedded"]["elements"][0]["id"].as_u64().unwrap();
    let (code, answer) = amo(
        sandbox,
        Method::POST,
        &format!("/api/v4/leads/{}/link", record.lead_id),
        Some(json!([link_write(id, store.catalog_id)])),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    id
}

/// Changes a saved record (`record.id` set) as the card's edit does.
async fn edit_record(sandbox: &leakguard_sandbox::Running, store: &PaymentStore, record: &Record) {
    let body = element_write(record, store, rub(), Lang::Ru, &MOSCOW, None);
    let (code, answer) = amo(
        sandbox,
        Method::PATCH,
        &format!("/api/v4/catalogs/{}/elements", store.catalog_id),
        Some(json!([body])),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
}

async fn lead_in_main_pipeline(sandbox: &leakguard_sandbox::Running, name: &str) -> u64 {
    let (_, pipelines) = amo(sandbox, Method::GET, "/api/v4/leads/pipelines", None).await;
    let pipeline = pipelines["_embedded"]["pipelines"][0]["id"]
        .as_u64()
        .unwrap();
    let (code, body) = amo(
        sandbox,
        Method::POST,
        "/api/v4/leads",
        Some(json!([{ "name": name, "pipeline_id": pipeline, "responsible_user_id": ADMIN }])),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["_embedded"]["leads"][0]["id"].as_u64().unwrap()
}

async fn notes_of(sandbox: &leakguard_sandbox::Running, lead: u64) -> Vec<String> {
    let (code, body) = amo(
        sandbox,
        Method::GET,
        &format!("/api/v4/leads/{lead}/notes?limit=250"),
        None,
    )
    .await;
    if code == 204 {
        return Vec::new();
    }
    body["_embedded"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["params"]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The reminder tasks of a lead (any carrying `#lg-p`).
async fn reminders_of(sandbox: &leakguard_sandbox::Running, lead: u64) -> Vec<Value> {
    tasks_of(sandbox, lead)
        .await
        .into_iter()
        .filter(|task| task["text"].as_str().unwrap_or_default().contains("#lg-p"))
        .collect()
}

fn marker_of(planned_id: u64, due: Date) -> String {
    format!("#lg-p{planned_id}-{}", due.days_since_epoch())
}

/// Runs one automation pass, accepting a failure (an injected fault) as the outcome of this pass.
async fn pass_allowing_failure(server: &leakguard_server::Running, account: i64) {
    let ctx = server.job_context();
    for _ in 0..200 {
        match leakguard_server::automation::pass(ctx, account).await {
            Err(leakguard_server::jobs::handlers::JobError::Defer { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            _ => return,
        }
    }
}

async fn setup(
    backend: &Backend,
    at: i64,
) -> (
    leakguard_sandbox::Running,
    TestDb,
    leakguard_server::Running,
    i64,
    PaymentStore,
) {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .clock
        .set(leakguard_sandbox::clock::ClockMode::Fixed(at));
    let account_id = sandbox_account_id(&sandbox).await;
    let store = prepare_catalog(&sandbox).await;
    let db = fresh_db(backend).await;
    let server = leakguard_server::start(automation_config(&db, &sandbox, account_id, at))
        .await
        .unwrap();
    let mut settings = Settings::default();
    settings.next_step.enabled = false;
    settings.stuck.enabled = false;
    settings.payments.store = Some(store);
    put_settings(&server, account_id, &settings).await;
    (sandbox, db, server, account_id, store)
}

async fn restart(
    server: leakguard_server::Running,
    db: &TestDb,
    sandbox: &leakguard_sandbox::Running,
    account_id: i64,
    at: i64,
) -> leakguard_server::Running {
    let addr = server.addr();
    server.kill().await;
    let mut config = automation_config(db, sandbox, account_id, at);
    config.listen = addr;
    leakguard_server::start(config).await.unwrap()
}

/// The GET requests the server made to the catalog's elements.
fn element_reads(log: &[Value], store: &PaymentStore) -> usize {
    let prefix = format!("/api/v4/catalogs/{}/elements", store.catalog_id);
    log.iter()
        .filter(|e| e["method"] == "GET" && e["path"].as_str().unwrap_or_default() == prefix)
        .count()
}

async fn metrics(server: &leakguard_server::Running, account: i64, base: &str) -> Value {
    let token = widget_token(account, base, json!({ "user_id": ADMIN }), SECRET);
    reqwest::Client::new()
        .get(format!("{}/api/metrics", server.url()))
        .header("X-Auth-Token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overdue_payment_gets_one_reminder_that_is_closed_when_paid() {
    for backend in backends() {
        let name = backend.name();
        let (sandbox, db, mut server, account, store) = setup(&backend, msk(0, 9, 0)).await;
        let lead = lead_in_main_pipeline(&sandbox, "Завод Ромашка").await;
        // A: due Wednesday 10 June, unpaid. B: due 20 June. C: due 9 June, paid in full.
        let a = add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Plan, june(10), 50_000, None),
        )
        .await;
        let b = add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Plan, june(20), 30_000, None),
        )
        .await;
        let c = add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Plan, june(9), 20_000, None),
        )
        .await;
        add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Payment, june(9), 20_000, Some(c)),
        )
        .await;
        full_scan(&server, account).await;
        let log = server_requests(&sandbox).await;
        assert_eq!(element_reads(&log, &store), 1, "one catalog page ({name})");
        let copied = leakguard_server::payments::records(server.db(), account)
            .await
            .unwrap();
        assert_eq!(copied[&lead].len(), 4, "{copied:?}");

        // Overdue since Thursday, but reminders come at the default time (10:00).
        run_pass(&server, account).await;
        assert!(reminders_of(&sandbox, lead).await.is_empty(), "{name}");

        // 10:00: the create is served but its answer is lost; the server restarts.
        set_clocks(&sandbox, &server, msk(0, 10, 0));
        fault(
            &sandbox,
            json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "lost_answer", "count": 1 }),
        )
        .await;
        pass_allowing_failure(&server, account).await;
        server = restart(server, &db, &sandbox, account, msk(0, 10, 5)).await;
        set_clocks(&sandbox, &server, msk(0, 10, 5));
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        // Duplicate webhooks about the deal re-read its payments and pass again.
        for _ in 0..3 {
            let (code, _) =
                post_hook(&server.url(), status_hook(account, lead, 1, msk(0, 10, 5))).await;
            assert_eq!(code, 200);
        }
        settled(server.db()).await;
        run_pass(&server, account).await;

        let reminders = reminders_of(&sandbox, lead).await;
        assert_eq!(reminders.len(), 1, "{name}: {reminders:?}");
        let task = &reminders[0];
        assert_eq!(
            task["text"],
            format!(
                "Напомнить клиенту об оплате: Завод Ромашка {}",
                marker_of(a, june(10))
            )
        );
        assert_eq!(task["responsible_user_id"], ADMIN);
        // Next working day at 10:00: Friday is Russia Day, so Monday 15 June.
        assert_eq!(task["complete_till"], msk(4, 10, 0));
        assert_eq!(task["is_completed"], false);
        let _ = b;

        // The key metrics list it with the money at risk.
        let body = metrics(&server, account, sandbox.app_url()).await;
        let payments = &body["payments"];
        assert_eq!(payments["at_risk"], 5_000_000, "{body}");
        assert_eq!(payments["currency"], "RUB");
        let overdue = payments["overdue"].as_array().unwrap();
        assert_eq!(overdue.len(), 1, "{payments}");
        assert_eq!(overdue[0]["deal"]["id"], lead);
        assert_eq!(overdue[0]["manager"]["id"], ADMIN);
        assert_eq!(overdue[0]["due"], "2026-06-10");
        assert_eq!(overdue[0]["days_overdue"], 1);
        assert_eq!(overdue[0]["reminder_task_id"], task["id"]);
        assert_eq!(
            body["metrics"]["overdue_payments"]["total"]["value"],
            5_000_000
        );

        // Monday: a partial payment keeps the task, the rest completes it with one note.
        set_clocks(&sandbox, &server, msk(4, 9, 0));
        add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Payment, june(15), 20_000, Some(a)),
        )
        .await;
        delta_scan(&server, account).await;
        settled(server.db()).await;
        run_pass(&server, account).await;
        assert_eq!(reminders_of(&sandbox, lead).await[0]["is_completed"], false);
        let before = server_requests(&sandbox).await.len();
        add_record(
            &sandbox,
            &store,
            &record(lead, RecordKind::Payment, june(15), 30_000, None),
        )
        .await;
        let (code, _) = post_hook(&server.url(), status_hook(account, lead, 1, msk(4, 9, 1))).await;
        assert_eq!(code, 200);
        let closed = wait_for(Duration::from_secs(20), || async {
            let tasks = reminders_of(&sandbox, lead).await;
            (tasks[0]["is_completed"] == true).then_some(tasks)
        })
        .await
        .unwrap_or_else(|| panic!("{name}: the reminder was never completed"));
        assert_eq!(
            closed[0]["result"]["text"], "Платёж получен",
            "{:?}",
            closed[0]
        );
        settled(server.db()).await;
        run_pass(&server, account).await;
        let log = server_requests(&sandbox).await;
        let reread: Vec<&Value> = log[before..]
            .iter()
            .filter(|e| e["method"] == "GET")
            .filter(|e| {
                let path = e["path"].as_str().unwrap_or_default();
                path == format!("/api/v4/leads/{lead}") || path.contains("/elements")
            })
            .collect();
        assert_eq!(
            reread.len(),
            2,
            "one deal's payments cost two requests: {reread:?}"
        );
        let notes = notes_of(&sandbox, lead).await;
        let paid: Vec<&String> = notes.iter().filter(|n| n.contains("#lg-p")).collect();
        assert_eq!(paid.len(), 1, "{notes:?}");
        assert!(
            paid[0].starts_with("LeakGuard: просроченный платёж оплачен — План: 50"),
            "{paid:?}"
        );
        assert_eq!(reminders_of(&sandbox, lead).await.len(), 1);
        let body = metrics(&server, account, sandbox.app_url()).await;
        assert_eq!(body["payments"]["at_risk"], 0, "{body}");

        // B falls due on Saturday 20 June: its reminder comes on Sunday at 10:00, due Monday,
        // once, although amoCRM answers 500 after creating it.
        set_clocks(&sandbox, &server, msk(10, 10, 0));
        fault(&sandbox, json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "status_after", "status": 500, "count": 1 })).await;
        pass_allowing_failure(&server, account).await;
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        let reminders = reminders_of(&sandbox, lead).await;
        assert_eq!(reminders.len(), 2, "{reminders:?}");
        let second = reminders
            .iter()
            .find(|t| {
                t["text"]
                    .as_str()
                    .unwrap()
                    .contains(&marker_of(b, june(20)))
            })
            .unwrap();
        assert_eq!(second["complete_till"], msk(11, 10, 0));
        assert!(reminders
            .iter()
            .all(|t| !t["text"].as_str().unwrap().contains(&format!("#lg-p{c}-"))));

        let log = server_requests(&sandbox).await;
        let creates = log
            .iter()
            .filter(|e| e["method"] == "POST" && e["path"] == "/api/v4/tasks")
            .count();
        assert_eq!(
            creates, 2,
            "one create per reminder, none repeated after a failure"
        );
        assert_within_budget(&log);
        let audit = leakguard_server::audit::recent(server.db(), account, 50)
            .await
            .unwrap();
        let kinds: Vec<&str> = audit.iter().rev().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "payment_reminder",
                "payment_reminder_closed",
                "payment_reminder"
            ]
        );
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moved_due_date_closes_the_reminder_and_a_new_overdue_gets_a_new_one() {
    for backend in backends() {
        let name = backend.name();
        let (sandbox, _db, server, account, store) = setup(&backend, msk(0, 11, 0)).await;
        let lead = lead_in_main_pipeline(&sandbox, "ООО Лютик").await;
        let plan = record(lead, RecordKind::Plan, june(10), 10_000, None);
        let id = add_record(&sandbox, &store, &plan).await;
        // A debt from long before the install is listed, not turned into a task.
        let old_debt = lead_in_main_pipeline(&sandbox, "ИП Старый долг").await;
        let may = Date::from_ymd(2026, 5, 1).unwrap();
        add_record(
            &sandbox,
            &store,
            &record(old_debt, RecordKind::Plan, may, 7_000, None),
        )
        .await;
        full_scan(&server, account).await;
        run_pass(&server, account).await;
        let first = reminders_of(&sandbox, lead).await;
        assert_eq!(first.len(), 1, "{name}: {first:?}");
        assert!(reminders_of(&sandbox, old_debt).await.is_empty());
        let body = metrics(&server, account, sandbox.app_url()).await;
        let listed: Vec<&Value> = body["payments"]["overdue"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(listed.len(), 2, "{body}");
        assert_eq!(
            listed[0]["deal"]["id"], old_debt,
            "the longest overdue first"
        );
        assert_eq!(listed[0]["reminder_task_id"], Value::Null);
        assert_eq!(body["payments"]["at_risk"], 1_700_000);

        // The manager moves the due date to Wednesday 17 June; the card's change note follows, and
        // amoCRM's hook about that note makes the server re-read the deal's payments.
        let moved = Record {
            id,
            date: june(17),
            ..plan.clone()
        };
        edit_record(&sandbox, &store, &moved).await;
        let text = change_note(
            &Change::Edited {
                before: &Record { id, ..plan.clone() },
                after: &moved,
            },
            "Анна",
            rub(),
            Lang::Ru,
        );
        let (code, body) = amo(
            &sandbox,
            Method::POST,
            "/api/v4/leads/notes",
            Some(json!([{ "entity_id": lead, "note_type": "common", "params": { "text": text } }])),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        wait_for(Duration::from_secs(20), || async {
            let tasks = reminders_of(&sandbox, lead).await;
            (tasks[0]["is_completed"] == true).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("{name}: the old reminder was never completed"));
        let tasks = reminders_of(&sandbox, lead).await;
        assert_eq!(tasks[0]["result"]["text"], "Срок платежа изменён");
        assert!(notes_of(&sandbox, lead)
            .await
            .iter()
            .all(|n| !n.contains("#lg-p")));

        // Not due yet on the 17th; overdue on Thursday 18 June at 10:00: a new reminder.
        set_clocks(&sandbox, &server, msk(6, 12, 0));
        run_pass(&server, account).await;
        assert_eq!(reminders_of(&sandbox, lead).await.len(), 1);
        set_clocks(&sandbox, &server, msk(7, 10, 0));
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        let tasks = reminders_of(&sandbox, lead).await;
        assert_eq!(tasks.len(), 2, "{tasks:?}");
        let new = tasks
            .iter()
            .find(|t| {
                t["text"]
                    .as_str()
                    .unwrap()
                    .contains(&marker_of(id, june(17)))
            })
            .unwrap();
        assert_eq!(new["is_completed"], false);
        assert_eq!(new["complete_till"], msk(8, 10, 0));

        // Deleting the plan (void + unlink) closes that one too.
        edit_record(
            &sandbox,
            &store,
            &Record {
                id,
                kind: RecordKind::Void,
                date: june(17),
                ..plan.clone()
            },
        )
        .await;
        let (code, body) = amo(
            &sandbox,
            Method::POST,
            &format!("/api/v4/leads/{lead}/unlink"),
            Some(json!([link_write(id, store.catalog_id)])),
        )
        .await;
        assert!(code == 204 || code == 200, "{body}");
        // No webhook this time: the reconciliation sees the deal changed and re-reads it.
        delta_scan(&server, account).await;
        settled(server.db()).await;
        run_pass(&server, account).await;
        let tasks = reminders_of(&sandbox, lead).await;
        assert!(
            tasks.iter().all(|t| t["is_completed"] == true),
            "{name}: {tasks:?}"
        );
        assert_within_budget(&server_requests(&sandbox).await);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

/// Creates `count` deals and, for each, a plan overdue since 10 June (50 000 ₽, 20 000 ₽ of it
/// paid in three payments) and a plan due 30 June, in batches as an import would.
async fn seed_many(
    sandbox: &leakguard_sandbox::Running,
    store: &PaymentStore,
    count: usize,
) -> Vec<u64> {
    let (_, pipelines) = amo(sandbox, Method::GET, "/api/v4/leads/pipelines", None).await;
    let pipeline = pipelines["_embedded"]["pipelines"][0]["id"]
        .as_u64()
        .unwrap();
    let deals: Vec<Value> = (0..count)
        .map(|i| json!({ "name": format!("Сделка {i}"), "pipeline_id": pipeline, "responsible_user_id": ADMIN }))
        .collect();
    let mut leads = Vec::new();
    for batch in deals.chunks(250) {
        let (code, body) = amo(sandbox, Method::POST, "/api/v4/leads", Some(json!(batch))).await;
        assert_eq!(code, 200, "{body}");
        leads.extend(
            body["_embedded"]["leads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_u64().unwrap()),
        );
    }
    // Plans first (payments name their plan's id), then payments; each batch linked at once.
    let save = |records: Vec<Record>| async move {
        let mut ids = Vec::new();
        for batch in records.chunks(250) {
            let body: Vec<_> = batch
                .iter()
                .map(|r| element_write(r, store, rub(), Lang::Ru, &MOSCOW, None))
                .collect();
            let (code, answer) = amo(
                sandbox,
                Method::POST,
                &format!("/api/v4/catalogs/{}/elements", store.catalog_id),
                Some(json!(body)),
            )
            .await;
            assert_eq!(code, 200, "{answer}");
            let created: Vec<u64> = answer["_embedded"]["elements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_u64().unwrap())
                .collect();
            let links: Vec<Value> = batch
                .iter()
                .zip(&created)
                .map(|(r, id)| {
                    let mut link = json!(link_write(*id, store.catalog_id));
                    link["entity_id"] = json!(r.lead_id);
                    link
                })
                .collect();
            let (code, answer) = amo(
                sandbox,
                Method::POST,
                "/api/v4/leads/link",
                Some(json!(links)),
            )
            .await;
            assert_eq!(code, 200, "{answer}");
            ids.extend(created);
        }
        ids
    };
    let plans: Vec<Record> = leads
        .iter()
        .flat_map(|&lead| {
            [
                record(lead, RecordKind::Plan, june(10), 50_000, None),
                record(lead, RecordKind::Plan, june(30), 50_000, None),
            ]
        })
        .collect();
    let plan_ids = save(plans).await;
    let payments: Vec<Record> = leads
        .iter()
        .zip(plan_ids.chunks(2))
        .flat_map(|(&lead, ids)| {
            [5_000, 7_000, 8_000]
                .map(|rubles| record(lead, RecordKind::Payment, june(9), rubles, Some(ids[0])))
        })
        .collect();
    save(payments).await;
    leads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_scan_reads_the_catalog_in_pages_and_reminders_keep_to_seven_per_second() {
    const DEALS: usize = 60;
    for backend in backends() {
        let name = backend.name();
        let (sandbox, _db, server, account, store) = setup(&backend, msk(0, 10, 30)).await;
        let leads = seed_many(&sandbox, &store, DEALS).await;
        let records = DEALS * 5;

        let started = std::time::Instant::now();
        full_scan(&server, account).await;
        let scan_took = started.elapsed();
        let log = server_requests(&sandbox).await;
        let pages = element_reads(&log, &store);
        assert_eq!(pages, records.div_ceil(250), "{name}");
        let copied = leakguard_server::payments::records(server.db(), account)
            .await
            .unwrap();
        assert_eq!(copied.values().map(Vec::len).sum::<usize>(), records);
        let runs = leakguard_server::sync::runs(server.db(), account)
            .await
            .unwrap();
        let full = runs.iter().find(|run| run.kind == "full").unwrap();

        let before = log.len();
        let started = std::time::Instant::now();
        run_pass(&server, account).await;
        let pass_took = started.elapsed();
        let log = server_requests(&sandbox).await;
        let creates = log[before..]
            .iter()
            .filter(|e| e["method"] == "POST" && e["path"] == "/api/v4/tasks")
            .count();
        assert_eq!(creates, DEALS, "{name}: one reminder per overdue plan");
        let during_pass = log.len() - before;
        assert_within_budget(&log);

        settled(server.db()).await;
        let quiet = server_requests(&sandbox).await.len();
        let started = std::time::Instant::now();
        run_pass(&server, account).await;
        let idle_took = started.elapsed();
        let writes = server_requests(&sandbox).await[quiet..]
            .iter()
            .filter(|e| e["method"] != "GET")
            .count();
        assert_eq!(writes, 0, "{name}: an idle pass changes nothing");
        for lead in leads.iter().take(3) {
            let reminders = reminders_of(&sandbox, *lead).await;
            assert_eq!(reminders.len(), 1);
            assert_eq!(reminders[0]["complete_till"], msk(4, 10, 0));
        }
        let body = metrics(&server, account, sandbox.app_url()).await;
        assert_eq!(
            body["payments"]["at_risk"],
            DEALS as i64 * 3_000_000,
            "{name}"
        );
        println!(
            "PAYMENTS {name}: records={records} catalog_pages={pages} full_scan_requests={} scan={:.2}s \
             reminders={creates} requests_during_pass={during_pass} pass={:.2}s idle_pass={:.3}s",
            full.requests,
            scan_took.as_secs_f64(),
            pass_took.as_secs_f64(),
            idle_took.as_secs_f64(),
        );
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_subscription_gains_the_note_hook_once() {
    for backend in backends() {
        let (sandbox, _db, server, account, _store) = setup(&backend, msk(0, 9, 0)).await;
        full_scan(&server, account).await;
        // As a server from before the payments left it: the same destination, fewer events.
        sqlx::query("UPDATE accounts SET webhook_events = $1 WHERE account_id = $2")
            .bind("add_lead,update_lead")
            .bind(account)
            .execute(&server.db().pool)
            .await
            .unwrap();
        let subscriptions = |log: &[Value]| {
            log.iter()
                .filter(|e| e["method"] == "POST" && e["path"] == "/api/v4/webhooks")
                .count()
        };
        let before = subscriptions(&server_requests(&sandbox).await);
        full_scan(&server, account).await;
        full_scan(&server, account).await;
        let log = server_requests(&sandbox).await;
        assert_eq!(subscriptions(&log) - before, 1, "{}", backend.name());
        let (_, hooks) = amo(&sandbox, Method::GET, "/api/v4/webhooks", None).await;
        let hook = &hooks["_embedded"]["webhooks"][0];
        let events: Vec<&str> = hook["settings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(events.contains(&"note_lead"), "{events:?}");
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}
