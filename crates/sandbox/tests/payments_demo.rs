//! The demo's LeakGuard payments: the catalog prepared as if an administrator had saved the settings once, records
//! readable the way the widget reads them, the showcase deals, and the option to start without any of it.

mod common;

use amo_api::payments::record_of;
use amo_api::{CatalogElement, Lead, Page};
use common::{config, Sandbox};
use leakguard_core::dates::FixedOffset;
use leakguard_core::payments::store::RecordKind;
use leakguard_core::payments::store::{deal_payments, Record, StoreField};
use leakguard_core::payments::{totals, Currency, Totals};
use leakguard_core::settings::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Moscow, the demo account's zone, has had no daylight saving time since 2014.
const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

fn rub() -> Currency {
    Currency::from_code("RUB").unwrap()
}

/// The widget's stored configuration, as the card reads it from `settings.config`.
fn stored_settings(sb: &Sandbox) -> Option<Settings> {
    let widgets = sb.running.state().widgets();
    let widget = widgets.iter().find(|w| w.archive.code == "leakguard")?;
    let text = widget.settings.get("config")?.as_str()?.to_owned();
    Some(serde_json::from_str(&text).expect("the stored config is the core's format"))
}

/// A deal's records read with the widget's two requests: the lead with its linked elements, then those elements.
async fn read_records(sb: &Sandbox, settings: &Settings, deal: u64) -> Vec<Record> {
    let store = settings.payments.store.unwrap();
    let (status, lead) = sb
        .get(&format!("/api/v4/leads/{deal}?with=catalog_elements"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let lead: Lead = serde_json::from_value(lead).unwrap();
    let ids: Vec<String> = lead
        .embedded
        .catalog_elements
        .iter()
        .filter(|e| e.metadata.catalog_id == Some(store.catalog_id))
        .map(|e| format!("filter[id][]={}", e.id))
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let (status, page) = sb
        .get(&format!(
            "/api/v4/catalogs/{}/elements?limit=250&{}",
            store.catalog_id,
            ids.join("&")
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let page: Page<CatalogElement> = serde_json::from_value(page).unwrap();
    assert_eq!(
        page.items.len(),
        ids.len(),
        "every linked element is listed"
    );
    page.items
        .iter()
        .map(|element| record_of(element, &store, rub(), &MOSCOW).expect("a LeakGuard record"))
        .collect()
}

async fn deal_totals(sb: &Sandbox, settings: &Settings, deal: u64) -> (Vec<Record>, Totals) {
    let records = read_records(sb, settings, deal).await;
    assert!(records.iter().all(|r| r.lead_id == deal));
    let now = sb.running.state().clock.now();
    let sums = totals(&deal_payments(&records, rub()), now, &MOSCOW);
    (records, sums)
}

/// The default demo has the catalog with the six `LG_*` fields, the widget's settings point at them, and the
/// showcase deals are what their names say.
#[tokio::test]
async fn the_demo_has_the_payments_catalog_prepared() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let catalog = demo["payments_catalog_id"]
        .as_u64()
        .expect("a payments catalog");
    let settings = stored_settings(&sb).expect("stored settings");
    assert!(settings.validate().is_empty(), "{:?}", settings.validate());
    let store = settings.payments.store.expect("payments.store");
    assert_eq!(store.catalog_id, catalog);
    let (_, read) = sb.get(&format!("/api/v4/catalogs/{catalog}")).await;
    assert_eq!(read["type"], "regular");
    let (_, fields) = sb
        .get(&format!("/api/v4/catalogs/{catalog}/custom_fields"))
        .await;
    let fields = fields["_embedded"]["custom_fields"].as_array().unwrap();
    assert_eq!(fields.len(), 6);
    for field in StoreField::ALL {
        let def = fields
            .iter()
            .find(|f| f["code"] == field.code())
            .unwrap_or_else(|| panic!("{} missing", field.code()));
        assert_eq!(def["id"], store.fields.get(field));
        assert_eq!(def["type"], field.field_type());
    }

    let overdue = demo["deal_payments_overdue"].as_u64().unwrap();
    let (records, sums) = deal_totals(&sb, &settings, overdue).await;
    assert!(sums.overdue > 0 && sums.days_overdue > 0, "{sums:?}");
    assert!(!records.is_empty());
    let (_, notes) = sb.get(&format!("/api/v4/leads/{overdue}/notes")).await;
    assert!(notes["_embedded"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["params"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("LeakGuard · "))));

    let partial = demo["deal_payments_partial"].as_u64().unwrap();
    let (_, sums) = deal_totals(&sb, &settings, partial).await;
    assert!(
        sums.paid > 0 && sums.remaining > 0 && sums.overdue == 0,
        "{sums:?}"
    );

    let without = demo["deal_without_payments"].as_u64().unwrap();
    assert!(read_records(&sb, &settings, without).await.is_empty());
    let (_, lead) = sb.get(&format!("/api/v4/leads/{without}")).await;
    assert!(lead["status_id"] != 142 && lead["status_id"] != 143);

    for key in [
        "deal_with_task",
        "deal_overdue",
        "deal_without_task",
        "deal_won",
    ] {
        let deal = demo[key].as_u64().unwrap();
        assert!(
            read_records(&sb, &settings, deal).await.is_empty(),
            "{key} keeps its own story"
        );
    }
}

/// Records are spread over a realistic share of the deals, with schedules of one to four planned payments, and a
/// record's marker finds it with `query`.
#[tokio::test]
async fn records_cover_a_share_of_the_deals() {
    let sb = Sandbox::start().await;
    let settings = stored_settings(&sb).unwrap();
    let catalog = settings.payments.store.unwrap().catalog_id;
    let state = sb.running.state().clone();
    let (with_records, open, element) = {
        let store = state.store();
        let open: Vec<_> = store.leads.values().filter(|l| !l.is_deleted).collect();
        let with: Vec<u64> = open
            .iter()
            .filter(|l| l.catalog_elements.iter().any(|e| e.catalog_id == catalog))
            .map(|l| l.id)
            .collect();
        let element = store
            .elements
            .values()
            .find(|e| e.catalog_id == catalog)
            .unwrap()
            .clone();
        (with, open.len(), element)
    };
    let share = with_records.len() * 100 / open;
    assert!((15..=45).contains(&share), "{share}% of the deals");
    let mut overdue = 0;
    for &deal in with_records.iter().take(40) {
        let (records, sums) = deal_totals(&sb, &settings, deal).await;
        let plans = records
            .iter()
            .filter(|r| r.kind == RecordKind::Plan)
            .count();
        assert!((1..=4).contains(&plans), "{plans} planned payments");
        let planned: i64 = records
            .iter()
            .filter(|r| r.kind == RecordKind::Plan)
            .map(|r| r.amount)
            .sum();
        let (_, lead) = sb.get(&format!("/api/v4/leads/{deal}")).await;
        assert_eq!(
            planned,
            lead["price"].as_i64().unwrap() * 100,
            "the schedule covers the deal's price"
        );
        overdue += usize::from(sums.overdue > 0);
    }
    assert!(overdue >= 2, "several deals have overdue payments");
    let marker = element.name.rsplit(' ').next().unwrap();
    assert!(marker.starts_with("#lg-e"));
    let (status, found) = sb
        .get(&format!(
            "/api/v4/catalogs/{catalog}/elements?query={}",
            marker.replace('#', "%23")
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["_embedded"]["elements"][0]["id"], element.id);
}

/// `payments: false` (`--no-payments`) starts the demo as before an administrator's first save; a reset can switch.
#[tokio::test]
async fn the_catalog_can_be_left_unprepared() {
    let sb = Sandbox::with(leakguard_sandbox::Config {
        payments: false,
        ..config()
    })
    .await;
    assert!(sb.demo().await["payments_catalog_id"].is_null());
    assert!(stored_settings(&sb).is_none());
    let (_, catalogs) = sb.get("/api/v4/catalogs").await;
    let kinds: Vec<&str> = catalogs["_embedded"]["catalogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["invoices", "products"]);
    let reset = |body: Value| {
        sb.client
            .post(format!("{}/__sandbox/reset", sb.app))
            .json(&body)
            .send()
    };
    let showcase: Value = reset(json!({"payments": true}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(showcase["payments_catalog_id"].is_u64());
    assert!(stored_settings(&sb).unwrap().payments.store.is_some());
    reset(json!({})).await.unwrap();
    assert!(
        stored_settings(&sb).is_none(),
        "a reset keeps the start option"
    );
    let (status, _) = sb.get("/api/v4/catalogs/5003").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The same seed gives the same records.
#[tokio::test]
async fn payment_records_are_deterministic() {
    let build = |seed| {
        leakguard_sandbox::demo::build(
            leakguard_sandbox::Fixture::Demo,
            seed,
            400,
            1_800_000_000,
            true,
        )
    };
    let names = |store: &leakguard_sandbox::state::Store| {
        store
            .elements
            .values()
            .map(|e| (e.id, e.name.clone()))
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (build(3), build(3), build(4));
    assert_eq!(names(&a), names(&b));
    assert_ne!(names(&a), names(&c));
    assert_eq!(a.widget_settings, b.widget_settings);
}

/// The page data: the card's widget entry carries the stored `config` (the widget's `params.config`), and the fake
/// lead card lists the deal's linked elements under the list's name, as amoCRM's card shows a list's tab.
#[tokio::test]
async fn the_card_page_gets_the_config_and_the_linked_elements() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let cookie = sb
        .session_for(demo["manager_user_id"].as_u64().unwrap())
        .await;
    let page = |path: String| {
        common::send(
            sb.client
                .get(format!("{}{path}", sb.app))
                .header("cookie", &cookie),
        )
    };
    let (_, boot) = page("/ajax/sandbox/bootstrap".into()).await;
    let config = boot["widgets"][0]["settings"]["config"].as_str().unwrap();
    let settings: Settings = serde_json::from_str(config).unwrap();
    let catalog = &demo["payments_catalog_id"];
    assert_eq!(settings.payments.store.unwrap().catalog_id, *catalog);
    let ours = |list: &Value, key: &str| -> Vec<Value> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|e| e.pointer(key) == Some(catalog))
            .cloned()
            .collect()
    };
    let deal = demo["deal_payments_overdue"].as_u64().unwrap();
    let (status, card) = page(format!("/ajax/sandbox/leads/{deal}/card")).await;
    assert_eq!(status, StatusCode::OK);
    let elements = ours(&card["catalog_elements"], "/catalog_id");
    let linked = ours(
        &card["lead"]["_embedded"]["catalog_elements"],
        "/metadata/catalog_id",
    );
    assert!(!elements.is_empty());
    assert_eq!(elements.len(), linked.len());
    assert!(elements
        .iter()
        .all(|e| e["catalog_name"] == "LeakGuard: платежи"
            && e["name"].as_str().unwrap().contains(&format!("#{deal}"))));
    let without = demo["deal_without_payments"].as_u64().unwrap();
    let (_, card) = page(format!("/ajax/sandbox/leads/{without}/card")).await;
    assert!(ours(&card["catalog_elements"], "/catalog_id").is_empty());
}
