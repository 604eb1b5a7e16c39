//! The amoCRM host boundary: the widget object amoCRM hands to every callback and the `APP`/`AMOCRM` globals.
//!
//! This is the only module that reads them.
//! Everything outside the documented SDK (`current_card.model`, the feed collection, `constant()`,
//! the router's page preventer) is treated as unstable: every accessor checks what it gets and
//! answers `None` instead of throwing.

use leakguard_core::deal::{StageRef, UserContext};
use leakguard_core::tasks::OpenTask;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::guard::book::TaskEvent;

/// The area code amoCRM reports in `self.system().area` inside a lead card.
pub const LEAD_CARD_AREA: &str = "lcard";

/// The area code of the widget settings modal.
pub const SETTINGS_AREA: &str = "settings";

/// The right-column block of a widget in a card (platform doc §3.7, observed class names).
const CARD_BLOCK_CLASS: &str = "card-widgets__widget";

/// The body of that block, where the widget draws its own content.
const CARD_BODY_SELECTOR: &str = ".card-widgets__widget__body";

/// The class amoCRM puts on our caption through `render_template`.
const CAPTION_CLASS: &str = "leakguard-caption";

/// The card form's status and pipeline attributes (strings, like amoCRM's form).
const STATUS_KEY: &str = "lead[STATUS]";
const PIPELINE_KEY: &str = "lead[PIPELINE_ID]";

/// The feed's object type id of tasks (`notes.notes` items, platform doc §5.1).
const FEED_TASK_TYPE: u64 = 4;

#[wasm_bindgen]
extern "C" {
    /// The widget object (`self` in script.js) that amoCRM builds and passes to every callback.
    #[derive(Clone, Debug)]
    pub type Widget;

    #[wasm_bindgen(method, catch)]
    fn system(this: &Widget) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn params(this: &Widget) -> JsValue;

    #[wasm_bindgen(method, catch)]
    fn get_version(this: &Widget) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn i18n(this: &Widget, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn render_template(this: &Widget, data: &JsValue) -> Result<JsValue, JsValue>;

    /// The page's global object, from which `APP` (Kommo) or `AMOCRM` (amoCRM) is read.
    type Global;

    #[wasm_bindgen(method, getter = APP)]
    fn app(this: &Global) -> JsValue;

    #[wasm_bindgen(method, getter = AMOCRM)]
    fn amocrm(this: &Global) -> JsValue;

    /// `APP` ≡ `AMOCRM`: the host application object.
    type App;

    #[wasm_bindgen(method, getter)]
    fn data(this: &App) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn lang_id(this: &App) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn router(this: &App) -> JsValue;

    #[wasm_bindgen(method, catch)]
    fn constant(this: &App, key: &str) -> Result<JsValue, JsValue>;

    /// `APP.data.current_card`: `false` outside cards.
    type CurrentCard;

    #[wasm_bindgen(method, getter)]
    fn id(this: &CurrentCard) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn model(this: &CurrentCard) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn form(this: &CurrentCard) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn main_user(this: &CurrentCard) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn notes(this: &CurrentCard) -> JsValue;

    /// A Backbone model of the card (`current_card.model` or `current_card.form.model`).
    type Model;

    #[wasm_bindgen(method, catch)]
    fn get(this: &Model, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn set(this: &Model, attributes: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = hasChanged)]
    fn has_changed(this: &Model, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn previous(this: &Model, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn attributes(this: &Model) -> JsValue;

    /// Anything with Backbone's `on`/`off` (models and collections).
    type Events;

    #[wasm_bindgen(method, catch)]
    fn on(this: &Events, name: &str, callback: &js_sys::Function) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn off(this: &Events, name: &str, callback: &js_sys::Function) -> Result<JsValue, JsValue>;

    /// `APP.router` with amoCRM's page preventer mixed in (platform doc §5.2, §11).
    type Router;

    #[wasm_bindgen(method, catch, js_name = registerPreventConfig)]
    fn register_prevent_config(
        this: &Router,
        config: &JsValue,
        code: &str,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = preventPageChange)]
    fn prevent_page_change(this: &Router, flag: bool, code: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = removePreventConfig)]
    fn remove_prevent_config(this: &Router, code: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn navigate(this: &Router, url: &str, options: &JsValue) -> Result<JsValue, JsValue>;
}

/// Reads a property of `value` when it is an object, and `undefined` otherwise.
fn prop(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Sets a property of a fresh object; only fails on objects amoCRM froze, which ours are not.
fn set_prop(object: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), value);
}

/// Casts `value` to a host type when it is an object.
fn object<T: JsCast>(value: JsValue) -> Option<T> {
    value.is_object().then(|| value.unchecked_into())
}

/// A string or a number as text (amoCRM sends ids and versions as either).
///
/// Numbers are printed by JavaScript, which keeps float formatting out of the wasm.
fn text_of(value: &JsValue) -> Option<String> {
    let text = match value.dyn_ref::<js_sys::Number>() {
        Some(number) if number.value_of().is_finite() => {
            number.to_string_with_radix(10).ok().map(String::from)
        }
        _ => value.as_string(),
    };
    text.filter(|s| !s.is_empty())
}

/// A non-negative integer sent as a number or a numeric string.
fn integer_of(value: &JsValue) -> Option<u64> {
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < u64::MAX as f64 => Some(n as u64),
        Some(_) => None,
        None => value.as_string()?.trim().parse().ok(),
    }
}

