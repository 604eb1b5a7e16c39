//! The amoCRM host as the payments section reads it: the widget object the card hands over and the
//! page's `APP` (≡ `AMOCRM`) constants: account, user, rights and managers (no request).
//! Everything outside the documented SDK is treated as unstable: accessors check what they get.

use leakguard_core::deal::UserContext;
use leakguard_core::settings::Settings;
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

/// Reads a property of `value` when it is an object, and `undefined` otherwise.
fn prop(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A string or a number as text.
fn text_of(value: &JsValue) -> Option<String> {
    let text = match value.as_f64() {
        Some(n) if n.is_finite() => Some(format!("{n}")),
        _ => value.as_string(),
    };
    text.filter(|s| !s.trim().is_empty())
}

/// A non-negative integer sent as a number or a numeric string.
fn integer_of(value: &JsValue) -> Option<u64> {
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < u64::MAX as f64 => Some(n as u64),
        Some(_) => None,
        None => value.as_string()?.trim().parse().ok(),
    }
}

/// `true`, `1`, `"Y"`, `"1"` or `"true"`.
fn flag_of(value: &JsValue) -> bool {
    value.as_bool().unwrap_or(false)
        || value.as_f64() == Some(1.0)
        || matches!(value.as_string().as_deref(), Some("Y" | "1" | "true"))
}

impl Widget {
    /// A text of the widget's language file, by dotted key; the key itself when it is missing.
    pub fn text(&self, key: &str) -> String {
        self.i18n(key)
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| key.to_owned())
    }

    /// The saved settings (the `config` custom field, JSON); the defaults when there are none,
    /// `None` when they cannot be read.
    pub fn settings(&self) -> Option<Settings> {
        let value = prop(&self.params(), "config");
        let text = match value.as_string() {
            Some(text) => text,
            None if value.is_object() => js_sys::JSON::stringify(&value).ok()?.into(),
            None => String::new(),
        };
        if text.trim().is_empty() {
            return Some(Settings::default());
        }
        serde_json::from_str(&text).ok()
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

/// What the section needs to know about the account, from `APP.constant('account')`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: u64,
    /// The IANA zone, such as `Europe/Moscow`.
    pub timezone: Option<String>,
    /// The amoCRM country code, which picks the working-day calendar.
    pub country: Option<String>,
    /// The ISO currency code of deal budgets.
    pub currency: Option<String>,
}

pub fn account() -> AccountInfo {
    let account = constant("account");
    let text = |key| text_of(&prop(&account, key));
    AccountInfo {
        id: integer_of(&prop(&account, "id")).unwrap_or_default(),
        timezone: text("timezone"),
        country: text("country"),
        currency: text("currency"),
    }
}

/// The user's interface language (`APP.lang_id`).
pub fn language() -> Option<String> {
    app()?.lang_id().as_string().filter(|lang| !lang.is_empty())
}

/// A group id written as `group_<id>` or as a plain number.
fn group_id_of(value: &JsValue) -> Option<u64> {
    integer_of(value).or_else(|| value.as_string()?.strip_prefix("group_")?.parse().ok())
}

/// The user in front of the page, and their name for the change notes.
pub fn current_user() -> (UserContext, String) {
    let user = constant("user");
    let id = integer_of(&prop(&user, "id")).unwrap_or_default();
    let manager = prop(&constant("managers"), &id.to_string());
    let is_admin = flag_of(&prop(&constant("user_rights"), "is_admin"))
        || flag_of(&prop(&manager, "is_admin"));
    let name = text_of(&prop(&user, "name"))
        .or_else(|| manager_name(id))
        .unwrap_or_else(|| id.to_string());
    let context = UserContext {
        id,
        group_id: group_id_of(&prop(&manager, "group"))
            .or_else(|| group_id_of(&prop(&user, "group_id"))),
        is_admin,
    };
    (context, name)
}

/// A user's name from `APP.constant('managers')` (`/api/v4/users` is for admins only).
pub fn manager_name(id: u64) -> Option<String> {
    let manager = prop(&constant("managers"), &id.to_string());
    text_of(&prop(&manager, "title")).or_else(|| text_of(&prop(&manager, "option")))
}
