//! Browser tests of the widget shell: mounting in a fake lead card, the next-step states, errors and destroy.
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use leakguard::host::Widget;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/host.js")]
extern "C" {
    fn install_fetch();
    fn script_responses(list: JsValue);
    fn release_held();
    fn request_count() -> u32;
    fn request_times() -> Vec<f64>;
    fn request_url(i: u32) -> String;
    fn request_header(i: u32, name: &str) -> Option<String>;
    fn request_credentials(i: u32) -> Option<String>;
    fn set_lead_card(
        card_id: u32,
        status: u32,
        timezone: &str,
        lang: &str,
        status_in_form_only: bool,
    );
    fn fresh_page() -> Element;
    fn make_widget(code: &str, area: &str, langs_json: &str) -> Widget;
    fn draw_block(widget: &Widget);
    fn render_template_calls(widget: &Widget) -> u32;
}

const RU: &str = include_str!("../../i18n/ru.json");
const EN: &str = include_str!("../../i18n/en.json");

/// 2030-05-14 11:30 UTC, which is 14:30 in Moscow and 16:30 in Yekaterinburg.
const FUTURE: i64 = 1_904_988_600;

// Helpers.

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn tasks_page(tasks: &str, next: Option<&str>) -> String {
    let next = next
        .map(|href| format!(r#","next":{{"href":"{href}"}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"_page":1,"_links":{{"self":{{"href":"/api/v4/tasks"}}{next}}},"_embedded":{{"tasks":[{tasks}]}}}}"#
    )
}

fn task(id: u64, lead: u64, text: &str, complete_till: i64, completed: bool) -> String {
    format!(
        r#"{{"id":{id},"created_by":1,"updated_by":1,"created_at":1,"updated_at":1,"responsible_user_id":7,"group_id":0,
        "entity_id":{lead},"entity_type":"leads","is_completed":{completed},"task_type_id":1,"text":"{text}","duration":0,
        "complete_till":{complete_till},"result":[],"account_id":1,"_links":{{"self":{{"href":"/api/v4/tasks/{id}"}}}}}}"#
    )
}

/// Scripts the fetch answers, each `(status, body)`.
fn respond(answers: &[(u16, &str)]) {
    let list = js_sys::Array::new();
    for (status, body) in answers {
        let answer = js_sys::Object::new();
        js_sys::Reflect::set(&answer, &"status".into(), &(*status).into()).unwrap();
        js_sys::Reflect::set(&answer, &"body".into(), &(*body).into()).unwrap();
        list.push(&answer);
    }
    script_responses(list.into());
}

/// A lead card with our widget, ready for `render`: a fresh right column, globals and a scripted fetch.
fn lead_card(lead: u32, status: u32, lang: &str) -> Widget {
    leakguard::destroy(make_widget("leakguard", "lcard", EN), JsValue::UNDEFINED).unwrap();
    install_fetch();
    fresh_page();
    set_lead_card(lead, status, "Europe/Moscow", lang, false);
    make_widget("leakguard", "lcard", if lang == "ru" { RU } else { EN })
}

fn open(widget: &Widget) {
    leakguard::render(widget.clone(), JsValue::UNDEFINED).unwrap();
    leakguard::init(widget.clone(), JsValue::UNDEFINED).unwrap();
    leakguard::bind_actions(widget.clone(), JsValue::UNDEFINED).unwrap();
}

fn roots() -> web_sys::NodeList {
    document()
        .query_selector_all("[data-leakguard-root]")
        .unwrap()
}

fn root() -> Element {
    document()
        .query_selector("[data-leakguard-root]")
        .unwrap()
        .expect("the panel is mounted")
}