/// A small id (status, pipeline, task type) sent as a number or a numeric string.
fn id32_of(value: &JsValue) -> Option<u32> {
    u32::try_from(integer_of(value)?).ok()
}

/// A flag sent as a boolean, `'Y'`/`'N'` or `1`/`0`.
fn flag_of(value: &JsValue) -> bool {
    match value.as_string() {
        Some(text) => matches!(text.as_str(), "Y" | "y" | "1" | "true"),
        None => value.as_bool().unwrap_or(false) || value.as_f64().is_some_and(|n| n != 0.0),
    }
}

/// The own enumerable `[key, value]` pairs of an object (`{}` for anything else).
fn entries(value: &JsValue) -> Vec<(String, JsValue)> {
    let Some(object) = value.dyn_ref::<js_sys::Object>() else {
        return Vec::new();
    };
    js_sys::Object::entries(object)
        .iter()
        .filter_map(|pair| {
            let pair: js_sys::Array = pair.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1)))
        })
        .collect()
}

/// The items of an array (nothing for anything else).
fn items(value: &JsValue) -> Vec<JsValue> {
    value
        .dyn_ref::<js_sys::Array>()
        .map(|array| array.iter().collect())
        .unwrap_or_default()
}

impl Widget {
    /// The current location code (`lcard`, `settings`, …).
    pub fn area(&self) -> Option<String> {
        self.system()
            .ok()
            .map(|s| prop(&s, "area"))
            .as_ref()
            .and_then(JsValue::as_string)
    }

    /// The widget code, as amoCRM writes it into `data-widget-code`.
    pub fn code(&self) -> Option<String> {
        text_of(&prop(&self.params(), "widget_code"))
    }

    /// The base URL of the archive's files, without a trailing slash: `cdn_path`, else `path`.
    pub fn base_url(&self) -> Option<String> {
        let params = self.params();
        text_of(&prop(&params, "cdn_path")).or_else(|| text_of(&prop(&params, "path")))
    }

    /// The widget version, for cache busting.
    pub fn version(&self) -> String {
        self.get_version()
            .ok()
            .as_ref()
            .and_then(text_of)
            .unwrap_or_default()
    }

    /// A text of the widget's language file, by dotted key; the key itself when it is missing.
    pub fn text(&self, key: &str) -> String {
        self.i18n(key)
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| key.to_owned())
    }

    /// The saved value of the manifest's `config` settings field: a JSON string (or an object,
    /// if amoCRM ever hands it over parsed); `undefined` before the first save.
    pub fn config(&self) -> JsValue {
        prop(&self.params(), "config")
    }

    /// Draws the widget's block in the card's right column (platform doc §3.7, §11: `render` is required).
    pub fn render_card_block(&self) -> Result<(), JsValue> {
        let caption = js_sys::Object::new();
        set_prop(&caption, "class_name", &CAPTION_CLASS.into());
        let data = js_sys::Object::new();
        set_prop(&data, "caption", &caption);
        set_prop(&data, "body", &"".into());
        set_prop(&data, "render", &"".into());
        self.render_template(&data).map(drop)
    }

    /// The body of this widget's block in the card's right column, once `render_template` has drawn it.
    pub fn card_body(&self) -> Option<web_sys::Element> {
        let code = self.code()?;
        let blocks = crate::dom::document()?.get_elements_by_class_name(CARD_BLOCK_CLASS);
        (0..blocks.length())
            .filter_map(|i| blocks.item(i))
            .find(|block| {
                block.get_attribute("data-widget-code").as_deref() == Some(code.as_str())
            })?
            .query_selector(CARD_BODY_SELECTOR)
            .ok()
            .flatten()
    }
}

