//! The issue-9 automations end to end against the sandbox, with both clocks frozen and moved by
//! hand across Friday 12 June 2026 (Russia Day, a public holiday) and the weekend after it:
//! each rule fires exactly once at the right working-day moment, is undone when the deal moves,
//! never duplicates on retried requests, duplicate webhooks or a restart, and stays within 7 rps.

mod common;

use std::time::Duration;

use common::*;
use leakguard_core::dates::{Calendar, Date};
use leakguard_core::deal::StageRef;
use leakguard_core::settings::{Limit, RefusalRule, Settings, StageScope, Supervisor};
use reqwest::Method;
use serde_json::{json, Value};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Thursday 11 June 2026, 00:00 Moscow time (21:00 UTC the day before).
const THURSDAY: i64 = 1_781_125_200;
/// The user who owns the sandbox's admin token.
const ADMIN: u64 = 8_100_001;

/// Moscow wall-clock time on Thursday 11 June 2026 plus `days`.
fn msk(days: i64, hour: i64, minute: i64) -> i64 {
    THURSDAY + days * DAY + hour * HOUR + minute * 60
}

#[test]
fn the_dates_are_a_holiday_and_a_weekend() {
    let calendar = Calendar::russian();
    let day = |d| Date::from_ymd(2026, 6, d).unwrap();
    assert!(calendar.is_working_day(day(11)));
    for d in [12, 13, 14] {
        assert!(!calendar.is_working_day(day(d)), "June {d}");
    }
    assert!(calendar.is_working_day(day(15)));
    assert_eq!(
        leakguard_core::dates::local_date_of(
            THURSDAY,
            &leakguard_core::dates::FixedOffset(3 * HOUR as i32)
        ),
        day(11)
    );
}

