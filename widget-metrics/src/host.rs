//! The amoCRM host as the metrics page reads it: the widget object the loader hands over and the
//! page's `APP` (≡ `AMOCRM`) constants. Everything outside the documented SDK is treated as
//! unstable: accessors check what they get and fall back instead of throwing.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::data::Person;

#[wasm_bindgen]
extern "C" {
    /// The widget object (`self` in script.js) that amoCRM builds and passes to every callback.
    #[derive(Clone, Debug)]
    pub type Widget;

    #[wasm_bindgen(method, getter)]
    fn params(this: &Widget) -> JsValue;

    #[wasm_bindgen(method, catch)]
    fn get_version(this: &Widget) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn i18n(this: &Widget, key: &str) -> Result<JsValue, JsValue>;

    /// The page's global object.
    type Global;

    #[wasm_bindgen(method, getter = APP)]
    fn app(this: &Global) -> JsValue;

    #[wasm_bindgen(method, getter = AMOCRM)]
    fn amocrm(this: &Global) -> JsValue;

    /// `APP` ≡ `AMOCRM`.
    type App;

    #[wasm_bindgen(method, getter)]
    fn lang_id(this: &App) -> JsValue;

    #[wasm_bindgen(method, catch)]
    fn constant(this: &App, key: &str) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen(inline_js = r#"
export function authorized_ajax(widget, method, url, body) {
  return new Promise(function (resolve) {
    var settings = { url: url, type: method, dataType: 'text', timeout: 30000 };
    if (body !== undefined && body !== null) {
      settings.data = body;
      settings.contentType = 'application/json';
    }
    var request;
    try {
      request = widget.$authorizedAjax(settings);
    } catch (error) {
      resolve({ status: 0, body: '' });
      return;
    }
    request.then(function (data, _text, xhr) {
      resolve({ status: (xhr && xhr.status) || 200, body: typeof data === 'string' ? data : '' });
    }, function (xhr) {
      resolve({ status: (xhr && xhr.status) || 0, body: (xhr && xhr.responseText) || '' });
    });
  });
}
"#)]
extern "C" {
    /// `widget.$authorizedAjax(settings)` (a jQuery Deferred) as a Promise of `{status, body}`
    /// that always resolves: status 0 means no answer at all.
    fn authorized_ajax(widget: &Widget, method: &str, url: &str, body: JsValue) -> js_sys::Promise;
}

/// A request to the LeakGuard backend through amoCRM's `$authorizedAjax`, which adds the
/// widget's one-time `X-Auth-Token`: the HTTP status (0 when nothing came back) and the body.
pub async fn authorized(
    widget: &Widget,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, String) {
    let body = body.map_or(JsValue::NULL, JsValue::from_str);
    let Ok(answer) = JsFuture::from(authorized_ajax(widget, method, url, body)).await else {
        return (0, String::new());
    };
    let status = prop(&answer, "status")
        .as_f64()
        .filter(|s| (0.0..1000.0).contains(s))
        .map_or(0, |s| s as u16);
    (
        status,
        prop(&answer, "body").as_string().unwrap_or_default(),
    )
}

/// Reads a property of `value` when it is an object, and `undefined` otherwise.
fn prop(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A string or a number as text; numbers are printed by JavaScript.
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

impl Widget {
    /// The widget code, as amoCRM writes it into `#work-area-<code>`.
    pub fn code(&self) -> Option<String> {
        text_of(&prop(&self.params(), "widget_code"))
    }

    /// The base URL of the archive's files, without a trailing slash: `cdn_path`, else `path`.
    pub fn base_url(&self) -> Option<String> {
        let params = self.params();
        text_of(&prop(&params, "cdn_path"))
            .or_else(|| text_of(&prop(&params, "path")))
            .map(|base| base.trim_end_matches('/').to_owned())
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

    /// The saved settings (the `config` custom field, JSON), when there are any.
    pub fn config(&self) -> Option<String> {
        let value = prop(&self.params(), "config");
        match value.as_string() {
            Some(text) => Some(text).filter(|t| !t.trim().is_empty()),
            // A host that already parsed the field hands over the object.
            None if value.is_object() => js_sys::JSON::stringify(&value).ok().map(String::from),
            None => None,
        }
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

/// What the page needs to know about the account, from `APP.constant('account')` (no request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// The IANA zone, such as `Europe/Moscow`.
    pub timezone: Option<String>,
    /// The amoCRM country code, such as `RU`, which picks the working-day calendar.
    pub country: Option<String>,
    /// The ISO currency code of deal budgets.
    pub currency: Option<String>,
}

pub fn account() -> AccountInfo {
    let account = constant("account");
    let text = |key| prop(&account, key).as_string().filter(|s| !s.is_empty());
    AccountInfo {
        timezone: text("timezone"),
        country: text("country"),
        currency: text("currency"),
    }
}

/// The user's interface language (`APP.lang_id`).
pub fn language() -> Option<String> {
    app()?.lang_id().as_string().filter(|lang| !lang.is_empty())
}

/// The account's users from `APP.constant('managers')`: `/api/v4/users` is for admins only.
pub fn people() -> Vec<Person> {
    let managers = constant("managers");
    if !managers.is_object() {
        return Vec::new();
    }
    js_sys::Object::values(managers.unchecked_ref())
        .iter()
        .filter_map(|user| {
            let id = integer_of(&prop(&user, "id"))?;
            let name = text_of(&prop(&user, "title"))
                .or_else(|| text_of(&prop(&user, "option")))
                .unwrap_or_else(|| id.to_string());
            let group_id = group_id_of(&prop(&user, "group")).unwrap_or(0);
            Some(Person { id, name, group_id })
        })
        .collect()
}

/// The account's user groups from `APP.constant('groups')`, keyed `group_<id>`.
pub fn groups() -> Vec<(u64, String)> {
    let groups = constant("groups");
    if !groups.is_object() {
        return Vec::new();
    }
    js_sys::Object::entries(groups.unchecked_ref())
        .iter()
        .filter_map(|entry| {
            let pair: js_sys::Array = entry.unchecked_into();
            let id = group_id_of(&pair.get(0))?;
            let name = text_of(&pair.get(1)).unwrap_or_else(|| id.to_string());
            Some((id, name))
        })
        .collect()
}

/// A group id written as `group_<id>` or as a plain number.
fn group_id_of(value: &JsValue) -> Option<u64> {
    let text = text_of(value)?;
    text.strip_prefix("group_").unwrap_or(&text).parse().ok()
}

/// The account's address (`https://<subdomain>.amocrm.ru`), for the deal links of exported files.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