/// The host application object, whichever of its two names the page defines.
fn app() -> Option<App> {
    let global = js_sys::global().unchecked_into::<Global>();
    object(global.app()).or_else(|| object(global.amocrm()))
}

fn constant(key: &str) -> JsValue {
    app()
        .and_then(|app| app.constant(key).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

fn current_card() -> Option<CurrentCard> {
    object(prop(&app()?.data(), "current_card"))
}

/// The card's form model: `current_card.model`, else `current_card.form.model`.
fn card_model() -> Option<Model> {
    let card = current_card()?;
    let model = card.model();
    object(model).or_else(|| object(prop(&card.form(), "model")))
}

/// Reads an attribute of the card's form model, through `get` or from `attributes`.
fn model_value(key: &str) -> JsValue {
    let Some(card) = current_card() else {
        return JsValue::UNDEFINED;
    };
    let from_get = object::<Model>(card.model())
        .and_then(|model| model.get(key).ok())
        .filter(|value| !value.is_undefined());
    from_get.unwrap_or_else(|| {
        object::<Model>(prop(&card.form(), "model"))
            .map(|model| prop(&model.attributes(), key))
            .unwrap_or(JsValue::UNDEFINED)
    })
}

/// The id of the lead whose card is open: `Some(0)` for a new, unsaved card, `None` outside cards.
pub fn current_lead_id() -> Option<u64> {
    integer_of(&current_card()?.id())
}

/// The lead's status as the card currently shows it, saved or not (`lead[STATUS]`).
pub fn current_lead_status() -> Option<u32> {
    id32_of(&model_value(STATUS_KEY))
}

/// The lead's stage as the card currently shows it; the pipeline is 0 when the card does not say.
pub fn current_stage() -> Option<StageRef> {
    let status = current_lead_status()?;
    let pipeline = id32_of(&model_value(PIPELINE_KEY)).unwrap_or(0);
    Some(StageRef::new(pipeline, status))
}

/// Whether the last change of the card model touched the stage, and the stage before it.
pub fn stage_change() -> Option<StageRef> {
    let model = card_model()?;
    let changed = |key| model.has_changed(key).ok().is_some_and(|v| flag_of(&v));
    if !changed(STATUS_KEY) && !changed(PIPELINE_KEY) {
        return None;
    }
    let status = id32_of(&model.previous(STATUS_KEY).ok()?)?;
    let pipeline = id32_of(&model.previous(PIPELINE_KEY).ok()?).unwrap_or(0);
    Some(StageRef::new(pipeline, status))
}

/// Moves the card's form to `stage`, as choosing it in the status control does (not saved).
pub fn set_stage(stage: StageRef) -> bool {
    let Some(model) = card_model() else {
        return false;
    };
    let attributes = js_sys::Object::new();
    set_prop(&attributes, STATUS_KEY, &stage.status_id.to_string().into());
    if stage.pipeline_id != 0 {
        set_prop(
            &attributes,
            PIPELINE_KEY,
            &stage.pipeline_id.to_string().into(),
        );
    }
    model.set(&attributes).is_ok()
}

/// The deal's responsible user (`current_card.main_user`, else the form's `MAIN_USER`).
pub fn card_main_user() -> Option<u64> {
    integer_of(&current_card()?.main_user()).or_else(|| integer_of(&model_value("MAIN_USER")))
}

/// The account's IANA timezone (`AMOCRM.constant('account').timezone`).
pub fn account_timezone() -> Option<String> {
    prop(&constant("account"), "timezone")
        .as_string()
        .filter(|tz| !tz.is_empty())
}

/// The account id.
pub fn account_id() -> Option<u64> {
    integer_of(&prop(&constant("account"), "id"))
}

/// The account's country code (`RU` picks the Russian production calendar).
pub fn account_country() -> Option<String> {
    prop(&constant("account"), "country").as_string()
}

/// The user's interface language (`APP.lang_id`), used as the locale for dates.
pub fn user_language() -> Option<String> {
    app()?.lang_id().as_string().filter(|lang| !lang.is_empty())
}

/// A group id as amoCRM writes it: `group_401001` in the constants, or a bare number.
fn group_id_of(value: &JsValue) -> Option<u64> {
    integer_of(value).or_else(|| value.as_string()?.strip_prefix("group_")?.parse().ok())
}

/// The user in front of the page: id, group and whether they administer the account.
pub fn current_user() -> Option<UserContext> {
    let user = constant("user");
    let id = integer_of(&prop(&user, "id"))?;
    let manager = prop(&constant("managers"), &id.to_string());
    let group_id =
        group_id_of(&prop(&manager, "group")).or_else(|| group_id_of(&prop(&user, "group_id")));
    let is_admin = flag_of(&prop(&constant("user_rights"), "is_admin"))
        || flag_of(&prop(&manager, "is_admin"));
    Some(UserContext {
        id,
        group_id,
        is_admin,
    })
}

/// One choice of a list the page provides (task types, users, groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub id: u64,
    pub name: String,
}

fn choices(value: &JsValue, name_keys: &[&str]) -> Vec<Choice> {
    entries(value)
        .into_iter()
        .filter_map(|(key, item)| {
            let id =
                integer_of(&prop(&item, "id")).or_else(|| group_id_of(&JsValue::from_str(&key)))?;
            let name = name_keys
                .iter()
                .find_map(|k| text_of(&prop(&item, k)))
                .or_else(|| text_of(&item))?;
            Some(Choice { id, name })
        })
        .collect()
}

/// The account's task types (`APP.constant('task_types')`), with no request.
pub fn task_types() -> Vec<Choice> {
    choices(&constant("task_types"), &["option", "name"])
}

/// The account's active users (`APP.constant('managers')`), with no request.
pub fn managers() -> Vec<Choice> {
    let managers = constant("managers");
    choices(&managers, &["title", "option", "name"])
        .into_iter()
        .filter(|choice| {
            let active = prop(&prop(&managers, &choice.id.to_string()), "active");
            active.is_undefined() || flag_of(&active)
        })
        .collect()
}

/// The account's user groups (`APP.constant('groups')`, keyed `group_<id>`).
pub fn groups() -> Vec<Choice> {
    choices(&constant("groups"), &["name"])
}

/// A pipeline with its open stages, in board order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineChoice {
    pub id: u32,
    pub name: String,
    pub stages: Vec<(u32, String)>,
}

