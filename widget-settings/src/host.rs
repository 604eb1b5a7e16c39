//! The amoCRM host boundary of the settings form: the widget object and the page's `APP` constants.
//!
//! This is the only module of the settings form that reads them; every accessor checks what it gets
//! and answers `None` or an empty list instead of throwing.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// The widget object (`self` in script.js) that amoCRM builds and passes to every callback.
    #[derive(Clone, Debug)]
    pub type Widget;

    #[wasm_bindgen(method, getter)]
    fn params(this: &Widget) -> JsValue;

    #[wasm_bindgen(method, catch)]
    fn i18n(this: &Widget, key: &str) -> Result<JsValue, JsValue>;

    /// The page's global object, from which `APP` (Kommo) or `AMOCRM` (amoCRM) is read.
    type Global;

    #[wasm_bindgen(method, getter = APP)]
    fn app(this: &Global) -> JsValue;

    #[wasm_bindgen(method, getter = AMOCRM)]
    fn amocrm(this: &Global) -> JsValue;

    /// `APP` ≡ `AMOCRM`: the host application object.
    type App;

    #[wasm_bindgen(method, catch)]
    fn constant(this: &App, key: &str) -> Result<JsValue, JsValue>;

    /// The user's interface language code, such as `ru`.
    #[wasm_bindgen(method, getter)]
    fn lang_id(this: &App) -> JsValue;
}

/// Reads a property of `value` when it is an object, and `undefined` otherwise.
fn prop(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A string or a number as text (amoCRM sends ids and names as either).
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

/// A small id (status, pipeline) sent as a number or a numeric string.
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
    /// The widget code, as amoCRM writes it into the settings modal's ids.
    pub fn code(&self) -> Option<String> {
        text_of(&prop(&self.params(), "widget_code"))
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
}

/// The host application object, whichever of its two names the page defines.
fn app() -> Option<App> {
    let global = js_sys::global().unchecked_into::<Global>();
    [global.app(), global.amocrm()]
        .into_iter()
        .find(JsValue::is_object)
        .map(JsCast::unchecked_into)
}

fn constant(key: &str) -> JsValue {
    app()
        .and_then(|app| app.constant(key).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// Whether the user in front of the page administers the account (only admins edit loss reasons).
pub fn user_is_admin() -> bool {
    let user = constant("user");
    let manager = integer_of(&prop(&user, "id"))
        .map(|id| prop(&constant("managers"), &id.to_string()))
        .unwrap_or(JsValue::UNDEFINED);
    flag_of(&prop(&constant("user_rights"), "is_admin")) || flag_of(&prop(&manager, "is_admin"))
}

/// The account id (`APP.constant('account').id`).
pub fn account_id() -> Option<u64> {
    integer_of(&prop(&constant("account"), "id"))
}

/// The account's currency (`APP.constant('account').currency`), roubles when the page does not say.
pub fn currency() -> leakguard_core::payments::Currency {
    text_of(&prop(&constant("account"), "currency"))
        .and_then(|code| leakguard_core::payments::Currency::from_code(&code))
        .unwrap_or(leakguard_core::payments::Currency::RUB)
}

/// The user's interface language (`APP.lang_id`), English when the page does not say.
pub fn language() -> leakguard_core::locale::Lang {
    app()
        .and_then(|app| app.lang_id().as_string())
        .map_or(leakguard_core::locale::Lang::En, |code| {
            leakguard_core::locale::Lang::from_code(&code)
        })
}

/// A group id as amoCRM writes it: `group_401001` in the constants, or a bare number.
fn group_id_of(value: &JsValue) -> Option<u64> {
    integer_of(value).or_else(|| value.as_string()?.strip_prefix("group_")?.parse().ok())
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

/// The active users of group `group_id` (each manager's `group` in `APP.constant('managers')`).
pub fn group_members(group_id: u64) -> Vec<u64> {
    let managers = constant("managers");
    managers_in(&managers, group_id)
}

fn managers_in(managers: &JsValue, group_id: u64) -> Vec<u64> {
    entries(managers)
        .into_iter()
        .filter(|(_, manager)| group_id_of(&prop(manager, "group")) == Some(group_id))
        .filter_map(|(_, manager)| integer_of(&prop(&manager, "id")))
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
