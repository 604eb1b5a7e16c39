//! The amoCRM host boundary: the widget object amoCRM hands to every callback and the `APP`/`AMOCRM` globals.
//!
//! This is the only module that reads them.
//! Everything outside the documented SDK (`current_card.model`, `form.model.attributes`, `constant()`) is
//! treated as unstable: every accessor checks what it gets and answers `None` instead of throwing.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The area code amoCRM reports in `self.system().area` inside a lead card.
pub const LEAD_CARD_AREA: &str = "lcard";

/// The right-column block of a widget in a card (platform doc §3.7, observed class names).
const CARD_BLOCK_CLASS: &str = "card-widgets__widget";

/// The body of that block, where the widget draws its own content.
const CARD_BODY_SELECTOR: &str = ".card-widgets__widget__body";

/// The class amoCRM puts on our caption through `render_template`.
const CAPTION_CLASS: &str = "leakguard-caption";

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

    /// A Backbone model of the card (`current_card.model` or `current_card.form.model`).
    type Model;

    #[wasm_bindgen(method, catch)]
    fn get(this: &Model, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn attributes(this: &Model) -> JsValue;
}

/// Reads a property of `value` when it is an object, and `undefined` otherwise.
fn prop(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
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

    /// Draws the widget's block in the card's right column (platform doc §3.7, §11: `render` is required).
    pub fn render_card_block(&self) -> Result<(), JsValue> {
        let caption = js_sys::Object::new();
        js_sys::Reflect::set(&caption, &"class_name".into(), &CAPTION_CLASS.into())?;
        let data = js_sys::Object::new();
        js_sys::Reflect::set(&data, &"caption".into(), &caption)?;
        js_sys::Reflect::set(&data, &"body".into(), &"".into())?;
        js_sys::Reflect::set(&data, &"render".into(), &"".into())?;
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

fn current_card() -> Option<CurrentCard> {
    object(prop(&app()?.data(), "current_card"))
}

/// The id of the lead whose card is open: `Some(0)` for a new, unsaved card, `None` outside cards.
pub fn current_lead_id() -> Option<u64> {
    integer_of(&current_card()?.id())
}

/// The lead's status as the card currently shows it, saved or not (`lead[STATUS]`).
pub fn current_lead_status() -> Option<u32> {
    const KEY: &str = "lead[STATUS]";
    let card = current_card()?;
    let from_model =
        object::<Model>(card.model()).and_then(|model| integer_of(&model.get(KEY).ok()?));
    let status = from_model.or_else(|| {
        let form_model = object::<Model>(prop(&card.form(), "model"))?;
        integer_of(&prop(&form_model.attributes(), KEY))
    })?;
    u32::try_from(status).ok()
}

/// The account's IANA timezone (`AMOCRM.constant('account').timezone`).
pub fn account_timezone() -> Option<String> {
    let account = app()?.constant("account").ok()?;
    prop(&account, "timezone")
        .as_string()
        .filter(|tz| !tz.is_empty())
}

/// The user's interface language (`APP.lang_id`), used as the locale for dates.
pub fn user_language() -> Option<String> {
    app()?.lang_id().as_string().filter(|lang| !lang.is_empty())
}