/// The pipelines the page already has (`APP.constant('account').pipelines`), if it exposes them.
pub fn page_pipelines() -> Option<Vec<PipelineChoice>> {
    let list = prop(&constant("account"), "pipelines");
    if !list.is_object() {
        return None;
    }
    let pipelines = items(&list)
        .into_iter()
        .filter_map(|pipeline| {
            let mut statuses: Vec<(i64, u32, String)> = items(&prop(&pipeline, "statuses"))
                .into_iter()
                .filter_map(|status| {
                    let id = id32_of(&prop(&status, "id"))?;
                    let sort = prop(&status, "sort").as_f64().unwrap_or(0.0) as i64;
                    Some((
                        sort,
                        id,
                        text_of(&prop(&status, "name")).unwrap_or_default(),
                    ))
                })
                .filter(|(_, id, _)| !leakguard_core::deal::is_closed_status(*id))
                .collect();
            statuses.sort_by_key(|(sort, id, _)| (*sort, *id));
            Some(PipelineChoice {
                id: id32_of(&prop(&pipeline, "id"))?,
                name: text_of(&prop(&pipeline, "name")).unwrap_or_default(),
                stages: statuses
                    .into_iter()
                    .map(|(_, id, name)| (id, name))
                    .collect(),
            })
        })
        .collect();
    Some(pipelines)
}

