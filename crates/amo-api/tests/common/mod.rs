//! Fixture checks shared by the native run (`serde_json`) and the wasm run (`serde-wasm-bindgen`).

use std::cell::RefCell;
use std::collections::BTreeSet;

use amo_api::account::Access;
use amo_api::custom_fields::field_by_code;
use amo_api::{
    Account, Catalog, CatalogElement, CustomField, EntityType, Lead, Link, LossReason, Note, Page,
    Pipeline, Problem, Saved, Tag, Task, TaskResult, TokenResponse, User, Value,
};
use serde::de::DeserializeOwned;

/// Turns fixture text into a typed value with one particular deserializer.
pub trait Decoder {
    fn decode<T: DeserializeOwned>(&self, json: &str) -> Result<T, String>;
}

/// Every fixture file, embedded so that the wasm run needs no file system.
pub const FIXTURES: &[(&str, &str)] = &[
    (
        "account_datetime_task_types.json",
        include_str!("../fixtures/account_datetime_task_types.json"),
    ),
    (
        "catalog_elements_created.json",
        include_str!("../fixtures/catalog_elements_created.json"),
    ),
    (
        "catalogs_page.json",
        include_str!("../fixtures/catalogs_page.json"),
    ),
    (
        "custom_fields_page.json",
        include_str!("../fixtures/custom_fields_page.json"),
    ),
    (
        "lead_lost_with_loss_reason.json",
        include_str!("../fixtures/lead_lost_with_loss_reason.json"),
    ),
    (
        "lead_updated_single.json",
        include_str!("../fixtures/lead_updated_single.json"),
    ),
    (
        "lead_updated_single_wrapped.json",
        include_str!("../fixtures/lead_updated_single_wrapped.json"),
    ),
    (
        "leads_created.json",
        include_str!("../fixtures/leads_created.json"),
    ),
    (
        "leads_page.json",
        include_str!("../fixtures/leads_page.json"),
    ),
    (
        "leads_updated.json",
        include_str!("../fixtures/leads_updated.json"),
    ),
    (
        "links_created.json",
        include_str!("../fixtures/links_created.json"),
    ),
    (
        "loss_reasons.json",
        include_str!("../fixtures/loss_reasons.json"),
    ),
    (
        "notes_created.json",
        include_str!("../fixtures/notes_created.json"),
    ),
    (
        "notes_page.json",
        include_str!("../fixtures/notes_page.json"),
    ),
    (
        "oauth_token.json",
        include_str!("../fixtures/oauth_token.json"),
    ),
    ("pipelines.json", include_str!("../fixtures/pipelines.json")),
    (
        "problem_internal.json",
        include_str!("../fixtures/problem_internal.json"),
    ),
    (
        "problem_oauth.json",
        include_str!("../fixtures/problem_oauth.json"),
    ),
    (
        "problem_rate_limited.json",
        include_str!("../fixtures/problem_rate_limited.json"),
    ),
    (
        "problem_validation.json",
        include_str!("../fixtures/problem_validation.json"),
    ),
    (
        "tags_created.json",
        include_str!("../fixtures/tags_created.json"),
    ),
    ("tags_page.json", include_str!("../fixtures/tags_page.json")),
    (
        "task_completed_single.json",
        include_str!("../fixtures/task_completed_single.json"),
    ),
    (
        "tasks_page.json",
        include_str!("../fixtures/tasks_page.json"),
    ),
    (
        "users_page.json",
        include_str!("../fixtures/users_page.json"),
    ),
];

thread_local! {
    static DECODED: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
}

