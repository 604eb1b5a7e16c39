//! Browser tests of the page-wide limiter: handles share one window kept on `globalThis`, and a slot counts until a window after its answer.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect, Symbol};
use leakguard_widget_shared::{PageLimiter, STORE_KEY, WINDOW_MS};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The array a key's handles keep on `globalThis`.
fn store(key: &str) -> Array {
    Reflect::get(&js_sys::global(), &Symbol::for_(key))
        .expect("the global can be read")
        .into()
}

#[wasm_bindgen_test]
fn two_handles_share_one_window() {
    let card = PageLimiter::new("leakguard.test.two-handles", 7, 1000);
    let section = PageLimiter::new("leakguard.test.two-handles", 7, 1000);
    for i in 0..7 {
        let handle = if i % 2 == 0 { card } else { section };
        assert!(handle.try_acquire().is_ok(), "send {i}");
    }
    let wait = section
        .try_acquire()
        .expect_err("the eighth send in a second waits");
    assert!(wait > 0 && wait <= 1000, "waits {wait} ms");
    assert!(card.try_acquire().is_err());
    assert_eq!(store("leakguard.test.two-handles").length(), 7);
}

#[wasm_bindgen_test]
fn sends_recorded_by_another_module_count() {
    // Another wasm module writes the same array from its own memory: here, plain JavaScript does.
    let key = "leakguard.test.other-module";
    let others = Array::new();
    let now = js_sys::Date::now();
    for _ in 0..6 {
        others.push(&JsValue::from_f64(now));
    }
    Reflect::set(&js_sys::global(), &Symbol::for_(key), &others).unwrap();
    let limiter = PageLimiter::new(key, 7, 1000);
    assert!(limiter.try_acquire().is_ok());
    assert!(limiter.try_acquire().is_err());
    assert_eq!(others.length(), 7, "the handle writes the array it found");
}

#[wasm_bindgen_test]
fn old_sends_are_pruned() {
    let key = "leakguard.test.pruned";
    let stale = Array::new();
    for _ in 0..20 {
        stale.push(&JsValue::from_f64(js_sys::Date::now() - 5_000.0));
    }
    stale.push(&JsValue::from_str("not an instant"));
    Reflect::set(&js_sys::global(), &Symbol::for_(key), &stale).unwrap();
    assert!(PageLimiter::new(key, 7, 1000).try_acquire().is_ok());
    assert_eq!(stale.length(), 1);
}

#[wasm_bindgen_test]
async fn acquire_waits_for_the_oldest_to_leave() {
    let limiter = PageLimiter::new("leakguard.test.acquire", 2, 300);
    let start = js_sys::Date::now();
    for _ in 0..3 {
        drop(limiter.acquire().await);
    }
    let waited = js_sys::Date::now() - start;
    assert!(waited >= 300.0, "the third send came after {waited} ms");
}

#[wasm_bindgen_test]
fn the_page_limiter_is_seven_per_window_under_the_shared_key() {
    assert_eq!(
        PageLimiter::page(),
        PageLimiter::new(STORE_KEY, 7, WINDOW_MS)
    );
}

#[wasm_bindgen_test]
fn a_slot_counts_while_its_request_is_on_its_way() {
    let key = "leakguard.test.on-its-way";
    let limiter = PageLimiter::new(key, 1, 1000);
    let slot = limiter.try_acquire().expect("the first slot");
    assert!(
        store(key).get(0).as_f64().unwrap() < 0.0,
        "marked as on its way"
    );
    assert!(limiter.try_acquire().is_err());
    drop(slot);
    let answered = store(key).get(0).as_f64().unwrap();
    assert!(answered > 0.0, "the answer's instant is recorded");
    assert!(limiter.try_acquire().is_err(), "it still counts one window");
}