/// Reads one item of the card's feed collection as a task event, if it is a task.
fn feed_task(item: &JsValue, removed: bool) -> Option<TaskEvent> {
    let attributes = match prop(item, "attributes") {
        attributes if attributes.is_object() => attributes,
        _ => item.clone(),
    };
    if integer_of(&prop(&prop(&attributes, "object_type"), "id")) != Some(FEED_TASK_TYPE) {
        return None;
    }
    let id = integer_of(&prop(&attributes, "id"))?;
    if removed
        || flag_of(&prop(&attributes, "status"))
        || flag_of(&prop(&attributes, "is_completed"))
    {
        return Some(TaskEvent::Closed(id));
    }
    Some(TaskEvent::Open(OpenTask {
        id,
        text: text_of(&prop(&attributes, "text")).unwrap_or_default(),
        complete_till: prop(&attributes, "complete_till").as_f64().unwrap_or(0.0) as i64,
        task_type_id: id32_of(&prop(&attributes, "task_type_id")).unwrap_or(0),
        responsible_user_id: integer_of(&prop(&attributes, "responsible_user_id")).unwrap_or(0),
    }))
}

/// The task events of one Backbone `all` event of the feed collection (`add`, `change`, `remove`, `reset`).
pub fn feed_events(name: &JsValue, subject: &JsValue) -> Vec<TaskEvent> {
    match name.as_string().as_deref() {
        Some("add" | "change") => feed_task(subject, false).into_iter().collect(),
        Some("remove") => feed_task(subject, true).into_iter().collect(),
        Some("reset") => items(&prop(subject, "models"))
            .iter()
            .filter_map(|item| feed_task(item, false))
            .collect(),
        _ => Vec::new(),
    }
}

/// A handler registered with Backbone's `on`; dropping it calls `off`.
pub struct Subscription {
    target: Events,
    event: &'static str,
    callback: Closure<dyn Fn(JsValue, JsValue)>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("event", &self.event)
            .finish()
    }
}

impl Subscription {
    fn new(
        target: JsValue,
        event: &'static str,
        handler: impl Fn(JsValue, JsValue) + 'static,
    ) -> Option<Self> {
        let target: Events = object(target)?;
        // Backbone objects have `on`/`off` functions; anything else is not subscribed to.
        if !prop(&target, "on").is_function() || !prop(&target, "off").is_function() {
            return None;
        }
        let callback = Closure::<dyn Fn(JsValue, JsValue)>::new(handler);
        target.on(event, callback.as_ref().unchecked_ref()).ok()?;
        Some(Self {
            target,
            event,
            callback,
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self
            .target
            .off(self.event, self.callback.as_ref().unchecked_ref());
    }
}

/// Calls `handler` after every change of the card's form model.
pub fn on_card_model_change(handler: impl Fn() + 'static) -> Option<Subscription> {
    Subscription::new(card_model()?.into(), "change", move |_, _| handler())
}

/// Calls `handler(name, subject)` for every event of the card's feed collection (`current_card.notes.notes`).
pub fn on_card_feed(handler: impl Fn(JsValue, JsValue) + 'static) -> Option<Subscription> {
    let feed = prop(&current_card()?.notes(), "notes");
    Subscription::new(feed, "all", handler)
}

fn router() -> Option<Router> {
    let router = app()?.router();
    prop(&router, "registerPreventConfig")
        .is_function()
        .then(|| router.unchecked_into())
}

/// Navigates in the app like an in-app link (`APP.router.navigate(path, {trigger: true})`).
pub fn navigate(path: &str) -> bool {
    let Some(router) =
        object::<Router>(app().map(|app| app.router()).unwrap_or(JsValue::UNDEFINED))
    else {
        return false;
    };
    let options = js_sys::Object::new();
    set_prop(&options, "trigger", &JsValue::TRUE);
    router.navigate(path, &options).is_ok()
}

/// The texts of amoCRM's own leave-confirm dialog, which the preventer shows first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmTexts {
    pub title: String,
    pub description: String,
    pub accept: String,
    pub decline: String,
}

/// What the preventer reports back.
pub struct PreventerHandlers {
    /// The manager chose to go on from amoCRM's dialog; the argument continues the navigation.
    pub accept: Box<dyn Fn(js_sys::Function)>,
    /// The manager chose to stay.
    pub decline: Box<dyn Fn()>,
}

/// Our config registered with amoCRM's page preventer under our own code.
///
/// Dropping it disarms the code and removes the config, so nothing stays armed after `destroy`.
pub struct Preventer {
    router: Router,
    code: String,
    config: js_sys::Object,
    _accept: Closure<dyn Fn(JsValue)>,
    _decline: Closure<dyn Fn(JsValue)>,
}

impl std::fmt::Debug for Preventer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preventer")
            .field("code", &self.code)
            .finish()
    }
}

