//! Effects besides HTTP: the clock and the lazily loaded XLSX module.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "export function import_module(url) { return import(url); }")]
extern "C" {
    /// `import(url)`: an ES module by address, loaded once by the browser.
    #[wasm_bindgen(catch)]
    fn import_module(url: &str) -> Result<Promise, JsValue>;
}

thread_local! {
    /// The XLSX module once it is loaded and initialised.
    static EXPORT: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// The current time in Unix seconds, the unit amoCRM uses.
pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: js_sys::Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    function.apply(target, &args.iter().collect())
}

/// Loads the wasm-bindgen module `<base>/<name>.js` and initialises it with `<base>/<name>_bg.wasm`.
pub async fn load_module(base: &str, version: &str, name: &str) -> Result<JsValue, JsValue> {
    let module = JsFuture::from(import_module(&format!("{base}/{name}.js?v={version}"))?).await?;
    let options = Object::new();
    Reflect::set(
        &options,
        &"module_or_path".into(),
        &format!("{base}/{name}_bg.wasm?v={version}").into(),
    )?;
    let init = call(&module, "default", &[options.into()])?;
    JsFuture::from(Promise::from(init)).await?;
    Ok(module)
}

/// The XLSX file of one table, made by the export module, which is loaded on first use.
pub async fn xlsx(
    base: &str,
    version: &str,
    sheet: &str,
    header: Vec<String>,
    rows: js_sys::Array,
) -> Result<JsValue, JsValue> {
    let loaded = EXPORT.with_borrow(Clone::clone);
    let module = match loaded {
        Some(module) => module,
        None => {
            let module = load_module(base, version, "leakguard_export").await?;
            EXPORT.with_borrow_mut(|slot| *slot = Some(module.clone()));
            module
        }
    };
    let header: js_sys::Array = header.iter().map(|h| JsValue::from_str(h)).collect();
    call(&module, "xlsx", &[sheet.into(), header.into(), rows.into()])
}