/// Waits until the panel shows `state` after `requests` requests, for at most five seconds.
async fn settled_after(requests: u32, state: &str) -> Element {
    for _ in 0..250 {
        if let Some(root) = document().query_selector("[data-leakguard-root]").unwrap() {
            if request_count() >= requests
                && root.get_attribute("data-state").as_deref() == Some(state)
            {
                return root;
            }
        }
        TimeoutFuture::new(20).await;
    }
    let seen = document()
        .query_selector("[data-leakguard-root]")
        .unwrap()
        .map(|r| r.outer_html());
    panic!(
        "the panel never reached {state:?} after {requests} requests; it is {seen:?} after {}",
        request_count()
    );
}

/// Waits until the panel shows `state`, for at most five seconds.
async fn settled(state: &str) -> Element {
    settled_after(0, state).await
}

fn text_of(element: &Element) -> String {
    element.unchecked_ref::<HtmlElement>().inner_text()
}

fn retry_button() -> HtmlElement {
    root()
        .query_selector("button")
        .unwrap()
        .expect("a retry button")
        .unchecked_into()
}

// Tests begin here.

#[wasm_bindgen_test]
async fn render_twice_mounts_one_root_inside_our_block() {
    let widget = lead_card(42, 100, "en");
    respond(&[(204, "")]);
    leakguard::render(widget.clone(), JsValue::UNDEFINED).unwrap();
    leakguard::render(widget.clone(), JsValue::UNDEFINED).unwrap();
    leakguard::init(widget.clone(), JsValue::UNDEFINED).unwrap();
    leakguard::init(widget.clone(), JsValue::UNDEFINED).unwrap();
    assert_eq!(roots().length(), 1);
    assert_eq!(render_template_calls(&widget), 2);
    let body = root().parent_element().unwrap();
    assert!(body
        .matches(
            r#".card-widgets__widget[data-widget-code="leakguard"] .card-widgets__widget__body"#
        )
        .unwrap());
    assert!(root()
        .class_name()
        .split(" ")
        .any(|class| class == "leakguard-card"));
    settled("missing").await;
    assert_eq!(
        request_count(),
        1,
        "a second render or init starts no second request"
    );
    let links = document()
        .head()
        .unwrap()
        .query_selector_all(r#"link[rel="stylesheet"]"#)
        .unwrap();
    let ours: Vec<String> = (0..links.length())
        .filter_map(|i| {
            links
                .item(i)?
                .dyn_into::<Element>()
                .ok()?
                .get_attribute("href")
        })
        .filter(|href| href.contains("leakguard"))
        .collect();
    assert_eq!(
        ours,
        ["https://cdn.example.test/widgets/leakguard/1.2.3/style.css?v=1.2.3"]
    );
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn the_next_step_shows_its_text_and_deadline_in_the_account_timezone() {
    let widget = lead_card(42, 100, "ru");
    let tasks = [
        task(1, 42, "Позвонить клиенту", FUTURE, false),
        task(2, 42, "Уже сделано", FUTURE - 86_400, true),
        task(3, 77, "Чужая сделка", FUTURE - 86_400, false),
    ]
    .join(",");
    respond(&[(200, &tasks_page(&tasks, None))]);
    open(&widget);
    let root = settled("scheduled").await;
    let text = text_of(&root);
    assert!(text.contains("Следующий шаг: Позвонить клиенту"), "{text}");
    assert!(text.contains("срок ") && text.contains("14:30"), "{text}");
    assert!(
        !text.contains("ещё открытых задач"),
        "a completed task and another lead's task are not counted: {text}"
    );
    assert_eq!(root.get_attribute("data-due"), Some(FUTURE.to_string()));

    let url = request_url(0);
    assert!(url.starts_with("/api/v4/tasks?"), "{url}");
    for part in [
        "filter[entity_type]=leads",
        "filter[entity_id][]=42",
        "filter[is_completed]=0",
        "limit=250",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    assert_eq!(
        request_header(0, "X-Requested-With").as_deref(),
        Some("XMLHttpRequest")
    );
    assert_eq!(
        request_header(0, "Accept").as_deref(),
        Some("application/json")
    );
    assert_eq!(request_credentials(0).as_deref(), Some("same-origin"));

    // The same deadline in another account timezone.
    let widget = lead_card(42, 100, "ru");
    set_lead_card(42, 100, "Asia/Yekaterinburg", "ru", false);
    respond(&[(
        200,
        &tasks_page(&task(1, 42, "Позвонить клиенту", FUTURE, false), None),
    )]);
    open(&widget);
    assert!(text_of(&settled("scheduled").await).contains("16:30"));
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn an_overdue_task_is_highlighted_and_other_pages_are_counted() {
    let widget = lead_card(42, 100, "en");
    let first = tasks_page(
        &task(1, 42, "Send the offer", 1_600_000_000, false),
        Some("http://example.test/api/v4/tasks?page=2"),
    );
    let second = tasks_page(&task(2, 42, "Call", FUTURE, false), None);
    respond(&[(200, &first), (200, &second)]);
    open(&widget);
    let root = settled("overdue").await;
    let text = text_of(&root);
    assert!(text.contains("Next step: Send the offer"), "{text}");
    assert!(text.contains("overdue since"), "{text}");
    assert!(text.contains("more open tasks: 1"), "{text}");
    let alert = root
        .query_selector(".leakguard-card__line--alert")
        .unwrap()
        .expect("a highlighted line");
    assert!(text_of(&alert).starts_with("overdue since"));
    assert_eq!(request_count(), 2);
    assert_eq!(
        request_url(1),
        "/api/v4/tasks?page=2",
        "the next page is requested from this origin"
    );
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn no_open_task_is_a_highlighted_missing_next_step() {
    let widget = lead_card(42, 100, "en");
    respond(&[(204, "")]);
    open(&widget);
    let root = settled("missing").await;
    let text = text_of(&root);
    assert!(text.contains("No next step"), "{text}");
    assert!(text.contains("This deal has no open task"), "{text}");
    assert!(root
        .query_selector(".leakguard-card__line--alert")
        .unwrap()
        .is_some());
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn closed_deals_and_new_cards_need_no_request() {
    let widget = lead_card(42, 142, "en");
    respond(&[(204, "")]);
    open(&widget);
    assert!(text_of(&settled("closed-won").await).contains("closed as won"));

    // The status comes from the card form when the model does not have it.
    let widget = lead_card(43, 143, "en");
    set_lead_card(43, 143, "Europe/Moscow", "en", true);
    open(&widget);
    assert!(text_of(&settled("closed-lost").await).contains("closed as lost"));

    let widget = lead_card(0, 100, "en");
    open(&widget);
    assert!(text_of(&settled("new").await).contains("Save the deal"));
    assert_eq!(request_count(), 0);
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn errors_show_a_clear_state_and_retry_recovers() {
    let cases: [(u16, &str, &str); 6] = [
        (500, "", "amoCRM answered with error 500."),
        (
            502,
            "<html>Bad gateway</html>",
            "amoCRM answered with error 502.",
        ),
        (
            401,
            r#"{"title":"Unauthorized","status":401}"#,
            "Your amoCRM session has expired",
        ),
        (
            403,
            "<html>403 Forbidden</html>",
            "You are not allowed to read tasks",
        ),
        (200, "this is not json", "could not be read"),
        (
            200,
            r#"{"_embedded":{"tasks":"nope"}}"#,
            "could not be read",
        ),
    ];
    for (status, body, message) in cases {
        let widget = lead_card(42, 100, "en");
        respond(&[(status, body), (204, "")]);
        open(&widget);
        let text = text_of(&settled("error").await);
        assert!(text.contains(message), "{status}: {text}");
        assert_eq!(text_of(&retry_button()), "Retry");
        retry_button().click();
        settled("missing").await;
        assert_eq!(request_count(), 2);
        leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
    }
}

#[wasm_bindgen_test]
async fn a_network_failure_is_shown_with_a_retry() {
    let widget = lead_card(42, 100, "en");
    let list = js_sys::Array::of1(&json(r#"{"network":true}"#));
    script_responses(list.into());
    open(&widget);
    assert!(text_of(&settled("error").await).contains("Cannot reach amoCRM"));
    assert!(retry_button().is_connected());
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn a_429_is_retried_after_the_backoff() {
    let widget = lead_card(42, 100, "en");
    respond(&[
        (429, r#"{"title":"Too Many Requests","status":429}"#),
        (200, &tasks_page(&task(1, 42, "Call", FUTURE, false), None)),
    ]);
    let started = js_sys::Date::now();
    open(&widget);
    settled("scheduled").await;
    assert_eq!(request_count(), 2);
    assert!(
        js_sys::Date::now() - started >= 450.0,
        "the retry waited for the backoff"
    );
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();

    // A server that keeps answering 429 is shown as such after the retries.
    let widget = lead_card(42, 100, "en");
    respond(&[(429, "")]);
    open(&widget);
    assert!(text_of(&settled("error").await).contains("slow down"));
    assert_eq!(request_count(), 3);
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn the_page_wide_limiter_keeps_seven_requests_per_second() {
    let widget = lead_card(42, 100, "en");
    respond(&[(500, "")]);
    open(&widget);
    settled("error").await;
    for sent in 2..=10 {
        retry_button().click();
        settled_after(sent, "error").await;
    }
    let times = request_times();
    assert_eq!(times.len(), 10);
    for (i, pair) in times.windows(8).enumerate() {
        assert!(
            pair[7] - pair[0] >= 999.0,
            "requests {i}..{} came within {} ms",
            i + 7,
            pair[7] - pair[0]
        );
    }
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn destroy_leaves_the_page_as_it_was() {
    let widget = lead_card(42, 100, "en");
    draw_block(&widget);
    let column = document().get_element_by_id("widgets_block").unwrap();
    let head_before = document().head().unwrap().inner_html();
    let column_before = column.inner_html();
    respond(&[(500, "")]);
    open(&widget);
    settled("error").await;
    assert_ne!(
        document().head().unwrap().inner_html(),
        head_before,
        "our stylesheet is linked"
    );
    let button = retry_button();
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
    assert_eq!(roots().length(), 0);
    assert_eq!(document().head().unwrap().inner_html(), head_before);
    assert_eq!(column.inner_html(), column_before);

    // The retry listener died with the panel.
    button.click();
    TimeoutFuture::new(50).await;
    assert_eq!(request_count(), 1);
}

#[wasm_bindgen_test]
async fn an_answer_after_destroy_is_ignored() {
    let widget = lead_card(42, 100, "en");
    draw_block(&widget);
    let list = js_sys::Array::of1(&json(r#"{"status":204,"hold":true}"#));
    script_responses(list.into());
    let column = document().get_element_by_id("widgets_block").unwrap();
    let before = column.inner_html();
    open(&widget);
    settled("loading").await;
    leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
    release_held();
    TimeoutFuture::new(50).await;
    assert_eq!(roots().length(), 0);
    assert_eq!(column.inner_html(), before);
}

#[wasm_bindgen_test]
async fn other_areas_draw_nothing() {
    install_fetch();
    respond(&[]);
    let column = fresh_page();
    let before = column.inner_html();
    for area in ["settings", "advanced_settings", "everywhere", "llist"] {
        let widget = make_widget("leakguard", area, EN);
        leakguard::render(widget.clone(), JsValue::UNDEFINED).unwrap();
        leakguard::init(widget.clone(), JsValue::UNDEFINED).unwrap();
        // `advancedSettings` draws the key-metrics page into `#work-area-<code>`, which only the
        // advanced settings page has; it is not called here.
        // Without a settings modal there is no form to wait for: saving goes through.
        assert!(
            leakguard::on_save(widget.clone(), JsValue::UNDEFINED, JsValue::UNDEFINED)
                .await
                .unwrap()
        );
        leakguard::destroy(widget, JsValue::UNDEFINED).unwrap();
    }
    assert_eq!(column.inner_html(), before);
    assert_eq!(request_count(), 0);
}