impl Preventer {
    /// Registers a config under `code`, unarmed; `None` when the page has no page preventer.
    pub fn register(code: &str, texts: &ConfirmTexts, handlers: PreventerHandlers) -> Option<Self> {
        let router = router()?;
        let PreventerHandlers { accept, decline } = handlers;
        let accept = Closure::<dyn Fn(JsValue)>::new(move |proceed: JsValue| {
            if let Some(proceed) = proceed.dyn_ref::<js_sys::Function>() {
                accept(proceed.clone());
            }
        });
        // The second argument (`accepted`) is not needed: declining always means staying.
        let decline = Closure::<dyn Fn(JsValue)>::new(move |_proceed: JsValue| decline());
        let config = js_sys::Object::new();
        set_prop(&config, "accept", accept.as_ref());
        set_prop(&config, "decline", decline.as_ref());
        set_prop(&config, "gray_button", &JsValue::TRUE);
        let preventer = Self {
            router,
            code: code.to_owned(),
            config,
            _accept: accept,
            _decline: decline,
        };
        preventer.set_texts(texts);
        preventer
            .router
            .register_prevent_config(&preventer.config, code)
            .ok()?;
        Some(preventer)
    }

    /// Changes the texts amoCRM's dialog shows next time (it reads the registered config when it opens).
    pub fn set_texts(&self, texts: &ConfirmTexts) {
        set_prop(&self.config, "title", &texts.title.as_str().into());
        set_prop(&self.config, "message", &texts.title.as_str().into());
        set_prop(
            &self.config,
            "description",
            &texts.description.as_str().into(),
        );
        set_prop(&self.config, "accept_text", &texts.accept.as_str().into());
        set_prop(&self.config, "decline_text", &texts.decline.as_str().into());
    }

    /// Arms or disarms our code.
    pub fn arm(&self, on: bool) {
        let _ = self.router.prevent_page_change(on, &self.code);
    }

    /// Continues a held navigation: `proceed(code)` disarms our code (not the current entity's, §11) and goes on.
    pub fn proceed(&self, proceed: &js_sys::Function) {
        let _ = proceed.call1(&JsValue::NULL, &JsValue::from_str(&self.code));
    }
}

impl Drop for Preventer {
    fn drop(&mut self) {
        let _ = self.router.prevent_page_change(false, &self.code);
        let _ = self.router.remove_prevent_config(&self.code);
    }
}

/// Fires `change` on a settings input the way amoCRM's form listens for it: through jQuery when it is
/// given (`$(input).trigger('change')`), else as a bubbling DOM event.
pub fn trigger_change(jquery: &JsValue, element: &web_sys::Element) {
    if let Some(jquery) = jquery.dyn_ref::<js_sys::Function>() {
        if let Ok(wrapped) = jquery.call1(&JsValue::NULL, element) {
            if let Some(trigger) = prop(&wrapped, "trigger").dyn_ref::<js_sys::Function>() {
                if trigger.call1(&wrapped, &"change".into()).is_ok() {
                    return;
                }
            }
        }
    }
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    if let Ok(event) = web_sys::Event::new_with_event_init_dict("change", &init) {
        let _ = element.dispatch_event(&event);
    }
}

/// Reads `evt.active` and `evt.fields.<field>` of an `onSave` event.
pub fn save_event(event: &JsValue, field: &str) -> (bool, JsValue) {
    let active = prop(event, "active").as_string().is_none_or(|a| a != "N");
    (active, prop(&prop(event, "fields"), field))
}