fn decode<T: DeserializeOwned>(decoder: &impl Decoder, name: &'static str) -> T {
    let (_, json) = FIXTURES
        .iter()
        .find(|(file, _)| *file == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    DECODED.with_borrow_mut(|decoded| decoded.insert(name));
    decoder
        .decode(json)
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Runs every fixture check and asserts that every fixture was decoded.
pub fn check_every_fixture(decoder: &impl Decoder) {
    lead_with_loss_reason_array(decoder);
    leads_page(decoder);
    write_results(decoder);
    tasks(decoder);
    pipelines_and_loss_reasons(decoder);
    account(decoder);
    problems(decoder);
    tags(decoder);
    custom_fields(decoder);
    catalogs(decoder);
    links_and_notes(decoder);
    users_and_oauth(decoder);
    let unused: Vec<&str> = FIXTURES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !DECODED.with_borrow(|decoded| decoded.contains(name)))
        .collect();
    assert!(unused.is_empty(), "fixtures never decoded: {unused:?}");
}

fn lead_with_loss_reason_array(decoder: &impl Decoder) {
    let lead: Lead = decode(decoder, "lead_lost_with_loss_reason.json");
    assert_eq!(
        (lead.id, lead.status_id, lead.pipeline_id),
        (3_912_171, 143, 3_104_455)
    );
    assert!(lead.is_closed());
    assert_eq!(lead.loss_reason_id, Some(4_203_748));
    let reason = lead.loss_reason().expect("loss reason");
    assert_eq!(
        (reason.id, reason.name.as_str(), reason.sort),
        (4_203_748, "Need disappeared", 100_000)
    );
    assert_eq!(lead.closed_at, Some(1_590_683_337));
    assert_eq!(lead.closest_task_at, None);
    assert_eq!(lead.score, None);
    assert!(lead.custom_fields_values.is_empty());
    assert_eq!(lead.embedded.tags[0].name, "test");
    assert_eq!(lead.embedded.tags[0].color, None);
    assert_eq!(lead.embedded.companies[0].id, 10_971_463);
    assert!(lead.embedded.contacts[0].is_main);
    assert_eq!(
        lead.links.self_link.unwrap().href,
        "https://example.amocrm.ru/api/v4/leads/3912171"
    );
}

fn leads_page(decoder: &impl Decoder) {
    let page: Page<Lead> = decode(decoder, "leads_page.json");
    assert_eq!(page.page, Some(2));
    assert_eq!(
        page.next.as_deref(),
        Some("https://example.amocrm.ru/api/v4/leads?limit=2&page=3")
    );
    assert_eq!(page.items.len(), 2);

    let first = &page.items[0];
    assert_eq!(first.price, 46_333);
    assert_eq!(first.price_with_minor_units, Some(46_333.5));
    assert_eq!(first.closest_task_at, Some(1_800_000_000));
    assert_eq!(first.loss_reason_id, None);
    assert_eq!(first.labor_cost, Some(3600));
    assert_eq!(first.is_price_modified_by_robot, Some(false));
    let values = &first.custom_fields_values;
    assert_eq!(values.len(), 6);
    assert_eq!(values[0].values[0].value.as_str(), Some("Some text"));
    assert_eq!(values[1].values[0].value.as_f64(), Some(12.0));
    assert_eq!(values[2].values[0].value.as_bool(), Some(true));
    assert_eq!(values[3].values[0].value.as_i64(), Some(1_577_836_800));
    let status = field_by_code(values, "BILL_STATUS").expect("status field");
    assert_eq!(
        (
            status.values[0].enum_id,
            status.values[0].enum_code.as_deref()
        ),
        (Some(1_302_891), Some("created"))
    );
    let legal = &values[5].values[0].value;
    assert_eq!(
        legal.get("name").and_then(Value::as_str),
        Some("LLC Example")
    );
    assert_eq!(legal.get("entity_type").and_then(Value::as_i64), Some(1));
    let elements = &first.embedded.catalog_elements;
    assert_eq!(
        (
            elements[0].id,
            elements[0].metadata.catalog_id,
            elements[0].metadata.quantity
        ),
        (525_439, Some(4521), Some(1.0))
    );
    assert_eq!(elements[0].metadata.price_id, Some(33));
    assert_eq!(elements[1].metadata, Default::default());
    assert_eq!(
        first
            .embedded
            .source
            .as_ref()
            .map(|source| source.name.as_str()),
        Some("Website")
    );

    let second = &page.items[1];
    assert_eq!(second.id, 14_460);
    assert_eq!(second.closest_task_at, None, "0 means no open task");
    assert_eq!(second.closed_at, None);
    assert!(second.custom_fields_values.is_empty());
    assert!(second.embedded.contacts.is_empty());
    assert_eq!(second.embedded.tags[0].color.as_deref(), Some("EBEBEB"));
}

fn write_results(decoder: &impl Decoder) {
    let created: Page<Saved<Lead>> = decode(decoder, "leads_created.json");
    let ids: Vec<(u64, Option<&str>)> = created
        .items
        .iter()
        .map(|item| (item.id, item.request_id.as_deref()))
        .collect();
    assert_eq!(ids, [(10_185_151, Some("0")), (10_185_153, Some("1"))]);
    assert_eq!(created.next, None);

    let updated: Page<Saved<Lead>> = decode(decoder, "leads_updated.json");
    assert_eq!(
        updated
            .items
            .iter()
            .map(|item| item.updated_at)
            .collect::<Vec<_>>(),
        [Some(1_589_556_420); 2]
    );

    let bare: Saved<Lead> = decode(decoder, "lead_updated_single.json");
    assert_eq!(
        (bare.id, bare.updated_at, bare.request_id),
        (54_886, Some(1_589_556_420), None)
    );
    let wrapped: Saved<Lead> = decode(decoder, "lead_updated_single_wrapped.json");
    assert_eq!(
        (wrapped.id, wrapped.updated_at),
        (54_886, Some(1_589_556_420))
    );

    let completed: Saved<Task> = decode(decoder, "task_completed_single.json");
    assert_eq!(
        (completed.id, completed.request_id.as_deref()),
        (4_747_929, Some("0"))
    );
}

fn tasks(decoder: &impl Decoder) {
    let page: Page<Task> = decode(decoder, "tasks_page.json");
    assert_eq!((page.page, page.next.as_deref()), (Some(1), None));
    let [open, done, unattached] = &page.items[..] else {
        panic!("expected three tasks")
    };
    assert_eq!(
        (open.id, open.entity_id, open.entity_type),
        (4_745_251, Some(9_785_993), Some(EntityType::Leads))
    );
    assert!(!open.is_completed);
    assert_eq!(open.result, None, "`result: []` is no result");
    assert_eq!(
        (open.task_type_id, open.duration, open.complete_till),
        (1, 1800, 1_588_885_140)
    );
    assert!(done.is_completed);
    assert_eq!(
        done.result,
        Some(TaskResult {
            text: "Reached the client".into()
        })
    );
    assert_eq!(
        (
            unattached.entity_id,
            unattached.entity_type,
            &unattached.result
        ),
        (None, None, &None)
    );
}

fn pipelines_and_loss_reasons(decoder: &impl Decoder) {
    let page: Page<Pipeline> = decode(decoder, "pipelines.json");
    assert_eq!(page.total_items, Some(1));
    let sales = &page.items[0];
    assert!(sales.is_main && sales.is_unsorted_on && !sales.is_archive);
    let order: Vec<u32> = sales
        .statuses_in_order()
        .iter()
        .map(|status| status.id)
        .collect();
    assert_eq!(order, [32_392_156, 32_392_159, 142, 143]);
    let incoming = &sales.statuses_in_order()[0];
    assert_eq!((incoming.kind, incoming.is_closed()), (1, false));
    assert!(sales
        .embedded
        .statuses
        .iter()
        .filter(|status| status.is_closed())
        .all(|status| status.kind == 0));

    let reasons: Page<LossReason> = decode(decoder, "loss_reasons.json");
    assert_eq!(reasons.total_items, Some(2));
    assert_eq!(
        reasons
            .items
            .iter()
            .map(|reason| reason.name.as_str())
            .collect::<Vec<_>>(),
        ["Insufficient budget", "Chose a competitor"]
    );
}

fn account(decoder: &impl Decoder) {
    let account: Account = decode(decoder, "account_datetime_task_types.json");
    assert_eq!(
        (account.id, account.subdomain.as_str()),
        (28_805_383, "example")
    );
    assert_eq!(account.currency_symbol.as_deref(), Some("₽"));
    assert!(account.is_loss_reason_enabled);
    assert_eq!(account.is_api_filter_enabled, Some(false));
    assert_eq!(
        account
            .invoices_settings
            .as_ref()
            .and_then(|settings| settings.invoices_catalog_id),
        Some(4521)
    );
    let settings = account
        .embedded
        .datetime_settings
        .as_ref()
        .expect("datetime settings");
    assert_eq!(
        (
            settings.timezone.as_str(),
            settings.timezone_offset.as_str()
        ),
        ("Europe/Moscow", "+03:00")
    );
    assert_eq!(settings.date_format, "d.m.Y");
    let types = &account.embedded.task_types;
    assert_eq!(
        types
            .iter()
            .map(|kind| (kind.id, kind.code.as_deref()))
            .collect::<Vec<_>>(),
        [(1, Some("FOLLOW_UP")), (2, Some("MEETING")), (3017, None)]
    );
    assert_eq!(types[2].icon_id, Some(5));
    assert_eq!(account.embedded.users_groups[0].name, "Отдел продаж");
    assert_eq!(
        account
            .embedded
            .amojo_rights
            .map(|rights| rights.can_direct),
        Some(false)
    );
}

fn problems(decoder: &impl Decoder) {
    let invalid: Problem = decode(decoder, "problem_validation.json");
    assert_eq!(
        (invalid.status, invalid.kind.as_deref()),
        (400, Some("https://httpstatus.es/400"))
    );
    let item = &invalid.validation_errors[0];
    assert_eq!(item.request_id, "0");
    assert_eq!(
        item.errors
            .iter()
            .map(|error| (error.code.as_str(), error.path.as_str()))
            .collect::<Vec<_>>(),
        [
            ("NotSupportedChoice", "custom_fields_values.0.field_id"),
            ("InvalidType", "status_id")
        ]
    );

    let limited: Problem = decode(decoder, "problem_rate_limited.json");
    assert_eq!((limited.status, limited.retry_after), (429, Some(300)));
    let oauth: Problem = decode(decoder, "problem_oauth.json");
    assert_eq!(
        oauth.hint.as_deref(),
        Some("Authorization code has expired")
    );
    let internal: Problem = decode(decoder, "problem_internal.json");
    assert_eq!(
        (internal.status, internal.kind, internal.trace_id.as_deref()),
        (500, None, Some("b5f6a3c2d1"))
    );
    assert!(internal.validation_errors.is_empty());
}

fn tags(decoder: &impl Decoder) {
    let page: Page<Tag> = decode(decoder, "tags_page.json");
    assert_eq!(
        page.items
            .iter()
            .map(|tag| (tag.id, tag.color.as_deref()))
            .collect::<Vec<_>>(),
        [(2707, Some("EBEBEB")), (2709, None)]
    );
    let created: Page<Tag> = decode(decoder, "tags_created.json");
    assert_eq!(
        created
            .items
            .iter()
            .map(|tag| tag.request_id.as_deref())
            .collect::<Vec<_>>(),
        [Some("0"), Some("x")]
    );
}

fn custom_fields(decoder: &impl Decoder) {
    let page: Page<CustomField> = decode(decoder, "custom_fields_page.json");
    assert_eq!(
        (page.total_items, page.page, page.page_count),
        (Some(3), Some(1), Some(2))
    );
    assert!(page.next.is_some());
    let [status, amount, due] = &page.items[..] else {
        panic!("expected three fields")
    };
    assert_eq!(
        (status.field_type.as_str(), status.code.as_deref()),
        ("select", Some("BILL_STATUS"))
    );
    assert_eq!(
        status
            .enums
            .iter()
            .map(|option| option.code.as_deref())
            .collect::<Vec<_>>(),
        [Some("created"), Some("paid")]
    );
    assert_eq!(
        (
            status.required_statuses[0].status_id,
            status.required_statuses[0].pipeline_id
        ),
        (32_392_159, 3_177_727)
    );
    assert_eq!(status.group_id, None);
    assert_eq!(
        (
            amount.currency.as_deref(),
            amount.group_id.as_deref(),
            amount.is_api_only
        ),
        (Some("RUB"), Some("leads_15871"), Some(true))
    );
    assert!(
        amount.enums.is_empty()
            && amount.required_statuses.is_empty()
            && amount.hidden_statuses.is_empty()
    );
    assert_eq!(
        (due.field_type.as_str(), due.entity_type.as_deref()),
        ("date", None)
    );
}

fn catalogs(decoder: &impl Decoder) {
    let page: Page<CatalogElement> = decode(decoder, "catalog_elements_created.json");
    let invoice = &page.items[0];
    assert!(!invoice.is_deleted, "`is_deleted: null` reads as false");
    assert_eq!(
        invoice.request_id.as_deref(),
        Some("0"),
        "an integer request_id"
    );
    assert_eq!(invoice.catalog_id, 4521);
    let price = field_by_code(&invoice.custom_fields_values, "BILL_PRICE").expect("price");
    assert_eq!(price.values[0].value.as_f64(), Some(15_000.5));
    let items = field_by_code(&invoice.custom_fields_values, "ITEMS").expect("items");
    assert_eq!(
        items.values[0].value.get("sku").and_then(Value::as_str),
        Some("A-1")
    );
    assert_eq!(
        items.values[0]
            .value
            .get("discount")
            .and_then(|discount| discount.get("type"))
            .and_then(Value::as_str),
        Some("amount")
    );
    assert_eq!(
        invoice.invoice_link.as_deref(),
        Some("https://pay.amocrm.ru/invoice/abc")
    );

    let catalogs: Page<Catalog> = decode(decoder, "catalogs_page.json");
    let kinds: Vec<&str> = catalogs
        .items
        .iter()
        .map(|catalog| catalog.kind.as_str())
        .collect();
    assert_eq!(kinds, ["invoices", "regular"]);
    assert_eq!(
        catalogs.items[1].sdk_widget_code.as_deref(),
        Some("leakguard")
    );
}

fn links_and_notes(decoder: &impl Decoder) {
    let links: Page<Link> = decode(decoder, "links_created.json");
    let [element, contact] = &links.items[..] else {
        panic!("expected two links")
    };
    assert_eq!(
        (
            element.to_entity_type.as_str(),
            element.metadata.quantity,
            element.metadata.catalog_id
        ),
        ("catalog_elements", Some(1.5), Some(1026))
    );
    assert_eq!(
        (
            contact.to_entity_id,
            contact.metadata.main_contact,
            contact.metadata.updated_by
        ),
        (457_282, Some(true), Some(0))
    );

    let notes: Page<Note> = decode(decoder, "notes_page.json");
    let [common, call, paid] = &notes.items[..] else {
        panic!("expected three notes")
    };
    assert_eq!(
        (common.note_type.as_str(), common.text()),
        ("common", Some("Payment schedule created"))
    );
    assert_eq!(call.params.get("duration"), Some(&Value::Int(60)));
    assert_eq!(
        call.params.get("phone").and_then(Value::as_str),
        Some("+79990000000")
    );
    assert!(paid.params.is_empty(), "`params: []` is no params");

    let created: Page<Saved<Note>> = decode(decoder, "notes_created.json");
    assert_eq!(
        (created.items[0].id, created.items[0].entity_id),
        (76_787_983, Some(167_353))
    );
}

fn users_and_oauth(decoder: &impl Decoder) {
    let users: Page<User> = decode(decoder, "users_page.json");
    assert_eq!(users.page_count, Some(1));
    let [jane, partial] = &users.items[..] else {
        panic!("expected two users")
    };
    let leads = jane.rights.leads.as_ref().expect("lead rights");
    assert_eq!(
        (leads.view, leads.edit, leads.delete, leads.export),
        (
            Some(Access::All),
            Some(Access::Group),
            Some(Access::Denied),
            Some(Access::Own)
        )
    );
    assert_eq!(
        jane.rights.tasks.as_ref().and_then(|tasks| tasks.view),
        None
    );
    assert_eq!(jane.rights.status_rights[0].rights.edit, Some(Access::All));
    assert_eq!((jane.rights.is_active, jane.rights.group_id), (true, None));
    assert_eq!(jane.embedded.roles[0].name, "Manager");
    assert_eq!(jane.embedded.groups[0].id, 267_688);
    assert_eq!(
        partial.rights.leads.as_ref().and_then(|leads| leads.view),
        Some(Access::Other)
    );
    assert!(
        partial.rights.is_admin
            && partial.rights.status_rights.is_empty()
            && partial.lang.is_none()
    );

    let token: TokenResponse = decode(decoder, "oauth_token.json");
    assert_eq!(
        (
            token.token_type.as_str(),
            token.expires_in,
            token.server_time
        ),
        ("Bearer", 86_400, Some(1_751_892_369))
    );
    assert_eq!(token.refresh_token.as_deref(), Some("def50200a1b2c3"));
}