/// The main pipeline and its open stages in order, and the other pipelines' first open stages.
async fn stages(sandbox: &leakguard_sandbox::Running) -> (u64, Vec<u64>, Vec<(u64, u64)>) {
    let (_, body) = amo(sandbox, Method::GET, "/api/v4/leads/pipelines", None).await;
    let pipelines = body["_embedded"]["pipelines"].as_array().unwrap().clone();
    let open = |pipeline: &Value| -> Vec<u64> {
        let mut statuses: Vec<&Value> = pipeline["_embedded"]["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == 0 && s["id"] != 142 && s["id"] != 143)
            .collect();
        statuses.sort_by_key(|s| s["sort"].as_i64());
        statuses.iter().map(|s| s["id"].as_u64().unwrap()).collect()
    };
    let main = &pipelines[0];
    let others = pipelines[1..]
        .iter()
        .map(|p| (p["id"].as_u64().unwrap(), open(p)[0]))
        .collect();
    (main["id"].as_u64().unwrap(), open(main), others)
}

/// Creates a lead in `(pipeline, status)` and returns its id.
async fn lead_in(
    sandbox: &leakguard_sandbox::Running,
    name: &str,
    pipeline: u64,
    status: u64,
) -> u64 {
    let (code, body) = amo(
        sandbox,
        Method::POST,
        "/api/v4/leads",
        Some(json!([{ "name": name, "pipeline_id": pipeline, "status_id": status, "responsible_user_id": ADMIN }])),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["_embedded"]["leads"][0]["id"].as_u64().unwrap()
}

async fn add_task(sandbox: &leakguard_sandbox::Running, lead: u64, text: &str, till: i64) -> u64 {
    let (code, body) = amo(
        sandbox,
        Method::POST,
        "/api/v4/tasks",
        Some(json!([{ "text": text, "complete_till": till, "entity_id": lead, "entity_type": "leads" }])),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["_embedded"]["tasks"][0]["id"].as_u64().unwrap()
}

async fn patch_lead(sandbox: &leakguard_sandbox::Running, lead: u64, body: Value) {
    let (code, answer) = amo(
        sandbox,
        Method::PATCH,
        &format!("/api/v4/leads/{lead}"),
        Some(body),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
}

async fn lead_json(sandbox: &leakguard_sandbox::Running, lead: u64) -> Value {
    amo(sandbox, Method::GET, &format!("/api/v4/leads/{lead}"), None)
        .await
        .1
}

fn tag_names(lead: &Value) -> Vec<String> {
    let mut names: Vec<String> = lead["_embedded"]["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
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

/// The texts of a lead's tasks carrying `marker_prefix`.
async fn marked_tasks(
    sandbox: &leakguard_sandbox::Running,
    lead: u64,
    marker_prefix: &str,
) -> Vec<Value> {
    tasks_of(sandbox, lead)
        .await
        .into_iter()
        .filter(|task| {
            task["text"]
                .as_str()
                .unwrap_or_default()
                .contains(marker_prefix)
        })
        .collect()
}

/// Starts a sandbox (empty account, frozen at `at`) and a server on `backend` with `settings`,
/// and runs the first full scan (which also subscribes the webhook).
async fn setup(
    backend: &Backend,
    at: i64,
    settings: &Settings,
) -> (
    leakguard_sandbox::Running,
    TestDb,
    leakguard_server::Running,
    i64,
) {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .clock
        .set(leakguard_sandbox::clock::ClockMode::Fixed(at));
    let account_id = sandbox_account_id(&sandbox).await;
    let db = fresh_db(backend).await;
    let server = leakguard_server::start(automation_config(&db, &sandbox, account_id, at))
        .await
        .unwrap();
    put_settings(&server, account_id, settings).await;
    full_scan(&server, account_id).await;
    (sandbox, db, server, account_id)
}

async fn restart(
    server: leakguard_server::Running,
    db: &TestDb,
    sandbox: &leakguard_sandbox::Running,
    account_id: i64,
    at: i64,
) -> leakguard_server::Running {
    // The same port, so the webhook subscribed in amoCRM keeps reaching the server.
    let addr = server.addr();
    server.kill().await;
    let mut config = automation_config(db, sandbox, account_id, at);
    config.listen = addr;
    leakguard_server::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stuck_deals_are_tagged_after_the_holiday_escalated_once_and_untagged_when_moved() {
    for backend in backends() {
        let mut settings = Settings::default();
        settings.next_step.enabled = false;
        settings.stuck.default_limit = Some(Limit::WorkingDays(1));
        settings.stuck.default_escalate_after = Some(Limit::WorkingDays(2));
        settings.escalation.supervisor = Some(Supervisor::User { id: ADMIN });
        let entered = msk(0, 15, 0);
        let (sandbox, db, mut server, account) = setup(&backend, entered, &settings).await;
        let (pipeline, open, _) = stages(&sandbox).await;
        let lead = lead_in(&sandbox, "Завод Ромашка", pipeline, open[1]).await;
        add_task(&sandbox, lead, "Позвонить", msk(30, 10, 0)).await;
        patch_lead(
            &sandbox,
            lead,
            json!({ "tags_to_add": [{ "name": "VIP" }] }),
        )
        .await;
        wait_lead(&server, account, lead, "with its tag and task", |row| {
            row.has_tag("VIP")
        })
        .await;
        delta_scan(&server, account).await;

        // One working day in the stage: Thursday 15:00 → (Friday holiday, weekend) → Monday 15:00.
        set_clocks(&sandbox, &server, msk(4, 14, 59));
        run_pass(&server, account).await;
        assert_eq!(
            tag_names(&lead_json(&sandbox, lead).await),
            ["VIP"],
            "{}",
            backend.name()
        );
        set_clocks(&sandbox, &server, msk(4, 15, 0));
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        assert_eq!(
            tag_names(&lead_json(&sandbox, lead).await),
            ["VIP", "Завис"]
        );
        let patches = |log: &[Value]| {
            log.iter()
                .filter(|e| e["method"] == "PATCH" && e["path"] == "/api/v4/leads")
                .cloned()
                .collect::<Vec<_>>()
        };
        let log = server_requests(&sandbox).await;
        assert_eq!(
            patches(&log).len(),
            1,
            "one tag request: {:?}",
            patches(&log)
        );
        let body = &patches(&log)[0]["body"];
        assert_eq!(body[0]["tags_to_add"][0]["name"], "Завис", "{body}");
        assert!(
            body[0].get("_embedded").is_none(),
            "tags are never replaced: {body}"
        );

        // Two working days: Tuesday 15:00 escalates to the supervisor once, across a restart.
        set_clocks(&sandbox, &server, msk(5, 14, 59));
        run_pass(&server, account).await;
        assert!(marked_tasks(&sandbox, lead, "#lg-s").await.is_empty());
        set_clocks(&sandbox, &server, msk(5, 15, 0));
        run_pass(&server, account).await;
        server = restart(server, &db, &sandbox, account, msk(5, 16, 0)).await;
        set_clocks(&sandbox, &server, msk(5, 16, 0));
        run_pass(&server, account).await;
        let escalations = marked_tasks(&sandbox, lead, &format!("#lg-s{lead}-{entered}")).await;
        assert_eq!(escalations.len(), 1, "{escalations:?}");
        let task = &escalations[0];
        assert_eq!(task["responsible_user_id"], ADMIN);
        assert!(task["text"]
            .as_str()
            .unwrap()
            .starts_with("Сделка требует внимания руководителя: Завод Ромашка"));
        // Due today at 10:00 is past, so the next working day: Wednesday 17 June 10:00 Moscow.
        assert_eq!(task["complete_till"], msk(6, 10, 0));
        let notes = notes_of(&sandbox, lead).await;
        assert_eq!(
            notes.iter().filter(|n| n.contains("#lg-s")).count(),
            1,
            "{notes:?}"
        );

        // Duplicate webhooks, then the deal moves on: the tag goes, VIP stays.
        for _ in 0..3 {
            let status = reqwest::Client::new()
                .post(format!("{}/__sandbox/webhooks/faults", sandbox.app_url()))
                .json(&json!({ "kind": "duplicate", "count": 4 }))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success());
        }
        patch_lead(
            &sandbox,
            lead,
            json!({ "status_id": open[2], "pipeline_id": pipeline }),
        )
        .await;
        let moved = wait_lead(&server, account, lead, "in its new stage", |row| {
            row.status_id == open[2] as i64
        })
        .await;
        assert_eq!(moved.stage_since, msk(5, 16, 0));
        settled(server.db()).await;
        run_pass(&server, account).await;
        assert_eq!(tag_names(&lead_json(&sandbox, lead).await), ["VIP"]);
        let log = server_requests(&sandbox).await;
        let removals: Vec<_> = patches(&log)
            .into_iter()
            .filter(|e| e["body"][0].get("tags_to_delete").is_some())
            .collect();
        assert_eq!(removals.len(), 1, "{removals:?}");
        assert_eq!(marked_tasks(&sandbox, lead, "#lg-s").await.len(), 1);
        assert_within_budget(&log);

        let audit = leakguard_server::audit::recent(server.db(), account, 50)
            .await
            .unwrap();
        let kinds: Vec<&str> = audit.iter().rev().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["stuck_tag_added", "stuck_escalation", "stuck_tag_removed"]
        );
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watchdog_gives_a_deal_without_a_next_step_one_task_after_the_grace() {
    for backend in backends() {
        let mut settings = Settings::default();
        settings.stuck.enabled = false;
        let start = msk(0, 17, 50);
        let (sandbox, db, mut server, account) = setup(&backend, start, &settings).await;
        let (pipeline, open, _) = stages(&sandbox).await;

        // A: created without a task (API). B: its only task is completed at 17:55.
        // C: won, then reopened on the board at 17:52. D: gets a task within the grace.
        let a = lead_in(&sandbox, "A", pipeline, open[0]).await;
        let b = lead_in(&sandbox, "B", pipeline, open[0]).await;
        let b_task = add_task(&sandbox, b, "Позвонить", msk(1, 12, 0)).await;
        let c = lead_in(&sandbox, "C", pipeline, open[0]).await;
        let d = lead_in(&sandbox, "D", pipeline, open[0]).await;
        patch_lead(
            &sandbox,
            c,
            json!({ "status_id": 142, "pipeline_id": pipeline }),
        )
        .await;
        wait_lead(&server, account, c, "won", |row| row.status_id == 142).await;
        set_clocks(&sandbox, &server, msk(0, 17, 52));
        patch_lead(
            &sandbox,
            c,
            json!({ "status_id": open[1], "pipeline_id": pipeline }),
        )
        .await;
        wait_lead(&server, account, c, "reopened", |row| {
            row.status_id == open[1] as i64
        })
        .await;
        set_clocks(&sandbox, &server, msk(0, 17, 55));
        let (code, _) = amo(
            &sandbox,
            Method::PATCH,
            &format!("/api/v4/tasks/{b_task}"),
            Some(json!({ "is_completed": true })),
        )
        .await;
        assert_eq!(code, 200);
        wait_lead(&server, account, b, "without its task", |row| {
            row.no_task_since.is_some()
        })
        .await;
        set_clocks(&sandbox, &server, msk(0, 18, 0));
        add_task(&sandbox, d, "Встреча", msk(1, 11, 0)).await;
        settled(server.db()).await;

        // Grace of 15 minutes: nothing at 18:04, A at 18:05, C at 18:07, B at 18:10, D never.
        set_clocks(&sandbox, &server, msk(0, 18, 4));
        run_pass(&server, account).await;
        for lead in [a, b, c, d] {
            assert!(
                marked_tasks(&sandbox, lead, "#lg-w").await.is_empty(),
                "{}",
                backend.name()
            );
        }
        set_clocks(&sandbox, &server, msk(0, 18, 5));
        run_pass(&server, account).await;
        let fallback = marked_tasks(&sandbox, a, &format!("#lg-w{a}-{start}")).await;
        assert_eq!(fallback.len(), 1, "{fallback:?}");
        assert_eq!(
            fallback[0]["text"],
            format!("Запланируйте следующий шаг: A #lg-w{a}-{start}")
        );
        assert_eq!(fallback[0]["responsible_user_id"], ADMIN);
        // One working day later at 10:00: Friday is Russia Day, so Monday 15 June.
        assert_eq!(fallback[0]["complete_till"], msk(4, 10, 0));
        assert!(marked_tasks(&sandbox, c, "#lg-w").await.is_empty());

        server = restart(server, &db, &sandbox, account, msk(0, 18, 30)).await;
        set_clocks(&sandbox, &server, msk(0, 18, 30));
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        for (lead, since) in [(a, start), (c, msk(0, 17, 52)), (b, msk(0, 17, 55))] {
            let tasks = marked_tasks(&sandbox, lead, &format!("#lg-w{lead}-{since}")).await;
            assert_eq!(tasks.len(), 1, "lead {lead}: {tasks:?}");
            assert_eq!(marked_tasks(&sandbox, lead, "#lg-w").await.len(), 1);
        }
        assert!(marked_tasks(&sandbox, d, "#lg-w").await.is_empty());

        let audit = leakguard_server::audit::recent(server.db(), account, 50)
            .await
            .unwrap();
        let source = |lead: u64| {
            audit
                .iter()
                .find(|e| e.kind == "watchdog" && e.deal_id == lead as i64)
                .map(|e| e.source.clone())
        };
        assert_eq!(source(a).as_deref(), Some("api"));
        assert_eq!(source(b).as_deref(), Some("task_completed"));
        assert_eq!(source(c).as_deref(), Some("board"));
        assert_eq!(audit.iter().filter(|e| e.kind == "watchdog").count(), 3);
        assert_within_budget(&server_requests(&sandbox).await);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deals_lost_anywhere_get_the_pickers_plan_or_a_task_to_set_the_reason() {
    for backend in backends() {
        let lost_at = msk(0, 12, 0);
        let sandbox = sandbox().await;
        sandbox
            .state()
            .clock
            .set(leakguard_sandbox::clock::ClockMode::Fixed(lost_at));
        let (pipeline, open, others) = stages(&sandbox).await;
        let (_, reasons) = amo(&sandbox, Method::GET, "/api/v4/leads/loss_reasons", None).await;
        let reason = |name: &str| {
            reasons["_embedded"]["loss_reasons"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .unwrap()["id"]
                .as_u64()
                .unwrap()
        };
        let expensive = reason("Дорого");
        let competitor = reason("Выбрали конкурента");
        let (refusal_pipeline, refusal_stage) = others[0];
        let mut settings = Settings::default();
        settings.next_step.enabled = false;
        settings.stuck.enabled = false;
        settings.refusals.rules.push(RefusalRule {
            reason_id: expensive,
            delay_working_days: 5,
            copy: true,
            copy_to: Some(StageRef::new(refusal_pipeline as u32, refusal_stage as u32)),
            ..RefusalRule::default()
        });
        let account = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let server = leakguard_server::start(automation_config(&db, &sandbox, account, lost_at))
            .await
            .unwrap();
        put_settings(&server, account, &settings).await;
        full_scan(&server, account).await;

        let with_reason = lead_in(&sandbox, "Лес", pipeline, open[1]).await;
        let without = lead_in(&sandbox, "Поле", pipeline, open[1]).await;
        let in_card = lead_in(&sandbox, "Река", pipeline, open[1]).await;
        let other = lead_in(&sandbox, "Гора", pipeline, open[0]).await;
        for (lead, reason) in [
            (with_reason, Some(expensive)),
            (without, None),
            (in_card, Some(expensive)),
            (other, Some(competitor)),
        ] {
            let mut body = json!({ "status_id": 143, "pipeline_id": pipeline });
            if let Some(reason) = reason {
                body["loss_reason_id"] = json!(reason);
            }
            patch_lead(&sandbox, lead, body).await;
        }
        // The card's picker made its own follow-up for "Река" two seconds before amoCRM closed it.
        add_task(
            &sandbox,
            in_card,
            &format!("Связаться повторно: Река #lg-r{in_card}-{}", lost_at - 2),
            msk(7, 10, 0),
        )
        .await;
        wait_lead(&server, account, without, "lost", |row| {
            row.status_id == 143
        })
        .await;
        settled(server.db()).await;
        delta_scan(&server, account).await;
        wait_lead(&server, account, with_reason, "confirmed lost", |row| {
            row.confirmed && row.closed_at == Some(lost_at)
        })
        .await;

        // Within the settle time the card may still be working: nothing happens.
        set_clocks(&sandbox, &server, lost_at + 60);
        run_pass(&server, account).await;
        assert!(marked_tasks(&sandbox, with_reason, "#lg-").await.is_empty());

        // The first task request fails with a 500: the pass is retried and creates it once.
        fault(&sandbox, json!({ "method": "POST", "path": "/api/v4/tasks", "kind": "status", "status": 500, "count": 1 })).await;
        set_clocks(&sandbox, &server, lost_at + 121);
        let ctx = server.job_context();
        assert!(leakguard_server::automation::pass(ctx, account)
            .await
            .is_err());
        run_pass(&server, account).await;
        run_pass(&server, account).await;

        let marker = format!("#lg-r{with_reason}-{lost_at}");
        let follow_up = marked_tasks(&sandbox, with_reason, &marker).await;
        assert_eq!(follow_up.len(), 1, "{}: {follow_up:?}", backend.name());
        assert_eq!(
            follow_up[0]["text"],
            format!("Связаться повторно: Лес {marker}")
        );
        // Five working days from Thursday (Friday is a holiday): Mon, Tue, Wed, Thu, Fri 19 June 10:00.
        assert_eq!(follow_up[0]["complete_till"], msk(8, 10, 0));
        let notes = notes_of(&sandbox, with_reason).await;
        assert_eq!(notes, [format!("Причина отказа: Дорого\n{marker}")]);
        let (_, copies) = amo(
            &sandbox,
            Method::GET,
            &format!("/api/v4/leads?filter[pipeline_id][]={refusal_pipeline}&limit=250"),
            None,
        )
        .await;
        let copies = copies["_embedded"]["leads"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert_eq!(copies[0]["name"], "Лес");
        assert_eq!(copies[0]["status_id"], refusal_stage);
        assert_eq!(tag_names(&copies[0]), ["Отказ"]);
        let copy_notes = notes_of(&sandbox, copies[0]["id"].as_u64().unwrap()).await;
        assert_eq!(
            copy_notes,
            [format!(
                "Исходная сделка: {}/leads/detail/{with_reason}\n{marker}",
                sandbox.app_url()
            )]
        );

        // No reason: a task to set one, due the next working day (Monday) at 10:00.
        let ask = marked_tasks(&sandbox, without, &format!("#lg-m{without}-{lost_at}")).await;
        assert_eq!(ask.len(), 1, "{ask:?}");
        assert_eq!(
            ask[0]["text"],
            format!("Укажите причину отказа: Поле #lg-m{without}-{lost_at}")
        );
        assert_eq!(ask[0]["complete_till"], msk(4, 10, 0));
        assert!(marked_tasks(&sandbox, without, "#lg-r").await.is_empty());

        // The card's refusal is left alone; a reason without a rule gets the default (10 days).
        assert_eq!(tasks_of(&sandbox, in_card).await.len(), 1);
        let default = marked_tasks(&sandbox, other, &format!("#lg-r{other}-{lost_at}")).await;
        assert_eq!(default.len(), 1);
        assert_eq!(default[0]["complete_till"], msk(15, 10, 0));

        let audit = leakguard_server::audit::recent(server.db(), account, 50)
            .await
            .unwrap();
        let card = audit.iter().find(|e| e.deal_id == in_card as i64).unwrap();
        assert_eq!(card.detail["handled_by"], "card");
        assert_within_budget(&server_requests(&sandbox).await);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overdue_task_escalates_once_a_working_day_late() {
    for backend in backends() {
        let mut settings = Settings::default();
        settings.next_step.enabled = false;
        settings.stuck.enabled = false;
        settings.overdue_tasks.enabled = true;
        settings.overdue_tasks.escalate_after = Limit::WorkingDays(1);
        settings.escalation.supervisor = Some(Supervisor::User { id: ADMIN });
        let due = msk(0, 12, 0);
        let (sandbox, _db, server, account) = setup(&backend, msk(0, 9, 0), &settings).await;
        let (pipeline, open, _) = stages(&sandbox).await;
        let lead = lead_in(&sandbox, "Склад", pipeline, open[0]).await;
        let task = add_task(&sandbox, lead, "Отправить КП", due).await;
        wait_lead(&server, account, lead, "with its task", |_| true).await;
        settled(server.db()).await;
        let marker = format!("#lg-o{task}-{due}");

        set_clocks(&sandbox, &server, msk(4, 11, 59));
        run_pass(&server, account).await;
        assert!(
            marked_tasks(&sandbox, lead, "#lg-o").await.is_empty(),
            "{}",
            backend.name()
        );
        set_clocks(&sandbox, &server, msk(4, 12, 0));
        run_pass(&server, account).await;
        run_pass(&server, account).await;
        set_clocks(&sandbox, &server, msk(6, 12, 0));
        run_pass(&server, account).await;
        let escalations = marked_tasks(&sandbox, lead, &marker).await;
        assert_eq!(escalations.len(), 1, "{escalations:?}");
        assert_eq!(escalations[0]["responsible_user_id"], ADMIN);
        let notes = notes_of(&sandbox, lead).await;
        assert_eq!(notes.iter().filter(|n| n.contains(&marker)).count(), 1);
        assert_within_budget(&server_requests(&sandbox).await);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_quality_queue_settings_and_metrics_api() {
    for backend in backends() {
        let mut settings = Settings::default();
        settings.next_step.scope = StageScope::AllOpen;
        settings.stuck.default_limit = Some(Limit::Hours(1));
        let start = msk(0, 10, 0);
        let (sandbox, _db, server, account) = setup(&backend, start, &settings).await;
        let (pipeline, open, _) = stages(&sandbox).await;
        let idle = lead_in(&sandbox, "Тихая", pipeline, open[0]).await;
        let lost = lead_in(&sandbox, "Пропавшая", pipeline, open[0]).await;
        patch_lead(
            &sandbox,
            lost,
            json!({ "status_id": 143, "pipeline_id": pipeline }),
        )
        .await;
        wait_lead(&server, account, lost, "lost", |row| row.status_id == 143).await;
        settled(server.db()).await;
        delta_scan(&server, account).await;
        set_clocks(&sandbox, &server, msk(0, 12, 0));

        let client = reqwest::Client::new();
        let token = |account: i64| {
            widget_token(
                account,
                sandbox.app_url(),
                json!({ "user_id": ADMIN }),
                SECRET,
            )
        };
        let get = |path: &str, account: i64| {
            client
                .get(format!("{}{path}", server.url()))
                .header("X-Auth-Token", token(account))
                .send()
        };
        let qc: Value = get("/api/qc", account).await.unwrap().json().await.unwrap();
        let breaches = qc["breaches"].as_array().unwrap();
        let kinds = |lead: u64| -> Vec<String> {
            let mut kinds: Vec<String> = breaches
                .iter()
                .filter(|b| b["deal"]["id"] == lead)
                .map(|b| b["kind"].as_str().unwrap().to_owned())
                .collect();
            kinds.sort();
            kinds
        };
        assert_eq!(
            kinds(idle),
            ["no_next_step", "stuck"],
            "{}: {qc}",
            backend.name()
        );
        assert_eq!(kinds(lost), ["lost_without_reason"]);
        let stuck = breaches
            .iter()
            .find(|b| b["deal"]["id"] == idle && b["kind"] == "stuck")
            .unwrap();
        assert_eq!(stuck["stage"]["name"], "Новая заявка");
        assert_eq!(stuck["manager"]["id"], ADMIN);
        assert_eq!(stuck["since"], start + HOUR);
        assert_eq!(stuck["age_seconds"], HOUR);
        assert!(stuck["deal"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/leads/detail/{idle}")));
        assert!(qc["synced_at"].as_i64().is_some());

        // Acknowledge and comment; another account cannot touch this one's deals.
        let id = stuck["id"].as_str().unwrap().to_owned();
        let post = |path: String, account: i64, body: Value| {
            client
                .post(format!("{}{path}", server.url()))
                .header("X-Auth-Token", token(account))
                .json(&body)
                .send()
        };
        let acked = post(format!("/api/qc/{id}/ack"), account, json!({}))
            .await
            .unwrap();
        assert_eq!(acked.status(), 200);
        let commented: Value = post(
            format!("/api/qc/{id}/comment"),
            account,
            json!({ "text": "Звоню завтра" }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(commented["comments"][0]["text"], "Звоню завтра");
        assert_eq!(commented["acknowledged"]["by"], ADMIN);
        let foreign = post(format!("/api/qc/{id}/ack"), account + 1, json!({}))
            .await
            .unwrap();
        assert_eq!(foreign.status(), 404);
        let qc: Value = get("/api/qc", account).await.unwrap().json().await.unwrap();
        let again = qc["breaches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(again["comments"].as_array().unwrap().len(), 1);
        assert!(again["acknowledged"]["at"].is_i64());

        // Metrics from the copy: one lost deal without a reason, one open deal without a task.
        let metrics: Value = get(
            &format!("/api/metrics?from={}&to={}", start - DAY, start + DAY),
            account,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(metrics["metrics"]["lost"]["total"]["count"], 1, "{metrics}");
        assert_eq!(
            metrics["metrics"]["lost"]["by_reason"][0]["reason_id"],
            Value::Null
        );
        assert_eq!(
            metrics["metrics"]["without_task"]["total"]["deal_ids"],
            json!([idle])
        );
        assert!(metrics["synced_at"].as_i64().is_some());
        // Reassign: the lead's responsible user changes in amoCRM.
        let (_, users) = amo(&sandbox, Method::GET, "/api/v4/users", None).await;
        let manager = users["_embedded"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_u64().unwrap())
            .find(|&id| id != ADMIN)
            .unwrap();
        let reassigned = post(
            format!("/api/qc/{id}/reassign"),
            account,
            json!({ "user_id": manager }),
        )
        .await
        .unwrap();
        assert_eq!(
            reassigned.status(),
            200,
            "{}",
            reassigned.text().await.unwrap()
        );
        assert_eq!(
            lead_json(&sandbox, idle).await["responsible_user_id"],
            manager
        );

        // Settings: defaults, a refused invalid PUT with every problem, then a valid one.
        let current: Value = get("/api/settings", account)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(current["defaults"], false);
        assert_eq!(
            current["settings"]["stuck"]["default_limit"],
            json!({ "hours": 1 })
        );
        let mut invalid = serde_json::to_value(Settings::default()).unwrap();
        invalid["next_step"]["watchdog_grace_minutes"] = json!(0);
        invalid["overdue_tasks"]["enabled"] = json!(true);
        let refused = client
            .put(format!("{}/api/settings", server.url()))
            .header("X-Auth-Token", token(account))
            .json(&invalid)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422);
        let problems: Value = refused.json().await.unwrap();
        let paths: Vec<&str> = problems["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&"next_step.watchdog_grace_minutes"),
            "{paths:?}"
        );
        assert!(paths.contains(&"escalation.supervisor"), "{paths:?}");
        let saved = client
            .put(format!("{}/api/settings", server.url()))
            .header("X-Auth-Token", token(account))
            .json(&Settings::default())
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), 200);

        let filtered: Value = get(&format!("/api/metrics?manager={ADMIN}"), account)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            filtered["metrics"]["without_task"]["total"]["count"], 0,
            "the deal was reassigned"
        );
        let unauthorized = client
            .get(format!("{}/api/qc", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorized.status(), 401);

        // The sync state shows the scans and their request counts.
        let sync: Value = get("/api/sync", account)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(sync["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "full"));
        server.shutdown().await;
        sandbox.shutdown().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_schedule_catches_changes_whose_webhooks_were_lost() {
    for backend in backends() {
        let start = msk(0, 12, 0);
        let sandbox = sandbox().await;
        sandbox
            .state()
            .clock
            .set(leakguard_sandbox::clock::ClockMode::Fixed(start));
        let account = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = automation_config(&db, &sandbox, account, start);
        config.sync_interval_seconds = 1;
        config.automation_interval_seconds = 1;
        let server = leakguard_server::start(config).await.unwrap();
        let scanned = wait_for(Duration::from_secs(20), || async {
            leakguard_server::accounts::get(server.db(), account)
                .await
                .ok()
                .flatten()
                .and_then(|a| a.full_synced_at)
        })
        .await;
        assert!(
            scanned.is_some(),
            "{}: the scheduler ran no full scan",
            backend.name()
        );

        // Every hook of the next changes is lost on the way.
        let status = reqwest::Client::new()
            .post(format!("{}/__sandbox/webhooks/faults", sandbox.app_url()))
            .json(&json!({ "kind": "drop", "count": 20 }))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
        let (pipeline, open, _) = stages(&sandbox).await;
        let lead = lead_in(&sandbox, "Без вебхуков", pipeline, open[0]).await;
        patch_lead(
            &sandbox,
            lead,
            json!({ "status_id": 143, "pipeline_id": pipeline }),
        )
        .await;
        wait_lead(
            &server,
            account,
            lead,
            "lost, from a reconciliation",
            |row| row.status_id == 143 && row.confirmed,
        )
        .await;
        set_clocks(&sandbox, &server, start + 200);
        let asked = wait_for(Duration::from_secs(20), || async {
            let tasks = marked_tasks(&sandbox, lead, &format!("#lg-m{lead}-{start}")).await;
            (!tasks.is_empty()).then_some(tasks)
        })
        .await;
        assert_eq!(asked.map(|t| t.len()), Some(1), "{}", backend.name());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(marked_tasks(&sandbox, lead, "#lg-m").await.len(), 1);

        // Each reconciliation costs three requests (stage changes, leads, tasks: one page each).
        let runs = leakguard_server::sync::runs(server.db(), account)
            .await
            .unwrap();
        let deltas: Vec<_> = runs.iter().filter(|run| run.kind == "delta").collect();
        assert!(deltas.len() >= 2, "{runs:?}");
        assert!(deltas.iter().all(|run| run.requests == 3), "{deltas:?}");
        assert_within_budget(&server_requests(&sandbox).await);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_can_follow_the_sandbox_clock() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .clock
        .set(leakguard_sandbox::clock::ClockMode::Fixed(msk(4, 9, 0)));
    let db = fresh_db(&Backend::Sqlite).await;
    let mut config = server_config(&db);
    config.workers = 0;
    config.clock = format!("sandbox:{}", sandbox.app_url());
    let server = leakguard_server::start(config).await.unwrap();
    assert_eq!(server.clock().now(), msk(4, 9, 0));
    sandbox
        .state()
        .clock
        .set(leakguard_sandbox::clock::ClockMode::Offset(7 * DAY));
    let followed = wait_for(Duration::from_secs(5), || async {
        let expected = leakguard_server::db::now_ms() / 1000 + 7 * DAY;
        ((server.clock().now() - expected).abs() <= 2).then_some(())
    })
    .await;
    assert!(
        followed.is_some(),
        "the server kept {}",
        server.clock().now()
    );
    server.shutdown().await;
    sandbox.shutdown().await;
}
